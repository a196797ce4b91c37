"""The demo's training part: `mmscore train specs` on toy-world chains writes a model that scoring
loads, with held-out evaluation at the start and the end."""

from __future__ import annotations

import pandas as pd
import torch

from mmscore.demo import DemoContext
from mmscore.demo.parts import training
from mmscore.models.clip import load_clip


def test_training_part_fine_tunes_the_demo_model_and_the_output_scores(tmp_path) -> None:
    lines = training.run(DemoContext(workspace=tmp_path))
    out = tmp_path / "training" / "specs_run"
    steps = training.N_TRAIN // training.BATCH  # one epoch, no accumulation
    assert pd.read_csv(out / "eval.csv")["step"].tolist() == [0, steps]
    assert len(pd.read_csv(out / "log.csv")) == steps
    assert any(line.startswith("same as: mmscore train specs --init ") for line in lines)
    tuned, shipped = load_clip(str(out / "model.pt"), device="cpu"), load_clip("mmscore-demo", device="cpu")
    text = ["A large red circle is at the top."]
    assert tuned.context_length == 248
    assert not torch.allclose(tuned.encode_texts(text), shipped.encode_texts(text))  # it did train
