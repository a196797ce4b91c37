"""`mmscore train specs|longclip` end to end on tiny data (CPU, a few steps)."""

from __future__ import annotations

import csv
import json

import pandas as pd
import torch
from PIL import Image

from mmscore.cli.main import main


def write_table(rows, folder):
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i, row in enumerate(rows):
        Image.fromarray(row["image"]).save(folder / f"{i}.png")
        records.append({**row, "image": f"{i}.png"})
    pd.DataFrame(records).to_parquet(folder / "data.parquet")
    return folder / "data.parquet"


def test_train_specs_writes_model_card_logs_and_evaluates(longclip_ckpt, rows, tmp_path, capsys):
    from mmscore.models.clip import load_clip

    data = write_table(rows, tmp_path / "data")
    out = tmp_path / "run"
    code = main(["train", "specs", "--init", str(longclip_ckpt), "--data", str(data), "-o", str(out),
                 "--batch-size", "4", "--accumulation", "2", "--epochs", "1", "--workers", "0",
                 "--eval-data", str(data), "--eval-limit", "8"])
    assert code == 0, capsys.readouterr().err
    card = json.loads((out / "model.json").read_text())
    assert card["steps"] == 2 and card["recipe"] == "specs" and card["effective_batch"] == 8
    assert card["recipe_settings"]["margin"] == "adaptive" and card["settings"]["lr"] == 1e-5
    assert set(card["final_eval"]) >= {"pos", "neg", "avg", "t2i_r1", "i2t_r1"}
    with open(out / "log.csv") as handle:
        assert [r["step"] for r in csv.DictReader(handle)] == ["1", "2"]
    with open(out / "eval.csv") as handle:
        assert [r["step"] for r in csv.DictReader(handle)] == ["0", "2"]
    assert load_clip(out / "model.pt", device="cpu").context_length == 248
    sd = torch.load(out / "model.pt")
    assert "positional_embedding_res" in sd and not any(k.startswith("module.") for k in sd)


def test_train_longclip_stretches_a_clip_and_specs_refuses_it(clip77_ckpt, rows, tmp_path, capsys):
    data = write_table(rows, tmp_path / "data")
    code = main(["train", "specs", "--init", str(clip77_ckpt), "--data", str(data), "-o", str(tmp_path / "bad")])
    assert code == 2
    assert "positional_embedding_res" in capsys.readouterr().err
    code = main(["train", "longclip", "--init", str(clip77_ckpt), "--data", str(data), "-o", str(tmp_path / "lc"),
                 "--batch-size", "8", "--epochs", "1", "--workers", "0"])
    assert code == 0, capsys.readouterr().err
    card = json.loads((tmp_path / "lc" / "model.json").read_text())
    assert card["init"]["stretched"] and card["init"]["logit_scale_reset"] and card["steps"] == 2
    assert set(card["final_train"]) >= {"loss", "long", "short", "lr"}


def test_train_longclip_stretch_precision_is_recorded_and_checked(clip77_ckpt, rows, tmp_path, capsys):
    data = write_table(rows[:8], tmp_path / "data")
    args = ["train", "longclip", "--init", str(clip77_ckpt), "--data", str(data), "--batch-size", "8",
            "--epochs", "1", "--workers", "0"]
    assert main([*args, "-o", str(tmp_path / "bad"), "--stretch-precision", "bf16"]) == 2
    assert "fp32 or fp16" in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "half"), "--stretch-precision", "fp16"]) == 0, capsys.readouterr().err
    card = json.loads((tmp_path / "half" / "model.json").read_text())
    assert card["init"]["stretch_precision"] == "fp16" and card["recipe_settings"]["stretch_precision"] == "fp16"


def test_train_specs_records_the_training_resize(longclip_ckpt, rows, tmp_path, capsys):
    data = write_table(rows[:8], tmp_path / "data")
    code = main(["train", "specs", "--init", str(longclip_ckpt), "--data", str(data), "-o", str(tmp_path / "out"),
                 "--batch-size", "8", "--accumulation", "1", "--epochs", "1", "--workers", "0",
                 "--train-resize", "tensor"])
    assert code == 0, capsys.readouterr().err
    card = json.loads((tmp_path / "out" / "model.json").read_text())
    assert card["settings"]["train_resize"] == "tensor"
    code = main(["train", "specs", "--init", str(longclip_ckpt), "--data", str(data), "-o", str(tmp_path / "bad"),
                 "--train-resize", "torchvision"])
    assert code == 2 and "pil, tensor" in capsys.readouterr().err
