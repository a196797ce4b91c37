"""mmscore's scorings read by VMEvalKit's own analysis, and VMEvalKit's newer layout read by mmscore.

The readers below do what VMEvalKit's ``analysis/plot.py`` and ``analysis/stats.py`` do with a
scoring file (hokindeng/VMEvalKit 680a32e): plot takes ``result.get("solution_correctness_score", 0)``
and compares it with 4; stats keeps the files where the key is in ``result`` and casts to int.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mmscore.analysis.comparison import run_stats
from mmscore.cli.main import main
from mmscore.errors import InputError
from mmscore.io.experiment import iter_scorings
from mmscore.testing.experiments import make_experiment

KEY = "solution_correctness_score"

PLUGIN = """
from mmscore.vmeval import Scorer, ScoreResult, SkipTask, register_scorer

@register_scorer
class InteropScorer(Scorer):
    name = 'interop-test'
    scorer_id = 'InteropScorer'
    output_subdir = 'interop-eval'

    async def score(self, task):
        if task.final_frame is None:
            raise SkipTask('no final frame')
        if task.task_id.endswith('0001'):
            raise RuntimeError('judge unreachable')
        return ScoreResult(score=4, explanation='fine')
"""


def _plot_like_scores(folder: Path) -> list[tuple[str, bool]]:
    """(task id, success) the way VMEvalKit's plot.py counts: missing score is 0, success is >= 4."""
    out = []
    for path in sorted(folder.rglob("*.json")):
        data = json.loads(path.read_text())
        if "metadata" in data and "result" in data:
            score = data["result"].get(KEY, 0)
            out.append((data["metadata"]["task_id"], score >= 4))
    return out


def _stats_like_scores(folder: Path) -> pd.Series:
    """Scores the way VMEvalKit's stats.py collects them: files whose result has the key, cast to int."""
    rows = []
    for path in sorted(folder.rglob("*.json")):
        data = json.loads(path.read_text())
        if "result" in data and KEY in data["result"]:
            rows.append(data["result"][KEY])
    return pd.Series(rows, dtype="float64").astype(int)


