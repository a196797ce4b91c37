"""The CLIP byte-level BPE tokenizer, offline, from the vocabulary shipped with mmscore.

Why our own: ``.pt`` checkpoints (OpenAI, Long-CLIP, SPECS) carry no tokenizer, open_clip cannot be
imported here (it needs torchvision), and transformers 5's ``CLIPTokenizer(vocab_file=...)``
silently builds a 3-token vocabulary. This module implements the algorithm OpenAI published with
CLIP (byte-to-unicode table, greedy lowest-rank pair merging, ``</w>`` end-of-word marker) over
``mmscore/assets/bpe_simple_vocab_16e6.txt.gz`` (MIT, see ``assets/LICENSE-clip-bpe.txt``), so the
ids equal OpenAI's: start-of-text 49406, end-of-text 49407, padding 0.

Text normalisation. OpenAI runs ``ftfy.fix_text``, unescapes HTML twice, collapses whitespace and
lowercases. ftfy is a dependency of mmscore and is used when importable (ids then match OpenAI exactly);
otherwise ``repair_characters`` applies the character-level repairs ftfy makes by default, which
change ids of everyday captions (curly quotes and apostrophes become straight ones, Latin
ligatures such as "ﬁ" are split, full-width forms become ASCII, C1 controls are read as
Windows-1252, terminal escapes and invisible control characters are dropped, ftfy's own HTML
entity pass runs, the result is NFC), followed by the same double HTML unescape, whitespace
collapse and lowercasing. What remains different without ftfy is its mojibake repair ("cafÃ©"
stays as is) and its all-caps entity names ("&EACUTE;"). ``TEXT_CLEANUP`` names the mode in use
and is part of the tokenizer id recorded in result signatures and embedding-cache keys.

Difference from OpenAI on purpose: the literal strings ``<|startoftext|>`` / ``<|endoftext|>`` in
user text are tokenized as ordinary characters, never as special tokens, so a caption cannot inject
an end-of-text token and move the pooled position.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import regex
import torch

SOT_ID = 49406
EOT_ID = 49407
PAD_ID = 0
VOCAB_SIZE = 49408
_N_MERGES = VOCAB_SIZE - 256 - 256 - 2  # 48894 merge rules after the header line

try:  # pragma: no cover - depends on the environment
    import ftfy as _ftfy

    TEXT_CLEANUP = "ftfy"
except ImportError:
    _ftfy = None
    TEXT_CLEANUP = "ftfy-chars"

# OpenAI's pre-tokenisation pattern minus the two special-token alternatives (see module docstring).
_WORD_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE
)
_WHITESPACE = re.compile(r"\s+")


def byte_unicode_table() -> dict[int, str]:
    """Map every byte to a printable unicode character (so BPE never sees control characters).

    Printable Latin-1 bytes map to themselves; the 68 others are shifted to code points 256.. in
    byte order. The insertion order of this dict is the order of the first 256 vocabulary entries.
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    shift = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shift)
            shift += 1
    return table


def default_vocab_path():
    return resources.files("mmscore.assets").joinpath("bpe_simple_vocab_16e6.txt.gz")


