"""Training logs: one CSV row per logged optimizer step (TensorBoard too when installed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mmscore.io.atomic import atomic_write_text


class TrainLog:
    """CSV at ``path`` (plus TensorBoard scalars under ``tensorboard/`` if the package imports).

    On resume the rows after the resumed step are dropped first, so the file reads as one
    uninterrupted run. Only the main rank writes (``enabled``)."""

    def __init__(self, path: Path, enabled: bool = True, resume_step: int | None = None) -> None:
        self.path, self.enabled = path, enabled
        self.fields: list[str] | None = None
        self.writer = None
        if not enabled:
            return
        if resume_step is not None and path.exists():
            self._truncate_after(resume_step)
        elif path.exists():
            path.unlink()
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(path.parent / "tensorboard"))
        except ImportError:
            self.writer = None

    def _truncate_after(self, step: int) -> None:
        with open(self.path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            return
        self.fields = list(rows[0])
        kept = [row for row in rows if int(row["step"]) <= step]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.fields)
        writer.writeheader()
        writer.writerows(kept)
        atomic_write_text(self.path, out.getvalue())

    def write(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"step": step, **values}
        new = self.fields is None
        if new:
            self.fields = list(row)
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.fields, extrasaction="ignore", restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(f"train/{key}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
