"""CLIP BPE ids: against values derived by hand from the vocabulary file, published OpenAI ids,
and transformers' CLIPTokenizer built from the same merges."""

from __future__ import annotations

import gzip
from importlib import resources

import pytest

from mmscore.models.tokenizer import EOT_ID, SOT_ID, ClipTokenizer, default_tokenizer


@pytest.fixture(scope="module")
def merges() -> list[str]:
    raw = resources.files("mmscore.assets").joinpath("bpe_simple_vocab_16e6.txt.gz").read_bytes()
    return gzip.decompress(raw).decode("utf-8").split("\n")[1:]  # drop the version header


@pytest.fixture(scope="module")
def tok() -> ClipTokenizer:
    return default_tokenizer()


def test_vocabulary_layout(tok, merges):
    assert len(tok.vocab) == 49408
    assert tok.vocab[SOT_ID] == "<|startoftext|>" and tok.vocab[EOT_ID] == "<|endoftext|>"
    assert tok.vocab[0] == "!" and tok.vocab[256] == "!</w>"
    # a merged token's id is 512 + its merge line (256 bytes + 256 bytes with </w> come first)
    assert tok.vocab[512] == merges[0].replace(" ", "")


def test_ids_derived_from_the_vocab_file(tok, merges):
    def merge_id(a: str, b: str) -> int:
        return 512 + merges.index(f"{a} {b}")

    # "!" alone: byte '!' is entry 0, so '!</w>' is 256
    assert tok.encode("!") == [256]
    # "cat" ends with the merge 'c' + 'at</w>' (line 1858 of the file) and "dog" with 'do' + 'g</w>' (1419)
    assert tok.encode("cat") == [merge_id("c", "at</w>")] == [2368]
    assert tok.encode("dog") == [merge_id("do", "g</w>")] == [1929]
    # upper case and surrounding/multiple whitespace are normalised away
    assert tok.encode("  CAT \n\t dog ") == [2368, 1929]


def test_published_openai_ids(tok):
    # clip.tokenize("a photo of a cat") from OpenAI's README / countless notebooks
    ids = tok(["a photo of a cat"], context_length=77)
    assert ids.ids[0, :7].tolist() == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert ids.ids[0, 7:].eq(0).all() and ids.lengths.tolist() == [7]


@pytest.mark.parametrize(
    "text",
    [
        "a photo of a cat",
        "Hello, World! It's 2024 -- don't panic.",
        "naïve café résumé, 東京 and emojis 🙂🙂",
        "a   lot\tof   whitespace\n\nhere",
        "hyphen-ated snake_case CamelCase 3.14159 #hashtag @user",
        "quotes \"double\" 'single' (paren) [bracket] {brace}",
    ],
)
def test_matches_transformers_clip_tokenizer(tok, merges, text):
    hf = _hf_tokenizer(merges)
    assert [SOT_ID, *tok.encode(text), EOT_ID] == hf(text)["input_ids"]


_HF = {}


def _hf_tokenizer(merges):
    """transformers' CLIPTokenizer from the vocab file, with transformers' own byte table."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    if "tok" not in _HF:
        pairs = [tuple(line.split()) for line in merges[: 49152 - 256 - 2]]
        base = list(bytes_to_unicode().values())
        tokens = (
            base
            + [t + "</w>" for t in base]
            + ["".join(p) for p in pairs]
            + ["<|startoftext|>", "<|endoftext|>"]
        )
        _HF["tok"] = CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=pairs)
    return _HF["tok"]


def test_special_token_strings_are_not_injected(tok):
    ids = tok.encode("stop <|endoftext|> here")
    assert EOT_ID not in ids and SOT_ID not in ids


def test_truncation_and_padding(tok):
    out = tok(["word " * 10, "word " * 3], context_length=8)
    word = tok.encode("word")[0]
    assert out.ids.tolist() == [[SOT_ID, *[word] * 6, EOT_ID], [SOT_ID, word, word, word, EOT_ID, 0, 0, 0]]
    assert out.truncated == [True, False] and out.lengths.tolist() == [8, 5] and out.n_truncated == 1
    assert tok([""], context_length=4).ids.tolist() == [[SOT_ID, EOT_ID, 0, 0]]


def test_decode_round_trip(tok):
    assert tok.decode(tok.encode("A photo of two cats!")) == "a photo of two cats !"


# ftfy's default character repairs (OpenAI runs ftfy.fix_text before BPE, then unescapes HTML twice,
# collapses whitespace and lowercases). Expectations are the cleaned strings written out from ftfy's
# documented behaviour, so these hold with and without ftfy installed.
@pytest.mark.parametrize(
    ("raw", "repaired"),
    [
        ("the dog’s ball", "the dog's ball"),  # curly apostrophe: the most common case in captions
        ("“Quoted” and ‘single’ ‚low‘ „low“", "\"quoted\" and 'single' 'low' \"low\""),
        ("ﬁne ﬂowers ﬀ ﬃ", "fine flowers ff ffi"),
        ("ＦＵＬＬ ｗｉｄｔｈ　１２３！？", "full width 123!?"),
        ("\x93hi\x94 \x96 dash", '"hi" – dash'),  # C1 controls read as Windows-1252
        ("a\x00b\ufeffc\x07d", "abcd"),
        ("\x1b[36;44mblue\x1b[0m sky", "blue sky"),
        ("&amp;amp;amp; fish", "& fish"),  # ftfy's own entity pass, then CLIP's two
        ("<b>&amp;amp;amp;</b>", "<b>&amp;</b>"),  # text with "<" keeps ftfy's pass off
    ],
)
def test_ftfy_character_repairs(raw, repaired):
    from mmscore.models.tokenizer import normalize_for_bpe

    assert normalize_for_bpe(raw) == repaired


def test_repair_characters_agrees_with_ftfy():
    import random
    import re

    ftfy = pytest.importorskip("ftfy")
    from mmscore.models.tokenizer import repair_characters

    pool = [*"ab Z'\".,!-", "’", "“", "”", "ﬁ", "Ｗ", "１", "\u3000", "\x93", "\x96", "\x00", "\x1b[31m",
            "\ufeff", "\u2028", "\n", "ŉ", "Ĳ", "e\u0301", "😀", "中", "&amp;", "&#39;", "&nbsp;", "<"]
    rng = random.Random(0)
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 10)))
        collapse = re.compile(r"\s+")
        assert collapse.sub(" ", repair_characters(text)) == collapse.sub(" ", ftfy.fix_text(text)), repr(text)