def test_scorings_readable_by_vmevalkit_analysis_and_output_dir_is_scorings_root(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_experiment(data, models=("m",), task_types=("chess_task",), n_tasks=3, without_final_frame={"chess_0002"})
    plugin = tmp_path / "interop_plugin.py"
    plugin.write_text(PLUGIN)
    root = tmp_path / "data" / "scorings"
    rc = main(["score", "custom", f"{plugin}:InteropScorer", "--data-dir", str(data),
               "--experiment", "pilot_experiment", "--output-dir", str(root)])
    assert rc == 0
    # seed 001: --output-dir data/scorings writes data/scorings/<scorer>/<experiment>/...
    folder = root / "interop-eval" / "pilot_experiment"
    files = {p.parent.name: json.loads(p.read_text())["result"] for p in folder.rglob("InteropScorer.json")}
    assert not (root / "pilot_experiment").exists()
    assert {k: v["status"] for k, v in files.items()} == {
        "chess_0000": "completed", "chess_0001": "failed", "chess_0002": "skipped"}
    assert files["chess_0000"][KEY] == 4
    assert KEY not in files["chess_0001"] and KEY not in files["chess_0002"]

    # VMEvalKit's plot.py: unscored files count as 0 (failure), no TypeError on None >= 4
    assert _plot_like_scores(folder) == [("chess_0000", True), ("chess_0001", False), ("chess_0002", False)]
    # VMEvalKit's stats.py: only files with the key, integer cast without NaN
    assert _stats_like_scores(folder).tolist() == [4]
    # mmscore's own reader still accepts older files that carry the key as null
    legacy = folder / "m" / "chess_task" / "chess_0001" / "InteropScorer.json"
    content = json.loads(legacy.read_text())
    content["result"][KEY] = None
    legacy.write_text(json.dumps(content))
    read = {s.task_id: (s.status, s.score) for s in iter_scorings(folder)}
    assert read["chess_0001"] == ("failed", None) and read["chess_0000"] == ("completed", 4)


def _write(path: Path, metadata: dict, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metadata": metadata, "result": result}))


def _flat_gpt4o(root: Path, scores: dict[tuple[str, str, str], int]) -> Path:
    """Newer VMEvalKit: <eval_output_dir>/<model>/<task_type>/<task_id>/GPT4OEvaluator.json, no experiment."""
    for (model, task_type, task_id), score in scores.items():
        meta = {"evaluator": "GPT4OEvaluator", "timestamp": "2026-01-14T00:00:00", "model_name": model,
                "task_type": task_type, "task_id": task_id}
        result = {KEY: score, "explanation": "", "evaluation_type": "final_frame_comparison", "status": "completed"}
        _write(root / model / task_type / task_id / "GPT4OEvaluator.json", meta, result)
    return root


def _experiment_human(root: Path, experiment: str, scores: dict[tuple[str, str, str], int]) -> Path:
    """The experiment layout: <out>/<experiment>/<model>/<task_type>/<task_id>/human-eval.json."""
    for (model, task_type, task_id), score in scores.items():
        meta = {"evaluator": "human-eval", "annotator": "ann", "timestamp": "2025-12-01T00:00:00",
                "model_name": model, "task_type": task_type, "task_id": task_id}
        _write(root / experiment / model / task_type / task_id / "human-eval.json", meta, {KEY: score, "comments": ""})
    return root


def _items(n: int, seed: int) -> dict[tuple[str, str, str], int]:
    rng = np.random.default_rng(seed)
    keys = [(f"model-{m}", f"{d}_task", f"{d}_{i:04d}") for m in "ab" for d in ("chess", "maze") for i in range(n)]
    return {key: int(v) for key, v in zip(keys, rng.integers(1, 6, size=len(keys)), strict=True)}


def test_flat_layout_pairs_on_model_task_type_task_id(tmp_path: Path) -> None:
    judge_scores, human_scores = _items(6, seed=1), _items(6, seed=2)
    del human_scores[("model-b", "maze_task", "maze_0005")]  # one item only the judge scored
    a = _flat_gpt4o(tmp_path / "evaluations" / "gpt4o-eval", judge_scores)
    b = _experiment_human(tmp_path / "scorings" / "human-eval", "pilot_experiment", human_scores)
    res = run_stats(a, b, tmp_path / "out", n_boot=200, figures=False)
    common = sorted(human_scores)
    assert res["n_pairs"] == len(common) == 23
    assert res["pairing"]["only_in_a"] == 1 and res["pairing"]["only_in_b"] == 0
    assert res["pairing"]["key"] == ["model", "task_type", "task_id"]
    assert "(model, task_type, task_id)" in res["pairing"]["key_rule"]
    x = [judge_scores[k] for k in common]
    y = [human_scores[k] for k in common]
    assert res["pearson"]["statistic"] == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "items paired** on (model, task_type, task_id)" in report and "newer VMEvalKit layout" in report
    pairs = pd.read_csv(tmp_path / "out" / "pairs.csv")
    assert set(pairs["experiment"]) == {"pilot_experiment"}  # the one experiment the other side names

    # both sides flat: pairs the same way, no experiment label at all
    b_flat = _flat_gpt4o(tmp_path / "evaluations" / "other-eval", human_scores)
    assert run_stats(a, b_flat, None, n_boot=200, figures=False)["n_pairs"] == 23
    # both sides with an experiment level: the full key as before
    a_exp = _experiment_human(tmp_path / "scorings" / "judge-eval", "pilot_experiment", judge_scores)
    res = run_stats(a_exp, b, None, n_boot=200, figures=False)
    assert res["n_pairs"] == 23 and res["pairing"]["key"][0] == "experiment"


def test_flat_side_against_several_experiments_is_an_error(tmp_path: Path) -> None:
    scores = _items(2, seed=3)
    a = _flat_gpt4o(tmp_path / "gpt4o-eval", scores)
    b = _experiment_human(tmp_path / "human-eval", "pilot_one", scores)
    _experiment_human(b, "pilot_two", scores)
    with pytest.raises(InputError, match="several experiments.*pilot_one"):
        run_stats(a, b, None, n_boot=200, figures=False)


def test_cli_states_the_rule_and_fails_when_nothing_pairs(tmp_path: Path, capsys) -> None:
    scores = _items(3, seed=4)
    a = _flat_gpt4o(tmp_path / "gpt4o-eval", scores)
    b = _experiment_human(tmp_path / "human-eval", "pilot_experiment", scores)
    common = ["analyze", "stats", "--n-boot", "200", "--no-figures"]
    assert main([*common, "--a", str(a), "--b", str(b), "-o", str(tmp_path / "o1")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "12 paired items" in out and "(model, task_type, task_id)" in out
    other = _flat_gpt4o(tmp_path / "other-eval", {("model-z", "chess_task", "chess_0000"): 3})
    assert main([*common, "--a", str(a), "--b", str(other), "-o", str(tmp_path / "o2")]) == 1
    assert "could be paired" in " ".join(capsys.readouterr().err.split())
