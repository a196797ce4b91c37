"""``mmscore eval zeroshot | retrieval | specificity`` with a tiny real CLIP, against the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmscore.cli.main import main
from mmscore.evaluation import datasets as ds


@pytest.fixture(scope="module")
def tiny_encoder(tiny_clip_hf_dir):
    from mmscore.models.clip import load_clip

    return load_clip(tiny_clip_hf_dir)


def test_eval_zeroshot_cli(colour_folder: Path, tiny_clip_hf_dir, tiny_encoder, tmp_path: Path) -> None:
    from mmscore.evaluation.templates import CIFAR_TEMPLATES
    from mmscore.evaluation.zeroshot import evaluate_zeroshot

    out = tmp_path / "zs.json"
    rc = main(
        [
            "--quiet",
            "eval",
            "zeroshot",
            str(colour_folder),
            "--model",
            str(tiny_clip_hf_dir),
            "--templates",
            "cifar",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    record = json.loads(out.read_text())
    want = evaluate_zeroshot(tiny_encoder, ds.load_image_folder(colour_folder), CIFAR_TEMPLATES)
    assert record["results"]["top1"] == pytest.approx(want["top1"])
    assert record["results"]["n_templates"] == 18 and "fp:sha256:" in record["signature"]


def test_eval_retrieval_cli_coco_and_errors(
    coco_layout: Path, tiny_clip_hf_dir, tiny_encoder, tmp_path: Path, capsys
) -> None:
    from mmscore.evaluation.retrieval import evaluate_retrieval

    captions = coco_layout / "annotations" / "captions_val2017.json"
    out = tmp_path / "ret.json"
    assert (
        main(
            [
                "--quiet",
                "eval",
                "retrieval",
                str(captions),
                "--model",
                str(tiny_clip_hf_dir),
                "-o",
                str(out),
                "--block-size",
                "2",
            ]
        )
        == 0
    )
    record = json.loads(out.read_text())["results"]
    want = evaluate_retrieval(tiny_encoder, ds.load_coco_captions(captions))
    for key in ("t2i_R@1", "t2i_R@5", "i2t_R@1", "i2t_R@10"):
        assert record[key] == pytest.approx(want[key])
    assert main(["eval", "retrieval", str(tmp_path), "--model", str(tiny_clip_hf_dir)]) == 2
    assert "cannot tell the dataset layout" in capsys.readouterr().err


def test_eval_retrieval_cli_karpathy_split(coco_layout: Path, tiny_clip_hf_dir, tiny_encoder, tmp_path: Path) -> None:
    """A Karpathy split file holding the COCO layout's images gives the same recall as the COCO reader."""
    from mmscore.evaluation.retrieval import evaluate_retrieval

    coco = ds.load_coco_captions(coco_layout / "annotations" / "captions_val2017.json")
    entries = [{"filename": name, "split": "test", "sentences": []} for name in coco.image_names]
    for caption, row in zip(coco.captions, coco.text_to_image, strict=True):
        entries[row]["sentences"].append({"raw": caption})
    entries.insert(1, {"filename": "000010.jpg", "split": "train", "sentences": [{"raw": "skipped"}]})
    split_file = tmp_path / "dataset_coco.json"
    split_file.write_text(json.dumps({"images": entries, "dataset": "coco"}))
    out = tmp_path / "k.json"
    args = ["--quiet", "eval", "retrieval", str(split_file), "--images", str(coco_layout / "val2017"), "-o", str(out)]
    assert main([*args, "--model", str(tiny_clip_hf_dir)]) == 0
    record = json.loads(out.read_text())["results"]
    want = evaluate_retrieval(tiny_encoder, coco)
    assert record["n_images"] == 3 and record["dataset"] == "karpathy:coco:test"
    for key in ("t2i_R@1", "t2i_R@5", "i2t_R@1", "i2t_R@5"):
        assert record[key] == pytest.approx(want[key])


def test_eval_specificity_cli(tmp_path: Path, sample_images, tiny_clip_hf_dir, tiny_encoder) -> None:
    from mmscore.evaluation.specificity import evaluate_specificity

    rows = [
        {
            "image": Path(sample_images[c]).name,
            "captions": [
                f"a {c} square",
                f"a {c} square on a dark",
                f"a {c} square on a dark background",
                f"a {c} square on a dark background here",
            ],
            "neg_captions": [
                f"a {c} square blue",
                f"a {c} square on a dark red",
                f"a {c} square on a dark x",
            ],
        }
        for c in ("red", "green", "blue")
    ]
    table = Path(sample_images["red"]).parent / "sdci_test.jsonl"  # relative image paths beside the table
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "spec.json"
    assert (
        main(["--quiet", "eval", "specificity", str(table), "--model", str(tiny_clip_hf_dir), "-o", str(out)])
        == 0
    )
    record = json.loads(out.read_text())["results"]
    want = evaluate_specificity(tiny_encoder, ds.load_specificity_set(table))
    assert (record["Pos"], record["Neg"], record["n_scored"]) == pytest.approx((want["Pos"], want["Neg"], 3))
