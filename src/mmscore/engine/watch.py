"""The driver's view of a running Ray job: which stage shards wait on, and when it has stalled.

Pure bookkeeping (no Ray, clock passed in), so the rules are unit-tested directly:

* :class:`StageCounts` — shards decoded, taken by a model actor and scored, plus actors ready,
  as the workers report them to a :class:`StageBoard` actor; :meth:`StageCounts.waiting_on`
  names the stage the job waits on (the one the progress line shows and a stall report blames);
* :class:`StallWatch` — a job has stalled when no shard completed for ``factor`` x the median
  shard time, never less than ``timeout`` seconds (``startup_factor`` x that before the first
  shard, which pays for actors importing torch and loading their model).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from mmscore.errors import MMScoreError

#: the floor of the stall limit in seconds (``--stall-timeout``): long enough for Ray to notice a
#: lost node (seconds to a minute) and restart an actor that reloads its model
DEFAULT_STALL_TIMEOUT = 180.0
#: no shard for this many median shard times is a stall
STALL_FACTOR = 10.0
#: before the first shard completes the limit is this many times the floor (actor start-up)
STARTUP_FACTOR = 3.0


class EngineStallError(MMScoreError):
    """The Ray job made no progress for too long; the completed shards stay and a rerun resumes."""


@dataclass
class StageCounts:
    """What the workers reported so far (shard ids, so a retried shard is counted once)."""

    actors_ready: int = 0
    decoded: set[int] = field(default_factory=set)
    started: set[int] = field(default_factory=set)
    scored: set[int] = field(default_factory=set)

    def waiting_on(self, decodes: bool) -> str:
        """The stage shards are waiting on right now, in words."""
        if self.actors_ready == 0:
            return "model actors starting"
        in_actor = len(self.started - self.scored)
        queued = len(self.decoded - self.started) if decodes else 0
        if decodes and queued == 0 and in_actor < self.actors_ready:
            return f"decoding ({self.actors_ready - in_actor}/{self.actors_ready} actors idle)"
        return f"scoring ({in_actor} in {self.actors_ready} actors, {queued} queued)"


class StageBoard:
    """Run as a tiny Ray actor (no CPU) that the workers report to, so the driver sees where shards
    are. Lives in this light module: its process imports neither torch nor pandas."""

    def __init__(self) -> None:
        self.counts = StageCounts()
        self.stopped = False

    def stop(self) -> None:
        """The driver gave up on the job: actors refuse further shards, so the job ends."""
        self.stopped = True

    def is_stopped(self) -> bool:
        return self.stopped

    def ready(self) -> None:
        self.counts.actors_ready += 1

    def mark(self, stage: str, shard: int) -> None:
        getattr(self.counts, stage).add(shard)

    def snapshot(self) -> StageCounts:
        return self.counts


@dataclass
class StallWatch:
    """Decides when 'no shard completed for a while' means stalled."""

    started_at: float
    timeout: float = DEFAULT_STALL_TIMEOUT
    factor: float = STALL_FACTOR
    startup_factor: float = STARTUP_FACTOR
    last_at: float = field(init=False)
    durations: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"stall timeout must be > 0 seconds; got {self.timeout}")
        self.last_at = self.started_at

    def shard_done(self, seconds: float, now: float) -> None:
        """A shard completed at ``now`` after ``seconds`` of work (decoding + scoring)."""
        self.durations.append(max(0.0, float(seconds)))
        self.last_at = now

    def limit(self) -> float:
        if not self.durations:
            return self.startup_factor * self.timeout
        return max(self.timeout, self.factor * statistics.median(self.durations))

    def idle(self, now: float) -> float:
        return now - self.last_at

    def stalled(self, now: float) -> bool:
        return self.idle(now) > self.limit()


def stall_message(idle: float, limit: float, done: int, total: int, stage: str, resources: str,
                  cluster: str) -> str:
    """The one-line report of a stalled job: what waited, on what, and how to go on."""
    return (f"the Ray job made no progress for {idle:.0f} s (limit {limit:.0f} s): {done} of {total} shard(s) "
            f"complete, waiting on {stage}; requested {resources}; cluster now {cluster}. The completed shards "
            "are kept: rerun the same command (after fixing the cluster, or with --engine local) to resume "
            "from them")
