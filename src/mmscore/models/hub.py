"""Turn a model spec (hub id, directory, file, alias) into a local transformers dir or checkpoint file.

Resolution order for ``spec``:
1. ``"mmscore-demo"``: the toy model shipped in ``mmscore/models/demo/mmscore-demo.pt``;
2. an existing local file: used as is;
3. an existing local directory: a transformers CLIP dir (``config.json`` + weights; ``model_type``
   ``clip``, or ``longclip`` for the creative-graphic-design Long-CLIP ports) is used as a model
   dir; otherwise one checkpoint file is picked by the directory rule below;
4. an OpenAI model name (``ViT-B/32``, ``ViT-B/16``, ``ViT-L/14``, ``ViT-L/14@336px``): its
   ``openai/clip-vit-*`` hub repo;
5. a Hugging Face hub id ``owner/name``: from the HF cache, or downloaded with ``huggingface_hub``
   unless ``HF_HUB_OFFLINE`` is set. Repos holding a transformers model give a model dir; repos
   holding ``.pt`` checkpoints (Long-CLIP, SPECS) give that file (a known-file table names it for
   the released repos, otherwise the directory rule picks among the repo's top-level files).

Directory rule (deterministic, logged): candidates are the files directly inside the directory
whose names end in ``.safetensors``, ``.pt``, ``.pth``, ``.bin`` or ``.ckpt`` (case-insensitive),
minus training artefacts (optimizer/scheduler/RNG states, ``training_args.bin``). If any candidate
name contains ``longclip`` or ``spec`` (case-insensitive), only those stay (as DataFlow-MM prefers
"longclip"). Then only the candidates with the best extension stay, in the order
safetensors > pt > pth > bin > ckpt. One left: it is used. Several left: the rule cannot choose and
a ``ModelError`` lists them (sorted) instead of silently taking the lexicographically first one,
which is how DataFlow-MM picks ``longclip-B.pt`` over ``longclip-L.pt``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mmscore.errors import ModelError, WeightsNotAvailableError

log = logging.getLogger(__name__)

DEMO_NAME = "mmscore-demo"
CHECKPOINT_EXTENSIONS = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
PREFERRED_WORDS = ("longclip", "spec")
_ARTEFACT = re.compile(r"^(optimizer|scheduler|scaler|rng_state|training_args|trainer_state)", re.IGNORECASE)
HF_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
# "longclip": creative-graphic-design's LongCLIPModel ports (two position tables, nested key prefixes)
HF_MODEL_TYPES = ("clip", "longclip")
OPENAI_ALIASES = {
    "ViT-B/32": "openai/clip-vit-base-patch32",
    "ViT-B/16": "openai/clip-vit-base-patch16",
    "ViT-L/14": "openai/clip-vit-large-patch14",
    "ViT-L/14@336px": "openai/clip-vit-large-patch14-336",
}
# hub repos that hold several .pt files, or whose file we want to name in offline errors
KNOWN_HUB_FILES = {
    "BeichenZhang/LongCLIP-L-336px": "longclip-L@336px.pt",
    "BeichenZhang/LongCLIP-L": "longclip-L.pt",
    "BeichenZhang/LongCLIP-B": "longclip-B.pt",
    "Xiaohud/SPECS": "spec.pt",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ResolvedModel:
    kind: str  # "hf_dir" or "file"
    path: Path
    origin: str  # how it was found, for logs and provenance


def demo_checkpoint_path() -> Path:
    return Path(str(resources.files("mmscore.models").joinpath("demo", f"{DEMO_NAME}.pt")))


def is_hf_model_dir(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file() or not any((path / name).is_file() for name in HF_WEIGHT_FILES):
        return False
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    architectures = data.get("architectures") or []
    return data.get("model_type") in HF_MODEL_TYPES or any(
        a in architectures for a in ("CLIPModel", "LongCLIPModel")
    )


def _ext_rank(name: str) -> int:
    lower = name.lower()
    return next(i for i, ext in enumerate(CHECKPOINT_EXTENSIONS) if lower.endswith(ext))


def pick_checkpoint(names: list[str], where: str) -> str:
    """Apply the directory rule (module docstring) to file names; raise when it cannot choose."""
    candidates = sorted(
        n for n in names if n.lower().endswith(CHECKPOINT_EXTENSIONS) and not _ARTEFACT.match(n)
    )
    if not candidates:
        shown = ", ".join(sorted(names)[:10]) or "(empty)"
        raise ModelError(
            f"no checkpoint found in {where}: looked for *{', *'.join(CHECKPOINT_EXTENSIONS)} "
            f"(not in subfolders); files present: {shown}"
        )
    preferred = [n for n in candidates if any(w in n.lower() for w in PREFERRED_WORDS)]
    pool = preferred or candidates
    best = min(_ext_rank(n) for n in pool)
    pool = [n for n in pool if _ext_rank(n) == best]
    if len(pool) > 1:
        raise ModelError(
            f"several checkpoints in {where} match the selection rule equally: {', '.join(pool)}; "
            "pass the file you want explicitly (e.g. --model <dir>/<file>)"
        )
    rule = "name contains longclip/spec, " if preferred else ""
    log.info(
        "picked %s in %s (rule: %sbest extension among %d candidate(s))",
        pool[0],
        where,
        rule,
        len(candidates),
    )
    return pool[0]


def resolve_directory(path: Path) -> ResolvedModel:
    if is_hf_model_dir(path):
        return ResolvedModel("hf_dir", path, f"transformers model dir {path}")
    names = [p.name for p in path.iterdir() if p.is_file()]
    chosen = pick_checkpoint(names, f"directory {path}")
    return ResolvedModel("file", path / chosen, f"{chosen} picked in {path}")


def hub_offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return bool(constants.HF_HUB_OFFLINE) or env in ("1", "ON", "YES", "TRUE")


def looks_like_file_path(spec: str) -> bool:
    """A spec meant as a local file or folder, never a hub id: it starts with ``.``, ``/`` or ``~``,
    has a backslash or more than one ``/``, or ends in a checkpoint extension (``nope/x.pt``), and
    is not a repo known to hold that file. Such a spec that does not exist is a typo, not a download."""
    if spec.startswith("hf-hub:") or spec in KNOWN_HUB_FILES or spec in OPENAI_ALIASES:
        return False
    return (spec.startswith((".", "/", "~")) or "\\" in spec or spec.count("/") > 1
            or spec.lower().endswith(CHECKPOINT_EXTENSIONS))


def resolve_spec(
    spec: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> ResolvedModel:
    """Resolve ``spec`` as described in the module docstring."""
    text = os.fspath(spec)
    if text == DEMO_NAME:
        path = demo_checkpoint_path()
        if not path.is_file():
            raise ModelError(
                f"the shipped demo model {DEMO_NAME!r} is not installed (expected {path}); "
                "reinstall mmscore or pass another model with --model"
            )
        return ResolvedModel("file", path, f"shipped demo model {path}")
    path = Path(text).expanduser()
    if path.is_file():
        return ResolvedModel("file", path, f"file {path}")
    if path.is_dir():
        return resolve_directory(path)
    if text in OPENAI_ALIASES:
        return resolve_hub(OPENAI_ALIASES[text], cache_dir)
    repo = text.removeprefix("hf-hub:")
    if looks_like_file_path(text):
        raise ModelError(f"model path not found: {text} (model file not found: no such local file or folder, "
                         "and not a hub id, which is owner/name without a file extension)")
    if _HUB_ID.match(repo):
        return resolve_hub(repo, cache_dir)
    if any(sep in text for sep in ("/", "\\")):
        raise ModelError(f"model path not found: {text}")
    raise ModelError(
        f"unknown model {text!r}: not a local file or directory, not a Hugging Face hub id (owner/name), "
        f"and not a known name ({DEMO_NAME}, {', '.join(OPENAI_ALIASES)})"
    )


def _wanted(repo: str) -> str:
    if repo in KNOWN_HUB_FILES:
        return f"the file {KNOWN_HUB_FILES[repo]!r} of {repo!r}"
    return f"the weights of {repo!r} (a transformers model dir or a .pt/.safetensors checkpoint)"


def _not_available(repo: str, reason: str) -> WeightsNotAvailableError:
    example = KNOWN_HUB_FILES.get(repo, "model.pt")
    return WeightsNotAvailableError(
        f"cannot get {_wanted(repo)}: {reason}. Download it on a machine with network access "
        f"(e.g. `hf download {repo}`) and pass a local path instead, "
        f"e.g. --model /path/to/{example} (or the downloaded folder)"
    )


def _from_cache(repo: str, cache_dir) -> ResolvedModel | None:
    from huggingface_hub import hf_hub_download, snapshot_download

    if repo in KNOWN_HUB_FILES:
        try:
            file = hf_hub_download(repo, KNOWN_HUB_FILES[repo], cache_dir=cache_dir, local_files_only=True)
            return ResolvedModel("file", Path(file), f"{repo} (HF cache)")
        except Exception:
            pass
    try:
        folder = Path(snapshot_download(repo, cache_dir=cache_dir, local_files_only=True))
    except Exception:
        return None
    if is_hf_model_dir(folder):
        return ResolvedModel("hf_dir", folder, f"{repo} (HF cache)")
    names = [p.name for p in folder.iterdir() if p.is_file()]
    if not any(n.lower().endswith(CHECKPOINT_EXTENSIONS) for n in names):
        return None
    chosen = pick_checkpoint(names, f"the cached snapshot of {repo}")
    return ResolvedModel("file", folder / chosen, f"{repo}/{chosen} (HF cache)")


def resolve_hub(repo: str, cache_dir: str | os.PathLike[str] | None = None) -> ResolvedModel:
    """Find ``repo`` in the HF cache, else download what a CLIP model needs from it."""
    cached = _from_cache(repo, cache_dir)
    if cached is not None:
        log.info("using %s", cached.origin)
        return cached
    if hub_offline():
        raise _not_available(
            repo,
            f"there is no local path {repo!r}, it is not in the Hugging Face cache "
            "and downloads are disabled (HF_HUB_OFFLINE is set)",
        )
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        files = HfApi().list_repo_files(repo)
    except RepositoryNotFoundError as exc:
        raise ModelError(
            f"unknown model {repo!r}: no such Hugging Face repository (or it is private)"
        ) from exc
    except Exception as exc:
        raise _not_available(repo, f"the Hugging Face hub cannot be reached ({type(exc).__name__})") from exc
    try:
        top = [f for f in files if "/" not in f]
        if "config.json" in top and any(name in top for name in HF_WEIGHT_FILES):
            return _download_hf_model(repo, top, cache_dir)
        chosen = KNOWN_HUB_FILES.get(repo) if KNOWN_HUB_FILES.get(repo) in top else None
        chosen = chosen or pick_checkpoint(top, f"the Hugging Face repo {repo}")
        log.info("downloading %s from %s", chosen, repo)
        file = hf_hub_download(repo, chosen, cache_dir=cache_dir)
        return ResolvedModel("file", Path(file), f"{repo}/{chosen} (downloaded)")
    except ModelError:
        raise
    except Exception as exc:
        raise _not_available(repo, f"download failed ({type(exc).__name__}: {exc})") from exc


def _download_hf_model(repo: str, top: list[str], cache_dir) -> ResolvedModel:
    from huggingface_hub import hf_hub_download

    config = json.loads(Path(hf_hub_download(repo, "config.json", cache_dir=cache_dir)).read_text())
    if config.get("model_type") not in HF_MODEL_TYPES:
        raise ModelError(
            f"{repo!r} is a {config.get('model_type', 'non-CLIP')!r} model, not a CLIP model "
            f"(model_type {' or '.join(HF_MODEL_TYPES)} expected)"
        )
    wanted = ["config.json"] + [n for n in ("preprocessor_config.json",) if n in top]
    if "model.safetensors" in top:
        wanted.append("model.safetensors")
    elif "model.safetensors.index.json" in top:
        index = json.loads(
            Path(hf_hub_download(repo, "model.safetensors.index.json", cache_dir=cache_dir)).read_text()
        )
        wanted += ["model.safetensors.index.json", *sorted(set(index["weight_map"].values()))]
    elif "pytorch_model.bin" in top:
        wanted.append("pytorch_model.bin")
    else:
        index = json.loads(
            Path(hf_hub_download(repo, "pytorch_model.bin.index.json", cache_dir=cache_dir)).read_text()
        )
        wanted += ["pytorch_model.bin.index.json", *sorted(set(index["weight_map"].values()))]
    folder = None
    for name in wanted:
        log.info("downloading %s from %s", name, repo)
        folder = Path(hf_hub_download(repo, name, cache_dir=cache_dir)).parent
    assert folder is not None
    return ResolvedModel("hf_dir", folder, f"{repo} (downloaded)")
