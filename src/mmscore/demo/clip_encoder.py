"""The CLIP encoder a demo part scores with: the user's ``--model``, else the shipped demo model, else a
tiny random CLIP (so the demo still runs, with a note saying its numbers mean nothing)."""

from __future__ import annotations

from typing import Any


def demo_encoder(ctx: Any, part: str, caveat: str) -> tuple[Any, str, str | None]:
    """``(encoder, model spec, note)``; ``note`` is None unless the random fallback was used.

    ``part`` names the workspace subfolder the fallback model is saved in; ``caveat`` ends the note
    (what the random model's numbers do and do not show). A model the user named that fails to load
    is an error, never silently replaced."""
    from mmscore.errors import ModelError
    from mmscore.models.clip import load_clip

    spec = ctx.model or "mmscore-demo"
    try:
        return load_clip(spec, device=ctx.device), spec, None
    except ModelError as exc:
        if ctx.model:  # the user asked for this model: do not hide the problem
            raise
        from mmscore.fixtures.models import save_tiny_clip_hf

        folder = save_tiny_clip_hf(ctx.workspace / part / "tiny-random-clip", seed=0)
        note = f"could not load {spec!r} ({exc}); using a tiny RANDOM CLIP instead, so the numbers below {caveat}"
        return load_clip(folder, device=ctx.device), str(folder), note
