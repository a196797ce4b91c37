"""Read CLIP checkpoint files of every family and turn them into one transformers-layout state dict.

Supported files:
- OpenAI layout plain state dict (``torch.save(model.state_dict())``: ``visual.conv1.weight``,
  ``transformer.resblocks.*``, ``text_projection`` ...), as ``.pt``/``.pth``/``.bin``/``.ckpt``;
- OpenAI TorchScript archives (the files ``clip.load`` downloads; read with ``torch.jit.load``);
- Long-CLIP / SPECS checkpoints: OpenAI layout plus ``positional_embedding_res``, both 248 rows.
  Long-CLIP's ``encode_text`` adds ``positional_embedding * mask1 + positional_embedding_res * mask2``
  with ``mask1`` = rows 0..19 and ``mask2`` = rows 20.. (beichenzbc/Long-CLIP
  ``model/model_longclip.py``), so the effective table is rows 0..19 of the first and rows 20.. of
  the second; we merge them once at load time (``merge_longclip_positions``);
- ``.safetensors`` files in either layout; transformers-layout state dicts;
- wrapped dicts: a ``state_dict`` (or ``model``) entry is unwrapped and ``module.`` prefixes from
  DataParallel/DDP are stripped.

Pickled ``.pt`` files are read with ``torch.load(weights_only=True)``: a file that needs arbitrary
Python objects to unpickle is refused unless the caller passes ``trust_pickle=True``.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

import torch

from mmscore.errors import ModelError

log = logging.getLogger(__name__)

LONGCLIP_KEEP = 20  # rows of ``positional_embedding`` Long-CLIP keeps (its ``mask1``)
_OPENAI_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.count("/") == 1 and name.endswith("/constants.pkl") for name in archive.namelist())


def _starts_like_pickle(path: Path) -> bool:
    """Pickle protocol >= 2 starts with the PROTO opcode (legacy ``torch.save`` files do)."""
    with open(path, "rb") as handle:
        return handle.read(1) == b"\x80"


def read_checkpoint(path: str | Path, trust_pickle: bool = False) -> tuple[dict[str, torch.Tensor], str]:
    """Return (tensor state dict on CPU, format description) for a checkpoint file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint file not found: {path}")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu"), "safetensors"
        if not zipfile.is_zipfile(path) and not _starts_like_pickle(path):
            raise ModelError(
                f"{path}: not a PyTorch checkpoint (neither a torch.save/TorchScript zip archive nor a "
                "pickle); the file may be truncated (an interrupted download?) or in another format"
            )
        if _is_torchscript(path):
            module = torch.jit.load(str(path), map_location="cpu")
            return _clean(module.state_dict(), path), "torchscript"
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError and friends
            try:  # a TorchScript archive our zip sniffing missed (unusual archive layout)
                return _clean(torch.jit.load(str(path), map_location="cpu").state_dict(), path), "torchscript"
            except Exception:
                pass
            if not trust_pickle:
                raise ModelError(
                    f"{path}: cannot be read as a plain weights file ({type(exc).__name__}: {exc}). "
                    "If you trust this file, it may contain pickled Python objects: "
                    "load it with trust_pickle=True"
                ) from exc
            obj = torch.load(str(path), map_location="cpu", weights_only=False)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc})") from exc
    return _clean(_unwrap(obj, path), path), "pickle"


def _unwrap(obj: Any, path: Path) -> dict[str, Any]:
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise ModelError(f"{path}: expected a state dict, found a {type(obj).__name__}")
    for key in ("state_dict", "model", "module"):
        inner = obj.get(key)
        if isinstance(inner, dict) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            return inner
    return obj


