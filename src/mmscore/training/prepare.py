"""``mmscore train prepare``: training tables from the captions as distributed.

Recipes:
- ``sharegpt4v``: ShareGPT4V's ``share-captioner_*.json`` + image root → SPECS chunk chains
  (``captions`` = growing prefixes, ``neg_captions`` = prefix + another image's detail at the
  same slot, word-shuffled for the first 90 % of rows, seeded, cut at 248 tokens), as SPECS'
  ``create_sharegpt4v.py``;
- ``dci``: the DCI folder (``splits.json``, ``complete/*.json``, ``photos/``) → the same chains from
  ``summaries.base``, negatives never shuffled (SPECS' ``create_dci.py``);
- ``long-short``: ShareGPT4V JSON → long caption + its first sentence (Long-CLIP).

Images that are missing or do not open are counted and listed in ``missing.tsv``, never silently
dropped. Chunking (the slow part) is saved as it goes in ``chunks.partial.jsonl``; a killed run
started again continues from there. The table is written last, atomically (``data.parquet``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmscore.errors import InputError
from mmscore.io.atomic import atomic_path, atomic_write_json, atomic_write_text
from mmscore.training.data import first_sentence

RECIPES = ("sharegpt4v", "dci", "long-short")


@dataclass
class Source:
    image: str  # absolute path
    caption: str


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read JSON ({exc})") from exc


def read_sharegpt4v(json_file: Path, image_root: Path) -> list[Source]:
    """caption = the last conversation turn's value; image = root / the row's relative path."""
    rows = _load_json(json_file)
    if not isinstance(rows, list):
        raise InputError(f"{json_file}: expected a JSON list of {{id, image, conversations}} rows")
    out = []
    for index, row in enumerate(rows):
        try:
            image, caption = row["image"], row["conversations"][-1]["value"]
        except (KeyError, IndexError, TypeError) as exc:
            raise InputError(f"{json_file}: row {index} has no image or conversations[-1].value ({exc})") from exc
        out.append(Source(str(image_root / image), str(caption)))
    return out


def read_dci(root: Path, split: str) -> list[Source]:
    """One row per ``summaries.base`` entry of each annotation file listed for ``split``."""
    splits = _load_json(root / "splits.json")
    if split not in splits:
        raise InputError(f"{root / 'splits.json'}: no split {split!r} (splits: {', '.join(splits)})")
    out = []
    for name in splits[split]:
        entry = _load_json(root / "complete" / name)
        try:
            image, summaries = entry["image"], entry["summaries"]["base"]
        except (KeyError, TypeError) as exc:
            raise InputError(f"{root / 'complete' / name}: no image or summaries.base ({exc})") from exc
        out.extend(Source(str(root / "photos" / image), str(text)) for text in summaries)
    return out


def image_problem(path: str, full_decode: bool) -> str | None:
    """Why the image cannot be used, or None (header check as the original; ``full_decode`` decodes)."""
    from PIL import Image

    from mmscore.errors import MediaError
    from mmscore.io.images import load_image

    if not Path(path).is_file():
        return "not found"
    try:
        if full_decode:
            load_image(path)
        else:
            with Image.open(path):
                pass
    except (MediaError, OSError, ValueError, SyntaxError) as exc:
        return f"unreadable: {exc}"
    return None


def _key(source: Source) -> str:
    return hashlib.sha256(f"{source.image}\n{source.caption}".encode()).hexdigest()[:16]


def chunk_resumable(sources: Sequence[Source], cache: Path, chunk: Callable[[str], list[str]],
                    advance: Callable[[], None]) -> list[list[str]]:
    """Details of every caption, appending each result to ``cache`` (a re-run reuses them)."""
    done: dict[str, list[str]] = {}
    if cache.is_file():
        for line in cache.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                done[record["key"]] = record["chunks"]
            except (ValueError, KeyError):
                continue  # a line cut by a killed run
    out = []
    with open(cache, "a", encoding="utf-8") as handle:
        for source in sources:
            key = _key(source)
            if key not in done:
                done[key] = [c for c in chunk(source.caption) if c.strip()]
                handle.write(json.dumps({"key": key, "chunks": done[key]}) + "\n")
                handle.flush()
            out.append(done[key])
            advance()
    return out


def negative_details(images: Sequence[str], chunks: Sequence[list[str]], shuffle_upto: int,
                     rng: random.Random) -> list[list[str]]:
    """For slot i of each row: another image's detail at min(i, its last), word-shuffled for rows
    before ``shuffle_upto`` (file order, as the original)."""
    donors = [j for j, c in enumerate(chunks) if c]
    if len({images[j] for j in donors}) < 2:
        raise InputError("negatives need captions of at least two different images")
    out = []
    for row, details in enumerate(chunks):
        negs = []
        for slot in range(len(details) - 1):
            donor = donors[rng.randrange(len(donors))]
            while images[donor] == images[row]:
                donor = donors[rng.randrange(len(donors))]
            text = chunks[donor][min(slot, len(chunks[donor]) - 1)].strip()
            if row < shuffle_upto:
                words = text.split()
                rng.shuffle(words)
                text = " ".join(words)
            negs.append(text)
        out.append(negs)
    return out


def build_chain(details: Sequence[str], negs: Sequence[str], n_tokens: Callable[[str], int],
                max_tokens: int = 248) -> tuple[list[str], list[str]]:
    """captions = growing prefixes; neg_captions[k] = captions[k] + " " + negs[k]; stops before the
    first step where either text exceeds ``max_tokens`` (SOT and EOT counted)."""
    captions, negatives = [details[0].strip()], []
    for detail, neg in zip(details[1:], negs, strict=False):
        longer, wrong = f"{captions[-1]} {detail.strip()}", f"{captions[-1]} {neg.strip()}"
        if n_tokens(longer) > max_tokens or n_tokens(wrong) > max_tokens:
            break
        captions.append(longer)
        negatives.append(wrong)
    return captions, negatives


@dataclass
class PrepareSettings:
    recipe: str
    source: Path  # ShareGPT4V JSON file, or the DCI folder
    out_dir: Path
    image_root: Path | None = None
    split: str = "train"
    seed: int = 42
    shuffle_fraction: float = 0.9  # dci: always 0 (negatives never shuffled)
    max_tokens: int = 248
    full_decode: bool = False


def _sources(settings: PrepareSettings) -> list[Source]:
    if settings.recipe == "dci":
        return read_dci(settings.source, settings.split)
    root = settings.image_root if settings.image_root is not None else settings.source.parent
    return read_sharegpt4v(settings.source, root)


def _write_table(rows: list[dict[str, Any]], path: Path) -> None:
    import pandas as pd

    with atomic_path(path) as tmp:
        pd.DataFrame(rows).to_parquet(tmp, index=False)


def _chain_rows(usable: list[Source], chunks: list[list[str]], settings: PrepareSettings) -> tuple[list[dict], int]:
    from mmscore.models.tokenizer import default_tokenizer

    tokenizer = default_tokenizer()
    fraction = 0.0 if settings.recipe == "dci" else settings.shuffle_fraction
    negs = negative_details([s.image for s in usable], chunks, int(fraction * len(usable)),
                            random.Random(settings.seed))
    rows, dropped = [], 0
    for source, details, wrong in zip(usable, chunks, negs, strict=True):
        if not details:
            dropped += 1
            continue
        captions, negatives = build_chain(details, wrong, lambda t: len(tokenizer.encode(t)) + 2,
                                          settings.max_tokens)
        if not negatives:  # rows without a negative cannot train (the original drops them)
            dropped += 1
            continue
        rows.append({"image": source.image, "caption": source.caption, "captions": captions,
                     "neg_captions": negatives})
    return rows, dropped


def prepare(settings: PrepareSettings) -> dict[str, Any]:
    """Build ``data.parquet`` (+ ``missing.tsv``, ``prepare.json``) in ``settings.out_dir``."""
    from mmscore.progress import progress_bar
    from mmscore.training.chunker import chunk_caption, require_nltk_data

    if settings.recipe not in RECIPES:
        raise InputError(f"unknown recipe {settings.recipe!r} (recipes: {', '.join(RECIPES)})")
    if settings.recipe != "long-short":
        require_nltk_data()  # before any long work
    from mmscore.io.outputs import prepare_outputs

    prepare_outputs([settings.out_dir / n for n in ("data.parquet", "missing.tsv", "prepare.json")],
                    [settings.source])
    sources = _sources(settings)
    usable, missing = [], []
    with progress_bar() as progress:
        task = progress.add_task("checking images", total=len(sources))
        for source in sources:
            problem = image_problem(source.image, settings.full_decode)
            if problem:
                missing.append(f"{source.image}\t{problem}")
            else:
                usable.append(source)
            progress.advance(task)
        atomic_write_text(settings.out_dir / "missing.tsv", "image\tproblem\n" + "".join(m + "\n" for m in missing))
        if settings.recipe == "long-short":
            rows = [{"image": s.image, "caption": s.caption, "short_caption": first_sentence(s.caption)}
                    for s in usable]
            dropped = 0
        else:
            task = progress.add_task("chunking captions", total=len(usable))
            chunks = chunk_resumable(usable, settings.out_dir / "chunks.partial.jsonl", chunk_caption,
                                     lambda: progress.advance(task))
            rows, dropped = _chain_rows(usable, chunks, settings)
    if not rows:
        raise InputError(f"{settings.source}: no usable rows ({len(missing)} image(s) missing or unreadable)")
    _write_table(rows, settings.out_dir / "data.parquet")
    summary = {"recipe": settings.recipe, "source": str(settings.source), "rows_in": len(sources),
               "rows_out": len(rows), "images_missing_or_unreadable": len(missing),
               "rows_without_a_negative": dropped, "seed": settings.seed,
               "shuffle_fraction": 0.0 if settings.recipe == "dci" else settings.shuffle_fraction,
               "max_tokens": settings.max_tokens, "table": str(settings.out_dir / "data.parquet")}
    atomic_write_json(settings.out_dir / "prepare.json", summary)
    return summary
