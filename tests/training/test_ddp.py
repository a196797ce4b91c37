"""Two gloo processes under torchrun: gradients are synchronised (identical on both ranks) and
equal one process computing the same objective over the union batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mmscore.training.data import TrainingData, collate
from mmscore.training.losses import SpecsLoss, pca_reconstruct
from mmscore.training.model import freeze_positions, load_trainable
from mmscore.training.recipes import LongClipRecipe, SpecsRecipe

WORKER = Path(__file__).with_name("ddp_worker.py")


def union_reference(model, recipe_name: str, batch) -> dict[str, torch.Tensor]:
    """Gradients of the objective the two ranks jointly optimise, in one process."""
    if recipe_name == "longclip":  # gathered features, PCA on each rank's shard, mean over all rows
        image, long, short, scale = model(*batch)
        image_short = torch.cat([pca_reconstruct(image[:4], 3), pca_reconstruct(image[4:], 3)])
        targets = torch.arange(len(image))

        def sym(a, b):
            return (F.cross_entropy(scale * a @ b.T, targets, label_smoothing=0.1)
                    + F.cross_entropy(scale * b @ a.T, targets, label_smoothing=0.1)) / 2

        loss = sym(image, long) + sym(image_short, short)
    else:  # SPECS is local: the mean of each shard's own loss (each rank's ε starts at 0)
        halves = [tuple(t[i * 4:(i + 1) * 4] for t in batch) for i in range(2)]
        loss = sum(SpecsLoss()(o[-1], *o[:-1])[0] for o in (model(*h) for h in halves)) / 2
    loss.backward()
    return {name: p.grad for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.slow
@pytest.mark.parametrize("recipe_name", ["longclip", "specs"])
def test_two_rank_gradients_are_synchronised_and_equal_the_union_batch(longclip_ckpt, rows, tmp_path, recipe_name):
    recipe = LongClipRecipe(components=3) if recipe_name == "longclip" else SpecsRecipe()
    model, _ = load_trainable(longclip_ckpt, "specs")
    freeze_positions(model, recipe.freeze_positions)
    data = TrainingData(rows, model.arch.image_size, recipe.pick)
    batch = collate([data[i] for i in range(8)])
    batch = (batch[0].double(), *batch[1:])
    torch.save(batch, tmp_path / "batch.pt")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER),
           str(tmp_path), recipe_name, str(longclip_ckpt), str(tmp_path / "batch.pt")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    expected = union_reference(model.double(), recipe_name, batch)
    assert rank0.keys() == rank1.keys() == expected.keys()
    for name in expected:
        assert torch.equal(rank0[name], rank1[name]), name
        assert torch.allclose(rank0[name], expected[name], rtol=1e-9, atol=1e-12), name


@pytest.mark.slow
def test_two_rank_cli_run_resumes_to_the_uninterrupted_curve(longclip_ckpt, rows, tmp_path):
    """`torchrun -m mmscore train specs`: cut at step 3, --resume, equals the whole run (each rank's ε and
    RNG restored)."""
    from PIL import Image

    lines = []
    for i, row in enumerate(rows):
        Image.fromarray(row["image"]).save(tmp_path / f"{i}.png")
        lines.append({**row, "image": f"{i}.png"})
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MMSCORE_QUIET": "1"}

    def launch(out, *extra):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
               "mmscore", "train", "specs", "--init", str(longclip_ckpt), "--data", str(tmp_path / "d.jsonl"),
               "-o", str(tmp_path / out), "--batch-size", "2", "--accumulation", "2", "--epochs", "2",
               "--workers", "0", "--save-every", "2", "--lr", "1e-3", "--warmup", "2", *extra]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    launch("whole")
    launch("cut", "--max-steps", "3")
    launch("cut", "--resume")
    assert (tmp_path / "cut" / "log.csv").read_text() == (tmp_path / "whole" / "log.csv").read_text()
    a, b = torch.load(tmp_path / "whole" / "model.pt"), torch.load(tmp_path / "cut" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
