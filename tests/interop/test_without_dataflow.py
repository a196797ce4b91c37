"""Without open-dataflow nothing changes and nothing of it is imported (checked in a subprocess
whose import system refuses ``dataflow``, so the test means the same whether or not it is installed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class NoDataFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "dataflow" or name.startswith("dataflow."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoDataFlow())
    import pandas as pd
    import mmscore.dataflow as mmdf
    from mmscore.errors import ConfigError
    from mmscore.io.tables import read_table, write_table
    from mmscore.operators.pipeline import Pipeline, PipelineStep, run_pipeline
    from mmscore.operators.registry import get_operator

    folder = sys.argv[1]
    entry = write_table(pd.DataFrame({"text": ["Two words.", None]}), folder + "/in.jsonl")
    steps = [PipelineStep("TextStatsEvaluator", {}, {"input_text_key": "text"})]
    run_pipeline(Pipeline({"first_entry_file_name": str(entry), "cache_path": folder + "/c"}, steps))
    out = read_table(folder + "/c/dataflow_cache_step_step1.jsonl")
    try:
        get_operator("LowercaseRefiner")
        unknown = "found"
    except ConfigError as exc:
        unknown = str(exc)
    mmdf.EMScoreEval  # operator classes still load lazily
    print(json.dumps({
        "registered": mmdf.register_with_dataflow(),
        "installed": mmdf.dataflow_installed(),
        "words": [None if pd.isna(v) else int(v) for v in out["text_words"]],
        "unknown": unknown,
        "desc": mmdf.TextStatsEvaluator.get_desc("en")[:16],
        "imported": sorted(m for m in sys.modules if m == "dataflow" or m.startswith("dataflow.")),
    }))
    """
)


def test_nothing_of_dataflow_is_imported_without_it(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "registered": False,
        "installed": False,
        "words": [2, None],
        "unknown": result["unknown"],
        "desc": "Text statistics:",
        "imported": [],
    }
    assert result["unknown"].startswith("unknown operator 'LowercaseRefiner'.") and "DataFlow" not in result["unknown"]
