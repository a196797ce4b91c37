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
import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from mmscore.defaults import CLIP_MODEL, LONGCLIP_MODEL
from mmscore.errors import ColumnError, ConfigError, MediaError
from mmscore.io.cells import caption_type_error, clean_text, text_lists
from mmscore.metrics import clip_scores as cs
from mmscore.models.encoding import Encoder, encode_image_sources, encode_texts, truncated_count
from mmscore.operators.base import Operator
from mmscore.operators.contract import Media, RowError, ScoredRows, Settings, frozen_settings
from mmscore.provenance import run_info, signature_string

logger = logging.getLogger(__name__)


class _ImageTextEvaluator(Operator):
    """Shared machinery: resolve/load the encoder, validate rows, encode in batches, score."""

    metric = ""
    default_output_key = ""
    shardable = True
    decodes = True

    def __init__(self, model_name: str, device: str | None = None, batch_size: int = 64, workers: int = 2) -> None:
        self.model_name = model_name
        self.device = device
        self.batch_size = batch_size
        self.workers = workers
        self._encoder: Encoder | None = None
        self.signature: str | None = None
        self.last_run_info: dict[str, Any] | None = None

    # -- model ---------------------------------------------------------------------------
    def load(self) -> Encoder:
        """Load (once) and return the encoder."""
        if self._encoder is None:
            from mmscore.models.clip import load_clip

            self._encoder = load_clip(self.model_name, device=self.device, batch_size=self.batch_size)
            self.signature = signature_string(self.signature_fields())
        return self._encoder

    @property
    def encoder(self) -> Encoder:
        return self.load()

    def use_encoder(self, encoder: Encoder) -> _ImageTextEvaluator:
        """Share an already loaded encoder (e.g. CLIPScore and RefCLIPScore in one command)."""
        self._encoder = encoder
        self.signature = signature_string(self.signature_fields())
        return self

    def model_info(self) -> tuple[str | None, int | None]:
        if self._encoder is not None:
            return self._encoder.fingerprint, self._encoder.image_size
        from mmscore.models.clip import load_clip

        encoder = load_clip(self.model_name, device="cpu", batch_size=1)
        return encoder.fingerprint, encoder.image_size

    def tune(self, device: str | None, batch_size: int | None) -> None:
        if device is not None:
            self.device = device
        if batch_size is not None:
            self.batch_size = int(batch_size)

    def without_model(self) -> _ImageTextEvaluator:
        clone = copy.copy(self)
        clone._encoder = None
        return clone

    # -- contract: settings and columns ----------------------------------------------------
    def settings(self) -> Settings:
        return frozen_settings(metric=self.metric, model=str(self.model_name), **self._extra_settings())

    def signature_fields(self) -> dict[str, Any]:
        """What the signature string shows (the loaded model's fingerprint and sizes included)."""
        enc = self.encoder
        return {
            "metric": self.metric, "model": str(self.model_name), "fp": enc.fingerprint,
            "ctx": enc.context_length, "img": enc.image_size, **self._extra_settings(),
        }

    def _extra_settings(self) -> dict[str, Any]:
        return {}

    def _output_key(self, keys: Mapping[str, Any]) -> str:
        return keys.get("output_key") or self.default_output_key

    def required_columns(self, keys: Mapping[str, Any]) -> list[str]:
        reference = [keys["reference_key"]] if keys.get("reference_key") else []
        return [keys["input_image_key"], keys["input_text_key"], *reference]

    def output_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return [self._output_key(keys), f"{self._output_key(keys)}_error"]

    # -- text handling (CLIPScore adds its prompt prefix) ---------------------------------
    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        return list(texts)

    @abc.abstractmethod
    def pair_scores(self, image_emb: torch.Tensor, text_emb: torch.Tensor, rows: list[int],
                    references: list[list[str]] | None) -> torch.Tensor:
        """Scores for the paired embeddings of ``rows`` (each concrete evaluator's formula)."""

    # -- DataFlow entry point --------------------------------------------------------------
    def run(self, storage: Any, input_image_key: str = "image_path", input_text_key: str = "text",
            output_key: str | None = None) -> list[str]:
        """Score every row; writes ``output_key`` and ``<output_key>_error``; returns ``[output_key]``."""
        self.run_step(storage, input_image_key=input_image_key, input_text_key=input_text_key, output_key=output_key)
        return [output_key or self.default_output_key]

    def score_dataframe(
        self, df: pd.DataFrame, resolve: Callable[[str], Path], image_key: str, text_key: str,
        output_key: str, reference_key: str | None = None, preloaded: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Return ``df`` with the score column (float or null) and the error column added.

        preloaded: already decoded PIL images by resolved path; paths not in it are read here.
        """
        keys = {"input_image_key": image_key, "input_text_key": text_key, "output_key": output_key,
                "reference_key": reference_key}
        return self.score_table(df, keys, Media(resolve, preloaded or {}))

    # -- contract: score --------------------------------------------------------------------
    def score(self, rows: pd.DataFrame, state: Any, keys: Mapping[str, Any], media: Media) -> ScoredRows:
        """The score column (float or null) for ``rows``; bad rows become :class:`RowError` records."""
        image_key, text_key, reference_key = keys["input_image_key"], keys["input_text_key"], keys.get("reference_key")
        output_key = self._output_key(keys)
        for column in [image_key, text_key] + ([reference_key] if reference_key else []):
            if column not in rows.columns:
                raise ColumnError(column, [str(c) for c in rows.columns])
        n = len(rows)
        errors: list[str | None] = [None] * n
        texts: list[str | None] = [clean_text(v) for v in rows[text_key]]
        references = text_lists(rows[reference_key], reference_key) if reference_key else None
        image_of_row: list[str | None] = [None] * n
        for row in range(n):
            wrong_type = caption_type_error(rows[text_key].iloc[row], text_key)
            if wrong_type is not None:
                errors[row] = wrong_type
            elif texts[row] is None:
                errors[row] = f"empty or missing text in column {text_key!r}"
            elif references is not None and not references[row]:
                errors[row] = f"no reference caption in column {reference_key!r}"
            elif clean_text(rows[image_key].iloc[row]) is None:
                errors[row] = f"empty or missing image path in column {image_key!r}"
            else:
                image_of_row[row] = str(media.resolve(str(rows[image_key].iloc[row]).strip()))
        scores = self._score_rows(texts, image_of_row, references, errors, media.decoded)
        n_failed = sum(e is not None for e in errors)
        if n_failed:
            logger.warning("%s: %d of %d rows not scored (see column %s_error)", self.metric, n_failed, n,
                           output_key)
        self.last_run_info = run_info(self.signature_fields(), rows=n, failed=n_failed)
        logger.info("%s signature: %s", self.metric, self.signature)
        row_errors = [RowError(row, message) for row, message in enumerate(errors) if message is not None]
        return ScoredRows({output_key: pd.array(scores, dtype="Float64")}, f"{output_key}_error", row_errors,
                          info=self.last_run_info)

    def _score_rows(self, texts: list[str | None], image_of_row: list[str | None],
                    references: list[list[str]] | None, errors: list[str | None],
                    preloaded: Mapping[str, Any]) -> list[float | None]:
        encoder = self.encoder
        todo = [row for row, image in enumerate(image_of_row) if image is not None]
        unique_images = list(dict.fromkeys(image_of_row[row] for row in todo))
        unique_texts = list(dict.fromkeys(texts[row] for row in todo))
        encoded_texts: list[torch.Tensor] = []
        truncated_before = truncated_count(encoder)

        def encode_all_texts(progress: Any) -> None:  # runs while the first images decode
            encoded_texts.append(encode_texts(encoder, self.prepare_texts(unique_texts),
                                              batch_size=max(self.batch_size, 64),
                                              description=f"{self.metric}: texts", progress=progress))

        sources = [preloaded.get(image, image) for image in unique_images]
        encoded = encode_image_sources(encoder, sources, batch_size=self.batch_size, workers=self.workers,
                                       description=f"{self.metric}: images", on_start=encode_all_texts)
        text_emb = encoded_texts[0]
        truncated = truncated_count(encoder) - truncated_before
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

    # -- contract: CPU stage of a distributed engine -------------------------------------------
    def decode(self, rows: pd.DataFrame, keys: Mapping[str, Any], media: Media, image_size: int | None
               ) -> dict[str, Any]:
        """Each distinct image, decoded and cropped as ``ClipImageTransform`` would; failures are left
        to ``score``, which reports them with its own message."""
        from mmscore.io.images import load_image
        from mmscore.models.preprocess import center_crop, resize_shorter_side

        out: dict[str, Any] = {}
        if image_size is None:
            return out
        for value in rows[keys["input_image_key"]]:
            if clean_text(value) is None:
                continue
            path = str(media.resolve(str(value).strip()))
            if path in out:
                continue
            try:
                out[path] = center_crop(resize_shorter_side(load_image(path, mode=None), image_size), image_size)
            except MediaError:
                continue
        return out


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
        self.run_step(storage, input_image_key=input_image_key, input_text_key=input_text_key,
                      reference_key=reference_key, output_key=output_key)
        return [output_key]

    def pair_scores(self, image_emb, text_emb, rows, references):
        if references is None:
            raise ConfigError("RefCLIPScore needs reference captions: pass reference_key")
        flat = [ref for row in rows for ref in references[row]]
        owner = [k for k, row in enumerate(rows) for _ in references[row]]
        ref_emb = encode_texts(self.encoder, self.prepare_texts(flat), description="refclipscore: references")
        return cs.refclip_score(image_emb, text_emb, ref_emb, owner, w=self.w)
