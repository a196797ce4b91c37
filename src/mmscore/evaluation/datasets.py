"""Readers for the evaluation datasets in the layouts users download them in.

Every reader returns a small dataclass of image *sources* (paths, or callables that build a
PIL image for in-memory sets such as CIFAR) plus the texts/labels, so images are decoded
lazily by the prefetching loader while the encoder runs. Errors name the file at fault.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmscore.errors import DependencyError, InputError
from mmscore.io.cells import parse_container
from mmscore.io.images import IMAGE_EXTENSIONS, image_from_array, list_images
from mmscore.io.media_paths import resolve_media_path

logger = logging.getLogger(__name__)

_WNID = re.compile(r"^n\d{8}$")


@dataclass
class ClassificationSet:
    name: str
    class_names: list[str]
    images: list[Any]
    labels: list[int]
    image_names: list[str] = field(default_factory=list)
    #: class folders left out because they hold no image (e.g. only ``.DS_Store``)
    skipped_classes: list[str] = field(default_factory=list)


@dataclass
class RetrievalSet:
    """Images and captions; ``text_to_image[t]`` is the image row of caption ``t``."""

    name: str
    images: list[Any]
    image_names: list[str]
    captions: list[str]
    text_to_image: list[int]


@dataclass
class SpecificitySet:
    """Per image: cumulative captions and their wrong-detail negatives (sDCI layout)."""

    name: str
    images: list[Any]
    captions: list[list[str]]
    negatives: list[list[str]]


def _require_exists(path: Path, what: str) -> Path:
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    return path


# ---------------------------------------------------------------------------------------------
# zero-shot classification
# ---------------------------------------------------------------------------------------------


def load_image_folder(
    root: str | os.PathLike[str], class_names_file: str | os.PathLike[str] | None = None,
    limit_per_class: int | None = None,
) -> ClassificationSet:
    """An ImageNet-style ``root/<class>/**/<image>`` tree; classes in sorted folder order.

    Class names: from ``class_names_file`` when given (one name per line in folder order;
    ``<folder> <name>[, synonyms]`` lines as in ImageNet's ``categories.txt``/LOC_synset_mapping;
    or JSON, a list or a ``{folder: name}`` mapping). Without it, a tree of exactly the 1,000
    ImageNet WordNet-id folders gets OpenAI's curated CLIP names; any other tree uses the
    folder names with underscores as spaces.
    """
    root = _require_exists(Path(root), "image folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise InputError(f"{root}: no class sub-folders (expected <root>/<class>/<image files>)")
    keys = [f.name for f in folders]
    all_names = _class_names(keys, class_names_file)  # names follow every folder (names files list them all)
    names: list[str] = []
    skipped: list[str] = []
    images: list[Any] = []
    labels: list[int] = []
    image_names: list[str] = []
    for folder, name in zip(folders, all_names, strict=True):
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:  # an empty class would still compete for every image as a prompt
            skipped.append(folder.name)
            continue
        if limit_per_class is not None:
            files = files[:limit_per_class]
        images.extend(files)
        labels.extend([len(names)] * len(files))
        names.append(name)
        image_names.extend(str(p.relative_to(root)) for p in files)
    if not images:
        raise InputError(f"{root}: the class folders hold no image files ({', '.join(IMAGE_EXTENSIONS)})")
    if skipped:
        logger.warning("%s: skipped %d class folder(s) without image files: %s", root, len(skipped),
                       ", ".join(skipped))
    return ClassificationSet(root.name, names, images, labels, image_names, skipped)


def _class_names(keys: list[str], names_file: str | os.PathLike[str] | None) -> list[str]:
    if names_file is None:
        if len(keys) == 1000 and all(_WNID.match(k) for k in keys):
            from mmscore.evaluation.imagenet_classes import IMAGENET_CLASSES

            return list(IMAGENET_CLASSES)
        return [k.replace("_", " ") for k in keys]
    path = _require_exists(Path(names_file), "class-names file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: invalid JSON ({exc.msg})") from exc
        if isinstance(data, dict):
            missing = [k for k in keys if k not in data]
            if missing:
                raise InputError(f"{path}: no class name for folders {missing[:5]}")
            return [str(data[k]) for k in keys]
        if isinstance(data, list):
            return _check_count(path, [str(v) for v in data], keys)
        raise InputError(f"{path}: expected a JSON list or {{folder: name}} mapping")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    mapping = {}
    for line in lines:
        head, _, rest = line.partition(" ")
        if head in keys and rest.strip():
            mapping[head] = rest.split(",")[0].strip()
    if len(mapping) == len(keys):
        return [mapping[k] for k in keys]
    return _check_count(path, lines, keys)


def _check_count(path: Path, names: list[str], keys: list[str]) -> list[str]:
    if len(names) != len(keys):
        raise InputError(
            f"{path}: {len(names)} class names for {len(keys)} class folders; give one name per folder "
            "in sorted folder order, or '<folder> <name>' lines"
        )
    return names


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches only: numpy arrays and builtins, nothing that can run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR pickle")


def _read_cifar_pickle(path: Path) -> dict[bytes | str, Any]:
    try:
        with open(path, "rb") as handle:
            data = _CifarUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a CIFAR python pickle ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a CIFAR python pickle (expected a dict)")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def load_cifar(path: str | os.PathLike[str], limit: int | None = None) -> ClassificationSet:
    """CIFAR-10 (``cifar-10-batches-py/test_batch`` + ``batches.meta``) or CIFAR-100
    (``cifar-100-python/test`` + ``meta``, fine labels); ``path`` is the folder or the test file.

    Class names come from the meta file, underscores as spaces ("aquarium fish"; torchvision,
    used by the Long-CLIP scripts, keeps the underscore).
    """
    import numpy as np

    path = _require_exists(Path(path), "CIFAR data")
    if path.is_dir():
        candidates = [path / "test_batch", path / "test"]
        test_file = next((c for c in candidates if c.exists()), None)
        if test_file is None:
            raise InputError(f"{path}: no 'test_batch' (CIFAR-10) or 'test' (CIFAR-100) file in this folder")
    else:
        test_file = path
    folder = test_file.parent
    batch = _read_cifar_pickle(test_file)
    if "fine_labels" in batch:
        labels, meta_file, names_key, name = batch["fine_labels"], folder / "meta", "fine_label_names", "cifar100"
    elif "labels" in batch:
        labels, meta_file, names_key, name = batch["labels"], folder / "batches.meta", "label_names", "cifar10"
    else:
        raise InputError(f"{test_file}: no 'labels' or 'fine_labels' entry; is this a CIFAR test batch?")
    meta = _read_cifar_pickle(_require_exists(meta_file, "CIFAR meta file"))
    if names_key not in meta:
        raise InputError(f"{meta_file}: no {names_key!r} entry")
    class_names = [(n.decode() if isinstance(n, bytes) else str(n)).replace("_", " ") for n in meta[names_key]]
    data = np.asarray(batch["data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise InputError(f"{test_file}: expected data of shape [N, 3072], got {data.shape}")
    pixels = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = [int(v) for v in labels]
    if limit is not None:
        pixels, labels = pixels[:limit], labels[:limit]
    images: list[Callable[[], Any]] = [_array_source(pixels[i]) for i in range(len(labels))]
    return ClassificationSet(name, class_names, images, labels, [f"{name}[{i}]" for i in range(len(labels))])


def _array_source(array: Any) -> Callable[[], Any]:
    return lambda: image_from_array(array)


# ---------------------------------------------------------------------------------------------
# retrieval
# ---------------------------------------------------------------------------------------------


def load_coco_captions(
    captions_json: str | os.PathLike[str], image_dir: str | os.PathLike[str] | None = None,
    captions_per_image: int = 5, limit: int | None = None,
) -> RetrievalSet:
    """COCO captions (``annotations/captions_val2017.json``): images sorted by id, first
    ``captions_per_image`` captions each in file order (the torchvision ``CocoCaptions`` order
    the Long-CLIP script uses). ``image_dir`` defaults to ``<root>/val2017`` beside
    ``annotations/`` (or the folder named after the JSON's split)."""
    path = _require_exists(Path(captions_json), "COCO captions JSON")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise InputError(f"{path}: expected a COCO captions file with 'images' and 'annotations'")
    folder = Path(image_dir) if image_dir is not None else _coco_image_dir(path)
    _require_exists(folder, "COCO image folder (pass --images)")
    by_image: dict[int, list[str]] = {}
    bad = []
    for ann in data["annotations"]:
        caption = ann.get("caption")
        if not isinstance(caption, str) or not caption.strip():  # never the query "None" or ""
            bad.append(f"{ann.get('id', '?')} ({caption!r})")
            continue
        by_image.setdefault(int(ann["image_id"]), []).append(caption.strip())
    if bad:
        raise InputError(f"{path}: {len(bad)} annotation(s) without a caption text, annotation id(s) "
                         f"{', '.join(bad[:10])}{' ...' if len(bad) > 10 else ''}; fix or remove them")
    files = {int(img["id"]): img["file_name"] for img in data["images"]}
    ids = sorted(files)
    if limit is not None:
        ids = ids[:limit]
    images, names, captions, owner = [], [], [], []
    for row, image_id in enumerate(ids):
        caps = by_image.get(image_id, [])[:captions_per_image]
        if not caps:
            raise InputError(f"{path}: image id {image_id} ({files[image_id]}) has no caption")
        images.append(folder / files[image_id])
        names.append(files[image_id])
        captions.extend(caps)
        owner.extend([row] * len(caps))
    return RetrievalSet(f"coco:{path.stem}", images, names, captions, owner)


def _coco_image_dir(captions_json: Path) -> Path:
    split = captions_json.stem.split("_", 1)[-1]  # captions_val2017 -> val2017
    for candidate in (captions_json.parent.parent / split, captions_json.parent / split):
        if candidate.is_dir():
            return candidate
    return captions_json.parent.parent / split


def load_urban1k(root: str | os.PathLike[str], limit: int | None = None) -> RetrievalSet:
    """Urban1k: ``root/image/<name>.jpg`` paired with ``root/caption/<name>.txt`` (first line)."""
    root = _require_exists(Path(root), "Urban1k folder")
    image_dir, caption_dir = root / "image", root / "caption"
    _require_exists(image_dir, "Urban1k image/ folder")
    _require_exists(caption_dir, "Urban1k caption/ folder")
    by_stem = {p.stem: p for p in list_images(image_dir)}
    caption_files = sorted(caption_dir.glob("*.txt"))
    if limit is not None:
        caption_files = caption_files[:limit]
    if not caption_files:
        raise InputError(f"{caption_dir}: no .txt caption files")
    images, names, captions = [], [], []
    for caption_file in caption_files:
        image = by_stem.get(caption_file.stem)
        if image is None:
            raise InputError(f"{caption_file}: no image named {caption_file.stem}.* in {image_dir}")
        lines = caption_file.read_text(encoding="utf-8", errors="replace").splitlines()
        if not lines or not lines[0].strip():
            raise InputError(f"{caption_file}: empty caption")
        images.append(image)
        names.append(image.name)
        captions.append(lines[0].strip())
    return RetrievalSet("urban1k", images, names, captions, list(range(len(images))))


def load_flickr30k(
    token_file: str | os.PathLike[str], image_dir: str | os.PathLike[str] | None = None,
    split_file: str | os.PathLike[str] | None = None, captions_per_image: int = 5, limit: int | None = None,
) -> RetrievalSet:
    """Flickr30k ``results_20130124.token`` lines ``<image>.jpg#<k>\\t<caption>``.

    Images in order of first appearance, the first ``captions_per_image`` captions each.
    ``image_dir`` defaults to ``flickr30k-images`` beside the token file. ``split_file`` (one
    image file name per line, e.g. the 1k Karpathy test split) restricts the images.
    """
    path = _require_exists(Path(token_file), "Flickr30k token file")
    folder = Path(image_dir) if image_dir is not None else path.parent / "flickr30k-images"
    _require_exists(folder, "Flickr30k image folder (pass --images)")
    keep = None
    if split_file is not None:
        split_path = _require_exists(Path(split_file), "split file")
        keep = {line.strip() for line in split_path.read_text(encoding="utf-8").splitlines() if line.strip()}
    by_image: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            key, tab, caption = line.rstrip("\n").partition("\t")
            if not tab:
                raise InputError(f"{path}, line {line_no}: expected '<image>#<k><TAB><caption>'")
            name = key.rsplit("#", 1)[0].strip()
            if keep is not None and name not in keep:
                continue
            by_image.setdefault(name, []).append(caption.strip())
    names = list(by_image)
    if limit is not None:
        names = names[:limit]
    if not names:
        raise InputError(f"{path}: no captions{' for the images in the split file' if keep else ''}")
    images, captions, owner = [], [], []
    for row, name in enumerate(names):
        caps = by_image[name][:captions_per_image]
        images.append(folder / name)
        captions.extend(caps)
        owner.extend([row] * len(caps))
    return RetrievalSet("flickr30k", images, names, captions, owner)


def load_karpathy_split(
    split_json: str | os.PathLike[str], image_dir: str | os.PathLike[str] | None = None, split: str = "test",
    captions_per_image: int = 5, limit: int | None = None,
) -> RetrievalSet:
    """Karpathy's split files (``dataset_flickr30k.json``, ``dataset_coco.json``, ...): the images of
    ``split`` (e.g. Flickr30k's 1,000 test images, the standard 1k protocol) in file order, the
    first ``captions_per_image`` ``sentences[].raw`` each. Images are ``image_dir/[filepath/]filename``;
    ``image_dir`` defaults to ``flickr30k-images``, ``images`` or the JSON's own folder, whichever exists."""
    path = _require_exists(Path(split_json), "Karpathy split JSON")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    entries = data.get("images") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "sentences" in e for e in entries):
        raise InputError(f"{path}: expected a Karpathy split file ('images' entries with 'sentences')")
    if image_dir is not None:
        folder = Path(image_dir)
    else:
        folder = next((c for c in (path.parent / "flickr30k-images", path.parent / "images") if c.is_dir()),
                      path.parent)
    _require_exists(folder, "image folder (pass --images)")
    chosen = [e for e in entries if e.get("split") == split]
    if not chosen:
        found = sorted({str(e.get("split")) for e in entries})
        raise InputError(f"{path}: no image in split {split!r} (splits present: {', '.join(found)})")
    if limit is not None:
        chosen = chosen[:limit]
    images, names, captions, owner = [], [], [], []
    for row, entry in enumerate(chosen):
        name = str(entry.get("filename", ""))
        caps = [str(s.get("raw", "")).strip() for s in entry["sentences"]][:captions_per_image]
        if not name or not caps or not all(caps):
            raise InputError(f"{path}: image entry {entry.get('imgid', row)} ({name or 'no filename'}) "
                             "has no filename or an empty caption")
        images.append(folder / entry["filepath"] / name if entry.get("filepath") else folder / name)
        names.append(name)
        captions.extend(caps)
        owner.extend([row] * len(caps))
    return RetrievalSet(f"karpathy:{data.get('dataset', path.stem)}:{split}", images, names, captions, owner)


