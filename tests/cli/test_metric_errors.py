"""A metric's typed error reaches the user as one "Error: ..." line with exit code 2."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from mmscore.cli.main import main

EMOTION_EXAMPLES = Path(str(resources.files("mmscore.examples").joinpath("emotion")))


def test_unknown_metric_option_is_error_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "emer.json"
    rc = main(["emotion", "emer", "--gold", str(EMOTION_EXAMPLES / "emer_gold.csv"),
               "--pred", str(EMOTION_EXAMPLES / "emer_pred.csv"), "--no-judge", "--lang", "fr", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Error: lang: expected one of auto, en, zh, got 'fr'" in err
    assert "unexpected" not in err
    assert not out.exists()


def test_metric_input_error_is_error_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_images, tiny_clip_hf_dir
) -> None:
    # every sample has 2 captions: the specificity metric needs 3, so it has nothing to score
    rows = [{"image": Path(sample_images[c]).name, "captions": [f"a {c} square", f"a {c} square on a dark"],
             "neg_captions": [f"a {c} square blue"]} for c in ("red", "green")]
    table = Path(sample_images["red"]).parent / "too_short.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "spec.json"
    rc = main(["--quiet", "eval", "specificity", str(table), "--model", str(tiny_clip_hf_dir), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert ("Error: specificity: no sample has enough captions: expected a sample with at least 3 "
            "caption/negative pairs, got 2 sample(s), all too short") in err
    assert "unexpected" not in err
