"""Inference throughput: sequential vs concurrency 16 against a server with 200 ms latency.

The baseline is what the original evaluation scripts do: one video at a time (batch 1). Both runs
ask the same rows (synthetic videos, Emotion-LLaMA's MER2023 prompt, first frame, decoded and sent
as PNG) of the same fake OpenAI-compatible server (real HTTP on 127.0.0.1, every reply delayed by
``--latency``), without a response cache, and must write byte-identical prediction files. An
unmeasured warm-up run comes first. The server runs in a child process so that its request handling
does not compete with the client for this interpreter's GIL.

    python benchmarks/bench_infer.py [--rows 64] [--latency 0.2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MMSCORE_QUIET", "1")

from served import add_server_options, served  # noqa: E402

from mmscore.emotion.infer import InferOptions, Transport, run_infer  # noqa: E402
from mmscore.testing.fake_openai import FakeRequest  # noqa: E402
from mmscore.testing.media import make_index_video  # noqa: E402


def responder(request: FakeRequest) -> str:
    """An answer that depends on the row (its transcript), so misplaced answers would show."""
    return "happy " + request.text.split("says: ")[1].split(".")[0]


def infer_once(base_url: str, data: Path, out: Path, concurrency: int) -> tuple[float, bytes]:
    transport = Transport(base_url=base_url, model="bench-vlm", api_key_env=None, concurrency=concurrency,
                          timeout=30.0)
    options = InferOptions(gold=data / "gold.csv", videos=data / "videos", preset="mer2023", output=out,
                           transport=transport, no_cache=True)
    start = time.perf_counter()
    run, _ = run_infer(options)
    elapsed = time.perf_counter() - start
    assert run.counts["ok"] == len(run.results), run.counts
    return elapsed, out.read_bytes()


def make_rows(data: Path, rows: int) -> None:
    lines = ["video_name,emotion_label,transcription"]
    for i in range(rows):
        make_index_video(data / "videos" / f"clip{i:03d}.mp4", 10 + i % 7, width=320, height=240)
        lines.append(f"clip{i:03d},happy,sentence number {i}")
    (data / "gold.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64, help="gold rows (videos) to ask about")
    add_server_options(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        make_rows(data, args.rows)
        with served(responder, args.latency, "bench-vlm") as server:
            base_url = server["base_url"]
            infer_once(base_url, data, data / "warm-up.csv", args.concurrency)
            sequential, seq_file = infer_once(base_url, data, data / "seq.csv", 1)
            runs = [infer_once(base_url, data, data / f"con{i}.csv", args.concurrency) for i in range(args.repeats)]
            concurrent = statistics.median(t for t, _ in runs)
        requests = server["requests"]
    assert requests == (2 + args.repeats) * args.rows, requests
    identical = all(content == seq_file for _, content in runs)
    print(f"rows {args.rows} (320x240 videos, first frame as PNG), server latency {args.latency * 1000:.0f} ms")
    print(f"sequential (concurrency 1): {sequential:.2f} s  ({args.rows / sequential:.1f} rows/s)")
    print(f"concurrency {args.concurrency} (median of {args.repeats}): {concurrent:.2f} s  "
          f"({args.rows / concurrent:.1f} rows/s); runs: {', '.join(f'{t:.2f}' for t, _ in runs)} s")
    print(f"speed-up: {sequential / concurrent:.1f}x; identical files: {identical}")
    if not identical:
        raise SystemExit("the prediction files differ between the sequential and the concurrent runs")


if __name__ == "__main__":
    main()
