"""Toy-world SPECS behaviour check (issue 25): fine-tune the shipped demo model with ``SpecsRecipe``
on toy-world chunk chains and print held-out SPECS Pos/Neg/Avg, R@1 and Neg by kind of wrong detail
for the starting model, the SPECS run and a contrastive-only control (one JSON line each).

The setting and the held-out set are :mod:`mmscore.training.toycheck`'s (the suite's behaviour test
uses the same defaults). A run of one epoch over 3,200 scenes (200 steps of batch 16) takes about
1.5 minutes on one CPU thread. Examples::

    python tools/toy_specs_check.py                                   # start, SPECS 1/2/2 and control
    python tools/toy_specs_check.py --runs specs --weights 1,8,0.8 --seed 1
    python tools/toy_specs_check.py --runs specs,control --epochs 2 --lr 1e-5
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import torch

from mmscore.training.losses import SpecsWeights
from mmscore.training.toycheck import ToyFineTune, demo_model, fine_tune, held_out_rows, measure, training_rows

RUNS = ("start", "specs", "control")


def parse_args() -> argparse.Namespace:
    default = ToyFineTune()
    w = default.weights
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, of {', '.join(RUNS)}")
    parser.add_argument("--weights", default=f"{w.contrastive:g},{w.detail:g},{w.negative:g}", help="λc,λd,λn")
    parser.add_argument("--epsilon", type=float, default=0.0, help="0: adaptive margin; else fixed margin")
    parser.add_argument("--lr", type=float, default=default.lr)
    parser.add_argument("--epochs", type=int, default=default.epochs)
    parser.add_argument("--max-steps", type=int, default=0, help="stop early (the schedule keeps its length)")
    parser.add_argument("--batch", type=int, default=default.batch)
    parser.add_argument("--warmup", type=int, default=default.warmup)
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--train-scenes", type=int, default=default.train_scenes)
    parser.add_argument("--held-out", type=int, default=400, help="held-out scenes (2-3 shapes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    unknown = set(args.runs.split(",")) - set(RUNS)
    if unknown:
        parser.error(f"--runs: unknown {', '.join(sorted(unknown))}; choose from {', '.join(RUNS)}")
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    contrastive, detail, negative = (float(v) for v in args.weights.split(","))
    run = ToyFineTune(SpecsWeights(contrastive, detail, negative, args.epsilon), lr=args.lr, epochs=args.epochs,
                      batch=args.batch, warmup=args.warmup, seed=args.seed, train_scenes=args.train_scenes,
                      max_steps=args.max_steps)
    names = args.runs.split(",")
    held_out = held_out_rows(args.held_out)
    rows = training_rows(run.train_scenes) if set(names) - {"start"} else []
    for name in names:
        began = time.perf_counter()
        this = run.control() if name == "control" else run
        model = demo_model() if name == "start" else fine_tune(this, rows)
        metrics = measure(model, held_out)
        settings = {} if name == "start" else {**asdict(this), "weights": asdict(this.weights)}
        print(json.dumps({"run": name, **settings, **metrics, "seconds": round(time.perf_counter() - began, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
