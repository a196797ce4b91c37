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


def reference_pixels(image: Image.Image, size: int) -> torch.Tensor:
    """OpenAI's ``_transform`` written out as torchvision defines it: bicubic resize of the shorter
    side (longer side truncated), centre crop at ``int(round(margin / 2))``, RGB, ToTensor,
    Normalize with the CLIP mean/std."""
    w, h = image.size
    new = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    if new != (w, h):
        image = image.resize(new, Image.BICUBIC)
    left, top = int(round((new[0] - size) / 2.0)), int(round((new[1] - size) / 2.0))
    image = image.crop((left, top, left + size, top + size)).convert("RGB")
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
    return (x - mean) / std


def odd_images() -> dict[str, Image.Image]:
    """Non-square, tiny, large and non-RGB images (palette, alpha, grey, CMYK, 1-bit, 16-bit)."""
    rng = np.random.default_rng(3)
    ramp = np.stack(np.meshgrid(np.linspace(0, 255, 97), np.linspace(0, 255, 61)), -1).astype(np.uint8)
    rgb = np.concatenate([ramp, rng.integers(0, 256, (61, 97, 1), dtype=np.uint8)], -1)
    alpha = rng.integers(0, 256, (61, 97, 1), dtype=np.uint8)
    return {
        "RGB": Image.fromarray(rgb),
        "tall": Image.fromarray(rng.integers(0, 256, (301, 40, 3), dtype=np.uint8)),
        "tiny": Image.fromarray(rng.integers(0, 256, (5, 9, 3), dtype=np.uint8)),
        "large": Image.fromarray(rng.integers(0, 256, (1200, 1601, 3), dtype=np.uint8)),
        "P": Image.fromarray(rgb).convert("P"),
        "RGBA": Image.fromarray(np.concatenate([rgb, alpha], -1), "RGBA"),
        "LA": Image.fromarray(np.concatenate([rgb[..., :1], alpha], -1), "LA"),
        "L": Image.fromarray(rgb[..., 1]),
        "CMYK": Image.fromarray(rgb).convert("CMYK"),
        "1": Image.fromarray(rgb[..., 2]).convert("1"),
        "I;16": Image.fromarray(rng.integers(0, 65535, (40, 50), dtype=np.uint16)),
    }


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


