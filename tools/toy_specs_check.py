"""Toy-world SPECS behaviour check (issue 25): fine-tune the shipped demo model with ``SpecsRecipe``
on toy-world chunk chains and print held-out SPECS Pos/Neg and R@1 as one JSON line.

The held-out set is the first 80 scenes with 2–3 shapes among seeds 100000–100399 (224 px);
training rows are scenes 0–399. Runs are small (40 steps of batch 8 take ~10 s on one CPU thread),
so a sweep of λ, learning rate, margin and seed fits in minutes. Examples::

    python tools/toy_specs_check.py --start                        # the demo model before fine-tuning
    python tools/toy_specs_check.py --weights 1,0,0 --lr 1e-5      # contrastive-only control
    python tools/toy_specs_check.py --weights 1,4,1.5 --lr 1e-5 --seed 1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import mmscore
from mmscore.toyworld import chain_rows
from mmscore.training.engine import TrainSettings, train
from mmscore.training.evaluate import specificity_evaluator, specificity_set_from_rows
from mmscore.training.losses import SpecsWeights
from mmscore.training.model import load_trainable
from mmscore.training.recipes import SpecsRecipe

DEMO = Path(mmscore.__file__).parent / "models" / "demo" / "mmscore-demo.pt"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="1,8,0.8", help="λc,λd,λn (default: run_spec.sh)")
    parser.add_argument("--epsilon", type=float, default=0.0, help="0: adaptive margin; else fixed margin")
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", action="store_true", help="only evaluate the demo model")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    held_out = chain_rows(range(100000, 100400), image_size=224, min_objects=2)[:80]
    evaluate = specificity_evaluator(specificity_set_from_rows(held_out))
    model, _ = load_trainable(str(DEMO), "specs")
    began = time.perf_counter()
    if args.start:
        model.eval()
        with torch.no_grad():
            metrics = evaluate(model)
    else:
        contrastive, detail, negative = (float(v) for v in args.weights.split(","))
        recipe = SpecsRecipe(SpecsWeights(contrastive, detail, negative, args.epsilon))
        settings = TrainSettings(epochs=1000, batch_size=args.batch, accumulation=1, lr=args.lr,
                                 warmup=args.warmup, seed=args.seed, workers=0, max_steps=args.steps,
                                 save_every=10**9, device="cpu")
        with tempfile.TemporaryDirectory() as out:
            metrics = train(model, chain_rows(range(400), image_size=224), recipe, settings, Path(out),
                            evaluate=evaluate).metrics
    print(json.dumps({**vars(args), **metrics, "seconds": round(time.perf_counter() - began, 1)}))


if __name__ == "__main__":
    main()
