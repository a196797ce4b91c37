"""One loader for CLIP-family encoders: OpenAI, Long-CLIP (248 tokens), SPECS, transformers CLIP.

``load_clip(spec)`` accepts a hub id, a transformers dir, a directory of checkpoints, a checkpoint
file (OpenAI state dict or TorchScript, Long-CLIP/SPECS, safetensors) or ``"mmscore-demo"`` (see
``mmscore.models.hub`` for the resolution rules and ``mmscore.models.checkpoints`` for formats).
Whatever the format, the weights are converted to one transformers ``CLIPModel`` (SDPA attention),
images go through the OpenAI transform (``mmscore.models.preprocess``) and texts through the
shipped CLIP BPE (``mmscore.models.tokenizer``), so identical weights give identical embeddings.

Precision: weights are kept float32 on CPU (the original loaders round them to fp16 even there,
shifting embeddings by ~1e-4); fp16 is used only on CUDA by default. Outputs are always float32
CPU tensors.

Example::

    enc = load_clip("BeichenZhang/LongCLIP-L-336px")
    img = enc.encode_images([Image.open("cat.png")])          # [1, D], L2-normalised
    txt = enc.encode_texts(["a cat on a green sofa"])          # [1, D]
    score = ((img @ txt.T).clamp(-1, 1) + 1) / 2               # Long-CLIP / SPECS score
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mmscore.errors import ConfigError, InputError, ModelError
from mmscore.models.architecture import (
    ClipArchitecture,
    architecture_from_hf_config,
    hf_config,
    infer_hf_architecture,
    infer_openai_architecture,
)
from mmscore.models.checkpoints import (
    LONGCLIP_KEEP,
    detect_layout,
    merge_longclip_positions,
    normalize_hf_keys,
    openai_to_hf,
    read_checkpoint,
)
from mmscore.models.fingerprints import remembered_fingerprint
from mmscore.models.hub import ResolvedModel, resolve_spec
from mmscore.models.preprocess import CLIP_MEAN, CLIP_STD, ClipImageTransform, image_items, to_pil
from mmscore.models.tokenizer import VOCAB_SIZE, ClipTokenizer, TokenizedTexts, default_tokenizer

log = logging.getLogger(__name__)

__all__ = ["ClipEncoder", "TextTokens", "TokenizedTexts", "load_clip", "select_device"]


@dataclass
class TextTokens:
    """Token-level text embeddings (what EMScore's fine-grained matching needs).

    pooled: [N, D] EOT-pooled projected embedding (the usual CLIP text embedding).
    tokens: [N, L, D] ``text_projection(ln_final(h))`` at every position, L = context_length;
        positions after EOT are zero.
    mask: [N, L] bool, True for SOT..EOT inclusive.
    ids: [N, L] token ids (0-padded); lengths: [N] kept tokens incl. SOT/EOT.
    truncated: whether each text was cut to fit the context.
    """

    pooled: torch.Tensor
    tokens: torch.Tensor
    mask: torch.Tensor
    ids: torch.Tensor
    lengths: torch.Tensor
    truncated: list[bool]


def select_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` → cuda, then mps, then cpu; otherwise the requested device (validated)."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"invalid device {device!r} (use cpu, cuda, cuda:N or mps)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f"device {device!r} requested but MPS is not available")
    return dev


def _select_dtype(dtype: torch.dtype | None, device: torch.device) -> torch.dtype:
    if dtype is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ConfigError(f"unsupported dtype {dtype} (use torch.float32, float16 or bfloat16)")
    if dtype != torch.float32 and device.type == "cpu":
        log.warning("half precision requested on CPU; using float32 (half precision is for GPUs only)")
        return torch.float32
    return dtype


def weights_fingerprint(state_dict: dict[str, torch.Tensor], arch: ClipArchitecture) -> str:
    """sha256 of the (float32, transformers-layout) tensors and the architecture.

    Computed after conversion, so the same weights give the same fingerprint in every file format.
    """
    digest = hashlib.sha256(json.dumps(arch.as_dict(), sort_keys=True).encode())
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).numpy().view(np.uint8))
    return "sha256:" + digest.hexdigest()[:16]


class ClipEncoder:
    """A loaded CLIP model with its tokenizer and image transform; see the module docstring."""

    def __init__(
        self,
        model: Any,
        arch: ClipArchitecture,
        *,
        name: str,
        fingerprint: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        transform: ClipImageTransform,
        tokenizer: ClipTokenizer | None = None,
        source: str = "",
        layout: str = "",
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.architecture = arch
        self.name = name
        self.fingerprint = fingerprint
        self.device = device
        self.dtype = dtype
        self.batch_size = int(batch_size)
        self.transform = transform
        self.tokenizer = tokenizer or default_tokenizer()
        self.source = source
        self.layout = layout
        self.context_length = arch.context_length
        self.image_size = arch.image_size
        self.embed_dim = arch.embed_dim
        self.n_truncated = 0

    # -- identity ---------------------------------------------------------------------------------
    @property
    def preprocess_id(self) -> str:
        return self.transform.id

    @property
    def tokenizer_id(self) -> str:
        return self.tokenizer.id

    @property
    def cache_namespace(self) -> str:
        """Everything that changes an embedding: weights, precision, preprocessing, tokenizer."""
        precision = str(self.dtype).removeprefix("torch.")
        return f"{self.fingerprint}|{precision}|{self.preprocess_id}|{self.tokenizer_id}"

    def describe(self) -> dict[str, Any]:
        """Provenance record for result signatures."""
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "source": self.source,
            "layout": self.layout,
            "context_length": self.context_length,
            "image_size": self.image_size,
            "embed_dim": self.embed_dim,
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "preprocess": self.preprocess_id,
            "tokenizer": self.tokenizer_id,
        }

    def __repr__(self) -> str:
        return (
            f"ClipEncoder(name={self.name!r}, fingerprint={self.fingerprint!r}, "
            f"context_length={self.context_length}, image_size={self.image_size}, "
            f"embed_dim={self.embed_dim}, device={self.device})"
        )

    # -- text -------------------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> TokenizedTexts:
        """CLIP ids for ``texts`` at this model's context length (truncating, never raising)."""
        if isinstance(texts, str):
            texts = [texts]
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise InputError(f"texts must be strings; item {bad[0]} is {type(texts[bad[0]]).__name__}")
        return self.tokenizer(list(texts), self.context_length)

    def _count_truncated(self, tok: TokenizedTexts) -> None:
        n = tok.n_truncated
        if n:
            self.n_truncated += n
            log.warning(
                "%d of %d text(s) exceed %d tokens and were truncated (end-of-text token kept)",
                n,
                len(tok.truncated),
                self.context_length,
            )

    def encode_texts(
        self, texts: list[str], return_tokens: bool = False, normalize: bool = True
    ) -> torch.Tensor | TextTokens:
        """EOT-pooled projected text embeddings [N, D] (float32 CPU), or ``TextTokens`` with every token.

        Texts longer than the context keep their first ``context_length - 1`` tokens plus EOT; they are
        counted in ``n_truncated`` and logged.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        tok = self.tokenize(texts)
        self._count_truncated(tok)
        if not return_tokens:
            pooled = self._run_text(tok, torch.arange(len(tok.truncated)))[0]
            return F.normalize(pooled, dim=-1) if normalize else pooled
        pooled, tokens = self._run_text(tok, torch.arange(len(tok.truncated)), with_tokens=True)
        if normalize:
            pooled = F.normalize(pooled, dim=-1)
            tokens = F.normalize(tokens, dim=-1)  # rows after EOT stay zero (eps in the norm)
        mask = torch.arange(self.context_length)[None, :] < tok.lengths[:, None]
        return TextTokens(
            pooled=pooled, tokens=tokens, mask=mask, ids=tok.ids, lengths=tok.lengths, truncated=tok.truncated
        )

    def _run_text(
        self, tok: TokenizedTexts, rows: torch.Tensor, with_tokens: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Un-normalised pooled [len(rows), D] (and token [len(rows), L, D]) embeddings of
        ``tok.ids[rows]``."""
        n = len(rows)
        pooled = torch.zeros(n, self.embed_dim)
        tokens = torch.zeros(n, self.context_length, self.embed_dim) if with_tokens else None
        lengths_all = tok.lengths[rows]
        order = torch.argsort(lengths_all, descending=True, stable=True)  # similar lengths share a batch
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                pos = order[start : start + self.batch_size]
                lengths = lengths_all[pos]
                span = int(lengths.max())  # causal attention: trailing padding cannot change earlier tokens
                ids = tok.ids[rows[pos], :span].to(self.device)
                hidden = self.model.text_model(input_ids=ids).last_hidden_state  # final_layer_norm applied
                eot = hidden[torch.arange(len(pos), device=hidden.device), (lengths - 1).to(hidden.device)]
                pooled[pos] = self.model.text_projection(eot).float().cpu()
                if tokens is not None:
                    projected = self.model.text_projection(hidden).float().cpu()
                    keep = torch.arange(span)[None, :] < lengths[:, None]
                    tokens[pos, :span] = projected * keep[..., None]
        return pooled, tokens

    # -- images -----------------------------------------------------------------------------------
    def preprocess(self, images: Any) -> torch.Tensor:
        """[N, 3, S, S] float32 pixels after the OpenAI CLIP transform."""
        return self.transform(images)

    def encode_pixels(self, pixels: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Image embeddings from already preprocessed pixels [N, 3, S, S]."""
        if pixels.ndim != 4 or tuple(pixels.shape[1:]) != (3, self.image_size, self.image_size):
            raise ConfigError(
                f"expected pixels of shape [N, 3, {self.image_size}, {self.image_size}], "
                f"got {tuple(pixels.shape)}"
            )
        out = torch.zeros(len(pixels), self.embed_dim)
        with torch.inference_mode():
            for start in range(0, len(pixels), self.batch_size):
                batch = pixels[start : start + self.batch_size].to(self.device, self.dtype)
                pooled = self.model.vision_model(pixel_values=batch).pooler_output  # post_layernorm(CLS)
                out[start : start + len(batch)] = self.model.visual_projection(pooled).float().cpu()
        return F.normalize(out, dim=-1) if normalize else out

    def encode_images(self, images: Any, normalize: bool = True) -> torch.Tensor:
        """Image embeddings [N, D] (float32 CPU) from PIL images, paths, or a uint8 [N,H,W,3] RGB batch.

        Images are opened and preprocessed batch by batch, so only ``batch_size`` images are held as
        pixels at once.
        """
        items = image_items(images)
        out = self._encode_items(items)
        if not len(items):
            return torch.zeros(0, self.embed_dim)
        return F.normalize(out, dim=-1) if normalize else out

    def _encode_items(self, items: list[Any]) -> torch.Tensor:
        out = torch.zeros(len(items), self.embed_dim)
        for start in range(0, len(items), self.batch_size):
            chunk = [to_pil(x, start + i) for i, x in enumerate(items[start : start + self.batch_size])]
            out[start : start + len(chunk)] = self.encode_pixels(self.transform(chunk), normalize=False)
        return out


# -- loading --------------------------------------------------------------------------------------
def _read_hf_dir(path: Path) -> tuple[dict[str, torch.Tensor], Any, dict[str, Any]]:
    """State dict (plain CLIPModel keys, Long-CLIP tables merged), CLIPConfig and preprocessor
    settings of a transformers model directory."""
    from transformers import CLIPConfig

    try:
        data = json.loads((path / "config.json").read_text(encoding="utf-8"))
        text_cfg = data.get("text_config") or data["text_config_dict"]  # very old configs: *_dict only
        vision_cfg = data.get("vision_config") or data["vision_config_dict"]
        config = CLIPConfig(
            text_config=text_cfg, vision_config=vision_cfg, projection_dim=data.get("projection_dim", 512)
        )
    except Exception as exc:
        raise ModelError(
            f"{path / 'config.json'}: cannot read it as a CLIP config ({type(exc).__name__}: {exc})"
        ) from exc
    files: list[Path]
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (path / index_name).is_file():
            index = json.loads((path / index_name).read_text(encoding="utf-8"))
            files = [path / name for name in sorted(set(index["weight_map"].values()))]
            break
    else:
        single = [path / n for n in ("model.safetensors", "pytorch_model.bin") if (path / n).is_file()]
        if not single:
            raise ModelError(f"{path}: config.json found but no model.safetensors or pytorch_model.bin")
        files = single[:1]
    sd: dict[str, torch.Tensor] = {}
    for file in files:
        sd.update(read_checkpoint(file)[0])
    keep = int(text_cfg.get("interpolation_keep_length", LONGCLIP_KEEP))
    sd, _ = merge_longclip_positions(normalize_hf_keys(sd), str(path), keep=keep)
    pre: dict[str, Any] = {}
    if (path / "preprocessor_config.json").is_file():
        try:
            pre = json.loads((path / "preprocessor_config.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ModelError(f"{path / 'preprocessor_config.json'}: invalid JSON ({exc})") from exc
    return sd, config, pre


def _build_model(
    arch: ClipArchitecture, sd: dict[str, torch.Tensor], origin: dict[str, str], source: str
) -> Any:
    """Instantiate a transformers CLIPModel without random init and load ``sd`` into it (shape-checked)."""
    from transformers import CLIPModel

    with torch.device("meta"):
        model = CLIPModel(hf_config(arch))
    expected = model.state_dict()
    for key, meta in expected.items():
        if key not in sd:
            if key == "logit_scale":
                sd[key] = torch.tensor(float(np.log(1 / 0.07)))
                continue
            raise ModelError(f"{source}: missing weight {origin.get(key, key)!r}")
        if tuple(sd[key].shape) != tuple(meta.shape):
            name = origin.get(key, key)
            via = "" if name == key else f" (converted to {key!r})"
            raise ModelError(
                f"{source}: shape mismatch for {name!r}{via}: got {tuple(sd[key].shape)}, expected "
                f"{tuple(meta.shape)} for the architecture inferred from the other weights"
            )
    unexpected = sorted(set(sd) - set(expected))
    if unexpected:
        raise ModelError(f"{source}: unexpected weights {', '.join(unexpected[:8])}")
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True, assign=True)
    for module in model.modules():  # non-persistent buffers were created on the meta device
        if hasattr(module, "position_ids") and module.position_ids.is_meta:
            module.position_ids = torch.arange(module.position_ids.shape[-1]).expand((1, -1))
    return model.eval()


def _folder_tokenizer(resolved: ResolvedModel, arch: ClipArchitecture, source: str) -> ClipTokenizer:
    """The BPE saved beside a transformers model whose vocabulary is not OpenAI's 49,408 entries."""
    folder = resolved.path
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    if resolved.kind != "hf_dir" or not (vocab.is_file() and merges.is_file()):
        raise ModelError(
            f"{source}: the text vocabulary has {arch.vocab_size} entries, not the {VOCAB_SIZE} of OpenAI's "
            f"CLIP BPE shipped with mmscore, and no transformers folder with vocab.json + merges.txt came with it"
        )
    try:
        tokenizer = ClipTokenizer.from_files(vocab, merges)
    except ValueError as exc:
        raise ModelError(str(exc)) from exc
    if tokenizer.vocab_size > arch.vocab_size:
        raise ModelError(
            f"{vocab}: ids up to {tokenizer.vocab_size - 1} but the model's token table has {arch.vocab_size} rows"
        )
    log.info("%s: tokenizing with the folder's own vocabulary (%d entries)", source, len(tokenizer.encoder))
    return tokenizer


def _apply_heads(arch: ClipArchitecture, heads: int | tuple[int, int] | None) -> ClipArchitecture:
    if heads is None:
        return arch
    text_h, vision_h = heads if isinstance(heads, tuple) else (heads, heads)
    from dataclasses import replace

    return replace(arch, text_heads=int(text_h), vision_heads=int(vision_h))


@dataclass
class _Loaded:
    model: Any  # CPU float32 CLIPModel, shared read-only between encoders
    arch: ClipArchitecture
    fingerprint: str
    layout: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    tokenizer: ClipTokenizer | None = None  # None: the shipped OpenAI CLIP BPE


_LOADED: dict[tuple, _Loaded] = {}
_LOADED_MAX = 2  # recently loaded weights kept in memory (a pipeline often loads one model twice)


def _identity(resolved: ResolvedModel) -> tuple:
    files = (
        [resolved.path]
        if resolved.kind == "file"
        else sorted(p for p in resolved.path.iterdir() if p.is_file())
    )
    stats = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return (resolved.kind, str(resolved.path.resolve()), stats)


def _load_weights(
    resolved: ResolvedModel, heads: int | tuple[int, int] | None, trust_pickle: bool
) -> _Loaded:
    """Read, convert and fingerprint the weights (memoised on file identity)."""
    key = (_identity(resolved), heads, trust_pickle)
    if key in _LOADED:
        return _LOADED[key]
    source = str(resolved.path)
    mean, std = CLIP_MEAN, CLIP_STD
    origin: dict[str, str] = {}
    if resolved.kind == "hf_dir":
        sd, config, pre = _read_hf_dir(resolved.path)
        arch = _apply_heads(architecture_from_hf_config(config), heads)
        mean, std = tuple(pre.get("image_mean", mean)), tuple(pre.get("image_std", std))
        layout = "transformers"
    else:
        raw, fmt = read_checkpoint(resolved.path, trust_pickle=trust_pickle)
        family = detect_layout(raw, source)
        raw, is_long = merge_longclip_positions(normalize_hf_keys(raw), source)
        try:
            if family == "openai":
                arch = infer_openai_architecture(raw, heads)
                sd, origin = openai_to_hf(raw, arch.text_layers, arch.vision_layers)
                layout = ("longclip" if is_long else "openai") + f"/{fmt}"
            else:
                arch = infer_hf_architecture(raw, heads)
                sd, layout = {k: v.float() for k, v in raw.items()}, f"transformers/{fmt}"
        except ModelError as exc:  # the shape helpers do not know the file: name it here
            raise ModelError(f"{source}: {exc}") from exc
    tokenizer = None if arch.vocab_size == VOCAB_SIZE else _folder_tokenizer(resolved, arch, source)
    model = _build_model(arch, sd, origin, source)
    fingerprint = remembered_fingerprint((key[0], heads), lambda: weights_fingerprint(model.state_dict(), arch))
    loaded = _Loaded(model, arch, fingerprint, layout, tuple(mean), tuple(std), tokenizer)
    while len(_LOADED) >= _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = loaded
    return loaded


def load_clip(
    spec: str | os.PathLike[str],
    device: str | None = None,
    dtype: torch.dtype | None = None,
    batch_size: int = 64,
    *,
    heads: int | tuple[int, int] | None = None,
    trust_pickle: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ClipEncoder:
    """Load a CLIP-family encoder from any supported spec (see the module docstring).

    heads: attention heads (one int, or (text, vision)) when the 64-dim-head convention does not
        hold; only needed for toy checkpoints without a config (see ``mmscore.models.architecture``).
    trust_pickle: allow ``.pt`` files that need arbitrary unpickling (only for files you trust).
    cache_dir: Hugging Face cache directory (default: the HF default / ``HF_HUB_CACHE``).
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    dev = select_device(device)
    precision = _select_dtype(dtype, dev)
    resolved: ResolvedModel = resolve_spec(spec, cache_dir=cache_dir)
    loaded = _load_weights(resolved, heads, trust_pickle)
    model = loaded.model
    if dev.type != "cpu" or precision != torch.float32:  # keep the memoised CPU fp32 copy untouched
        model = copy.deepcopy(model).to(dev, precision)
    arch = loaded.arch
    log.info(
        "loaded CLIP %s from %s (%s, context %d, image %d, %s on %s)",
        spec,
        resolved.origin,
        loaded.layout,
        arch.context_length,
        arch.image_size,
        str(precision).removeprefix("torch."),
        dev,
    )
    return ClipEncoder(
        model,
        arch,
        name=os.fspath(spec),
        fingerprint=loaded.fingerprint,
        device=dev,
        dtype=precision,
        batch_size=batch_size,
        transform=ClipImageTransform(arch.image_size, loaded.mean, loaded.std),
        source=resolved.origin,
        layout=loaded.layout,
        tokenizer=loaded.tokenizer,
    )