def test_odd_images_match_the_openai_transform_on_every_path(formats77, encoders77, tmp_path):
    """Pixels and embeddings of non-RGB / non-square images equal the OpenAI transform (RGB conversion
    after the crop) whether given as PIL images, as files to encode_images, or through the batched
    operator/evaluation loader (which used to convert to RGB before resizing)."""
    from mmscore.models.encoding import encode_image_sources

    sd = torch.load(formats77["openai"], weights_only=True)
    enc = encoders77["openai"]
    images = odd_images()
    paths = []
    for name, image in images.items():
        paths.append(tmp_path / f"{name.replace(';', '_')}.{'jpg' if name == 'CMYK' else 'png'}")
        image.save(paths[-1])
    decoded = [Image.open(p) for p in paths]  # what was written (JPEG is lossy)
    pixels = torch.stack([reference_pixels(image, enc.image_size) for image in decoded])
    torch.testing.assert_close(enc.preprocess(decoded), pixels, atol=1e-6, rtol=0)
    expected = F.normalize(reference_image(sd, pixels), dim=-1)
    torch.testing.assert_close(enc.encode_images(decoded), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(enc.encode_images([str(p) for p in paths]), expected, atol=1e-5, rtol=0)
    for workers in (0, 2):
        batched = encode_image_sources(enc, [str(p) for p in paths], batch_size=3, workers=workers)
        assert batched.rows == list(range(len(paths))) and not batched.errors
        torch.testing.assert_close(batched.embeddings, expected, atol=1e-5, rtol=0)


def random_openai_state_dict(seed, *, width, layers, patch, res, text_width, text_layers, ctx, dim, long):
    """Random weights under OpenAI key names, built here directly (no transformers, no mmscore code)."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=None):
        scale = shape[-1] ** -0.5 if scale is None else scale
        return torch.randn(*shape, generator=gen) * scale

    sd = {}

    def tower(prefix, w, n):
        for i in range(n):
            p = f"{prefix}.resblocks.{i}"
            for ln in ("ln_1", "ln_2"):
                sd[f"{p}.{ln}.weight"], sd[f"{p}.{ln}.bias"] = 1 + rand(w, scale=0.2), rand(w, scale=0.05)
            sd[f"{p}.attn.in_proj_weight"], sd[f"{p}.attn.in_proj_bias"] = rand(3 * w, w), rand(3 * w, scale=0.05)
            sd[f"{p}.attn.out_proj.weight"], sd[f"{p}.attn.out_proj.bias"] = rand(w, w), rand(w, scale=0.05)
            sd[f"{p}.mlp.c_fc.weight"], sd[f"{p}.mlp.c_fc.bias"] = rand(4 * w, w), rand(4 * w, scale=0.05)
            sd[f"{p}.mlp.c_proj.weight"], sd[f"{p}.mlp.c_proj.bias"] = rand(w, 4 * w), rand(w, scale=0.05)

    grid = res // patch
    sd["visual.conv1.weight"] = rand(width, 3, patch, patch, scale=(3 * patch * patch) ** -0.5)
    sd["visual.class_embedding"] = rand(width, scale=0.3)
    sd["visual.positional_embedding"] = rand(grid * grid + 1, width, scale=0.3)
    for ln in ("ln_pre", "ln_post"):
        sd[f"visual.{ln}.weight"], sd[f"visual.{ln}.bias"] = 1 + rand(width, scale=0.2), rand(width, scale=0.05)
    tower("visual.transformer", width, layers)
    sd["visual.proj"] = rand(width, dim)
    sd["token_embedding.weight"] = rand(49408, text_width, scale=0.3)
    sd["positional_embedding"] = rand(ctx, text_width, scale=0.3)
    if long:
        sd["positional_embedding_res"] = rand(ctx, text_width, scale=0.3)
    tower("transformer", text_width, text_layers)
    sd["ln_final.weight"], sd["ln_final.bias"] = 1 + rand(text_width, scale=0.2), rand(text_width, scale=0.05)
    sd["text_projection"] = rand(text_width, dim)
    sd["logit_scale"] = torch.tensor(4.6052)
    return sd


@pytest.mark.parametrize(
    "shape",
    [
        # 64-dim heads as in every released model; a 336-px-like 24x24 grid; an odd 17x17 grid at 248 tokens
        dict(width=128, layers=2, patch=16, res=224, text_width=128, text_layers=2, ctx=77, dim=64, long=False),
        dict(width=192, layers=1, patch=14, res=336, text_width=64, text_layers=2, ctx=248, dim=96, long=True),
        dict(width=64, layers=2, patch=14, res=238, text_width=128, text_layers=1, ctx=248, dim=32, long=True),
    ],
    ids=["b16-like", "l14-336-like-longclip", "odd-grid-longclip"],
)
def test_other_shapes_match_the_reference(shape, tmp_path):
    sd = random_openai_state_dict(7, **shape)
    torch.save(sd, tmp_path / "model.pt")
    enc = load_clip(tmp_path / "model.pt")
    assert (enc.image_size, enc.context_length, enc.embed_dim) == (shape["res"], shape["ctx"], shape["dim"])
    images = list(odd_images().values())[:5]
    pixels = torch.stack([reference_pixels(image, shape["res"]) for image in images])
    vision_heads, text_heads = shape["width"] // 64, shape["text_width"] // 64
    expected = reference_image(sd, pixels, heads=vision_heads)
    torch.testing.assert_close(enc.encode_images(images, normalize=False), expected, atol=1e-5, rtol=1e-5)
    words = " ".join(f"w{i}" for i in range(140))  # ~280 tokens: truncated at 77 and at 248
    texts = ["a photo of a cat", words[:200], words]
    out = enc.encode_texts(texts, return_tokens=True, normalize=False)
    assert out.truncated == [False, shape["ctx"] == 77, True]
    pooled, tokens = reference_text(sd, out.ids, heads=text_heads)
    torch.testing.assert_close(out.pooled, pooled, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.tokens, tokens * out.mask[..., None], atol=1e-5, rtol=1e-5)
