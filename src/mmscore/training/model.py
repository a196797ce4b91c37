"""The trainable CLIP: a transformers ``CLIPModel`` whose text position table is Long-CLIP's pair
(``positional_embedding`` for rows < 20, ``positional_embedding_res`` for the rest), read from and
written to the Long-CLIP ``.pt`` layout.

Why keep two tables instead of the merged one ``load_clip`` builds: Long-CLIP freezes the first
table (its first 20 rows keep CLIP's short-text knowledge), SPECS trains both, and weight decay
moves the unused halves; a faithful run and a faithful checkpoint need both tensors.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mmscore.errors import ConfigError, ModelError
from mmscore.models.architecture import ClipArchitecture, hf_config, infer_openai_architecture
from mmscore.models.checkpoints import LONGCLIP_KEEP, openai_to_hf, read_checkpoint
from mmscore.models.hub import resolve_spec
from mmscore.training.layout import longclip_stretch, openai_state_dict

LONG_CONTEXT = 248
CLIP_CONTEXT = 77
EXPECTED_KEYS = (
    "token_embedding.weight, positional_embedding [248, W], positional_embedding_res [248, W], "
    "transformer.resblocks.{i}.*, ln_final.*, text_projection, visual.conv1.weight, visual.class_embedding, "
    "visual.positional_embedding, visual.transformer.resblocks.{i}.*, visual.ln_post.*, visual.proj, logit_scale"
)


class SplitPositions(nn.Module):
    """Long-CLIP's text positions: row i is ``weight[i]`` for i < keep and ``res[i]`` after.

    ``weight`` keeps transformers' name so the rest of ``CLIPTextEmbeddings`` works unchanged.
    The masks multiply as in the original ``encode_text``, so the unused halves get gradients
    that are exactly zero.
    """

    def __init__(self, base: torch.Tensor, res: torch.Tensor, keep: int = LONGCLIP_KEEP) -> None:
        super().__init__()
        if base.shape != res.shape:
            raise ModelError(f"position tables differ in shape: {tuple(base.shape)} vs {tuple(res.shape)}")
        self.weight = nn.Parameter(base.detach().clone().float())
        self.res = nn.Parameter(res.detach().clone().float())
        rows = torch.arange(base.shape[0])[:, None]
        self.register_buffer("keep_mask", (rows < keep).float(), persistent=False)
        self.keep = keep

    def table(self) -> torch.Tensor:
        return self.weight * self.keep_mask + self.res * (1.0 - self.keep_mask)

    def forward(self, position_ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(position_ids, self.table())


class TrainableClip(nn.Module):
    """Normalised image and text features from one forward (so DDP sees every parameter use)."""

    def __init__(self, clip: Any, arch: ClipArchitecture) -> None:
        super().__init__()
        self.clip = clip
        self.arch = arch

    @property
    def positions(self) -> SplitPositions:
        return self.clip.text_model.embeddings.position_embedding

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        pooled = self.clip.vision_model(pixel_values=pixels).pooler_output
        return F.normalize(self.clip.visual_projection(pooled), dim=-1)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        """EOT pooling (EOT is the largest id, as OpenAI's ``text.argmax(-1)``)."""
        hidden = self.clip.text_model(input_ids=ids).last_hidden_state
        eot = hidden[torch.arange(len(ids), device=ids.device), ids.argmax(dim=-1)]
        return F.normalize(self.clip.text_projection(eot), dim=-1)

    def forward(self, pixels: torch.Tensor, *texts: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(image features, features of each text tensor..., exp(logit_scale)). All text tensors
        are padded to one width and encoded in one pass (causal attention: padding after EOT
        changes nothing)."""
        width = max(t.shape[1] for t in texts)
        ids = torch.cat([F.pad(t, (0, width - t.shape[1])) for t in texts])
        text = self.encode_text(ids).split([len(t) for t in texts])
        return (self.encode_image(pixels), *text, self.clip.logit_scale.exp())

    def longclip_state_dict(self) -> dict[str, torch.Tensor]:
        """Long-CLIP ``.pt`` layout (OpenAI key names, both position tables, fp32, no ``module.``)."""
        sd = {k: v.float().contiguous() for k, v in openai_state_dict(self.clip).items()}
        sd["positional_embedding_res"] = self.positions.res.detach().float().clone()
        return sd


@dataclass
class InitReport:
    """What ``load_trainable`` found and did (recorded in the model card)."""

    source: str
    layout: str  # "longclip" or "clip"
    stretched: bool
    logit_scale_reset: bool
    stretch_precision: str = "none"  # fp32 | fp16 when stretched


def _read_openai_layout(spec: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], str]:
    resolved = resolve_spec(spec)
    if resolved.kind != "file":
        raise ModelError(
            f"{spec}: --init needs a CLIP / Long-CLIP checkpoint file (.pt state dict or TorchScript) with the "
            f"keys {EXPECTED_KEYS}; a transformers folder is not a training start point"
        )
    raw, _ = read_checkpoint(resolved.path)
    source = str(resolved.path)
    if not {"token_embedding.weight", "visual.conv1.weight", "positional_embedding"} <= set(raw):
        shown = ", ".join(sorted(raw)[:6])
        raise ModelError(f"{source}: not an OpenAI/Long-CLIP layout checkpoint (keys start {shown}); "
                         f"expected the keys {EXPECTED_KEYS}")
    return raw, source


def _check_layout(raw: dict[str, torch.Tensor], source: str, mode: str) -> str:
    rows = raw["positional_embedding"].shape[0]
    has_res = "positional_embedding_res" in raw
    if has_res and rows == LONG_CONTEXT and raw["positional_embedding_res"].shape == raw["positional_embedding"].shape:
        return "longclip"
    if not has_res and rows == CLIP_CONTEXT and mode == "longclip":
        return "clip"
    found = f"positional_embedding {tuple(raw['positional_embedding'].shape)}" + (
        f", positional_embedding_res {tuple(raw['positional_embedding_res'].shape)}" if has_res
        else ", no positional_embedding_res")
    hint = (" (a 77-token CLIP is stretched by `mmscore train longclip`; fine-tune SPECS from its output)"
            if mode == "specs" else " (or an OpenAI CLIP with a 77-row positional_embedding to stretch)")
    raise ModelError(f"{source}: wrong layout for `train {mode}`: found {found}; expected the Long-CLIP keys "
                     f"{EXPECTED_KEYS}{hint}")


def _build_clip(raw: dict[str, torch.Tensor]) -> tuple[Any, ClipArchitecture]:
    from transformers import CLIPModel

    merged = dict(raw)
    merged["positional_embedding"] = torch.cat(
        [raw["positional_embedding"][:LONGCLIP_KEEP], raw["positional_embedding_res"][LONGCLIP_KEEP:]]
    )
    del merged["positional_embedding_res"]
    arch = infer_openai_architecture(merged)
    sd, _ = openai_to_hf(merged, arch.text_layers, arch.vision_layers)
    sd.setdefault("logit_scale", torch.tensor(math.log(1 / 0.07)))
    with torch.device("meta"):
        clip = CLIPModel(hf_config(arch))
    clip.load_state_dict(sd, strict=True, assign=True)
    for module in clip.modules():  # non-persistent buffers created on the meta device
        if getattr(module, "position_ids", None) is not None and module.position_ids.is_meta:
            module.position_ids = torch.arange(module.position_ids.shape[-1]).expand((1, -1))
    return clip, arch


STRETCH_DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def check_stretch_precision(value: str) -> str:
    if value not in STRETCH_DTYPES:
        raise ConfigError(f"--stretch-precision must be fp32 or fp16, got {value!r}")
    return value


def load_trainable(spec: str | os.PathLike[str], mode: str,
                   stretch_precision: str = "fp32") -> tuple[TrainableClip, InitReport]:
    """Read ``spec`` for ``mode`` ("specs": a Long-CLIP/SPECS checkpoint, kept as is; "longclip": a
    Long-CLIP checkpoint to continue, or a 77-token CLIP stretched to 248 positions with
    ``logit_scale`` reset to ln 100, as Long-CLIP's ``load_from_clip``). ``stretch_precision``
    "fp16" computes the stretched table in half precision, as the original does on a GPU. Wrong
    layouts are errors naming the keys expected."""
    if mode not in ("specs", "longclip"):
        raise ConfigError(f"unknown training mode {mode!r}")
    check_stretch_precision(stretch_precision)
    raw, source = _read_openai_layout(spec)
    raw = {k: v.float() for k, v in raw.items()}
    layout = _check_layout(raw, source, mode)
    stretched = layout == "clip"
    if stretched:  # knowledge-preserved stretching
        table = longclip_stretch(raw["positional_embedding"], dtype=STRETCH_DTYPES[stretch_precision])
        raw["positional_embedding"], raw["positional_embedding_res"] = table, table.clone()
    reset = mode == "longclip" and stretched
    if reset:
        raw["logit_scale"] = torch.tensor(math.log(100.0))
    clip, arch = _build_clip(raw)
    embeddings = clip.text_model.embeddings
    embeddings.position_embedding = SplitPositions(raw["positional_embedding"], raw["positional_embedding_res"])
    model = TrainableClip(clip.float().train(), arch)
    return model, InitReport(source, layout, stretched, reset, stretch_precision if stretched else "none")


def freeze_positions(model: TrainableClip, freeze: bool) -> None:
    """Long-CLIP's intent: ``positional_embedding`` (the table of the first 20 rows) never trains.
    ``freeze=False`` reproduces SPECS' ``train_spec.py``, which trains it too."""
    model.positions.weight.requires_grad_(not freeze)
