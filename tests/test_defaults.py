"""Shared values are defined once, in mmscore.defaults, and imported everywhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import mmscore
from mmscore import defaults

ROOT = Path(mmscore.__file__).parent
DEFAULT_IDS = {defaults.CLIP_MODEL, defaults.LONGCLIP_MODEL, defaults.JUDGE_MODEL}
#: tables of data that name these models as keys or targets, not as defaults
TABLES = {"models/hub.py": "alias table", "models/judge.py": "price table"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def test_default_model_ids_and_success_threshold_are_written_only_in_defaults() -> None:
    restated = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "defaults.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and node.value in DEFAULT_IDS and id(node) not in docs
                    and rel not in TABLES):
                restated.append(f"{rel}:{node.lineno}: {node.value!r} (use mmscore.defaults)")
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "SUCCESS_THRESHOLD" for t in node.targets):
                restated.append(f"{rel}:{node.lineno}: SUCCESS_THRESHOLD assigned (import it from mmscore.defaults)")
    assert restated == [], "\n".join(restated)


def test_success_threshold_is_the_vmevalkit_binary_grading() -> None:
    # seed 001, "Binary Grading System": 4 and 5 count as a correct solution, 1-3 as incorrect
    from mmscore.human.rubric import SUCCESS_THRESHOLD as ui_threshold
    from mmscore.metrics.agreement import SUCCESS_THRESHOLD as stats_threshold
    from mmscore.metrics.agreement import success
    from mmscore.vmeval.voting import SUCCESS_THRESHOLD as voting_threshold

    assert defaults.SUCCESS_THRESHOLD == ui_threshold == stats_threshold == voting_threshold == 4
    assert success([1, 2, 3, 4, 5]).tolist() == [False, False, False, True, True]
