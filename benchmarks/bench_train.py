"""Training step time: the engine's whole optimizer step vs forward + backward alone.

Model: a random CLIP in the Long-CLIP layout (224 px, patch 32, width 256, 4 layers per tower,
248 positions), loaded with ``load_trainable`` like ``mmscore train specs``. Data: 320x240 JPEGs
with SPECS chains (4 texts per image, 40-70 tokens).

* engine: ``optimizer_step`` fed by the engine's DataLoader (worker processes decode JPEGs,
  resize and tokenise while the step runs; on a 2-core machine: 1 torch thread + 1 worker) —
  schedule, forward, SPECS loss, backward, AdamW;
* limit: forward + loss + backward only, on one batch already in memory (nothing to decode,
  no optimizer).

Run: ``python benchmarks/bench_train.py [--steps 12] [--batch-size 16] [--workers 1] [--threads 1]``. Prints
median seconds per step (the two alternate step by step) and engine / limit (goal ≤ 1.2). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("MMSCORE_QUIET", "1")

WORDS = ["red", "blue", "green", "square", "circle", "left", "right", "small", "large", "dot", "line", "top",
         "under", "beside", "over"]


def make_rows(folder: Path, n: int, seed: int = 0) -> list[dict]:
    from PIL import Image

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        path = folder / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(path, quality=90)
        chunks = [" ".join(rng.choice(WORDS, size=12)) for _ in range(5)]
        caps = [" ".join(chunks[: k + 1]) for k in range(5)]
        negs = [caps[k] + " " + " ".join(rng.choice(WORDS, size=12)) for k in range(4)]
        rows.append({"image": str(path), "caption": caps[-1], "captions": caps, "neg_captions": negs})
    return rows


def build_model(folder: Path):
    from mmscore.testing.checkpoints import save_longclip_checkpoint
    from mmscore.testing.models import build_clip_from_config, tiny_clip_config
    from mmscore.training.model import freeze_positions, load_trainable

    config = tiny_clip_config(context_length=248, image_size=224, patch_size=32, vision_width=256, text_width=256,
                              layers=4, heads=4, embed_dim=256)
    save_longclip_checkpoint(build_clip_from_config(config, seed=0), folder / "model.pt")
    model, _ = load_trainable(folder / "model.pt", "specs")
    freeze_positions(model, True)
    return model


def main() -> None:
    from mmscore.training.data import TrainingData
    from mmscore.training.distributed import DistContext
    from mmscore.training.engine import TrainSettings, _prepare, epoch_batches, optimizer_step
    from mmscore.training.recipes import SpecsRecipe

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the step (the rest of the "
                        "cores are the DataLoader workers')")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = make_rows(folder, args.batch_size * (args.steps + 2))
        model = build_model(folder)
        recipe = SpecsRecipe()
        settings = TrainSettings(batch_size=args.batch_size, accumulation=1, workers=args.workers, lr=1e-5)
        ctx = DistContext()
        parts = _prepare(model, recipe, settings, ctx, total=args.steps + 2)
        data = TrainingData(rows, model.arch.image_size, recipe.pick)
        batches = epoch_batches(data, settings, ctx, 0, 0)
        fixed = next(batches)
        def forward_backward() -> None:
            loss, _ = recipe.loss(model, fixed, 0)
            loss.backward()
            model.zero_grad(set_to_none=True)

        optimizer_step(parts, 0, [next(batches)])  # warm-up (workers started, kernels chosen)
        forward_backward()
        engine_times, limit_times = [], []
        for step in range(args.steps):  # interleaved, so a change in machine load hits both alike
            start = time.perf_counter()
            optimizer_step(parts, step + 1, [next(batches)])
            engine_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            forward_backward()
            limit_times.append(time.perf_counter() - start)
        engine, limit = float(np.median(engine_times)), float(np.median(limit_times))
    print(f"engine step {engine:.3f} s, forward+backward alone {limit:.3f} s, engine / limit = {engine / limit:.3f}"
          f" (goal <= 1.2); batch {args.batch_size}, {args.workers} DataLoader workers, "
          f"{torch.get_num_threads()} torch threads")


if __name__ == "__main__":
    main()
