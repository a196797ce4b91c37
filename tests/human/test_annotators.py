"""Annotator names become safe file names (hand-worked expectations)."""

from __future__ import annotations

import pytest

from mmscore.errors import InputError
from mmscore.human.annotators import (
    annotator_filename,
    annotator_slug,
    clean_annotator_name,
    slug_from_filename,
)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("John Doe", "john-doe"),
        ("  John   Doe  ", "john-doe"),
        ("john-doe", "john-doe"),  # same person as "John Doe"
        ("../../evil", "evil"),
        ("..\\..\\evil", "evil"),
        ("/etc/passwd", "etc-passwd"),
        ("a/../b", "a-b"),
        (".hidden", "hidden"),
        ("José Müller", "josé-müller"),
        ("ＡＢＣ", "abc"),  # fullwidth letters: NFKC -> ASCII
        ("Straße", "strasse"),  # casefold
        ("李小龙", "李小龙"),
        ("Ann_Example 2", "ann_example-2"),
        ("tab\tand\nnewline", "tab-and-newline"),
        ("emoji 🎉 fan", "emoji-fan"),
    ],
)
def test_slug(name: str, slug: str) -> None:
    assert annotator_slug(name) == slug
    filename = annotator_filename(annotator_slug(name), primary=False)
    assert filename == f"human-eval@{slug}.json"
    assert "/" not in filename and "\\" not in filename and ".." not in filename
    assert slug_from_filename(filename) == slug


@pytest.mark.parametrize("name", ["", "   ", "../..", "///", "🎉🎉", None, "\x00\x01"])
def test_unusable_names_are_refused(name) -> None:
    with pytest.raises(InputError, match="annotator name"):
        annotator_slug(name)
    with pytest.raises(InputError, match="annotator name"):
        clean_annotator_name(name)


def test_clean_display_name_keeps_unicode_and_drops_control_characters() -> None:
    assert clean_annotator_name("  José\x00 Müller\n ") == "José Müller"
    assert clean_annotator_name("x" * 500) == "x" * 100


def test_long_names_are_capped() -> None:
    slug = annotator_slug("ab " * 100)
    assert len(slug) <= 64
    assert not slug.endswith("-")


def test_primary_file_and_foreign_names() -> None:
    assert annotator_filename("anything", primary=True) == "human-eval.json"
    assert slug_from_filename("human-eval.json") is None
    assert slug_from_filename("GPT4OEvaluator.json") is None
    assert slug_from_filename("human-eval@.json") is None
