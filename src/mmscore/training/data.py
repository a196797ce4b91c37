"""Training rows and the per-rank batches: images decoded and texts tokenised in DataLoader
workers (off the training step), every random choice a function of (seed, epoch, row) so a
resumed run sees exactly the batches an uninterrupted one would."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from mmscore.errors import InputError, MediaError
from mmscore.models.preprocess import to_pil
from mmscore.models.tokenizer import default_tokenizer
from mmscore.training.transforms import training_transform

TextPicker = Callable[[dict[str, Any], np.random.Generator], list[str]]


def read_rows(path: str | os.PathLike[str], columns: Sequence[str], list_columns: Sequence[str] = ()) -> list[dict]:
    """Rows of a prepared training set: a Hugging Face ``save_to_disk`` folder, or a
    JSONL/JSON/CSV/parquet table. Every row must have ``columns``; ``list_columns`` hold lists of
    text. Relative image paths resolve against the data's folder. Errors name the row and field."""
    from mmscore.evaluation.datasets import as_text_list, image_source, read_hf_dataset
    from mmscore.io.tables import read_table

    path = Path(path)
    if not path.exists():
        raise InputError(f"training data not found: {path}")
    if path.is_dir() and not any(path.glob("*.parquet")):
        rows, base = read_hf_dataset(path, "train", "image"), path
    else:
        rows, base = read_table(path).to_dict(orient="records"), path.parent
    for index, row in enumerate(rows):
        missing = [c for c in columns if c not in row]
        if missing:
            raise InputError(f"{path}: row {index} has no {missing[0]!r} field (fields: {sorted(row)})")
        for key in list_columns:
            values = as_text_list(row[key])
            if values is None:
                raise InputError(f"{path}: row {index}: {key!r} must be a list of text")
            row[key] = values
        row["image"] = image_source(row["image"], base, path, index)
    if not rows:
        raise InputError(f"{path}: no rows")
    return rows


class TrainingData(Dataset):
    """Item i = (normalised pixels, texts chosen by ``pick`` with a generator seeded by (seed, epoch, i))."""

    def __init__(self, rows: Sequence[dict], image_size: int, pick: TextPicker, seed: int = 0,
                 resize: str = "pil") -> None:
        self.rows, self.pick, self.seed = rows, pick, seed
        self.transform = training_transform(resize, image_size)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[str]]:
        row = self.rows[index]
        source = row["image"]
        try:
            image = to_pil(source() if callable(source) else source, index)
            pixels = self.transform([image])[0]
        except (OSError, ValueError, InputError) as exc:
            raise MediaError(f"training row {index}: image {source!r} could not be read ({exc})") from exc
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return pixels, self.pick(row, rng)


def collate(items: list[tuple[torch.Tensor, list[str]]], context_length: int = 248) -> tuple[torch.Tensor, ...]:
    """(pixels [B,3,S,S], ids of text slot 0 [B,L0], ids of slot 1, ...): CLIP BPE, truncated with
    EOT kept (``truncate=True``), padded to the longest text of the slot."""
    tokenizer = default_tokenizer()
    pixels = torch.stack([pixels for pixels, _ in items])
    slots = []
    for slot in range(len(items[0][1])):
        tokens = tokenizer([texts[slot] for _, texts in items], context_length)
        slots.append(tokens.ids[:, : int(tokens.lengths.max())])
    return (pixels, *slots)


def rank_indices(n: int, epoch: int, seed: int, rank: int, world: int) -> list[int]:
    """This rank's shuffled share of the epoch (``DistributedSampler``: seeded by seed + epoch,
    padded by repetition so every rank gets the same count)."""
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def first_sentence(caption: str) -> str:
    """Long-CLIP's short caption: newlines to spaces, then the text before the first ". "."""
    return caption.replace("\n", " ").split(". ")[0]
