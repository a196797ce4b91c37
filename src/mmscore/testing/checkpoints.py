"""Save one tiny transformers ``CLIPModel`` in every checkpoint layout ``load_clip`` reads.

All builders take the same model (e.g. ``mmscore.testing.models.build_tiny_clip(seed)``) so tests
can check that every format gives the same embeddings. The OpenAI key names written here follow
OpenAI's ``clip/model.py`` (the key mapping itself lives in ``mmscore.training.layout``, which
training exports with too); it is the reverse direction of ``mmscore.models.checkpoints.openai_to_hf``
and written independently of it.

Builders:
- ``save_hf_checkpoint(model, dir)``: ``save_pretrained`` dir (+ preprocessor_config.json, no tokenizer)
- ``save_openai_state_dict(model, path)``: plain OpenAI-layout state dict ``.pt``
- ``save_torchscript_checkpoint(model, path)``: TorchScript archive holding the OpenAI-layout weights
- ``save_longclip_checkpoint(model, path)``: Long-CLIP/SPECS layout, 248 rows, two position tables
- ``save_safetensors_checkpoint(model, path, layout="openai"|"hf")``
- ``save_all_formats(model, folder)``: all of the above, returns {format: path}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mmscore.io.atomic import atomic_path, atomic_write_text
from mmscore.training.layout import (  # the layout writers, shared with training's export
    LONGCLIP_CONTEXT,
    LONGCLIP_KEEP,
    longclip_stretch,
    openai_state_dict,
)


def longclip_state_dict(model: Any, seed: int = 1234, unused: str = "noise") -> dict[str, torch.Tensor]:
    """OpenAI layout with Long-CLIP's two 248-row position tables.

    The model's own table becomes the effective one: rows < 20 go to ``positional_embedding`` and
    rows >= 20 to ``positional_embedding_res``; the unused halves (rows >= 20 of the first, < 20 of
    the second) are filled with unrelated noise so a loader that merges wrongly gives other
    embeddings (``unused="copy"`` stores the effective table in both instead, e.g. for a shipped
    model). A model with a 77-row table is first stretched as Long-CLIP does (then texts of up to
    20 tokens embed exactly as in the original model).
    """
    if unused not in ("noise", "copy"):
        raise ValueError(f"unused must be 'noise' or 'copy', got {unused!r}")
    sd = openai_state_dict(model)
    effective = sd["positional_embedding"]
    if effective.shape[0] != LONGCLIP_CONTEXT:
        effective = longclip_stretch(effective.float()).to(effective.dtype)
    if unused == "copy":
        sd["positional_embedding"], sd["positional_embedding_res"] = effective.clone(), effective.clone()
        return sd
    gen = torch.Generator().manual_seed(seed)
    noise = (torch.randn(effective.shape, generator=gen) * effective.float().std()).to(effective.dtype)
    base, res = effective.clone(), effective.clone()
    base[LONGCLIP_KEEP:] = noise[LONGCLIP_KEEP:]
    res[:LONGCLIP_KEEP] = noise[:LONGCLIP_KEEP]
    sd["positional_embedding"] = base
    sd["positional_embedding_res"] = res
    return sd


def _save_torch(obj: Any, path: str | os.PathLike[str]) -> Path:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def save_openai_state_dict(model: Any, path: str | os.PathLike[str]) -> Path:
    return _save_torch(openai_state_dict(model), path)


def save_longclip_checkpoint(model: Any, path: str | os.PathLike[str], unused: str = "noise") -> Path:
    """Long-CLIP/SPECS layout ``.pt`` (plain state dict, model's dtype); see ``longclip_state_dict``."""
    return _save_torch(longclip_state_dict(model, unused=unused), path)


class _Node(nn.Module):
    """A scriptable container; the tree of nodes reproduces the OpenAI parameter names."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def save_torchscript_checkpoint(model: Any, path: str | os.PathLike[str], half: bool = False) -> Path:
    """A TorchScript archive whose ``state_dict()`` is the OpenAI layout, like OpenAI's JIT files
    (including their ``input_resolution``/``context_length``/``vocab_size`` entries). ``half=True``
    stores fp16 weights as the released archives do."""
    sd = openai_state_dict(model)
    root = _Node()
    for key, tensor in sd.items():
        *parents, leaf = key.split(".")
        node = root
        for part in parents:
            if not hasattr(node, part):
                node.add_module(part, _Node())
            node = getattr(node, part)
        tensor = tensor.half() if half and tensor.ndim > 1 else tensor
        node.register_parameter(leaf, nn.Parameter(tensor, requires_grad=False))
    root.register_buffer("input_resolution", torch.tensor(model.config.vision_config.image_size))
    root.register_buffer("context_length", torch.tensor(sd["positional_embedding"].shape[0]))
    root.register_buffer("vocab_size", torch.tensor(sd["token_embedding.weight"].shape[0]))
    scripted = torch.jit.script(root)
    with atomic_path(path) as tmp:
        torch.jit.save(scripted, str(tmp))
    return Path(path)


def save_safetensors_checkpoint(model: Any, path: str | os.PathLike[str], layout: str = "openai") -> Path:
    from safetensors.torch import save_file

    if layout == "openai":
        sd = openai_state_dict(model)
    elif layout == "hf":
        sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    else:
        raise ValueError(f"layout must be 'openai' or 'hf', got {layout!r}")
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp))
    return Path(path)


def save_hf_checkpoint(model: Any, folder: str | os.PathLike[str]) -> Path:
    """``save_pretrained`` plus the CLIP preprocessor config (no tokenizer files, like many .pt users)."""
    from mmscore.models.preprocess import CLIP_MEAN, CLIP_STD

    folder = Path(folder)
    model.save_pretrained(folder)
    size = model.config.vision_config.image_size
    atomic_write_text(
        folder / "preprocessor_config.json",
        json.dumps(
            {
                "crop_size": {"height": size, "width": size},
                "size": {"shortest_edge": size},
                "do_resize": True,
                "do_center_crop": True,
                "do_normalize": True,
                "do_convert_rgb": True,
                "resample": 3,
                "image_mean": list(CLIP_MEAN),
                "image_std": list(CLIP_STD),
                "image_processor_type": "CLIPImageProcessor",
            },
            indent=2,
        ),
    )
    return folder


def save_all_formats(model: Any, folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Every layout of ``model`` under ``folder``: keys hf, openai, torchscript, longclip, safetensors."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "hf": save_hf_checkpoint(model, folder / "hf"),
        "openai": save_openai_state_dict(model, folder / "openai.pt"),
        "torchscript": save_torchscript_checkpoint(model, folder / "torchscript.pt"),
        "longclip": save_longclip_checkpoint(model, folder / "longclip.pt"),
        "safetensors": save_safetensors_checkpoint(model, folder / "model.safetensors"),
    }