# ---------------------------------------------------------------------------------------------
# specificity (sDCI)
# ---------------------------------------------------------------------------------------------


def load_specificity_set(
    path: str | os.PathLike[str], split: str | None = "test", image_key: str = "image",
    captions_key: str = "captions", negatives_key: str = "neg_captions", limit: int | None = None,
) -> SpecificitySet:
    """An sDCI-style set: a Hugging Face ``datasets`` directory (``save_to_disk``; needs the
    ``datasets`` package) or a table (JSONL/JSON/CSV/parquet) with an image path column and
    list columns of captions and negatives. Relative image paths resolve against the cwd, then
    the data file's folder."""
    from mmscore.io.tables import read_table

    path = _require_exists(Path(path), "specificity data")
    if path.is_dir() and not any(path.glob("*.parquet")):
        rows, base = _read_hf_dataset(path, split, image_key), path
    else:
        rows, base = read_table(path).to_dict(orient="records"), path.parent
    if limit is not None:
        rows = rows[:limit]
    images, captions, negatives = [], [], []
    for index, row in enumerate(rows):
        for key in (image_key, captions_key, negatives_key):
            if key not in row:
                raise InputError(f"{path}: row {index} has no {key!r} field (fields: {sorted(row)})")
        caps, negs = _as_text_list(row[captions_key]), _as_text_list(row[negatives_key])
        if caps is None or negs is None:
            raise InputError(f"{path}: row {index}: {captions_key!r} and {negatives_key!r} must be lists of text")
        images.append(_image_cell(row[image_key], base, path, index))
        captions.append(caps)
        negatives.append(negs)
    if not images:
        raise InputError(f"{path}: no rows")
    return SpecificitySet(path.name, images, captions, negatives)


