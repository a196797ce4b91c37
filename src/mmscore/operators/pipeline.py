"""Pipelines: a YAML file naming operators and arguments, run as consecutive FileStorage steps.

```yaml
storage:
  first_entry_file_name: data/input.jsonl   # relative paths: relative to this YAML file
  cache_path: ./cache
  file_name_prefix: pipeline
  cache_type: jsonl
operators:
  - name: TextStatsEvaluator
    args: {}
    run: {input_text_key: caption}
  - name: EMScoreEval
    args: {every_n_seconds: 1.0}
    run: {video_key: video_path}
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmscore.errors import ConfigError, InputError
from mmscore.io.outputs import prepare_outputs
from mmscore.io.storage import FileStorage
from mmscore.operators.registry import build_operator


@dataclass
class PipelineStep:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pipeline:
    storage: dict[str, Any]
    steps: list[PipelineStep]
    source: Path | None = None


def load_pipeline(path: str | os.PathLike[str]) -> Pipeline:
    """Parse and validate a pipeline YAML file (errors name the file and the step)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: pipeline file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping with 'storage' and 'operators'")
    storage = data.get("storage")
    if not isinstance(storage, dict) or "first_entry_file_name" not in storage:
        raise InputError(f"{path}: 'storage' must be a mapping with at least 'first_entry_file_name'")
    operators = data.get("operators")
    if not isinstance(operators, list) or not operators:
        raise InputError(f"{path}: 'operators' must be a non-empty list")
    steps = []
    for index, entry in enumerate(operators, start=1):
        if not isinstance(entry, dict) or "name" not in entry:
            raise InputError(f"{path}: operator #{index} must be a mapping with a 'name'")
        unknown = set(entry) - {"name", "args", "run"}
        if unknown:
            raise InputError(f"{path}: operator #{index} ({entry['name']}): unknown keys {sorted(unknown)}")
        for key in ("args", "run"):
            if entry.get(key) is not None and not isinstance(entry[key], dict):
                raise InputError(f"{path}: operator #{index} ({entry['name']}): '{key}' must be a mapping")
        steps.append(PipelineStep(str(entry["name"]), dict(entry.get("args") or {}), dict(entry.get("run") or {})))
    base = path.parent
    storage = dict(storage)
    for key in ("first_entry_file_name", "cache_path"):  # one rule: relative to the YAML file
        value = str(storage.get(key, ""))
        remote = value.startswith(("hf:", "ms:"))  # DataFlow's hub dataset names are not paths
        if key in storage and not remote and not os.path.isabs(os.path.expanduser(value)):
            storage[key] = str(base / storage[key])
    return Pipeline(storage=storage, steps=steps, source=path)


def run_pipeline(pipeline: Pipeline) -> list[tuple[str, list[str], str]]:
    """Run every step; returns (operator name, added columns, output file) per step."""
    storage = FileStorage(**pipeline.storage)
    step_files = [storage.step_file(number) for number in range(1, len(pipeline.steps) + 1)]
    prepare_outputs(step_files, [storage.first_entry_file_name])  # before any model loads
    operators = [build_operator(step.name, step.args) for step in pipeline.steps]
    results = []
    for step, operator in zip(pipeline.steps, operators, strict=True):
        step_storage = storage.step()
        try:
            columns = operator.run(step_storage, **step.run)
        except TypeError as exc:
            raise ConfigError(f"operator {step.name!r}: bad run arguments {step.run!r}: {exc}") from exc
        results.append((step.name, list(columns), str(step_storage.output_path())))
    return results
