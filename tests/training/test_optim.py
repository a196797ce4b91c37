"""AdamW step and the cosine schedule vs closed forms; gradient accumulation = mean gradient."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from mmscore.training.distributed import DistContext
from mmscore.training.engine import StepParts, optimizer_step
from mmscore.training.losses import SpecsWeights
from mmscore.training.model import freeze_positions, load_trainable
from mmscore.training.optim import CosineSchedule, build_optimizer, cosine_lr
from mmscore.training.recipes import LongClipRecipe, SpecsRecipe


def test_one_adamw_step_matches_decoupled_adamw():
    rng = np.random.default_rng(0)
    p0, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    param = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    opt = build_optimizer([param, frozen], lr=1e-3, weight_decay=0.01)
    assert len(opt.param_groups) == 1 and len(opt.param_groups[0]["params"]) == 1  # frozen: not optimised
    param.grad = torch.from_numpy(g.copy())
    opt.step()
    lr, wd, b1, b2, eps = 1e-3, 0.01, 0.9, 0.999, 1e-8
    m, v = (1 - b1) * g, (1 - b2) * g * g
    expected = p0 * (1 - lr * wd) - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
    assert np.allclose(param.detach().numpy(), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("step", [0, 1, 39, 40, 41, 200, 240])
def test_cosine_schedule_closed_form(step):
    base, warm, total = 1e-5, 40, 240
    expected = base * (step + 1) / warm if step < warm else base * 0.5 * (1 + math.cos(math.pi * (step - warm) / 200))
    assert cosine_lr(step, base, warm, total) == pytest.approx(expected, rel=1e-15)
    assert cosine_lr(0, base, warm, total) == pytest.approx(base / 40)
    assert cosine_lr(39, base, warm, total) == pytest.approx(base)
    assert cosine_lr(240, base, warm, total) == pytest.approx(0.0, abs=1e-20)


def test_schedule_offset_one_reproduces_train_spec():
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])
    schedule = CosineSchedule(opt, 1e-5, 40, 240, offset=1)
    assert schedule.apply(0) == pytest.approx(2e-5 / 40)  # first call at t = 1
    assert schedule.lr_at(38) == pytest.approx(1e-5)  # peak one step early
    assert schedule.lr_at(239) == pytest.approx(0.0, abs=1e-20)  # last optimizer step at lr 0
    assert opt.param_groups[0]["lr"] == pytest.approx(2e-5 / 40)


class Recorder(torch.optim.SGD):
    """Keeps the gradients it was asked to apply (and applies nothing: lr 0)."""

    def step(self, closure=None):
        self.seen = [p.grad.detach().clone() for group in self.param_groups for p in group["params"]]


@pytest.mark.parametrize("recipe_factory", [LongClipRecipe, lambda: SpecsRecipe(SpecsWeights(epsilon=0.0))])
def test_accumulating_k_micro_batches_gives_the_mean_gradient(longclip_ckpt, rows, recipe_factory):
    from mmscore.training.data import TrainingData, collate

    model, _ = load_trainable(longclip_ckpt, "specs")
    recipe = recipe_factory()
    freeze_positions(model, recipe.freeze_positions)
    data = TrainingData(rows, model.arch.image_size, recipe.pick)
    micro = [collate([data[i] for i in range(j * 4, j * 4 + 4)]) for j in range(3)]
    micro = [(b[0].double(), *b[1:]) for b in micro]  # float64: the comparison is about the maths
    model.double()
    reference_model, reference_recipe = copy.deepcopy(model), copy.deepcopy(recipe)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = Recorder(params, lr=0.0)
    parts = StepParts(model, recipe, opt, CosineSchedule(opt, 0.0, 1, 10), torch.amp.GradScaler("cpu", enabled=False),
                      None, DistContext())
    optimizer_step(parts, 0, micro)
    ref_params = [p for p in reference_model.parameters() if p.requires_grad]
    grads = [torch.zeros_like(p) for p in ref_params]
    for batch in micro:  # each micro-batch alone, in order (SPECS' ε moves between them)
        reference_model.zero_grad()
        loss, _ = reference_recipe.loss(reference_model, batch, 0)
        loss.backward()
        for acc, p in zip(grads, ref_params, strict=True):
            acc += p.grad / 3
    for got, want in zip(opt.seen, grads, strict=True):
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-12)
