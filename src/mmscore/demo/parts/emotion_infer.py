"""Demo part: `mmscore emotion infer` against a local fake video-LLM, then the MER2023 metric on its answers.

A real model needs a GPU server (vLLM, lmdeploy) or an API key, so the demo starts
:class:`~mmscore.fixtures.fake_openai.FakeOpenAIServer` on 127.0.0.1. Everything else is the real
path: Emotion-LLaMA's MER2023 prompt with each clip's transcript, the first frame decoded and sent as
an image, concurrency, the atomic prediction file and sidecar, resume from the response cache, and
`emotion classify` reading the file as written. The fake's answers are SYNTHETIC: it names the
emotion a fixed colour stands for (:data:`COLOR_EMOTION`), read from the frame it received.
"""

from __future__ import annotations

import base64
import io
import shutil

ORDER = 72
TITLE = "Emotion inference through an OpenAI-compatible server (offline fake model)"

MODEL = "fake-video-llm"
#: what the fake model answers for a clip whose moving square has this colour
COLOR_EMOTION = {"yellow": "happy", "blue": "sad", "red": "angry", "white": "neutral", "purple": "worried",
                 "green": "surprise"}
#: (clip, square colour, gold label, transcript): one clip's gold label differs from what the colour says
CLIPS = (
    ("clip_01", "yellow", "happy", "We won the match!"),
    ("clip_02", "blue", "sad", "I miss her so much."),
    ("clip_03", "red", "angry", "Get out of my room."),
    ("clip_04", "white", "neutral", "The bus leaves at nine."),
    ("clip_05", "purple", "worried", "What if they never call back?"),
    ("clip_06", "green", "surprise", "You did all this for me?"),
    ("clip_07", "blue", "worried", "I am not sure this will work."),
    ("clip_08", "yellow", "happy", "This is the best day."),
)


def responder(request):
    """The fake model: ``"The emotion is <label>."`` for the colour of the first image's square."""
    import numpy as np
    from PIL import Image

    from mmscore.fixtures.fake_openai import Reply
    from mmscore.fixtures.media import COLORS

    images = [p for p in request.parts if p.get("type") == "image_url"]
    if not images:
        return Reply.error(400, '{"error": {"message": "fake model: no image in the request"}}')
    data = base64.b64decode(images[0]["image_url"]["url"].split(",", 1)[1])
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64).reshape(-1, 3)
    bright = pixels[pixels.max(axis=1) > 100]
    colour = min(COLOR_EMOTION, key=lambda name: float(np.abs(bright.mean(axis=0) - COLORS[name]).sum()))
    return f"The emotion is {COLOR_EMOTION[colour]}."


def _write_inputs(folder):
    from mmscore.fixtures.media import make_video

    lines = ["video_name,emotion_label,transcription"]
    for name, colour, label, transcript in CLIPS:
        make_video(folder / "videos" / f"{name}.mp4", n_frames=12, color=colour)
        lines.append(f'{name},{label},"{transcript}"')
    gold = folder / "gold.csv"
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return gold


def run(ctx) -> list[str]:
    from mmscore.emotion.classify import evaluate_classification
    from mmscore.emotion.infer import InferOptions, Transport, run_infer
    from mmscore.fixtures.fake_openai import FakeOpenAIServer
    from mmscore.models.judge import PriceTable

    folder = ctx.workspace / "emotion_infer"
    if folder.exists():  # a fresh run each time, so run 1 always asks every clip
        shutil.rmtree(folder)
    gold = _write_inputs(folder)
    output = folder / "predictions.csv"
    with FakeOpenAIServer(responder=responder, latency=0.05, model_id=MODEL, max_lifetime=120) as server:
        transport = Transport(base_url=server.base_url, model=MODEL, api_key_env=None, concurrency=4,
                              timeout=10.0, connect_timeout=5.0, retries=1, backoff=0.1,
                              prices=PriceTable({MODEL: (0.0, 0.0)}))  # a local model costs nothing
        options = InferOptions(gold=gold, videos=folder / "videos", preset="mer2023", output=output,
                               transport=transport)
        first, prepared = run_infer(options)
        asked_1 = server.chat_count
        server.reset_counts()
        run_infer(options)
        asked_2 = server.chat_count
    result = evaluate_classification(gold, output, preset="mer2023")
    s = result.summary
    return [
        f"model: a LOCAL FAKE OpenAI-compatible server ({MODEL!r} on 127.0.0.1); its answers are SYNTHETIC "
        "(the emotion a colour stands for, read from the frame it received)",
        f"{len(CLIPS)} clips, preset mer2023: prompt {prepared.prompt.id} (sha256 {prepared.prompt.sha256[:12]}…), "
        f"frames {prepared.plan.frames.spec}, temperature {prepared.generation['temperature']}, "
        f"max_tokens {prepared.generation['max_tokens']}",
        f"run 1: {first.counts['ok']} answered, {first.counts['error']} failed, {asked_1} requests; "
        f"run 2 (resume): {asked_2} requests (every reply came from the cache)",
        f"predictions: {output} (+ {output.stem}.infer.json); first answer {first.results[0].prediction!r}",
        f"classify (mer2023) on the file as written: weighted F1 {s['weighted_f1']:.4f}, accuracy {s['accuracy']:.4f}",
        "real use: mmscore emotion infer --gold GOLD --videos DIR --preset mer2023 --base-url "
        "http://127.0.0.1:8000/v1 --model NAME -o preds.csv --score",
    ]
