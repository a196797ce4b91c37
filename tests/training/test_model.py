"""The trainable model: Long-CLIP position tables, frozen rows, stretching, checkpoint round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmscore.errors import ConfigError, ModelError
from mmscore.training.data import TrainingData, collate
from mmscore.training.model import freeze_positions, load_trainable
from mmscore.training.recipes import LongClipRecipe, SpecsRecipe


def one_batch(rows, recipe, image_size):
    data = TrainingData(rows, image_size, recipe.pick, seed=0)
    return collate([data[i] for i in range(len(rows))])


def backward_once(model, recipe, rows):
    batch = one_batch(rows, recipe, model.arch.image_size)
    assert batch[1].shape[1] > 20  # the texts reach positions past the first 20 rows
    loss, _ = recipe.loss(model, batch, 0)
    loss.backward()


def test_specs_default_freezes_positional_embedding_and_res_head_gets_zero(longclip_ckpt, rows):
    model, _ = load_trainable(longclip_ckpt, "specs")
    recipe = SpecsRecipe()
    freeze_positions(model, recipe.freeze_positions)
    backward_once(model, recipe, rows[:4])
    assert model.positions.weight.grad is None
    res_grad = model.positions.res.grad
    assert torch.equal(res_grad[:20], torch.zeros_like(res_grad[:20]))
    assert res_grad[20:].abs().sum() > 0


def test_original_specs_trains_both_tables_with_exact_zeros_where_unused(longclip_ckpt, rows):
    model, _ = load_trainable(longclip_ckpt, "specs")
    recipe = SpecsRecipe(train_frozen_positions=True)
    freeze_positions(model, recipe.freeze_positions)
    backward_once(model, recipe, rows[:4])
    base = model.positions.weight.grad
    assert torch.equal(base[20:], torch.zeros_like(base[20:]))
    assert base[:20].abs().sum() > 0


def test_longclip_stretch_from_clip_matches_the_closed_form(clip77_ckpt, rows):
    raw = torch.load(clip77_ckpt, map_location="cpu")["positional_embedding"].double().numpy()
    model, report = load_trainable(clip77_ckpt, "longclip")
    assert report.stretched and report.layout == "clip" and report.logit_scale_reset
    assert model.clip.logit_scale.item() == pytest.approx(math.log(100.0), rel=1e-7)
    expected = list(raw[:20])
    for i in range(56):
        for k in range(4):
            expected.append((4 - k) / 4 * raw[20 + i] + k / 4 * raw[21 + i])
    expected += [raw[76] + k / 4 * (raw[76] - raw[75]) for k in range(4)]
    expected = np.stack(expected)
    assert expected.shape[0] == 248
    for table in (model.positions.weight, model.positions.res):
        assert np.allclose(table.detach().double().numpy(), expected, atol=1e-6)
    freeze_positions(model, LongClipRecipe.freeze_positions)
    backward_once(model, LongClipRecipe(), rows[:4])
    assert model.positions.weight.grad is None  # Long-CLIP: positional_embedding never trains


def test_fp16_stretch_rounds_every_operation_as_the_original_on_a_gpu(clip77_ckpt):
    """load_from_clip computes 3*p/4 + 1*q/4 (and p76 + k*(p76-p75)/4) in the model's fp16; NumPy's
    float16 rounds after every operation the same way."""
    raw = torch.load(clip77_ckpt, map_location="cpu")["positional_embedding"].float().numpy().astype(np.float16)
    model, report = load_trainable(clip77_ckpt, "longclip", stretch_precision="fp16")
    assert report.stretch_precision == "fp16"
    four = np.float16(4)
    expected = list(raw[:20])
    for i in range(56):
        p, q = raw[20 + i], raw[21 + i]
        expected += [p * np.float16(4 - k) / four + q * np.float16(k) / four for k in range(4)]
    expected += [raw[76] + (raw[76] - raw[75]) * np.float16(k) / four for k in range(4)]
    table = model.positions.weight.detach()
    assert table.dtype == torch.float32
    assert np.array_equal(table.numpy(), np.stack(expected).astype(np.float32))
    fp32, _ = load_trainable(clip77_ckpt, "longclip")
    assert not torch.equal(fp32.positions.weight, table)
    assert torch.allclose(fp32.positions.weight, table, atol=2e-3)
    with pytest.raises(ConfigError, match="fp32 or fp16"):
        LongClipRecipe(stretch_precision="bf16")


def longclip_keys(layers: int) -> set[str]:
    """The state-dict keys of Long-CLIP's ``build_model`` for a ViT (model_longclip.py), written out."""
    keys = {"token_embedding.weight", "positional_embedding", "positional_embedding_res", "ln_final.weight",
            "ln_final.bias", "text_projection", "logit_scale", "visual.class_embedding",
            "visual.positional_embedding", "visual.conv1.weight", "visual.ln_pre.weight", "visual.ln_pre.bias",
            "visual.ln_post.weight", "visual.ln_post.bias", "visual.proj"}
    block = ["attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight", "attn.out_proj.bias",
             "ln_1.weight", "ln_1.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
             "mlp.c_proj.bias", "ln_2.weight", "ln_2.bias"]
    for tower in ("transformer", "visual.transformer"):
        keys |= {f"{tower}.resblocks.{i}.{name}" for i in range(layers) for name in block}
    return keys


def test_checkpoint_round_trip_through_load_clip_is_bit_identical(longclip_ckpt, tmp_path, rows):
    from mmscore.models.clip import load_clip
    from mmscore.training.checkpoint import save_torch
    from mmscore.training.evaluate import training_encoder

    model, _ = load_trainable(longclip_ckpt, "specs")
    original = torch.load(longclip_ckpt, map_location="cpu")
    saved = model.longclip_state_dict()
    assert set(saved) == longclip_keys(2) == set(original)  # no "module." prefix, nothing missing or extra
    assert saved["text_projection"].shape == (32, 16) and saved["visual.proj"].shape == (32, 16)
    assert saved["positional_embedding"].shape == saved["positional_embedding_res"].shape == (248, 32)
    assert all(v.dtype == torch.float32 for v in saved.values())
    for key, value in original.items():  # an untouched model writes back the file's tensors
        assert torch.equal(saved[key], value.float()), key
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))  # "trained" weights
    path = save_torch(model.longclip_state_dict(), tmp_path / "model.pt")
    loaded = load_clip(path, device="cpu")
    mine = training_encoder(model.eval())
    texts = [r["captions"][-1] for r in rows[:5]]
    images = np.stack([r["image"] for r in rows[:5]])
    assert torch.equal(loaded.encode_texts(texts), mine.encode_texts(texts))
    assert torch.equal(loaded.encode_images(images), mine.encode_images(images))


def test_wrong_layout_init_names_the_expected_keys(clip77_ckpt, tmp_path):
    with pytest.raises(ModelError, match="positional_embedding_res") as info:
        load_trainable(clip77_ckpt, "specs")
    assert "(77, 32)" in str(info.value) and "mmscore train longclip" in str(info.value)
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="token_embedding.weight"):
        load_trainable(tmp_path / "other.pt", "longclip")
