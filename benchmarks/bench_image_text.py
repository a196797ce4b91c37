"""Image–text scoring speed, as a user runs it: mmscore's operator vs the encoder limit (vs row by row).

Model: random weights shaped like OpenAI ViT-B/32 (vision 12 layers, width 768, patch 32, 224 px;
text 12 layers, width 512; 512-d embeddings), built from a transformers ``CLIPConfig``, saved with
``save_pretrained`` into a temporary folder and loaded through ``load_clip`` (no download).
Data: synthetic photo-like 640x480 JPEGs (gradients, shapes, mild noise) with one caption each,
in a JSON-lines table.

Each contender is a fresh process, timed from start to exit (``benchmarks/endtoend.py``):

* mmscore: ``ImageLongCLIPEvaluator(DIR).run(FileStorage(table).step())`` — imports, model
  loading, table I/O, image decoding (worker threads) and batched encoding;
* limit: ``load_clip(DIR)`` then the same images, already decoded and preprocessed, and all the
  texts in batches — model loading plus encoding alone (loading its pixel file is subtracted);
* baseline (``--baseline``, in this process, model already loaded): how DataFlow-MM's
  ``ImageLongCLIPEvaluator`` works: for each row open the image, encode that one image and that
  one text, compute the score.

Run: ``python benchmarks/bench_image_text.py [--images 128] [--batch-size 32] [--workers 2] [--rounds 2]``.
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

import numpy as np
import pandas as pd
import torch

os.environ.setdefault("MMSCORE_QUIET", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from endtoend import child_env, compare, print_ratios, run_child, save_vit_b32  # noqa: E402


def make_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """Photo-like 640x480 JPEGs (smooth gradients, shapes, mild sensor noise; ~100-200 kB at
    quality 90, like COCO images), so decoding costs what a real photo costs."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    paths = []
    for i in range(n):
        c0, c1 = rng.uniform(30, 220, 3), rng.uniform(30, 220, 3)
        t = ((xx / 640) * np.cos(i) + (yy / 480) * np.sin(i) + 1) / 2
        rgb = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
        image = Image.fromarray(rgb.astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
            w, h = int(rng.integers(30, 200)), int(rng.integers(30, 200))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        image = image.filter(ImageFilter.GaussianBlur(1.5))
        noisy = np.asarray(image, dtype=np.int16) + rng.normal(0, 6, (480, 640, 3)).astype(np.int16)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def captions(n: int) -> list[str]:
    subjects = ["a man", "a woman", "two children", "a dog", "a red car", "an old building"]
    places = ["in a park", "on a busy street", "near the sea", "inside a kitchen", "under a bridge"]
    return [f"{subjects[i % 6]} {places[i % 5]} photographed on day {i} with soft light and a blurred background"
            for i in range(n)]


def baseline(encoder, paths: list[Path], texts: list[str]) -> list[float]:
    """DataFlow-MM style: one row, one image, one text, one forward pass each."""
    from PIL import Image

    scores = []
    for path, text in zip(paths, texts, strict=True):
        image = Image.open(path).convert("RGB")
        img = encoder.encode_images([image])
        txt = encoder.encode_texts([" ".join(text.split())])
        scores.append(float(((img * txt).sum() + 1) / 2))
    return scores


def child(argv: list[str]) -> None:
    """One timed contender in this fresh process; prints its JSON report last."""
    kind, model, data, batch_size, workers = argv[0], argv[1], Path(argv[2]), int(argv[3]), int(argv[4])
    if kind == "limit":
        from mmscore.models.clip import load_clip

        encoder = load_clip(model, batch_size=batch_size)
        started = time.perf_counter()
        pixels = torch.load(data / "pixels.pt")
        texts = json.loads((data / "texts.json").read_text())
        excluded = time.perf_counter() - started
        encoder.encode_pixels(pixels)
        encoder.encode_texts(texts)
        print(json.dumps({"excluded_s": excluded}))
        return
    from mmscore.io.storage import FileStorage
    from mmscore.io.tables import read_table
    from mmscore.operators.image_text import ImageLongCLIPEvaluator

    step = FileStorage(str(data / "table.jsonl"), cache_path=str(data / "out"), cache_type="jsonl").step()
    ImageLongCLIPEvaluator(model, batch_size=batch_size, workers=workers).run(step)
    scores = read_table(step.output_path())["longclip_score"].astype(float).tolist() if kind == "check" else []
    print(json.dumps({"scores": scores}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved timed rounds")
    parser.add_argument("--baseline", action="store_true", help="also time the row-by-row pipeline")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from PIL import Image

    from mmscore.io.tables import write_table
    from mmscore.models.clip import load_clip

    print(f"torch threads: {torch.get_num_threads()}, images: {args.images} (640x480 JPEG), "
          f"batch size {args.batch_size}, loader workers {args.workers}, "
          f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        model_dir = save_vit_b32(data / "vit-b32")
        paths = make_images(data, args.images)
        texts = captions(args.images)
        write_table(pd.DataFrame({"image_path": [str(p) for p in paths], "text": texts}), data / "table.jsonl")
        encoder = load_clip(model_dir, device="cpu", batch_size=args.batch_size)
        torch.save(encoder.preprocess([Image.open(p).convert("RGB") for p in paths]), data / "pixels.pt")
        (data / "texts.json").write_text(json.dumps(texts))
        script, env = Path(__file__).resolve(), child_env(data / "cache")
        common = [str(model_dir), tmp, str(args.batch_size), str(args.workers)]
        times = compare(script, {"limit": ["limit", *common], "mmscore": ["mmscore", *common]}, args.rounds, env)
        ours = np.asarray(run_child(script, ["check", *common], env)[1]["scores"])
        base = np.asarray(baseline(encoder, paths[:4], texts[:4]))
        assert np.allclose(base, ours[:4], atol=1e-5), (base, ours[:4])
        if args.baseline:
            n_base = min(args.images, 48)  # row by row is slow; time a prefix and scale per image
            started = time.perf_counter()
            baseline(encoder, paths[:n_base], texts[:n_base])
            times["baseline"] = [(time.perf_counter() - started) * args.images / n_base] * args.rounds
    print_ratios(times)
    if args.baseline:
        print(f"speed-up over the baseline (model already loaded there): "
              f"{times['baseline'][0] / min(times['mmscore']):.2f}x")


if __name__ == "__main__":
    main()
