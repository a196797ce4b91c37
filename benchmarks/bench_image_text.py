"""Image–text scoring speed: mmscore's batched operator vs DataFlow-style row-by-row vs the encoder limit.

Model: random weights shaped like OpenAI ViT-B/32 (vision 12 layers, width 768, patch 32, 224 px;
text 12 layers, width 512; 512-d embeddings), built from a transformers ``CLIPConfig``, saved with
``save_pretrained`` into a temporary folder and loaded through ``load_clip`` (no download).
Data: synthetic photo-like 640x480 JPEGs (gradients, shapes, mild noise) with one caption each.

* baseline: how DataFlow-MM's ``ImageLongCLIPEvaluator`` works: for each row open the image,
  preprocess it, encode that one image and that one text, compute the score;
* mmscore: ``ImageLongCLIPEvaluator.score_dataframe`` (worker threads decode + preprocess while
  the encoder runs batches; texts are encoded while the first images decode);
* limit: the same encoder on already preprocessed pixels and all texts in batches — what nothing
  that still has to read the images could beat on this machine.

Run: ``python benchmarks/bench_image_text.py [--images 128] [--batch-size 32] [--workers 2]``.
Prints images/s, the speed-up over the baseline and mmscore's time over the limit (goal ≤ 1.15).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

os.environ.setdefault("MMSCORE_QUIET", "1")


def save_vit_b32(folder: Path) -> Path:
    """A random ViT-B/32-shaped CLIP in ``save_pretrained`` form (fixed seed)."""
    from mmscore.testing.models import build_clip_from_config, vit_b32_config

    build_clip_from_config(vit_b32_config(), seed=0).save_pretrained(folder)
    return folder


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


def limit(encoder, pixels: torch.Tensor, texts: list[str]) -> None:
    encoder.encode_pixels(pixels)
    encoder.encode_texts(texts)


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process over all its threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="best of N interleaved runs for each variant")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from PIL import Image

    from mmscore.models.clip import load_clip
    from mmscore.operators.image_text import ImageLongCLIPEvaluator

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        model_dir = save_vit_b32(tmp_path / "vit-b32")
        paths = make_images(tmp_path, args.images)
        texts = captions(args.images)
        encoder = load_clip(model_dir, device="cpu", batch_size=args.batch_size)
        print(f"torch threads: {torch.get_num_threads()}, images: {args.images} (640x480 JPEG), "
              f"batch size {args.batch_size}, loader workers {args.workers}")

        pixels = encoder.preprocess([Image.open(p).convert("RGB") for p in paths])
        encoder.encode_pixels(pixels[:8])  # warm-up
        operator = ImageLongCLIPEvaluator(str(model_dir), batch_size=args.batch_size,
                                          workers=args.workers).use_encoder(encoder)
        table = pd.DataFrame({"image_path": [str(p) for p in paths], "text": texts})
        # interleaved repeats, best of each: both variants see the same (shared-machine) load
        limit_runs, ours_runs = [], []
        for _ in range(args.repeat):
            limit_runs.append(timed(limit, encoder, pixels, texts))
            ours_runs.append(timed(operator.score_dataframe, table, Path, "image_path", "text", "s"))
        (t_limit, cpu_limit), (t_ours, cpu_ours) = min(limit_runs), min(ours_runs)
        ours = operator.score_dataframe(table, Path, "image_path", "text", "s")["s"].to_numpy(dtype=float)

        n_base = min(args.images, 48)  # row by row is slow; time a prefix and scale per image
        t_base = timed(baseline, encoder, paths[:n_base], texts[:n_base])[0] * args.images / n_base
        base = np.asarray(baseline(encoder, paths[:4], texts[:4]))
        assert np.allclose(base, ours[:4], atol=1e-5), (base, ours[:4])

    rows = [("baseline (row by row, DataFlow-MM style)", t_base), ("mmscore operator (batched + prefetch)", t_ours),
            ("encoder-bound limit (pixels ready, batched)", t_limit)]
    for name, seconds in rows:
        print(f"{name:46s} {seconds:7.2f} s  {args.images / seconds:7.1f} images/s")
    print(f"speed-up over baseline: {t_base / t_ours:.2f}x   mmscore / limit: {t_ours / t_limit:.3f} (goal <= 1.15)")
    print(f"CPU seconds: mmscore {cpu_ours:.1f}, limit {cpu_limit:.1f} (the difference is image decoding and "
          f"preprocessing; on a loaded machine it cannot all hide behind the encoder)")


if __name__ == "__main__":
    main()
