"""`train prepare`: chains, negatives, shuffling, token cut, missing images, resumable chunking.
A stand-in chunker (split at '. ') replaces NLTK's, whose models cannot be downloaded here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmscore.training import prepare as prep

CAPTIONS = [
    "Red ball. Blue box on the left. Green cup near it",
    "A tall tree. Two birds in it. The sky is grey",
    "A white cat. It sleeps on a mat. The mat is blue. A lamp glows",
    "Old car. Wet road. Bright lights. Dark sky",
    "Missing picture. Never read",
    "Broken picture. Never read",
]


def fake_chunks(caption: str) -> list[str]:
    return [part.strip() for part in caption.split(". ")]


@pytest.fixture
def sharegpt(tmp_path, monkeypatch):
    import mmscore.training.chunker as chunker

    monkeypatch.setattr(chunker, "require_nltk_data", lambda: None)
    monkeypatch.setattr(chunker, "chunk_caption", fake_chunks)
    images = tmp_path / "imgs"
    images.mkdir()
    for i in range(4):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(images / f"{i}.png")
    (images / "5.png").write_bytes(b"not an image")
    rows = [{"id": str(i), "image": f"{i}.png", "conversations": [{"value": "q"}, {"value": c}]}
            for i, c in enumerate(CAPTIONS)]
    source = tmp_path / "share.json"
    source.write_text(json.dumps(rows))
    return source, images


def run(source, images, out, **kw):
    return prep.prepare(prep.PrepareSettings("sharegpt4v", source, out, images, **kw))


def test_sharegpt4v_chains_negatives_and_missing_images(sharegpt, tmp_path):
    source, images = sharegpt
    summary = run(source, images, tmp_path / "out")
    assert summary["rows_in"] == 6 and summary["images_missing_or_unreadable"] == 2 and summary["rows_out"] == 4
    missing = (tmp_path / "out" / "missing.tsv").read_text().splitlines()
    assert missing[1].endswith("not found") and "4.png" in missing[1]
    assert "5.png" in missing[2] and "unreadable" in missing[2]
    table = pd.read_parquet(tmp_path / "out" / "data.parquet")
    chunks = [fake_chunks(c) for c in CAPTIONS[:4]]
    shuffled_rows = int(0.9 * 4)  # the first 3 rows (file order) get shuffled negatives
    for r, row in table.iterrows():
        details = chunks[r]
        assert list(row["captions"]) == [" ".join(details[: k + 1]) for k in range(len(details))]
        assert len(row["neg_captions"]) == len(details) - 1
        for slot, neg in enumerate(row["neg_captions"]):
            prefix = row["captions"][slot] + " "
            assert neg.startswith(prefix)
            donor_detail = neg[len(prefix):]
            # another image's detail at the same slot (clamped to its length)
            candidates = [c[min(slot, len(c) - 1)] for j, c in enumerate(chunks) if j != r]
            if r < shuffled_rows:
                assert sorted(donor_detail.split()) in [sorted(c.split()) for c in candidates]
            else:
                assert donor_detail in candidates
    again = run(source, images, tmp_path / "again")  # seeded: the same table
    assert again["rows_out"] == 4
    assert pd.read_parquet(tmp_path / "again" / "data.parquet").equals(table)


def test_chains_stop_at_the_token_limit(sharegpt, tmp_path):
    source, images = sharegpt
    run(source, images, tmp_path / "out", max_tokens=9)  # SOT + EOT + at most 7 word pieces
    table = pd.read_parquet(tmp_path / "out" / "data.parquet")
    from mmscore.models.tokenizer import default_tokenizer

    tok = default_tokenizer()
    for row in table.itertuples():
        for text in [*row.captions[1:], *row.neg_captions]:
            assert len(tok.encode(text)) + 2 <= 9


def test_a_killed_run_continues_without_chunking_again(sharegpt, tmp_path, monkeypatch):
    import mmscore.training.chunker as chunker

    source, images = sharegpt
    calls = []

    def dying(caption):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(caption)
        return fake_chunks(caption)

    monkeypatch.setattr(chunker, "chunk_caption", dying)
    with pytest.raises(KeyboardInterrupt):
        run(source, images, tmp_path / "out")
    assert not (tmp_path / "out" / "data.parquet").exists()
    calls.clear()
    monkeypatch.setattr(chunker, "chunk_caption", lambda c: calls.append(c) or fake_chunks(c))
    run(source, images, tmp_path / "out")
    assert len(calls) == 2  # only the two captions not chunked before the kill
    run(source, images, tmp_path / "whole")
    resumed, whole = (pd.read_parquet(tmp_path / name / "data.parquet") for name in ("out", "whole"))
    assert resumed.equals(whole)


def test_dci_negatives_are_never_shuffled_and_long_short_takes_the_first_sentence(sharegpt, tmp_path):
    source, images = sharegpt
    root = tmp_path / "dci"
    (root / "complete").mkdir(parents=True)
    (root / "photos").symlink_to(images)
    (root / "splits.json").write_text(json.dumps({"test": ["a.json", "b.json"]}))
    (root / "complete" / "a.json").write_text(json.dumps({"image": "0.png", "summaries": {"base": CAPTIONS[:2]}}))
    (root / "complete" / "b.json").write_text(json.dumps({"image": "1.png", "summaries": {"base": CAPTIONS[2:4]}}))
    prep.prepare(prep.PrepareSettings("dci", root, tmp_path / "dout", split="test"))
    table = pd.read_parquet(tmp_path / "dout" / "data.parquet")
    all_details = {d for c in CAPTIONS[:4] for d in fake_chunks(c)}
    for row in table.itertuples():
        for slot, neg in enumerate(row.neg_captions):
            assert neg[len(row.captions[slot]) + 1:] in all_details  # verbatim
    prep.prepare(prep.PrepareSettings("long-short", source, tmp_path / "ls", images))
    table = pd.read_parquet(tmp_path / "ls" / "data.parquet")
    assert list(table["short_caption"]) == ["Red ball", "A tall tree", "A white cat", "Old car"]
