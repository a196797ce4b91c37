"""Demo part: a two-operator DataFlow-style pipeline over the shipped example captions."""

from __future__ import annotations

from importlib import resources

import yaml

ORDER = 10
TITLE = "Storage pipeline (DataFlow-compatible FileStorage + operators)"


def run(ctx) -> list[str]:
    from mmscore.io.atomic import atomic_write_bytes, atomic_write_text
    from mmscore.io.tables import read_table
    from mmscore.operators.pipeline import load_pipeline, run_pipeline

    folder = ctx.workspace / "storage"
    source = resources.files("mmscore.examples").joinpath("captions.jsonl").read_bytes()
    table = atomic_write_bytes(folder / "captions.jsonl", source)
    spec = {
        "storage": {
            "first_entry_file_name": table.name,  # relative to the YAML file, which sits beside it
            "cache_path": "cache",
            "file_name_prefix": "demo",
            "cache_type": "jsonl",
        },
        "operators": [
            {"name": "TextStatsEvaluator", "args": {"prefix": "caption"}, "run": {"input_text_key": "caption"}},
            {"name": "TextStatsEvaluator", "args": {"prefix": "reference"}, "run": {"input_text_key": "reference"}},
        ],
    }
    pipeline_file = atomic_write_text(folder / "pipeline.yaml", yaml.safe_dump(spec, sort_keys=False))
    results = run_pipeline(load_pipeline(pipeline_file))
    final = read_table(results[-1][2])
    lines = [f"pipeline {pipeline_file} ran {len(results)} steps over {len(final)} rows"]
    for name, columns, path in results:
        lines.append(f"  {name}: +{', '.join(columns)} -> {path}")
    mean_words = final["caption_words"].astype(float).mean()
    lines.append(f"  mean caption length: {mean_words:.1f} words; longest: {int(final['caption_words'].max())} words")
    return lines
