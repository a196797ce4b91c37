"""SPECS and Long-CLIP losses against independent float64 NumPy computations of the formulas
(mbzuai-nlp/SPECS model/model_spec.py; beichenzbc/Long-CLIP model/model_longclip.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmscore.training.losses import SpecsLoss, SpecsWeights, longclip_loss, pca_reconstruct


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def ce(logits: np.ndarray, targets: np.ndarray, smoothing: float = 0.0) -> float:
    lp = log_softmax(logits)
    nll = -lp[np.arange(len(targets)), targets]
    uniform = -lp.mean(axis=1)
    return float(np.mean((1 - smoothing) * nll + smoothing * uniform))


TRACE: list[float] = []  # every intermediate ε of the reference (to see the clamps were exercised)


def specs_reference(s, v, tc, tb, td, tn, eps, lambdas, adaptive):
    """One SPECS call: (total, new eps) written from the formulas of specs_training.md §1."""
    lc, ld, ln = lambdas
    con = ce(s * tc @ v.T, np.arange(len(v)))
    b, d, n = s * (tb * v).sum(1), s * (td * v).sum(1), s * (tn * v).sum(1)
    det = np.mean(np.maximum(eps + b - d, 0))
    if adaptive:
        eps = min(max(d.mean() - b.mean(), 0.0), 1.5)
        TRACE.append(eps)
    neg = np.mean(np.maximum(eps + n - b, 0))
    if adaptive:
        eps = min(max(b.mean() - n.mean(), 0.0), 1.5)
        TRACE.append(eps)
    return lc * con + ld * det + ln * neg, eps


def t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x)


def test_specs_adaptive_margin_over_three_calls_hits_both_clamps():
    rng = np.random.default_rng(0)
    loss = SpecsLoss(SpecsWeights(1.0, 8.0, 0.8, 0.0))
    eps = 0.0
    TRACE.clear()
    # call 1: details far closer to the image (gap clamps at 1.5); call 2: small scale (inside);
    # call 3: the details point away (detail gap clamps at 0)
    for call, (scale, sign) in enumerate([(100.0, 1.0), (1.0, 1.0), (100.0, -1.0)]):
        v = unit(rng, 6, 8)
        tb = unit(rng, 6, 8)
        td = unit(rng, 6, 8) * 0.3 + sign * v
        td /= np.linalg.norm(td, axis=1, keepdims=True)
        tc, tn = unit(rng, 6, 8), unit(rng, 6, 8)
        expected, eps = specs_reference(scale, v, tc, tb, td, tn, eps, (1.0, 8.0, 0.8), True)
        got, terms = loss(torch.tensor(scale, dtype=torch.float64), t(v), t(tc), t(tb), t(td), t(tn))
        assert float(got) == pytest.approx(expected, rel=1e-12), call
        assert terms["epsilon"] == pytest.approx(eps, abs=1e-12)
        assert loss.epsilon == pytest.approx(eps, abs=1e-12)
    assert 1.5 in TRACE and 0.0 in TRACE and any(0.0 < e < 1.5 for e in TRACE), TRACE


def test_specs_epsilon_clamps_and_the_negative_margin_uses_the_detail_gap():
    v = np.eye(4)
    loss = SpecsLoss()
    # d·v = 1, b·v = 0 → detail gap = s = 10 → ε clamps to 1.5 and the negative hinge uses 1.5
    tb = np.roll(np.eye(4), 1, axis=1)
    got, _ = loss(torch.tensor(10.0, dtype=torch.float64), t(v), t(v), t(tb), t(v), t(tb))
    # contrastive: CE of rows [10, 0, 0, 0]; detail: relu(0 + 0 - 10) = 0; negative: relu(1.5 + 0 - 0)
    con = np.log(np.exp(10) + 3) - 10
    assert float(got) == pytest.approx(con + 8 * 0 + 0.8 * 1.5, rel=1e-12)
    assert loss.epsilon == 0.0  # then b - n = 0 → clamp at 0


def test_specs_fixed_margin_keeps_epsilon_in_both_terms():
    rng = np.random.default_rng(1)
    loss = SpecsLoss(SpecsWeights(0.5, 2.0, 3.0, 0.7))
    for _ in range(3):
        v, tc, tb, td, tn = (unit(rng, 5, 8) for _ in range(5))
        expected, eps = specs_reference(20.0, v, tc, tb, td, tn, 0.7, (0.5, 2.0, 3.0), False)
        got, terms = loss(torch.tensor(20.0, dtype=torch.float64), t(v), t(tc), t(tb), t(td), t(tn))
        assert float(got) == pytest.approx(expected, rel=1e-12)
        assert terms["epsilon"] == eps == 0.7


def test_specs_has_no_beta():
    """The original's β is only logged (never in a loss): mmscore has no such setting at all."""
    assert "beta" not in SpecsWeights.__dataclass_fields__


def pca_reference(x: np.ndarray, k: int) -> np.ndarray:
    mean = x.mean(0, keepdims=True)
    u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return (x - mean) @ vt[:k].T @ vt[:k] + mean


@pytest.mark.parametrize("components", [3, 32])
def test_longclip_loss_matches_the_formula(components):
    rng = np.random.default_rng(2)
    v, tl, ts = unit(rng, 8, 16), unit(rng, 8, 16), unit(rng, 8, 16)
    s = 30.0
    vs = pca_reference(v, components)
    targets = np.arange(8)
    long = (ce(s * v @ tl.T, targets, 0.1) + ce(s * tl @ v.T, targets, 0.1)) / 2
    short = (ce(s * vs @ ts.T, targets, 0.1) + ce(s * ts @ vs.T, targets, 0.1)) / 2
    got, terms = longclip_loss(torch.tensor(s, dtype=torch.float64), t(v), t(tl), t(ts), components=components)
    assert float(got) == pytest.approx(long + short, rel=1e-10)
    assert terms["long"] == pytest.approx(long, rel=1e-10)
    assert terms["short"] == pytest.approx(short, rel=1e-10)


def test_pca_properties():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.normal(size=(10, 12)))
    once = pca_reconstruct(x, 4)
    assert torch.allclose(pca_reconstruct(once, 4), once, atol=1e-12)  # idempotent
    assert torch.allclose(once.mean(0), x.mean(0), atol=1e-12)  # mean preserved
    assert torch.allclose(pca_reconstruct(x, 9), x, atol=1e-12)  # k >= B - 1: identity
    assert np.allclose(once.numpy(), pca_reference(x.numpy(), 4), atol=1e-12)
    assert pca_reconstruct(x.half().float(), 4).dtype == torch.float32
    leaf = x.clone().requires_grad_(True)
    pca_reconstruct(leaf, 4).pow(2).sum().backward()
    assert torch.isfinite(leaf.grad).all()
