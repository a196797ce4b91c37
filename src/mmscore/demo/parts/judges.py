"""Demo part: VLM-judge scoring of a VMEvalKit experiment, offline, against a local fake judge.

A real judge (GPT-4o, InternVL behind lmdeploy) needs a key or a GPU, so the demo starts
:class:`~mmscore.fixtures.fake_openai.FakeOpenAIServer` on 127.0.0.1 instead. Everything else is the
real path of ``mmscore score``: task discovery, frame extraction, the HTTP judge client with
concurrency and retries, atomic scoring files, skipped tasks, the aggregate and resume. The fake's
scores are SYNTHETIC: a fixed function of the task id (:func:`fake_score`), not a judgement.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

ORDER = 50
TITLE = "VLM judge scoring (VMEvalKit layout, offline fake server)"

EXPERIMENT = "demo_experiment"
MODELS = ("model-a", "model-b")
TASK_TYPES = ("chess_task", "maze_task")
NO_FINAL_FRAME = "maze_0001"  # this task has no expected final frame: recorded as skipped
SCORER_DIR = "openai-compatible-eval"  # what `mmscore score openai-compatible` writes by default
JUDGE_MODEL = "fake-judge"
CONCURRENCY = 4
LATENCY_S = 0.05  # per reply, so the requests visibly overlap
_TASK_ID = re.compile(r"\b([a-z]+_\d{4})\b")
_EXPLANATIONS = {
    1: "The generated final frame does not resemble the expected end state.",
    2: "Only small parts of the expected end state are reached.",
    3: "About half of the expected end state is reached.",
    4: "The end state is nearly the expected one, with a minor difference.",
    5: "The generated final frame matches the expected end state.",
}


def fake_score(task_id: str) -> int:
    """The fake judge's deterministic score: ``1 + (first byte of sha256(task_id)) % 5``."""
    return 1 + hashlib.sha256(task_id.encode()).digest()[0] % 5


def responder(request):
    """Answer a judge request with the :func:`fake_score` of the task id named in its prompt."""
    from mmscore.fixtures.fake_openai import Reply

    match = _TASK_ID.search(request.text)
    if match is None:
        return Reply.error(400, '{"error": {"message": "fake judge: no task id in the prompt"}}')
    score = fake_score(match.group(1))
    return Reply.score(score, explanation=f"(fake judge) {_EXPLANATIONS[score]}")


def _scorer(base_url: str):
    from mmscore.models.judge import PriceTable
    from mmscore.vmeval import make_vlm_scorer

    # short timeouts and one retry: a local server answers at once, and a failure must not stall the demo;
    # the local fake costs nothing (priced at 0 so no "no price for model" warning)
    return make_vlm_scorer(
        "openai-compatible",
        base_url=base_url,
        model=JUDGE_MODEL,
        concurrency=CONCURRENCY,
        timeout=10.0,
        connect_timeout=5.0,
        retries=1,
        backoff=0.1,
        prices=PriceTable({JUDGE_MODEL: (0.0, 0.0)}),
    )


def run(ctx) -> list[str]:
    from mmscore.fixtures.experiments import make_experiment
    from mmscore.fixtures.fake_openai import FakeOpenAIServer
    from mmscore.vmeval import run_scoring

    data_dir = ctx.workspace / "vmeval"
    if data_dir.exists():  # a fresh experiment each time, so run 1 always scores from scratch
        shutil.rmtree(data_dir)
    make_experiment(
        data_dir, EXPERIMENT, models=MODELS, task_types=TASK_TYPES, n_tasks=2, without_final_frame={NO_FINAL_FRAME}
    )
    output_dir = data_dir / "scorings" / SCORER_DIR
    with FakeOpenAIServer(responder=responder, latency=LATENCY_S, model_id=JUDGE_MODEL, max_lifetime=120) as server:
        first = run_scoring(_scorer(server.base_url), EXPERIMENT, data_dir=data_dir, output_dir=output_dir)
        requests_1, peak = server.chat_count, server.max_active
        server.reset_counts()
        second = run_scoring(_scorer(server.base_url), EXPERIMENT, data_dir=data_dir, output_dir=output_dir)
        requests_2 = server.chat_count
    ctx.shared["vmeval_scorings"] = output_dir
    return _summary(first, second, requests_1, requests_2, peak, data_dir)


def _summary(first, second, requests_1: int, requests_2: int, peak: int, data_dir: Path) -> list[str]:
    lines = [
        f"judge: a LOCAL FAKE OpenAI-compatible server ({JUDGE_MODEL!r} on 127.0.0.1) standing in for GPT-4o; "
        "its scores are SYNTHETIC (a fixed function of the task id), not real judgements",
        f"experiment {EXPERIMENT!r}: {first.total} tasks ({len(MODELS)} models x {len(TASK_TYPES)} task types x 2) "
        f"in {data_dir / 'outputs' / EXPERIMENT}",
        f"run 1: {first.completed} completed, {first.skipped} skipped (no expected final frame), "
        f"{first.failed} failed; {requests_1} requests, up to {peak} at once (concurrency {CONCURRENCY}), "
        f"{first.elapsed_s:.2f} s",
        f"run 2 (resume): {second.reused} reused, {second.completed} newly completed, {second.skipped} skipped, "
        f"{second.failed} failed; {requests_2} requests",
    ]
    for key, reason in first.failures:
        lines.append(f"  failed {'/'.join(key[1:])}: {reason}")
    lines += [
        f"scorings: {first.output_dir / EXPERIMENT}/<model>/<task_type>/<task_id>/{first.scorer}.json",
        f"aggregate: {second.aggregate_path}",
        "real use: OPENAI_API_KEY=... mmscore score gpt4o --experiment NAME   "
        "(or `mmscore score internvl --experiment NAME` against a local lmdeploy server)",
    ]
    return lines
