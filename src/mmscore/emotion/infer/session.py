"""``mmscore emotion infer`` as a function: settings in, prediction file + sidecar out."""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmscore.emotion.infer.frames import parse_frames
from mmscore.emotion.infer.media_parts import check_audio_mode, check_image_format, elide_media
from mmscore.emotion.infer.output import (
    RowResult,
    default_cache_path,
    public_url,
    write_predictions,
    write_sidecar,
)
from mmscore.emotion.infer.presets import InferPreset, generation_settings, get_infer_preset
from mmscore.emotion.infer.prompts import InferPrompt, load_infer_prompt
from mmscore.emotion.infer.request import RequestPlan, build_request
from mmscore.emotion.infer.rows import Row, load_rows
from mmscore.emotion.infer.runner import InferRun, Transport, infer_rows
from mmscore.errors import ConfigError, InputError


@dataclass
class InferOptions:
    gold: Path
    videos: Path
    preset: str
    output: Path
    transport: Transport
    prompt: str | None = None
    frames: str | None = None
    audio: str = "none"
    transcripts: Path | None = None
    transcript_column: str | None = None
    gold_key_column: str | None = None
    missing_transcript: str = "error"
    seed: int = 0
    question: int | None = None
    sampling: str = "default"
    image_format: str = "png"
    overrides: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, top_p
    no_cache: bool = False


@dataclass
class Prepared:
    preset: InferPreset
    prompt: InferPrompt
    plan: RequestPlan
    rows: list[Row]
    generation: dict[str, Any]


def prepare(options: InferOptions) -> Prepared:
    """Validate every setting and read the rows, before any request or decoding."""
    preset = get_infer_preset(options.preset)
    if options.prompt is None and preset.prompt is None:
        raise ConfigError("--preset custom needs --prompt FILE (a YAML prompt file; see "
                          "mmscore/prompts/emotion_llama_mer2023_v1.yaml for the schema)")
    prompt = load_infer_prompt(options.prompt or preset.prompt)
    frames = parse_frames(options.frames or preset.frames)
    audio = check_audio_mode(options.audio, frames.kind)
    if not options.videos.is_dir():
        raise InputError(f"--videos {options.videos}: not a folder")
    _check_output(options)
    plan = RequestPlan(prompt, frames, audio, options.videos, options.seed, options.question,
                       check_image_format(options.image_format))
    rows = load_rows(options.gold, gold_key_column=options.gold_key_column, transcripts=options.transcripts,
                     transcript_column=options.transcript_column, need_transcript=prompt.uses_transcript,
                     missing=options.missing_transcript)
    generation = generation_settings(preset, options.sampling, options.overrides)
    if audio == "in-video":
        generation["mm_processor_kwargs"] = {"use_audio_in_video": True}
    return Prepared(preset, prompt, plan, rows, generation)


def _check_output(options: InferOptions) -> None:
    output = options.output.resolve()
    for name, path in (("--gold", options.gold), ("--transcripts", options.transcripts)):
        if path is not None and Path(path).resolve() == output:
            raise ConfigError(f"--output {options.output} is the {name} file; write the predictions elsewhere")
    if output.suffix.lower() != ".csv":
        raise ConfigError(f"--output {options.output}: the prediction file is a .csv")
    folder = output.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(f"--output {options.output}: folder {folder} does not exist or is not writable")


def dry_run_body(options: InferOptions) -> dict[str, Any]:
    """The exact body of the first row's request, base64 payloads elided (no request is sent)."""
    prepared = prepare(options)
    request = build_request(prepared.plan, prepared.rows[0])
    client = Transport(**{**options.transport.__dict__, "cache": None}).client(prepared.generation)  # opens no file
    model = options.transport.model or "<the model GET /models lists>"
    return {"model": model, "messages": elide_media(request.messages), **client.params()}


def cache_path(options: InferOptions) -> Path | None:
    if options.no_cache:
        return None
    return options.transport.cache or default_cache_path(options.output)


def run_infer(options: InferOptions, on_row: Callable[[RowResult], None] | None = None,
              on_start: Callable[[int], None] | None = None) -> tuple[InferRun, Prepared]:
    """Ask every row, then write the prediction CSV and its sidecar (both atomically)."""
    prepared = prepare(options)
    transport = Transport(**{**options.transport.__dict__, "cache": cache_path(options)})
    if on_start is not None:
        on_start(len(prepared.rows))
    run = asyncio.run(infer_rows(prepared.rows, prepared.plan, transport, prepared.generation, on_row))
    write_predictions(options.output, run.results, prepared.prompt.id)
    write_sidecar(options.output, sidecar(options, prepared, run, transport))
    return run, prepared


def sidecar(options: InferOptions, prepared: Prepared, run: InferRun, transport: Transport) -> dict[str, Any]:
    prompt, plan = prepared.prompt, prepared.plan
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "gold": str(options.gold), "videos": str(options.videos), "output": str(options.output),
        "preset": prepared.preset.name,
        "model": run.model, "server": {"base_url": public_url(transport.base_url), "models": run.server_models,
                                       "models_error": run.server_models_error,
                                       "api_key_env": transport.api_key_env},
        "prompt": {"id": prompt.id, "name": prompt.name, "version": prompt.version, "sha256": prompt.sha256,
                   "file": prompt.path, "source": prompt.source, "questions": list(prompt.questions),
                   "question_choice": (None if not prompt.questions else
                                       f"fixed --question {plan.question}" if plan.question else
                                       f"sha256('<seed>:<video name>') mod {len(prompt.questions)}, seed {plan.seed}")},
        "transcripts": {"file": str(options.transcripts) if options.transcripts else None,
                        "column": options.transcript_column, "missing": options.missing_transcript,
                        "used": prompt.uses_transcript},
        "frames": {"policy": plan.frames.spec, "audio": plan.audio, "image_format": plan.image_format,
                   "indices": {r.key: r.positions for r in run.results if r.positions is not None}},
        "generation": {**prepared.generation, "sampling": options.sampling},
        "transport": {"concurrency": transport.concurrency, "timeout": transport.timeout,
                      "connect_timeout": transport.connect_timeout, "retries": transport.retries,
                      "cache": str(transport.cache) if transport.cache else None, "max_cost": transport.max_cost},
        "counts": {"rows": len(run.results), **run.counts}, "usage": run.usage, "elapsed_s": round(run.elapsed_s, 3),
    }
