"""The OpenAI / Long-CLIP checkpoint layout written from a transformers ``CLIPModel``, and
Long-CLIP's knowledge-preserved stretching of a 77-row position table to 248 rows.

Training exports its models with these (``mmscore train``), and the test suite writes its
checkpoints with them (``mmscore.testing.checkpoints``). Key names follow OpenAI's
``clip/model.py`` (``transformer.resblocks.{i}.attn.in_proj_weight`` = q, k, v stacked;
``text_projection`` and ``visual.proj`` stored as [width, embed]); this is the reverse direction of
``mmscore.models.checkpoints.openai_to_hf``, written independently of it.
"""

from __future__ import annotations

from typing import Any

import torch

LONGCLIP_CONTEXT = 248
LONGCLIP_KEEP = 20


def openai_state_dict(model: Any) -> dict[str, torch.Tensor]:
    """The weights of a transformers ``CLIPModel`` under OpenAI CLIP key names (copies, dtype kept)."""
    hf = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out: dict[str, torch.Tensor] = {}

    def tower(hf_prefix: str, oa_prefix: str, n_layers: int) -> None:
        for i in range(n_layers):
            h, o = f"{hf_prefix}.encoder.layers.{i}", f"{oa_prefix}.resblocks.{i}"
            att = f"{h}.self_attn"
            out[f"{o}.attn.in_proj_weight"] = torch.cat([hf[f"{att}.{x}_proj.weight"] for x in "qkv"], 0)
            out[f"{o}.attn.in_proj_bias"] = torch.cat([hf[f"{att}.{x}_proj.bias"] for x in "qkv"], 0)
            for oa, hn in (
                ("attn.out_proj", "self_attn.out_proj"),
                ("ln_1", "layer_norm1"),
                ("ln_2", "layer_norm2"),
                ("mlp.c_fc", "mlp.fc1"),
                ("mlp.c_proj", "mlp.fc2"),
            ):
                for p in ("weight", "bias"):
                    out[f"{o}.{oa}.{p}"] = hf[f"{h}.{hn}.{p}"]

    config = model.config
    out["token_embedding.weight"] = hf["text_model.embeddings.token_embedding.weight"]
    out["positional_embedding"] = hf["text_model.embeddings.position_embedding.weight"]
    tower("text_model", "transformer", config.text_config.num_hidden_layers)
    out["ln_final.weight"] = hf["text_model.final_layer_norm.weight"]
    out["ln_final.bias"] = hf["text_model.final_layer_norm.bias"]
    out["text_projection"] = hf["text_projection.weight"].t().contiguous()
    out["visual.class_embedding"] = hf["vision_model.embeddings.class_embedding"]
    out["visual.positional_embedding"] = hf["vision_model.embeddings.position_embedding.weight"]
    out["visual.conv1.weight"] = hf["vision_model.embeddings.patch_embedding.weight"]
    for p in ("weight", "bias"):
        out[f"visual.ln_pre.{p}"] = hf[f"vision_model.pre_layrnorm.{p}"]
        out[f"visual.ln_post.{p}"] = hf[f"vision_model.post_layernorm.{p}"]
    tower("vision_model", "visual.transformer", config.vision_config.num_hidden_layers)
    out["visual.proj"] = hf["visual_projection.weight"].t().contiguous()
    out["logit_scale"] = hf["logit_scale"]
    return out


def longclip_stretch(table: torch.Tensor, keep: int = LONGCLIP_KEEP, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Long-CLIP's 77 → 248 stretch (``load_from_clip``): rows < keep copied, then 4x linear
    interpolation between neighbouring rows, the last 4 rows extrapolated from the last two.

    ``dtype``: compute in that precision (the original works in the model's dtype, fp16 when loaded
    on a GPU; each operation rounds there) and return the input's dtype."""
    out_dtype = table.dtype
    table = table if dtype is None else table.to(dtype)
    rows = [table[i] for i in range(keep)]
    n = table.shape[0]
    for i in range(keep, n - 1):
        for k in range(4):
            rows.append(table[i] * (4 - k) / 4 + table[i + 1] * k / 4)
    for k in range(4):
        rows.append(table[n - 1] + (table[n - 1] - table[n - 2]) * k / 4)
    return torch.stack(rows).to(out_dtype)
