"""A colour 'encoder' whose answers are known by construction, and synthetic dataset layouts."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mmscore.testing.media import make_image

COLOUR_WORDS = ("red", "green", "blue")


class ColourEncoder:
    """Image embedding = mean RGB minus the dark background; text embedding = colour-word counts.

    So "a red square" is nearest to the red image, and a caption naming the wrong colour is
    nearest to that colour's image: every rank in the tests below can be worked out by hand.
    """

    context_length = 77
    image_size = 16
    embed_dim = 3
    fingerprint = "colour-encoder"
    name = "colour"

    def __init__(self) -> None:
        self.n_truncated = 0
        self.text_calls = 0

    def preprocess(self, images) -> torch.Tensor:
        arrays = [np.asarray(img.convert("RGB"), dtype=np.float32) for img in images]
        return torch.tensor(np.stack([a.reshape(-1, 3).mean(axis=0) - 20.0 for a in arrays]))

    def encode_pixels(self, pixels: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        return torch.nn.functional.normalize(pixels.float(), dim=-1) if normalize else pixels.float()

    def encode_texts(self, texts, normalize: bool = True) -> torch.Tensor:
        self.text_calls += 1
        words = [re.findall(r"[a-z]+", text.lower()) for text in texts]
        rows = [[w.count(colour) + 1e-3 for colour in COLOUR_WORDS] for w in words]
        out = torch.tensor(rows, dtype=torch.float32)
        return torch.nn.functional.normalize(out, dim=-1) if normalize else out


@pytest.fixture
def colour_encoder() -> ColourEncoder:
    return ColourEncoder()


@pytest.fixture(scope="session")
def colour_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ImageNet-style: <root>/<class>/<image>, two images per colour."""
    root = tmp_path_factory.mktemp("folder") / "val"
    for colour in COLOUR_WORDS:
        for k in range(2):
            make_image(root / colour / f"{colour}_{k}.png", color=colour, width=40 + 8 * k, height=32)
    return root


def write_cifar(folder: Path, kind: str, labels: list[int], names: list[str], rng_seed: int = 0) -> Path:
    """A CIFAR test batch + meta in the official python-pickle layout (bytes keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rng_seed)
    data = np.zeros((len(labels), 3072), dtype=np.uint8)
    palette = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (30, 60, 220)}
    for row, label in enumerate(labels):
        colour = palette.get(names[label].split("_")[-1], tuple(rng.integers(0, 255, 3)))
        img = np.full((32, 32, 3), 20, dtype=np.uint8)
        img[8:24, 8:24] = colour
        data[row] = img.transpose(2, 0, 1).reshape(-1)
    if kind == "cifar10":
        batch = {
            b"batch_label": b"testing batch 1 of 1",
            b"labels": labels,
            b"data": data,
            b"filenames": [f"{i}.png".encode() for i in range(len(labels))],
        }
        meta = {b"label_names": [n.encode() for n in names], b"num_cases_per_batch": len(labels)}
        test_name, meta_name = "test_batch", "batches.meta"
    else:
        batch = {b"fine_labels": labels, b"coarse_labels": [0] * len(labels), b"data": data}
        meta = {b"fine_label_names": [n.encode() for n in names], b"coarse_label_names": [b"all"]}
        test_name, meta_name = "test", "meta"
    (folder / test_name).write_bytes(pickle.dumps(batch, protocol=2))
    (folder / meta_name).write_bytes(pickle.dumps(meta, protocol=2))
    return folder


@pytest.fixture(scope="session")
def cifar_writer():
    return write_cifar


@pytest.fixture(scope="session")
def coco_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/annotations/captions_val2017.json + <root>/val2017/*.jpg (ids deliberately unsorted)."""
    root = tmp_path_factory.mktemp("coco")
    images = [
        {"id": 30, "file_name": "000030.jpg"},
        {"id": 10, "file_name": "000010.jpg"},
        {"id": 20, "file_name": "000020.jpg"},
    ]
    colours = {10: "red", 20: "green", 30: "blue"}
    for image in images:
        make_image(root / "val2017" / image["file_name"], color=colours[image["id"]])
    annotations = []
    for image_id, colour in colours.items():
        texts = [
            f"a {colour} square",
            f"the {colour} box",
            f"{colour}",
            f"{colour} on dark",
            f"a {colour} thing",
            "a sixth caption that must be ignored",
        ]
        annotations += [
            {"id": 100 * image_id + k, "image_id": image_id, "caption": t} for k, t in enumerate(texts)
        ]
    annotations[1]["caption"] = "green and blue"  # the red image's second caption names other colours
    (root / "annotations").mkdir()
    (root / "annotations" / "captions_val2017.json").write_text(
        json.dumps({"images": images, "annotations": annotations})
    )
    return root
