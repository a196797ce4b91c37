"""Infer a ViT CLIP's architecture from its weights and describe it as a transformers config.

Widths, layer counts, MLP widths, patch size, image resolution, context length, vocabulary and
embedding size are all read off tensor shapes. The number of attention heads is NOT recoverable
from weights; we follow the convention of every released OpenAI / Long-CLIP / SPECS ViT
(``heads = width // 64``, i.e. 64-dim heads, exactly what their ``build_model`` does). Widths that
are not a multiple of 64 only occur in toy models; for those we assume 16-dim heads (the
convention of mmscore's test and demo models). ``load_clip(..., heads=...)`` overrides both.
Checkpoints without a config are assumed to use QuickGELU, as OpenAI CLIP, Long-CLIP and SPECS do.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import torch

from mmscore.errors import ModelError


@dataclass(frozen=True)
class ClipArchitecture:
    embed_dim: int
    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    vision_mlp: int
    text_width: int
    text_layers: int
    text_heads: int
    text_mlp: int
    context_length: int
    vocab_size: int
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_heads(width: int) -> int:
    if width % 64 == 0:
        return width // 64
    if width % 16 == 0:
        return width // 16
    raise ModelError(
        f"cannot infer the number of attention heads for width {width} (not a multiple of 64 or 16); "
        "pass heads=<n> to load_clip"
    )


def _count_layers(state_dict: dict[str, torch.Tensor], pattern: str) -> int:
    regex = re.compile(pattern)
    found = {int(m.group(1)) for key in state_dict if (m := regex.match(key))}
    if found and found != set(range(len(found))):
        raise ModelError(f"transformer layers are not numbered 0..n-1 (found {sorted(found)})")
    return len(found)


def _require(state_dict: dict[str, torch.Tensor], key: str, layout: str) -> torch.Tensor:
    if key not in state_dict:
        raise ModelError(f"{layout} checkpoint is missing the key {key!r}")
    return state_dict[key]


def _resolve_heads(width: int, heads: int | tuple[int, int] | None, which: int) -> int:
    if heads is None:
        return default_heads(width)
    n = heads[which] if isinstance(heads, tuple) else int(heads)
    if width % n:
        raise ModelError(f"width {width} is not divisible by heads={n}")
    return n


def _image_size(patch: int, positions: int, key: str) -> int:
    grid = round((positions - 1) ** 0.5)
    if grid * grid + 1 != positions:
        raise ModelError(f"shape mismatch for {key!r}: {positions} rows, not a square patch grid + 1")
    return patch * grid


@dataclass(frozen=True)
class _LayoutKeys:
    """Where one checkpoint layout keeps the tensors whose shapes give the transformer sizes."""

    name: str
    vision_layer: str  # regex matching one key per vision layer, group 1 = layer index
    vision_mlp: str
    text_layer: str  # regex, as vision_layer
    text_mlp: str
    text_positions: str
    token_embedding: str


OPENAI_KEYS = _LayoutKeys(
    name="OpenAI-layout",
    vision_layer=r"visual\.transformer\.resblocks\.(\d+)\.attn\.in_proj_weight$",
    vision_mlp="visual.transformer.resblocks.0.mlp.c_fc.weight",
    text_layer=r"transformer\.resblocks\.(\d+)\.attn\.in_proj_weight$",
    text_mlp="transformer.resblocks.0.mlp.c_fc.weight",
    text_positions="positional_embedding",
    token_embedding="token_embedding.weight",
)
HF_KEYS = _LayoutKeys(
    name="transformers-layout",
    vision_layer=r"vision_model\.encoder\.layers\.(\d+)\.self_attn\.q_proj\.weight$",
    vision_mlp="vision_model.encoder.layers.0.mlp.fc1.weight",
    text_layer=r"text_model\.encoder\.layers\.(\d+)\.self_attn\.q_proj\.weight$",
    text_mlp="text_model.encoder.layers.0.mlp.fc1.weight",
    text_positions="text_model.embeddings.position_embedding.weight",
    token_embedding="text_model.embeddings.token_embedding.weight",
)


def _transformer_architecture(
    sd: dict[str, torch.Tensor],
    keys: _LayoutKeys,
    heads: int | tuple[int, int] | None,
    *,
    embed_dim: int,
    image_size: int,
    patch_size: int,
    vision_width: int,
    text_width: int,
) -> ClipArchitecture:
    """The architecture from the layout-specific sizes already read plus the layer counts, heads,
    MLP widths, context length and vocabulary read through ``keys`` (the same way for both layouts)."""
    return ClipArchitecture(
        embed_dim=embed_dim,
        image_size=image_size,
        patch_size=patch_size,
        vision_width=vision_width,
        vision_layers=_count_layers(sd, keys.vision_layer),
        vision_heads=_resolve_heads(vision_width, heads, 1),
        vision_mlp=_require(sd, keys.vision_mlp, keys.name).shape[0],
        text_width=text_width,
        text_layers=_count_layers(sd, keys.text_layer),
        text_heads=_resolve_heads(text_width, heads, 0),
        text_mlp=_require(sd, keys.text_mlp, keys.name).shape[0],
        context_length=_require(sd, keys.text_positions, keys.name).shape[0],
        vocab_size=_require(sd, keys.token_embedding, keys.name).shape[0],
    )


def infer_openai_architecture(
    sd: dict[str, torch.Tensor], heads: int | tuple[int, int] | None = None
) -> ClipArchitecture:
    """Architecture of an OpenAI-layout state dict (``visual.conv1.weight``, ``transformer.resblocks.*``)."""
    layout = OPENAI_KEYS.name
    if "visual.proj" not in sd and "visual.layer1.0.conv1.weight" in sd:
        raise ModelError("ResNet CLIP checkpoints (RN50, RN101, ...) are not supported; use a ViT CLIP")
    conv = _require(sd, "visual.conv1.weight", layout)
    vision_width, patch = conv.shape[0], conv.shape[-1]
    text_width = _require(sd, "ln_final.weight", layout).shape[0]
    return _transformer_architecture(
        sd,
        OPENAI_KEYS,
        heads,
        embed_dim=_require(sd, "text_projection", layout).shape[1],
        image_size=_image_size(
            patch, _require(sd, "visual.positional_embedding", layout).shape[0], "visual.positional_embedding"
        ),
        patch_size=patch,
        vision_width=vision_width,
        text_width=text_width,
    )


def infer_hf_architecture(
    sd: dict[str, torch.Tensor], heads: int | tuple[int, int] | None = None
) -> ClipArchitecture:
    """Architecture of a transformers-layout ``CLIPModel`` state dict without its config.json."""
    layout = HF_KEYS.name
    patch_w = _require(sd, "vision_model.embeddings.patch_embedding.weight", layout)
    vision_width, patch = patch_w.shape[0], patch_w.shape[-1]
    text_width = _require(sd, "text_model.final_layer_norm.weight", layout).shape[0]
    vis_pos = _require(sd, "vision_model.embeddings.position_embedding.weight", layout).shape[0]
    return _transformer_architecture(
        sd,
        HF_KEYS,
        heads,
        embed_dim=_require(sd, "text_projection.weight", layout).shape[0],
        image_size=_image_size(patch, vis_pos, "vision_model.embeddings.position_embedding.weight"),
        patch_size=patch,
        vision_width=vision_width,
        text_width=text_width,
    )


def architecture_from_hf_config(config: Any) -> ClipArchitecture:
    text, vision = config.text_config, config.vision_config
    if text.hidden_act != vision.hidden_act:
        raise ModelError(f"text and vision activations differ ({text.hidden_act} vs {vision.hidden_act})")
    return ClipArchitecture(
        embed_dim=config.projection_dim,
        image_size=vision.image_size,
        patch_size=vision.patch_size,
        vision_width=vision.hidden_size,
        vision_layers=vision.num_hidden_layers,
        vision_heads=vision.num_attention_heads,
        vision_mlp=vision.intermediate_size,
        text_width=text.hidden_size,
        text_layers=text.num_hidden_layers,
        text_heads=text.num_attention_heads,
        text_mlp=text.intermediate_size,
        context_length=text.max_position_embeddings,
        vocab_size=text.vocab_size,
        hidden_act=text.hidden_act,
        layer_norm_eps=text.layer_norm_eps,
    )


def hf_config(arch: ClipArchitecture) -> Any:
    """A transformers ``CLIPConfig`` for ``arch`` (SDPA attention, CLIP special token ids)."""
    from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

    text = CLIPTextConfig(
        vocab_size=arch.vocab_size,
        hidden_size=arch.text_width,
        intermediate_size=arch.text_mlp,
        num_hidden_layers=arch.text_layers,
        num_attention_heads=arch.text_heads,
        max_position_embeddings=arch.context_length,
        hidden_act=arch.hidden_act,
        layer_norm_eps=arch.layer_norm_eps,
        projection_dim=arch.embed_dim,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=0,
    )
    vision = CLIPVisionConfig(
        hidden_size=arch.vision_width,
        intermediate_size=arch.vision_mlp,
        num_hidden_layers=arch.vision_layers,
        num_attention_heads=arch.vision_heads,
        image_size=arch.image_size,
        patch_size=arch.patch_size,
        hidden_act=arch.hidden_act,
        layer_norm_eps=arch.layer_norm_eps,
        projection_dim=arch.embed_dim,
    )
    return CLIPConfig(
        text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=arch.embed_dim
    )
