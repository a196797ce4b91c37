"""``mmscore emotion infer``: run a model over an emotion benchmark's videos with the benchmark's own
prompts, through any OpenAI-compatible server, and write a prediction file the scorers read as is.

Modules: :mod:`.prompts` (versioned prompt files), :mod:`.presets` (per-benchmark prompt, frames,
decoding), :mod:`.frames` (frame policies over :mod:`mmscore.io.media`), :mod:`.media_parts`
(video/audio content parts), :mod:`.rows` (gold rows, transcripts, video files), :mod:`.request`
(one row's message), :mod:`.runner` (concurrent asking with resume), :mod:`.output` (CSV and
sidecar), :mod:`.session` (the whole command as a function), :mod:`.score` (``--score``).
"""

from mmscore.emotion.infer.runner import Transport
from mmscore.emotion.infer.session import InferOptions, dry_run_body, run_infer

__all__ = ["InferOptions", "Transport", "dry_run_body", "run_infer"]