@lru_cache(maxsize=4)
def load_bpe(path: str | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Return (vocabulary in id order, merge rules in rank order) built from the gzip merges file."""
    source = default_vocab_path() if path is None else path
    with source.open("rb") if path is None else open(path, "rb") as raw:
        lines = gzip.decompress(raw.read()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 1 + _N_MERGES]]
    if len(merges) != _N_MERGES or any(len(m) != 2 for m in merges):
        raise ValueError(f"{source}: not a CLIP BPE merges file (expected {_N_MERGES} merge lines)")
    base = list(byte_unicode_table().values())
    vocab = base + [token + "</w>" for token in base] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return vocab, merges  # type: ignore[return-value]


def _character_tables() -> tuple[dict[int, str], dict[int, None]]:
    """``str.translate`` tables of ftfy's default per-character fixes: (replacements, deletions)."""
    replace: dict[int, str] = {}
    for code in range(0x80, 0xA0):  # C1 controls: the Windows-1252 character of that byte, if any
        if char := bytes([code]).decode("cp1252", errors="ignore"):
            replace[code] = char
    # Latin ligatures and digraphs (not letters used on purpose, such as æ or œ)
    replace.update({ord(c): unicodedata.normalize("NFKC", c) for c in "ĲĳŉǱǲǳǄǅǆǇǈǉǊǋǌﬀﬁﬂﬃﬄﬆ"})
    replace[ord("ﬅ")] = "ſt"  # ftfy keeps the long s of this one
    replace[0x3000] = " "  # ideographic space, then the full-/half-width forms
    for code in range(0xFF01, 0xFFF0):
        alternate = unicodedata.normalize("NFKC", chr(code))
        if alternate != chr(code):
            replace[code] = alternate
    replace.update(dict.fromkeys((0x02BC, 0x2018, 0x2019, 0x201A, 0x201B), "'"))  # curly single quotes
    replace.update(dict.fromkeys(range(0x201C, 0x2020), '"'))  # curly double quotes
    invisible = [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x206A, 0x2070), 0xFEFF,
                 *range(0xFFF9, 0xFFFD)]
    return replace, dict.fromkeys(invisible)


_REPLACE, _INVISIBLE = _character_tables()
_TERMINAL_ESCAPE = re.compile("\x1b\\[[0-9;]*[a-zA-Z]")
_HTML_ENTITY = re.compile(r"&#?[0-9A-Za-z]{1,24};")


def repair_characters(text: str) -> str:
    """ftfy's default character-level repairs, for when ftfy is not installed (no mojibake repair).

    HTML entities ending in ";" decoded unless the text contains "<" (ftfy's own pass, before the
    tokenizer's two), C1 controls read as Windows-1252, Latin ligatures split, full-width forms
    made ASCII, curly quotes straightened, ANSI terminal escapes then invisible control characters
    removed, NFC; repeated until nothing changes, as ``ftfy.fix_text`` does (line by line; from
    the first line holding "<" on, entities are left alone).
    """
    lines = text.split("\n")
    first_tag = next((i for i, line in enumerate(lines) if "<" in line), len(lines))
    return "\n".join(_repair_line(line, i < first_tag) for i, line in enumerate(lines))


def _repair_line(text: str, unescape: bool) -> str:
    while True:
        before = text
        if unescape:
            text = _HTML_ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
        text = _TERMINAL_ESCAPE.sub("", text.translate(_REPLACE)).translate(_INVISIBLE)
        text = unicodedata.normalize("NFC", text)
        if text == before:
            return text


def normalize_for_bpe(text: str) -> str:
    """The normalisation applied before BPE (see the module docstring)."""
    text = _ftfy.fix_text(text) if _ftfy is not None else repair_characters(text)
    text = html.unescape(html.unescape(text)).strip()
    return _WHITESPACE.sub(" ", text).strip().lower()


@dataclass
class TokenizedTexts:
    """Token ids laid out as CLIP models expect them.

    ids: [N, context_length] int64, SOT + BPE ids + EOT, then zeros.
    lengths: [N] number of kept tokens including SOT and EOT (EOT sits at ``lengths - 1``).
    truncated: whether each text lost tokens to fit the context.
    """

    ids: torch.Tensor
    lengths: torch.Tensor
    truncated: list[bool]

    @property
    def n_truncated(self) -> int:
        return sum(self.truncated)


