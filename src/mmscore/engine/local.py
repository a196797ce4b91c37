"""The local engine: the pending shards of a job, one after another, in this process.

It is the reference the Ray engine is tested against: the operator's model is loaded once and
each shard goes through :func:`mmscore.engine.job.score_shard`, then is written atomically with
its completion marker, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging

from mmscore.engine.job import EngineResult, Job, finish_job, score_shard, shard_extra
from mmscore.progress import progress_bar

logger = logging.getLogger(__name__)


def run_local(job: Job) -> EngineResult:
    for step in job.steps:
        step.load()
    with progress_bar() as progress:
        task = progress.add_task("shards", total=job.plan.n_shards, completed=job.plan.n_shards - len(job.pending))
        for index in job.pending:
            resolve = job.resolve.fresh()  # this shard's record of resolved files goes into its marker
            scored = score_shard(job.steps, job.shard(index), resolve)
            job.store.write_shard(index, scored, shard_extra(job.steps, scored, "local", resolve))
            progress.advance(task)
    return finish_job(job, "local", len(job.pending))
