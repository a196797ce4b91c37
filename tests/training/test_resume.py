"""A run cut short and resumed equals the uninterrupted run (loss curve and weights, CPU, fixed seed)."""

from __future__ import annotations

import csv

import pytest
import torch

from mmscore.errors import ConfigError
from mmscore.training.engine import TrainSettings, train
from mmscore.training.model import load_trainable
from mmscore.training.recipes import SpecsRecipe


def run(ckpt, rows, out, **changes):
    model, _ = load_trainable(ckpt, "specs")
    settings = TrainSettings(epochs=2, batch_size=4, accumulation=2, warmup=2, lr=1e-3, workers=0, save_every=0)
    resume = changes.pop("resume", False)
    for key, value in changes.items():
        setattr(settings, key, value)
    return train(model, rows, SpecsRecipe(), settings, out, resume=resume)


def read_log(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_resume_reproduces_the_uninterrupted_run(longclip_ckpt, rows, tmp_path):
    whole = run(longclip_ckpt, rows, tmp_path / "whole")
    assert whole.steps == 4
    first = run(longclip_ckpt, rows, tmp_path / "cut", max_steps=3)  # stops inside epoch 1
    assert first.steps == 3
    with pytest.raises(ConfigError, match="--resume"):
        run(longclip_ckpt, rows, tmp_path / "cut")  # never trains over an existing run
    with pytest.raises(ConfigError, match="lr"):
        run(longclip_ckpt, rows, tmp_path / "cut", resume=True, lr=2e-3)
    resumed = run(longclip_ckpt, rows, tmp_path / "cut", resume=True)
    assert resumed.steps == 4
    assert read_log(tmp_path / "cut" / "log.csv") == read_log(tmp_path / "whole" / "log.csv")
    assert any(float(row["epsilon"]) > 0 for row in read_log(tmp_path / "whole" / "log.csv"))
    a = torch.load(tmp_path / "whole" / "model.pt")
    b = torch.load(tmp_path / "cut" / "model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
