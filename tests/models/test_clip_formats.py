"""Every checkpoint layout gives the same embeddings, and they equal an independent CLIP forward.

The reference below is OpenAI's ViT CLIP written out with plain torch ops from the OpenAI-layout
state dict (pre-LN residual blocks, packed q/k/v attention, QuickGELU MLP, causal text mask,
EOT pooling, Long-CLIP's masked sum of two position tables). It shares no code with mmscore.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mmscore.models.clip import load_clip

FORMATS = ["hf", "openai", "torchscript", "longclip", "safetensors"]
TEXTS = ["a photo of a cat", "Two dogs run across a snowy field, chasing a red ball!", "x"]


# --- independent reference -------------------------------------------------------------------------
def _ln(x, sd, prefix):
    return F.layer_norm(x, x.shape[-1:], sd[prefix + ".weight"], sd[prefix + ".bias"], eps=1e-5)


def _block(x, sd, p, heads, causal):
    n, length, width = x.shape
    h = _ln(x, sd, p + ".ln_1")
    qkv = h @ sd[p + ".attn.in_proj_weight"].T + sd[p + ".attn.in_proj_bias"]
    q, k, v = qkv.split(width, dim=-1)
    d = width // heads

    def split(t):
        return t.reshape(n, length, heads, d).transpose(1, 2)

    scores = split(q) @ split(k).transpose(-1, -2) / d**0.5
    if causal:
        scores = scores + torch.full((length, length), float("-inf")).triu(1)
    att = (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(n, length, width)
    x = x + att @ sd[p + ".attn.out_proj.weight"].T + sd[p + ".attn.out_proj.bias"]
    h = _ln(x, sd, p + ".ln_2") @ sd[p + ".mlp.c_fc.weight"].T + sd[p + ".mlp.c_fc.bias"]
    h = h * torch.sigmoid(1.702 * h)  # QuickGELU
    return x + h @ sd[p + ".mlp.c_proj.weight"].T + sd[p + ".mlp.c_proj.bias"]


def _layers(sd, prefix):
    return len({k.split(".")[len(prefix.split("."))] for k in sd if k.startswith(prefix + ".")})


def reference_text(sd, ids, heads=2):
    """(pooled [N, D], tokens [N, L, D]) un-normalised, from OpenAI/Long-CLIP keys."""
    pos = sd["positional_embedding"]
    if "positional_embedding_res" in sd:  # Long-CLIP: pos * mask1 + pos_res * mask2
        mask1 = torch.zeros(pos.shape[0], 1)
        mask1[:20] = 1
        pos = pos * mask1 + sd["positional_embedding_res"] * (1 - mask1)
    x = sd["token_embedding.weight"][ids] + pos[: ids.shape[1]]
    for i in range(_layers(sd, "transformer.resblocks")):
        x = _block(x, sd, f"transformer.resblocks.{i}", heads, causal=True)
    tokens = _ln(x, sd, "ln_final") @ sd["text_projection"]
    return tokens[torch.arange(len(ids)), ids.argmax(-1)], tokens


def reference_image(sd, pixels, heads=2):
    conv = sd["visual.conv1.weight"]
    x = F.conv2d(pixels, conv, stride=conv.shape[-1]).flatten(2).transpose(1, 2)
    cls = sd["visual.class_embedding"].expand(len(x), 1, -1)
    x = torch.cat([cls, x], 1) + sd["visual.positional_embedding"]
    x = _ln(x, sd, "visual.ln_pre")
    for i in range(_layers(sd, "visual.transformer.resblocks")):
        x = _block(x, sd, f"visual.transformer.resblocks.{i}", heads, causal=False)
    return _ln(x[:, 0], sd, "visual.ln_post") @ sd["visual.proj"]


# --- tests -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def encoders77(formats77):
    return {name: load_clip(path) for name, path in formats77.items()}


@pytest.fixture(scope="module")
def encoders248(formats248):
    return {name: load_clip(path) for name, path in formats248.items()}


def test_formats_give_identical_embeddings_77(encoders77, rgb_batch):
    base = encoders77["hf"]
    img, txt = base.encode_images(rgb_batch), base.encode_texts(TEXTS)
    for name in FORMATS:
        enc = encoders77[name]
        assert (enc.context_length, enc.image_size, enc.embed_dim) == (
            77 if name != "longclip" else 248,
            32,
            16,
        )
        torch.testing.assert_close(enc.encode_images(rgb_batch), img, atol=1e-5, rtol=0)
        # Long-CLIP from a 77-token model is Long-CLIP's stretch: rows < 20 are the original ones,
        # so texts of at most 20 tokens (all of TEXTS) embed exactly as before
        torch.testing.assert_close(enc.encode_texts(TEXTS), txt, atol=1e-5, rtol=0)
    assert len({encoders77[n].fingerprint for n in FORMATS if n != "longclip"}) == 1
    assert encoders77["longclip"].fingerprint != base.fingerprint


def test_formats_give_identical_embeddings_248(encoders248, rgb_batch):
    long_text = " ".join(f"word{i}" for i in range(90))  # ~180 tokens: uses positions >= 20
    texts = [*TEXTS, long_text]
    base = encoders248["hf"]
    img, tok = base.encode_images(rgb_batch), base.encode_texts(texts, return_tokens=True)
    assert base.tokenize([long_text]).lengths[0] > 150
    for name in FORMATS:
        enc = encoders248[name]
        assert enc.context_length == 248
        torch.testing.assert_close(enc.encode_images(rgb_batch), img, atol=1e-5, rtol=0)
        other = enc.encode_texts(texts, return_tokens=True)
        torch.testing.assert_close(other.pooled, tok.pooled, atol=1e-5, rtol=0)
        torch.testing.assert_close(other.tokens, tok.tokens, atol=1e-5, rtol=0)
    assert len({encoders248[n].fingerprint for n in FORMATS}) == 1


def test_matches_independent_reference_77(formats77, encoders77, rgb_batch):
    sd = torch.load(formats77["openai"], weights_only=True)
    enc = encoders77["openai"]
    pixels = enc.preprocess(rgb_batch)
    torch.testing.assert_close(
        enc.encode_images(rgb_batch, normalize=False), reference_image(sd, pixels), atol=1e-5, rtol=1e-5
    )
    out = enc.encode_texts(TEXTS, return_tokens=True)
    pooled, tokens = reference_text(sd, out.ids)
    torch.testing.assert_close(enc.encode_texts(TEXTS, normalize=False), pooled, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.pooled, F.normalize(pooled, dim=-1), atol=1e-5, rtol=0)
    ref_tokens = F.normalize(tokens, dim=-1) * out.mask[..., None]
    torch.testing.assert_close(out.tokens, ref_tokens, atol=1e-5, rtol=0)
    # the mask covers SOT..EOT and the pooled vector is the EOT token
    assert out.mask.sum(1).tolist() == out.lengths.tolist()
    for i, length in enumerate(out.lengths.tolist()):
        assert out.ids[i, 0] == 49406 and out.ids[i, length - 1] == 49407
        torch.testing.assert_close(out.tokens[i, length - 1], out.pooled[i])


def test_matches_independent_reference_longclip(formats248, encoders248, rgb_batch):
    sd = torch.load(formats248["longclip"], weights_only=True)
    assert not torch.equal(sd["positional_embedding"][20:], sd["positional_embedding_res"][20:])
    assert not torch.equal(sd["positional_embedding"][:20], sd["positional_embedding_res"][:20])
    enc = encoders248["longclip"]
    texts = [*TEXTS, " ".join(["lighthouse"] * 60)]
    out = enc.encode_texts(texts, return_tokens=True, normalize=False)
    pooled, tokens = reference_text(sd, out.ids)
    torch.testing.assert_close(out.pooled, pooled, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.tokens, tokens * out.mask[..., None], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        enc.encode_images(rgb_batch, normalize=False),
        reference_image(sd, enc.preprocess(rgb_batch)),
        atol=1e-5,
        rtol=1e-5,
    )
    # sanity: using only the first table (a wrong merge) would change long texts
    wrong = dict(sd, positional_embedding_res=sd["positional_embedding"])
    assert not torch.allclose(reference_text(wrong, out.ids)[0][-1], pooled[-1], atol=1e-3)


def test_long_caption_uses_248_positions(encoders248, caplog):
    enc = encoders248["longclip"]
    caption = " ".join(f"item{i % 7} red" for i in range(70))
    tok = enc.tokenize([caption])
    assert 180 <= int(tok.lengths[0]) <= 248 and not tok.truncated[0]
    kept = tok.ids[0, 1:76].tolist()  # what a 77-token CLIP keeps: SOT + 75 tokens + EOT
    short_text = enc.tokenizer.decode(kept)
    assert enc.tokenize([short_text]).ids[0, 1:77].tolist() == [*kept, 49407]
    full, short = enc.encode_texts([caption, short_text])
    assert float(full @ short) < 0.999
    before = enc.n_truncated
    with caplog.at_level(logging.WARNING, logger="mmscore.models.clip"):
        out = enc.encode_texts([caption, caption + " " + caption])
    assert enc.n_truncated == before + 1
    assert "1 of 2 text(s) exceed 248 tokens" in caplog.text
    assert torch.isfinite(out).all()


def test_truncation_keeps_eot_and_prefix(encoders77):
    enc = encoders77["openai"]
    text = "one two three four five six seven eight nine ten " * 12
    full = enc.tokenizer.encode(text)
    assert len(full) > 100
    tok = enc.tokenize([text, "short"])
    assert tok.truncated == [True, False]
    assert tok.ids[0].tolist() == [49406, *full[:75], 49407]
    assert tok.lengths.tolist() == [77, 3]
    before = enc.n_truncated
    out = enc.encode_texts([text], return_tokens=True)
    assert out.truncated == [True] and out.mask[0].all()
    assert enc.n_truncated == before + 1


def test_half_precision_torchscript_loads_as_float32(model77, tmp_path, rgb_batch, encoders77):
    from mmscore.testing.checkpoints import save_torchscript_checkpoint

    enc = load_clip(save_torchscript_checkpoint(model77, tmp_path / "half.pt", half=True))
    assert all(p.dtype == torch.float32 for p in enc.model.parameters())
    torch.testing.assert_close(
        enc.encode_images(rgb_batch), encoders77["hf"].encode_images(rgb_batch), atol=2e-2, rtol=0
    )


def test_input_types_and_batching(formats77, rgb_batch, tmp_path):
    enc = load_clip(formats77["openai"], batch_size=3)
    expected = enc.encode_images(rgb_batch)  # 4 images: batches of 3 + 1
    pil = [Image.fromarray(a) for a in rgb_batch]
    torch.testing.assert_close(enc.encode_images(pil), expected)
    torch.testing.assert_close(enc.encode_images(list(rgb_batch)), expected)
    path = tmp_path / "img.png"
    pil[1].save(path)
    torch.testing.assert_close(enc.encode_images([str(path)]), expected[1:2])
    one = load_clip(formats77["openai"], batch_size=1)
    torch.testing.assert_close(one.encode_images(rgb_batch), expected, atol=1e-6, rtol=0)
    texts = [f"text number {i} " * (i + 1) for i in range(7)]
    torch.testing.assert_close(one.encode_texts(texts), enc.encode_texts(texts), atol=1e-6, rtol=0)
    assert enc.encode_images([]).shape == (0, 16)
    assert enc.encode_texts([]).shape == (0, 16)
    assert enc.device == torch.device("cpu") and enc.dtype == torch.float32
    assert np.allclose(expected.norm(dim=-1).numpy(), 1.0, atol=1e-6)


def test_shared_tiny_clip_fixture_loads(tiny_clip_hf_dir):
    from mmscore.testing.models import build_tiny_clip

    enc = load_clip(tiny_clip_hf_dir)
    assert enc.fingerprint.startswith("sha256:") and enc.name == str(tiny_clip_hf_dir)
    ids = enc.tokenize(["a photo of a cat"]).ids[:, :7]
    with torch.no_grad():
        ref = build_tiny_clip(0).get_text_features(input_ids=ids).pooler_output
    torch.testing.assert_close(
        enc.encode_texts(["a photo of a cat"]), F.normalize(ref, dim=-1), atol=1e-6, rtol=0
    )


def test_longclip_stretch_follows_the_published_rule():
    from mmscore.testing.checkpoints import longclip_stretch

    table = torch.randn(77, 4)
    new = longclip_stretch(table)
    assert new.shape == (248, 4)  # 4 * 77 - 3 * 20
    assert torch.equal(new[:20], table[:20])
    for i, k in [(0, 0), (0, 3), (17, 2), (55, 1)]:
        expected = (4 - k) / 4 * table[20 + i] + k / 4 * table[21 + i]
        torch.testing.assert_close(new[20 + 4 * i + k], expected)
    for k in range(4):
        torch.testing.assert_close(new[244 + k], table[76] + k / 4 * (table[76] - table[75]))


def test_longclip_copy_variant_has_equal_tables(model248, tmp_path, encoders248):
    from mmscore.testing.checkpoints import save_longclip_checkpoint

    path = save_longclip_checkpoint(model248, tmp_path / "copy.pt", unused="copy")
    sd = torch.load(path, weights_only=True)
    assert torch.equal(sd["positional_embedding"], sd["positional_embedding_res"])
    assert load_clip(path).fingerprint == encoders248["longclip"].fingerprint
