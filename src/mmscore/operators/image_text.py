"""Image–text alignment operators: LongCLIP, SPECS, CLIPScore and RefCLIPScore columns.

DataFlow-compatible (``seeds/002``): ``ImageLongCLIPEvaluator(model_name, device).run(storage,
input_image_key='image_path', input_text_key='text', output_key='longclip_score')`` returns
``[output_key]``. Differences from the DataFlow-MM original, on purpose:

- the whole table is scored in batches (texts once, each distinct image once, image decoding
  overlapped with encoding) instead of one forward pass per row;
- a missing/corrupt image or an empty/NaN text gives a **null** score and a message in
  ``<output_key>_error`` (the original writes 0.0, a real score, or scores the string "nan");
- ``model_name`` is resolved by ``mmscore.models.clip.load_clip``: a checkpoint file is used
  directly, a directory is searched for a checkpoint (names containing "longclip"/"spec"
  preferred, as in the original, but an ambiguous choice is an error instead of silently taking
  the lexicographically first file), a transformers folder or a hub id (downloaded or from the
  HF cache) also work.

The model is loaded on the first ``run`` (or :meth:`load`), so building a pipeline is cheap.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from mmscore.defaults import CLIP_MODEL, LONGCLIP_MODEL
from mmscore.errors import ColumnError, ConfigError
from mmscore.io.cells import caption_type_error, clean_text, text_lists
from mmscore.io.storage_access import media_resolver
from mmscore.metrics import clip_scores as cs
from mmscore.operators.base import Operator
from mmscore.provenance import run_info, signature_string

logger = logging.getLogger(__name__)


class _ImageTextEvaluator(Operator):
    """Shared machinery: resolve/load the encoder, validate rows, encode in batches, score."""

    metric = ""
    default_output_key = ""

    def __init__(self, model_name: str, device: str | None = None, batch_size: int = 64, workers: int = 2) -> None:
        self.model_name = model_name
        self.device = device
        self.batch_size = batch_size
        self.workers = workers
        self._encoder: Any = None
        self.signature: str | None = None
        self.last_run_info: dict[str, Any] | None = None

    # -- model ---------------------------------------------------------------------------
    def load(self) -> Any:
        """Load (once) and return the encoder."""
        if self._encoder is None:
            from mmscore.models.clip import load_clip

            self._encoder = load_clip(self.model_name, device=self.device, batch_size=self.batch_size)
            self.signature = signature_string(self.settings())
        return self._encoder

    @property
    def encoder(self) -> Any:
        return self.load()

    def settings(self) -> dict[str, Any]:
        enc = self.encoder
        return {
            "metric": self.metric, "model": str(self.model_name), "fp": enc.fingerprint,
            "ctx": enc.context_length, "img": enc.image_size, **self._extra_settings(),
        }

    def _extra_settings(self) -> dict[str, Any]:
        return {}

    # -- text handling (CLIPScore adds its prompt prefix) ---------------------------------
    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        return list(texts)

    @abc.abstractmethod
    def pair_scores(self, image_emb: torch.Tensor, text_emb: torch.Tensor, rows: list[int],
                    references: list[list[str]] | None) -> torch.Tensor:
        """Scores for the paired embeddings of ``rows`` (each concrete evaluator's formula)."""

    def use_encoder(self, encoder: Any) -> _ImageTextEvaluator:
        """Share an already loaded encoder (e.g. CLIPScore and RefCLIPScore in one command)."""
        self._encoder = encoder
        self.signature = signature_string(self.settings())
        return self

    # -- DataFlow entry point --------------------------------------------------------------
    def run(self, storage: Any, input_image_key: str = "image_path", input_text_key: str = "text",
            output_key: str | None = None) -> list[str]:
        """Score every row; writes ``output_key`` and ``<output_key>_error``; returns ``[output_key]``."""
        output_key = output_key or self.default_output_key
        df = self.read_checked(storage, [input_image_key, input_text_key])
        df = self.score_dataframe(df, media_resolver(storage), input_image_key, input_text_key, output_key)
        self.write_result(storage, df, [output_key, f"{output_key}_error"])
        return [output_key]

    def score_dataframe(
        self, df: pd.DataFrame, resolve: Callable[[str], Path], image_key: str, text_key: str,
        output_key: str, reference_key: str | None = None, preloaded: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Return ``df`` with the score column (float or null) and the error column added.

        preloaded: already decoded PIL images by resolved path (e.g. decoded in other processes by
        a distributed engine); paths not in it are read here as usual.
        """
        for column in [image_key, text_key] + ([reference_key] if reference_key else []):
            if column not in df.columns:
                raise ColumnError(column, [str(c) for c in df.columns])
        n = len(df)
        errors: list[str | None] = [None] * n
        texts: list[str | None] = [clean_text(v) for v in df[text_key]]
        references: list[list[str]] | None = None
        if reference_key:
            references = text_lists(df[reference_key], reference_key)
        image_of_row: list[str | None] = [None] * n
        for row in range(n):
            wrong_type = caption_type_error(df[text_key].iloc[row], text_key)
            if wrong_type is not None:
                errors[row] = wrong_type
                continue
            if texts[row] is None:
                errors[row] = f"empty or missing text in column {text_key!r}"
                continue
            if references is not None and not references[row]:
                errors[row] = f"no reference caption in column {reference_key!r}"
                continue
            value = df[image_key].iloc[row]
            if clean_text(value) is None:
                errors[row] = f"empty or missing image path in column {image_key!r}"
                continue
            image_of_row[row] = str(resolve(str(value).strip()))
        scores = self._score_rows(texts, image_of_row, references, errors, preloaded or {})
        out = df.copy()
        out[output_key] = pd.array(scores, dtype="Float64")
        out[f"{output_key}_error"] = pd.array(errors, dtype=object)
        n_failed = sum(e is not None for e in errors)
        if n_failed:
            logger.warning("%s: %d of %d rows not scored (see column %s_error)", self.metric, n_failed, n,
                           output_key)
        self.last_run_info = run_info(self.settings(), rows=n, failed=n_failed)
        logger.info("%s signature: %s", self.metric, self.signature)
        return out

    def _score_rows(self, texts: list[str | None], image_of_row: list[str | None],
                    references: list[list[str]] | None, errors: list[str | None],
                    preloaded: dict[str, Any]) -> list[float | None]:
        from mmscore.evaluation.encoding import encode_image_sources, encode_texts

        encoder = self.encoder
        todo = [row for row, image in enumerate(image_of_row) if image is not None]
        unique_images = list(dict.fromkeys(image_of_row[row] for row in todo))
        unique_texts = list(dict.fromkeys(texts[row] for row in todo))
        encoded_texts: list[torch.Tensor] = []
        truncated_before = int(getattr(encoder, "n_truncated", 0))

        def encode_all_texts(progress: Any) -> None:  # runs while the first images decode
            encoded_texts.append(encode_texts(encoder, self.prepare_texts(unique_texts),
                                              batch_size=max(self.batch_size, 64),
                                              description=f"{self.metric}: texts", progress=progress))

        sources = [preloaded.get(image, image) for image in unique_images]
        encoded = encode_image_sources(encoder, sources, batch_size=self.batch_size, workers=self.workers,
                                       description=f"{self.metric}: images", on_start=encode_all_texts)
        text_emb = encoded_texts[0]
        truncated = int(getattr(encoder, "n_truncated", 0)) - truncated_before
        if truncated:
            logger.warning("%s: %d text(s) longer than the %d-token context were truncated (EOT kept)",
                           self.metric, truncated, encoder.context_length)
        slot = {unique_images[i]: k for k, i in enumerate(encoded.rows)}
        failed = {unique_images[i]: message for i, message in encoded.errors.items()}
        for row in todo:
            if image_of_row[row] in failed:
                errors[row] = failed[image_of_row[row]]
        todo = [row for row in todo if errors[row] is None]
        scores: list[float | None] = [None] * len(texts)
        if not todo:
            return scores
        text_slot = {text: i for i, text in enumerate(unique_texts)}
        image_emb = encoded.embeddings[[slot[image_of_row[row]] for row in todo]]
        paired_text = text_emb[[text_slot[texts[row]] for row in todo]]
        values = self.pair_scores(image_emb, paired_text, todo, references)
        for row, value in zip(todo, values.tolist(), strict=True):
            scores[row] = float(value)
        return scores


class ImageLongCLIPEvaluator(_ImageTextEvaluator):
    """LongCLIP image–text score ``clamp((cos + 1) / 2, 0, 1)`` (DataFlow-MM seed 002)."""

    metric = "longclip"
    default_output_key = "longclip_score"

    def __init__(self, model_name: str = LONGCLIP_MODEL, device: str | None = None,
                 batch_size: int = 64, workers: int = 2) -> None:
        super().__init__(model_name, device, batch_size, workers)

    def run(self, storage: Any, input_image_key: str = "image_path", input_text_key: str = "text",
            output_key: str = "longclip_score") -> list[str]:
        return super().run(storage, input_image_key, input_text_key, output_key)

    def pair_scores(self, image_emb, text_emb, rows, references):
        return cs.longclip_score(image_emb, text_emb)


class ImageSPECSEvaluator(_ImageTextEvaluator):
    """SPECS score ``clamp((cos + 1) / 2, min=0)`` with a SPECS (Long-CLIP layout) checkpoint."""

    metric = "specs"
    default_output_key = "specs_score"

    def __init__(self, model_name: str = "Xiaohud/SPECS", device: str | None = None,
                 batch_size: int = 64, workers: int = 2) -> None:
        super().__init__(model_name, device, batch_size, workers)

    def run(self, storage: Any, input_image_key: str = "image_path", input_text_key: str = "text",
            output_key: str = "specs_score") -> list[str]:
        return super().run(storage, input_image_key, input_text_key, output_key)

    def pair_scores(self, image_emb, text_emb, rows, references):
        return cs.specs_score(image_emb, text_emb)


class CLIPScoreEvaluator(_ImageTextEvaluator):
    """CLIP-S ``w · max(cos, 0)`` of Hessel et al. (2021), candidates prefixed "A photo depicts"."""

    metric = "clipscore"
    default_output_key = "clip_score"

    def __init__(self, model_name: str = CLIP_MODEL, device: str | None = None,
                 w: float = cs.CLIPSCORE_W, prefix: str | None = cs.CLIPSCORE_PREFIX,
                 batch_size: int = 64, workers: int = 2) -> None:
        super().__init__(model_name, device, batch_size, workers)
        self.w = w
        self.prefix = prefix

    def _extra_settings(self) -> dict[str, Any]:
        return {"w": self.w, "prefix": self.prefix or ""}

    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        return cs.with_prefix(texts, self.prefix)

    def run(self, storage: Any, input_image_key: str = "image_path", input_text_key: str = "text",
            output_key: str = "clip_score") -> list[str]:
        return super().run(storage, input_image_key, input_text_key, output_key)

    def pair_scores(self, image_emb, text_emb, rows, references):
        return cs.clip_score(image_emb, text_emb, w=self.w)


class RefCLIPScoreEvaluator(CLIPScoreEvaluator):
    """RefCLIP-S: harmonic mean of CLIP-S and the best candidate–reference cosine (clipped at 0).

    ``reference_key`` holds a list of reference captions per row (or one caption, or a JSON
    list string); references get the same prompt prefix as candidates, as in Hessel et al.'s code.
    """

    metric = "refclipscore"
    default_output_key = "refclip_score"

    def run(self, storage: Any, input_image_key: str = "image_path", input_text_key: str = "text",
            reference_key: str = "references", output_key: str = "refclip_score") -> list[str]:
        df = self.read_checked(storage, [input_image_key, input_text_key, reference_key])
        df = self.score_dataframe(df, media_resolver(storage), input_image_key, input_text_key, output_key,
                                  reference_key=reference_key)
        self.write_result(storage, df, [output_key, f"{output_key}_error"])
        return [output_key]

    def pair_scores(self, image_emb, text_emb, rows, references):
        from mmscore.evaluation.encoding import encode_texts

        if references is None:
            raise ConfigError("RefCLIPScore needs reference captions: pass reference_key")
        flat = [ref for row in rows for ref in references[row]]
        owner = [k for k, row in enumerate(rows) for _ in references[row]]
        ref_emb = encode_texts(self.encoder, self.prepare_texts(flat), description="refclipscore: references")
        return cs.refclip_score(image_emb, text_emb, ref_emb, owner, w=self.w)
