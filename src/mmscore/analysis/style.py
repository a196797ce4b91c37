"""One figure style for every analysis plot: paper column width, colour-blind-safe colours.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global state, no GUI backend)
inside :func:`paper_style`, and saved as PNG (300 dpi), PDF and EPS with :func:`save_figure`.
EPS has no transparency, so nothing here uses alpha. Fonts are embedded as TrueType (Type 42) in
PDF and EPS, so text stays editable and publisher checks that reject Type 3 fonts pass; the price is
about 2 s per EPS file. Colours: the Okabe-Ito palette for
categories and ``cividis`` (perceptually uniform, readable with colour-vision deficiency and in
greyscale) for heatmaps.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from mmscore.errors import ConfigError, require
from mmscore.io.atomic import atomic_path

#: one column of a two-column paper (inches)
COLUMN_WIDTH = 3.5
#: Okabe & Ito (2008) colour-blind-safe palette
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
#: scores 1-5, from "completely wrong" to "perfect" (failure shades warm, success shades blue/green)
SCORE_COLOURS = ("#D55E00", "#E69F00", "#F0E442", "#56B4E9", "#0072B2")
HEATMAP_CMAP = "cividis"
FORMATS = ("png", "pdf", "eps")

_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.2,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "font.family": "DejaVu Sans",
    "svg.hashsalt": "mmscore",
}


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Apply the paper rc settings for the duration of a plotting function."""
    mpl = require("matplotlib", "analysis")
    with mpl.rc_context(_RC):
        yield


def new_figure(height: float, width: float = COLUMN_WIDTH):
    """A standalone Figure (Agg canvas, no pyplot) at paper size."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def text_colour(rgba: Sequence[float]) -> str:
    """Black or white text, whichever reads better on a cell of this colour (WCAG luminance)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgba[:3])
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "white"


def save_figure(
    fig, out_dir: str | os.PathLike[str], stem: str, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write ``<out_dir>/<stem>.<fmt>`` for each format, atomically; returns the paths."""
    unknown = [f for f in formats if f not in ("png", "pdf", "eps", "svg")]
    if unknown:
        raise ConfigError(f"unsupported figure format(s) {unknown}; choose from png, pdf, eps, svg")
    paths = []
    for fmt in formats:
        target = Path(out_dir) / f"{stem}.{fmt}"
        metadata = (
            {"Creator": "mmscore"} if fmt in ("png", "eps") else {"Creator": "mmscore", "CreationDate": None}
        )
        if fmt == "svg":
            metadata = {"Creator": "mmscore", "Date": None}
        with paper_style(), atomic_path(target) as tmp, open(tmp, "wb") as handle:
            # a file handle, not the path: the PS backend would write the temporary file's name
            # into the EPS header as its %%Title
            fig.savefig(handle, format=fmt, metadata=metadata)
        paths.append(target)
    return paths
