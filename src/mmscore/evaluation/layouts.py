"""Dataset layouts of the evaluation suite by name, and telling a layout from its files.

``mmscore eval retrieval --dataset NAME`` and ``mmscore list datasets`` read :data:`LAYOUTS`;
the readers themselves live in :mod:`mmscore.evaluation.datasets`. Detection lives here (not in
the command) so that the Python API and the CLI pick the same reader for the same path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmscore.errors import InputError
from mmscore.registry import Registry

_READERS = "mmscore.evaluation.datasets"
LAYOUTS: Registry[Any] = Registry("dataset layout")
for _name, _reader, _help in (
    ("coco", "load_coco_captions", "retrieval: COCO annotations/captions_*.json"),
    ("urban1k", "load_urban1k", "retrieval: Urban1k folder with image/ and caption/"),
    ("flickr30k", "load_flickr30k", "retrieval: Flickr30k results_20130124.token"),
    ("karpathy", "load_karpathy_split", "retrieval: Karpathy dataset_*.json split file"),
    ("imagefolder", "load_image_folder", "zero-shot: ImageNet-style class sub-folders"),
    ("cifar", "load_cifar", "zero-shot: CIFAR-10/100 python batches"),
    ("sdci", "load_specificity_set", "specificity: sDCI datasets folder or table"),
):
    LAYOUTS.add(_name, f"{_READERS}:{_reader}", _help)

RETRIEVAL_LAYOUTS = ("coco", "urban1k", "flickr30k", "karpathy")


def is_cifar(path: Path) -> bool:
    """A CIFAR-10 ``cifar-10-batches-py`` / CIFAR-100 ``cifar-100-python`` folder or test file."""
    if path.is_dir():
        return (path / "test_batch").is_file() or ((path / "test").is_file() and (path / "meta").is_file())
    return path.name in ("test_batch", "test")


def retrieval_layout(path: Path) -> str:
    """Which retrieval layout ``path`` is in (raises :class:`InputError` when it cannot tell)."""
    if path.is_dir():
        if (path / "image").is_dir() and (path / "caption").is_dir():
            return "urban1k"
        if (path / "results_20130124.token").is_file():
            return "flickr30k"
    elif path.suffix.lower() == ".json":
        return "karpathy" if path.name.lower().startswith("dataset_") else "coco"
    elif path.suffix.lower() == ".token" or path.name.endswith(".token.txt"):
        return "flickr30k"
    raise InputError(f"{path}: cannot tell the dataset layout; pass --dataset {'|'.join(RETRIEVAL_LAYOUTS)}")


def load_retrieval_set(kind: str, data: Path, images: Path | None = None, split: str = "test",
                       split_file: Path | None = None, captions_per_image: int = 5,
                       limit: int | None = None) -> Any:
    """Read a retrieval set of layout ``kind`` (``auto``: detected from ``data``)."""
    kind = retrieval_layout(data) if kind == "auto" else kind
    if kind not in RETRIEVAL_LAYOUTS:
        raise LAYOUTS.unknown(kind) if kind not in LAYOUTS else InputError(
            f"--dataset {kind} is not a retrieval layout; use one of {', '.join(RETRIEVAL_LAYOUTS)}")
    reader = LAYOUTS.get(kind)
    if kind == "coco":
        return reader(data, images, captions_per_image, limit=limit)
    if kind == "urban1k":
        return reader(data, limit=limit)
    if kind == "flickr30k":
        token = data / "results_20130124.token" if data.is_dir() else data
        return reader(token, images, split_file, captions_per_image, limit=limit)
    return reader(data, images, split, captions_per_image, limit=limit)


def load_classification_set(data: Path, class_names: Path | None = None, limit: int | None = None) -> Any:
    """A CIFAR folder/file or an ImageNet-style class folder (``limit`` per class for folders)."""
    if is_cifar(data):
        return LAYOUTS.get("cifar")(data, limit=limit)
    return LAYOUTS.get("imagefolder")(data, class_names, limit_per_class=limit)