def _clean(sd: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if not isinstance(value, torch.Tensor):
            continue
        key = key.removeprefix("module.")
        if key in _OPENAI_EXTRA_KEYS:
            continue
        out[key] = value
    if not out:
        raise ModelError(f"{path}: contains no tensors")
    return out


def detect_layout(sd: dict[str, torch.Tensor], source: str) -> str:
    """'openai' (also Long-CLIP/SPECS) or 'hf' (transformers CLIPModel keys)."""
    if "token_embedding.weight" in sd or "visual.conv1.weight" in sd:
        return "openai"
    if any(key.startswith(("text_model.", "vision_model.")) for key in sd):
        return "hf"
    sample = ", ".join(sorted(sd)[:6])
    raise ModelError(
        f"{source}: not a CLIP checkpoint (neither OpenAI nor transformers key names; keys start {sample})"
    )


def _merge_positions(
    base: torch.Tensor, res: torch.Tensor, base_key: str, res_key: str, source: str, keep: int
) -> torch.Tensor:
    if res.shape != base.shape:
        raise ModelError(
            f"{source}: shape mismatch for {res_key!r}: {tuple(res.shape)}, expected {tuple(base.shape)} "
            f"(the shape of {base_key!r})"
        )
    return torch.cat([base[:keep], res[keep:]], dim=0)


_HF_POSITION_IDS = ("text_model.embeddings.position_ids", "vision_model.embeddings.position_ids")


def normalize_hf_keys(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Collapse the nested ``text_model.text_model.`` / ``vision_model.vision_model.`` prefixes of
    creative-graphic-design's ``LongCLIPModel`` into plain ``CLIPModel`` keys, and drop the
    ``position_ids`` buffers (``arange``) that transformers < 4.31 saved, as in the original
    ``openai/clip-vit-*`` files; transformers itself ignores them when loading."""
    out = {}
    for key, value in sd.items():
        if key.endswith(_HF_POSITION_IDS):
            continue
        for tower in ("text_model", "vision_model"):
            key = (
                key.replace(f"{tower}.{tower}.", f"{tower}.", 1)
                if key.startswith(f"{tower}.{tower}.")
                else key
            )
        out[key] = value
    return out


def merge_longclip_positions(
    sd: dict[str, torch.Tensor], source: str, keep: int = LONGCLIP_KEEP
) -> tuple[dict[str, torch.Tensor], bool]:
    """Fold ``positional_embedding_res`` into one effective table; returns (state dict, was_longclip).

    Also handles the transformers-layout ``text_model.embeddings.position_embedding_res`` of the
    creative-graphic-design ports (their ``interpolation_keep_length`` is passed as ``keep``).
    """
    for base_key, res_key in (
        ("positional_embedding", "positional_embedding_res"),
        ("text_model.embeddings.position_embedding.weight", "text_model.embeddings.position_embedding_res"),
    ):
        if res_key in sd:
            sd = dict(sd)
            if base_key not in sd:
                raise ModelError(f"{source}: has {res_key!r} but not {base_key!r}")
            sd[base_key] = _merge_positions(sd[base_key], sd.pop(res_key), base_key, res_key, source, keep)
            return sd, True
    return sd, False


def openai_to_hf(
    sd: dict[str, torch.Tensor], text_layers: int, vision_layers: int
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Rename (and split/transpose) OpenAI keys to transformers ``CLIPModel`` keys.

    Returns the new dict and, for error messages, a map from each new key to its source key.
    """
    out: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    used: set[str] = set()

    def put(new: str, old: str, tensor: torch.Tensor | None = None) -> None:
        if old not in sd:
            raise ModelError(f"OpenAI-layout checkpoint is missing the key {old!r}")
        out[new] = (sd[old] if tensor is None else tensor).float()
        origin[new] = old
        used.add(old)

    def blocks(src: str, dst: str, n: int) -> None:
        for i in range(n):
            s, d = f"{src}.{i}", f"{dst}.{i}"
            w_key, b_key = f"{s}.attn.in_proj_weight", f"{s}.attn.in_proj_bias"
            if w_key not in sd or b_key not in sd:
                raise ModelError(f"OpenAI-layout checkpoint is missing the key {w_key!r} or {b_key!r}")
            if sd[w_key].shape[0] % 3 or sd[b_key].shape[0] % 3:
                raise ModelError(
                    f"shape mismatch for {w_key!r}: {tuple(sd[w_key].shape)} is not 3 stacked projections"
                )
            qkv_w, qkv_b = sd[w_key].chunk(3, dim=0), sd[b_key].chunk(3, dim=0)
            for name, w, b in zip(("q", "k", "v"), qkv_w, qkv_b, strict=True):
                put(f"{d}.self_attn.{name}_proj.weight", w_key, w)
                put(f"{d}.self_attn.{name}_proj.bias", b_key, b)
            for old, new in (
                ("attn.out_proj", "self_attn.out_proj"),
                ("ln_1", "layer_norm1"),
                ("ln_2", "layer_norm2"),
                ("mlp.c_fc", "mlp.fc1"),
                ("mlp.c_proj", "mlp.fc2"),
            ):
                put(f"{d}.{new}.weight", f"{s}.{old}.weight")
                put(f"{d}.{new}.bias", f"{s}.{old}.bias")

    put("text_model.embeddings.token_embedding.weight", "token_embedding.weight")
    put("text_model.embeddings.position_embedding.weight", "positional_embedding")
    blocks("transformer.resblocks", "text_model.encoder.layers", text_layers)
    put("text_model.final_layer_norm.weight", "ln_final.weight")
    put("text_model.final_layer_norm.bias", "ln_final.bias")
    put("text_projection.weight", "text_projection", sd.get("text_projection", torch.empty(0)).t())
    put("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight")
    put("vision_model.embeddings.class_embedding", "visual.class_embedding")
    put("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding")
    put("vision_model.pre_layrnorm.weight", "visual.ln_pre.weight")
    put("vision_model.pre_layrnorm.bias", "visual.ln_pre.bias")
    blocks("visual.transformer.resblocks", "vision_model.encoder.layers", vision_layers)
    put("vision_model.post_layernorm.weight", "visual.ln_post.weight")
    put("vision_model.post_layernorm.bias", "visual.ln_post.bias")
    put("visual_projection.weight", "visual.proj", sd.get("visual.proj", torch.empty(0)).t())
    if "logit_scale" in sd:
        put("logit_scale", "logit_scale")
    unused = sorted(set(sd) - used)
    if unused:
        raise ModelError(
            f"OpenAI-layout checkpoint has unexpected keys: {', '.join(unused[:8])}"
            + (" ..." if len(unused) > 8 else "")
        )
    return out, origin
