"""MER2025 emotion-wheel metric on tiny hand-made wheel files, worked by hand."""

from __future__ import annotations

import pytest

from mmscore.emotion.wheel import evaluate_wheel, load_wheel_resources, map_label, wheel_map
from mmscore.errors import InputError

WHEEL1 = """level1,level2,level3
joy,happy,cheerful
,,delighted
,content,peaceful
sadness,lonely,isolated
,grief,sorrow
anger,annoyed,irritated
"""
WHEEL2 = """level1,level2,level3
positive,happy,cheerful
,content,peaceful
negative,lonely,isolated
,annoyed,irritated
"""
SYNONYM = """word_run1,synonym_run1,word_run2,synonym_run2
happy,"['glad', 'joyful']",sorrow,"['heartbreak']"
annoyed,"['irked']",happy,"['merry']"
joy,"['elation']",content,"[]"
"""
FORMAT = """name,format
happy,"happier,happiest"
joyful,joyfully
annoyed,annoying
sorrow,sorrowful
glad,gladly
irked,
heartbreak,heartbroken
merry,
joy,joys
elation,
content,contented
"""
GOLD = """name,openset
A,"['happiest', 'heartbroken']"
B,"['annoying']"
C,"['bored']"
D,"['sorrowful']"
E,"['elation']"
"""
PRED = """name,openset
A,"['joyful', 'bored']"
B,"['irked', 'gladly']"
C,"['happy']"
E,"['happy']"
"""


@pytest.fixture
def wheel_dir(write):
    write("wheel/wheel1.csv", WHEEL1)
    write("wheel/wheel2.csv", WHEEL2)
    write("wheel/synonym.csv", SYNONYM)
    return write("wheel/format.csv", FORMAT).parent


def test_mapping_steps(wheel_dir):
    res = load_wheel_resources(wheel_dir)
    level1 = wheel_map(res.wheels["wheel1"], "level1")
    level2 = wheel_map(res.wheels["wheel1"], "level2")
    assert level1["delighted"] == "joy"  # forward-filled row
    assert level2["joy"] == "content"  # a level-1 word goes to its alphabetically first level-2 child
    assert map_label("happiest", res, level1) == "joy"  # inflection -> happy -> joy
    assert map_label("gladly", res, level1) == "joy"  # inflection -> glad -> synonym of happy
    assert map_label("heartbroken", res, level2) == "grief"  # synonym from run 2 -> sorrow
    assert map_label("bored", res, level1) == ""  # unknown words are dropped
    assert map_label("heartbroken", res, wheel_map(res.wheels["wheel2"], "level1")) == ""


def test_worked_example(write, wheel_dir):
    out = evaluate_wheel(write("gold.csv", GOLD), write("pred.csv", PRED), wheel_dir)
    # wheel1 level1: A (1, 1/2), B (1/2, 1), C skipped (gold unmappable), D missing (0, 0), E (1, 1)
    w1l1 = out["levels"]["level1"]["wheels"]["wheel1"]
    assert (w1l1["precision"], w1l1["recall"], w1l1["n"]) == (
        pytest.approx(2.5 / 4),
        pytest.approx(2.5 / 4),
        4,
    )
    # wheel1 level2: E becomes gold {content} vs pred {happy}: (0, 0)
    w1l2 = out["levels"]["level2"]["wheels"]["wheel1"]
    assert (w1l2["precision"], w1l2["recall"]) == (pytest.approx(1.5 / 4), pytest.approx(1.5 / 4))
    # wheel2 (both levels): only A (1, 1) and B (1/2, 1) have a mappable gold
    w2 = out["levels"]["level1"]["wheels"]["wheel2"]
    assert (w2["precision"], w2["recall"], w2["n"]) == (pytest.approx(0.75), pytest.approx(1.0), 2)
    f_w2 = 2 * 0.75 * 1.0 / 1.75
    level1_f = (0.625 + f_w2) / 2
    level2_f = (0.375 + f_w2) / 2
    assert out["levels"]["level1"]["f"] == pytest.approx(level1_f)
    assert out["levels"]["level1"]["precision"] == pytest.approx((0.625 + 0.75) / 2)
    assert out["levels"]["level2"]["recall"] == pytest.approx((0.375 + 1.0) / 2)
    assert out["level1_f"] == pytest.approx(level1_f)
    assert out["final"] == pytest.approx((level1_f + level2_f) / 2)
    assert out["missing"] == {"count": 1, "names": ["D"]}


def test_missing_files_and_columns(write, tmp_path):
    with pytest.raises(InputError, match="emotion-wheel folder not found"):
        load_wheel_resources(tmp_path / "nowhere")
    write("w/wheel1.csv", WHEEL1)
    with pytest.raises(InputError, match="neither synonym.csv nor synonym.xlsx"):
        load_wheel_resources(tmp_path / "w")
    write("w2/wheel1.csv", "l1,l2\na,b\n")
    with pytest.raises(InputError, match="'level1' not found"):
        load_wheel_resources(tmp_path / "w2")


def test_xlsx_without_openpyxl_explains_csv_export(write, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if not installed: import raises ImportError
    write("x/wheel1.xlsx", "not really a workbook")
    with pytest.raises(InputError, match=r"needs openpyxl.*export the sheet to wheel1.csv"):
        load_wheel_resources(tmp_path / "x")


def test_xlsx_release_files_give_the_same_numbers(write, wheel_dir, tmp_path):
    """The release ships .xlsx sheets: the same tables as workbooks must score identically."""
    import pandas as pd

    pytest.importorskip("openpyxl")
    xlsx_dir = tmp_path / "wheel_xlsx"
    xlsx_dir.mkdir()
    for csv in wheel_dir.glob("*.csv"):
        pd.read_csv(csv, dtype=str).to_excel(xlsx_dir / f"{csv.stem}.xlsx", index=False)
    gold, pred = write("gold.csv", GOLD), write("pred.csv", PRED)
    from_csv = evaluate_wheel(gold, pred, wheel_dir)
    from_xlsx = evaluate_wheel(gold, pred, xlsx_dir)
    assert from_xlsx["final"] == pytest.approx(from_csv["final"])
    assert from_xlsx["levels"]["level2"]["recall"] == pytest.approx((0.375 + 1.0) / 2)