class ClipTokenizer:
    """Byte-level BPE with OpenAI CLIP's vocabulary; ``encode`` gives ids without SOT/EOT."""

    def __init__(self, vocab_path: str | None = None) -> None:
        vocab, merges = load_bpe(vocab_path)
        self._setup({token: i for i, token in enumerate(vocab)}, merges, f"clip-bpe-49408/{TEXT_CLEANUP}")

    @classmethod
    def from_files(cls, vocab_json: str | os.PathLike[str], merges_txt: str | os.PathLike[str]) -> ClipTokenizer:
        """The BPE of a transformers CLIP folder (``vocab.json`` + ``merges.txt``).

        Why: a model trained with another vocabulary (e.g. a small test model) needs its own ids;
        the text rules (cleanup, pre-tokenisation, SOT/EOT, truncation) stay OpenAI's. Pieces missing
        from the vocabulary map to ``<|endoftext|>``, as transformers' CLIP tokenizer does.
        """
        try:
            vocab_bytes, merges_bytes = Path(vocab_json).read_bytes(), Path(merges_txt).read_bytes()
            encoder = json.loads(vocab_bytes.decode("utf-8"))
            lines = merges_bytes.decode("utf-8").split("\n")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{vocab_json} / {merges_txt}: cannot read the tokenizer files ({exc})") from exc
        merges = [tuple(line.split()) for line in lines if line.strip() and not line.startswith("#version")]
        missing = [t for t in ("<|startoftext|>", "<|endoftext|>") if t not in encoder]
        if not isinstance(encoder, dict) or missing or any(len(m) != 2 for m in merges):
            raise ValueError(f"{vocab_json}: not a CLIP BPE vocabulary (special tokens {missing or 'ok'}, "
                             "merges must be pairs)")
        digest = hashlib.sha256(vocab_bytes + merges_bytes).hexdigest()[:12]
        tokenizer = cls.__new__(cls)
        tokenizer._setup(encoder, merges, f"bpe-{len(encoder)}-{digest}/{TEXT_CLEANUP}")
        return tokenizer

    def _setup(self, encoder: dict[str, int], merges: list, tokenizer_id: str) -> None:
        self.encoder = encoder
        self.vocab = {i: token for token, i in encoder.items()}
        self.ranks = {tuple(pair): rank for rank, pair in enumerate(merges)}
        self.byte_table = byte_unicode_table()
        self.decoder_bytes = {ch: b for b, ch in self.byte_table.items()}
        self.sot_id = encoder["<|startoftext|>"]
        self.eot_id = encoder["<|endoftext|>"]
        self.vocab_size = max(encoder.values()) + 1
        self.id = tokenizer_id
        self._bpe_cached = lru_cache(maxsize=100_000)(self._bpe)

    def _bpe(self, word: str) -> tuple[str, ...]:
        """Merge the lowest-ranked adjacent pair until no known pair is left."""
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            best_rank, best = None, None
            for pair in zip(parts[:-1], parts[1:], strict=True):
                rank = self.ranks.get(pair)
                if rank is not None and (best_rank is None or rank < best_rank):
                    best_rank, best = rank, pair
            if best is None:
                break
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == best[0] and parts[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return tuple(parts)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in _WORD_PATTERN.findall(normalize_for_bpe(text)):
            mapped = "".join(self.byte_table[b] for b in word.encode("utf-8"))
            ids.extend(self.encoder.get(piece, self.eot_id) for piece in self._bpe_cached(mapped))
        return ids

    def decode(self, ids: list[int]) -> str:
        """Inverse of ``encode`` up to normalisation (special and padding ids are skipped)."""
        pieces = "".join(self.vocab[i] for i in ids if i not in (self.sot_id, self.eot_id))
        # "</w>" is made of printable bytes, so it survives the byte mapping and is replaced after
        data = bytes(self.decoder_bytes[ch] for ch in pieces)
        return data.decode("utf-8", errors="replace").replace("</w>", " ").strip()

    def __call__(self, texts: list[str], context_length: int) -> TokenizedTexts:
        """SOT + ids + EOT, zero padded; too-long texts keep the first ``context_length - 1`` tokens + EOT."""
        if context_length < 2:
            raise ValueError(f"context_length must be at least 2, got {context_length}")
        ids = torch.zeros(len(texts), context_length, dtype=torch.long)
        lengths = torch.zeros(len(texts), dtype=torch.long)
        truncated: list[bool] = []
        for row, text in enumerate(texts):
            seq = [self.sot_id, *self.encode(text), self.eot_id]
            cut = len(seq) > context_length
            if cut:
                seq = seq[: context_length - 1] + [self.eot_id]
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            lengths[row] = len(seq)
            truncated.append(cut)
        return TokenizedTexts(ids=ids, lengths=lengths, truncated=truncated)


@lru_cache(maxsize=1)
def default_tokenizer() -> ClipTokenizer:
    """One shared tokenizer per process (building the rank table takes ~0.1 s)."""
    return ClipTokenizer()