def _as_text_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value, _ = parse_container(value, "[")  # JSON or a Python-literal list (DataFlow's CSV)
        if value is None:
            return None
    try:
        return [str(v) for v in list(value)]
    except TypeError:
        return None


def _image_cell(value: Any, base: Path, source: Path, index: int) -> Any:
    from PIL import Image

    if isinstance(value, Image.Image) or callable(value):
        return value
    if isinstance(value, dict):  # datasets Image feature without decoding: {"bytes", "path"}
        if value.get("bytes"):
            data = value["bytes"]
            return lambda: _decode_bytes(data)
        value = value.get("path")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{source}: row {index} has no image")
    return resolve_media_path(str(value), base)


def _decode_bytes(data: bytes) -> Any:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


class _LazyHFImage:
    """Reads one row's image from the Arrow table only when the loader asks for it (sDCI images
    are large; decoding every row up front would hold the whole set in memory)."""

    def __init__(self, table: Any, index: int, column: str) -> None:
        self.table, self.index, self.column = table, index, column

    def __call__(self) -> Any:
        from PIL import Image

        value = self.table[self.index][self.column]
        if value.get("bytes"):
            return _decode_bytes(value["bytes"])
        with Image.open(value["path"]) as image:
            return image.convert("RGB")


def _read_hf_dataset(path: Path, split: str | None, image_key: str) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError as exc:
        error = DependencyError("datasets", "eval")
        error.args = (f"{path}: reading a Hugging Face datasets directory needs {error}; alternatively give "
                      "a JSONL file with 'image', 'captions' and 'neg_captions' fields",)
        raise error from exc
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises FileNotFoundError/ValueError variants
        raise InputError(f"{path}: not a Hugging Face datasets directory ({exc})") from exc
    if isinstance(loaded, datasets.DatasetDict):
        if split is None or split not in loaded:
            raise InputError(f"{path}: split {split!r} not found; splits: {', '.join(loaded)}")
        loaded = loaded[split]
    if image_key not in loaded.column_names:
        raise InputError(f"{path}: no {image_key!r} column (columns: {', '.join(loaded.column_names)})")
    rows = loaded.remove_columns([image_key]).to_list()
    if isinstance(loaded.features[image_key], datasets.Image):
        raw = loaded.cast_column(image_key, datasets.Image(decode=False))
        for index, row in enumerate(rows):
            row[image_key] = _LazyHFImage(raw, index, image_key)
    else:
        for row, value in zip(rows, loaded[image_key], strict=True):
            row[image_key] = value
    return rows


# Public names for the readers other packages share (``mmscore.training`` reads the same layouts).
as_text_list = _as_text_list
image_source = _image_cell
read_hf_dataset = _read_hf_dataset
