"""Judge throughput: sequential scoring vs concurrency 16 against a server with 200 ms latency.

The baseline is what the original VMEvalKit scorer did: one request at a time. Both runs use the
same synthetic experiment, the same fake OpenAI-compatible server (real HTTP on 127.0.0.1, every
reply delayed by ``--latency``) and no response cache, and must produce identical scores. An
unmeasured warm-up run comes first, so neither measured run pays the process's one-off start-up
costs. The server runs in a child process, as a real judge server would, so its request handling
does not compete with the client for this interpreter's GIL.

    python benchmarks/bench_judge.py [--tasks 64] [--latency 0.2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MMSCORE_QUIET", "1")

from served import add_server_options, served  # noqa: E402

from mmscore.io.experiment import iter_scorings  # noqa: E402
from mmscore.testing.experiments import make_experiment  # noqa: E402
from mmscore.testing.fake_openai import FakeRequest  # noqa: E402
from mmscore.vmeval import make_vlm_scorer, run_scoring  # noqa: E402


def responder(request: FakeRequest) -> int:
    """A deterministic score per request content (so both runs must agree exactly)."""
    return 1 + int(hashlib.sha256(request.text.encode()).hexdigest(), 16) % 5


def score_once(base_url: str, data_dir: Path, out: Path, concurrency: int) -> tuple[float, dict]:
    scorer = make_vlm_scorer(
        "openai-compatible",
        base_url=base_url,
        model="gpt-4o",
        concurrency=concurrency,
        cache=None,
        timeout=30.0,
    )
    start = time.perf_counter()
    summary = run_scoring(scorer, "pilot_experiment", data_dir=data_dir, output_dir=out)
    elapsed = time.perf_counter() - start
    assert summary.failed == 0 and summary.completed == summary.total, summary.as_dict()
    scores = {s.key: s.score for s in iter_scorings(out)}
    return elapsed, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=64, help="number of generated videos to judge")
    add_server_options(parser)
    args = parser.parse_args()
    models = ("model-a", "model-b")
    task_types = ("chess_task", "maze_task", "raven_task", "sudoku_task")
    per_type = max(1, args.tasks // (len(models) * len(task_types)))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        make_experiment(data, models=models, task_types=task_types, n_tasks=per_type)
        n = per_type * len(models) * len(task_types)
        with served(responder, args.latency) as server:
            base_url = server["base_url"]
            # warm-up (not measured): the first run of a process pays one-off costs (imports,
            # codec and TLS initialisation) that would otherwise be charged to the sequential run
            score_once(base_url, data, data / "warm-up", args.concurrency)
            sequential, seq_scores = score_once(base_url, data, data / "seq", 1)
            # the concurrent run is short, so a scheduling hiccup on a busy machine weighs heavily:
            # take the median of --repeats runs (every run must give the same scores)
            runs = [
                score_once(base_url, data, data / f"con{i}", args.concurrency) for i in range(args.repeats)
            ]
            concurrent = statistics.median(t for t, _ in runs)
            con_scores = runs[0][1]
            assert all(scores == con_scores for _, scores in runs)
        requests = server["requests"]
    assert requests == (2 + args.repeats) * n, requests
    identical = seq_scores == con_scores and len(seq_scores) == n
    print(f"tasks {n}, server latency {args.latency * 1000:.0f} ms")
    print(f"sequential (concurrency 1): {sequential:.2f} s  ({n / sequential:.1f} tasks/s)")
    print(
        f"concurrency {args.concurrency} (median of {args.repeats}): {concurrent:.2f} s  "
        f"({n / concurrent:.1f} tasks/s); runs: {', '.join(f'{t:.2f}' for t, _ in runs)} s"
    )
    print(f"speed-up: {sequential / concurrent:.1f}x; identical scores: {identical}")
    if not identical:
        raise SystemExit("scores differ between the sequential and the concurrent run")


if __name__ == "__main__":
    main()
