"""EMScore end-to-end speed, as a user runs it: mmscore vs the encoder-bound limit (vs a baseline).

Model: a random-weight CLIP shaped like OpenAI ViT-B/32 (vision 12 layers, width 768, patch 32,
224 px; text 12 layers, width 512; 512-d embeddings), built from a transformers CLIPConfig and
saved with ``save_pretrained`` (no download). Data: synthetic 10-second 640x360 30 fps H.264
videos (x264 defaults: a keyframe every 250 frames unless ``--gop`` says otherwise) with one
candidate and two references each, in a JSON-lines table; sampling one frame per second.

Each contender is a fresh process, timed from start to exit (``benchmarks/endtoend.py``):

* mmscore: ``EMScoreEval(every_n_seconds=1, clip_model_path=DIR).run(FileStorage(table).step())``
  — imports, model loading, reading and writing the table, decoding, encoding, idf and scoring
  (video cache disabled so every video is decoded);
* limit: ``load_clip(DIR)`` then the same frames, already decoded and preprocessed, and all the
  distinct texts (token level) in large batches — model loading plus encoding alone, what
  nothing that still has to read the videos could beat (loading its pixel file is subtracted);
* baseline (``--baseline``, in this process): what the reference implementations do: decode
  every frame sequentially and convert it to RGB, keep the sampled ones, encode one frame and
  one text at a time, then score.

Run: ``python benchmarks/bench_emscore.py [--videos 12] [--rounds 2] [--gop 250] [--baseline]``.
Prints each round's times and mmscore / limit (goal <= 1.15). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

os.environ.setdefault("MMSCORE_QUIET", "1")

COLORS = ["red", "green", "blue", "yellow", "purple", "white"]
DIRECTIONS = ["right", "left", "up", "down"]


sys.path.insert(0, str(Path(__file__).resolve().parent))
from endtoend import child_env, compare, print_ratios, run_child, save_vit_b32  # noqa: E402


def make_videos(folder: Path, count: int, seconds: int, gop: int | None) -> list[Path]:
    from mmscore.testing.media import moving_square_frames, write_video

    paths = []
    fps = 30
    for i in range(count):
        path = folder / f"video_{i:02d}.mp4"
        frames = moving_square_frames(seconds * fps, 640, 360, COLORS[i % len(COLORS)], DIRECTIONS[i % len(DIRECTIONS)])
        write_video(path, frames, fps=fps, codec="libx264", gop_size=gop)
        paths.append(path)
    return paths


def make_table(paths: list[Path]) -> pd.DataFrame:
    rows = []
    for i, path in enumerate(paths):
        color, direction = COLORS[i % len(COLORS)], DIRECTIONS[i % len(DIRECTIONS)]
        rows.append({
            "video_path": str(path),
            "candidate": f"a {color} square moves {direction} across a dark background",
            "reference": [f"a {color} box slides {direction}", f"one {color} square travelling {direction} "
                          f"over a black screen in video {i}"],
        })
    return pd.DataFrame(rows)


def run_baseline(encoder, df: pd.DataFrame, every_seconds: float) -> int:
    """Decode all frames sequentially, keep every n-th, encode frames and texts one at a time."""
    import av

    from mmscore.metrics import emscore as em

    n_frames = 0
    texts = list(df["candidate"]) + [r for refs in df["reference"] for r in refs]
    idf = em.compute_idf(encoder.tokenize(t).ids[0].tolist() for t in [r for refs in df["reference"] for r in refs])
    sentences = {}
    for text in dict.fromkeys(texts):
        encoded = encoder.encode_texts([text], return_tokens=True)
        length = int(encoded.lengths[0])
        sentences[text] = em.TextEmbedding(encoded.tokens[0, :length], encoded.ids[0, :length])
    for _, row in df.iterrows():
        with av.open(row["video_path"]) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate)
            interval = max(1, int(fps * every_seconds))
            embeddings = []
            for index, frame in enumerate(container.decode(stream)):
                rgb = frame.to_ndarray(format="rgb24")  # OpenCV converts every frame it reads
                if index % interval == 0:
                    embeddings.append(encoder.encode_images(rgb[None]))
        frames = torch.cat(embeddings)
        n_frames += len(frames)
        em.emscore(sentences[row["candidate"]], frames, [sentences[r] for r in row["reference"]], idf)
    return n_frames


def limit_inputs(encoder, df: pd.DataFrame, every_seconds: float) -> tuple[torch.Tensor, list[str]]:
    """The sampled frames, already preprocessed, and the distinct texts (prepared before timing)."""
    from mmscore.io.media import sample_frames

    pixels = torch.cat([encoder.preprocess(sample_frames(p, every_n_seconds=every_seconds).frames)
                        for p in df["video_path"]])
    texts = list(dict.fromkeys(list(df["candidate"]) + [r for refs in df["reference"] for r in refs]))
    return pixels, texts


def child(argv: list[str]) -> None:
    """One timed contender in this fresh process; prints its JSON report last."""
    kind, model, data = argv[0], argv[1], Path(argv[2])
    if kind == "limit":
        from mmscore.models.clip import load_clip

        encoder = load_clip(model, batch_size=64)
        started = time.perf_counter()
        pixels = torch.load(data / "pixels.pt")
        texts = json.loads((data / "texts.json").read_text())
        excluded = time.perf_counter() - started
        encoder.encode_pixels(pixels)
        encoder.encode_texts(texts, return_tokens=True)
        print(json.dumps({"excluded_s": excluded, "frames": len(pixels)}))
        return
    from mmscore.io.storage import FileStorage
    from mmscore.io.tables import read_table
    from mmscore.operators.emscore import EMScoreEval

    storage = FileStorage(str(data / "table.jsonl"), cache_path=str(data / "out"), cache_type="jsonl")
    step = storage.step()
    EMScoreEval(every_n_seconds=float(argv[3]), clip_model_path=model).configure(cache_dir=False).run(step)
    failed = int(read_table(step.output_path())["emscore_error"].notna().sum()) if kind == "check" else 0
    print(json.dumps({"failed": failed}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--gop", type=int, default=None, help="keyframe interval (default: x264's 250)")
    parser.add_argument("--every-n-seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", action="store_true", help="also time the reference-style pipeline")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    print(f"torch threads: {torch.get_num_threads()}, cpu count: {os.cpu_count()}, "
          f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    every = args.every_n_seconds
    with tempfile.TemporaryDirectory(prefix="bench-emscore-") as tmp:
        from mmscore.io.tables import write_table
        from mmscore.models.clip import load_clip

        data = Path(tmp)
        model = save_vit_b32(data / "vit-b32")
        paths = make_videos(data, args.videos, args.seconds, args.gop)
        df = make_table(paths)
        write_table(df, data / "table.jsonl")
        encoder = load_clip(model, batch_size=64)
        pixels, texts = limit_inputs(encoder, df, every)
        torch.save(pixels, data / "pixels.pt")
        (data / "texts.json").write_text(json.dumps(texts))
        print(f"{len(paths)} videos of {args.seconds} s (640x360, 30 fps, gop {args.gop or 'x264 default'}), "
              f"{len(pixels)} sampled frames, {len(texts)} distinct texts")
        script, env = Path(__file__).resolve(), child_env(data / "cache")
        contenders = {"limit": ["limit", str(model), tmp], "mmscore": ["mmscore", str(model), tmp, str(every)]}
        times = compare(script, contenders, args.rounds, env)
        assert run_child(script, ["check", str(model), tmp, str(every)], env)[1]["failed"] == 0
        if args.baseline:
            wall = time.perf_counter()
            frames = run_baseline(encoder, df, every)
            times["baseline"] = [time.perf_counter() - wall] * args.rounds
            assert frames == len(pixels), (frames, len(pixels))
    print_ratios(times)
    if args.baseline:
        print(f"speed-up over the baseline (model already loaded there): "
              f"{times['baseline'][0] / min(times['mmscore']):.2f}x")


if __name__ == "__main__":
    main()
