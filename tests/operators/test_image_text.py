"""Image–text operators and the clipscore/longclip/specs commands, scored with tiny random CLIPs.

Expected values are computed here from the same model's embeddings (``load_clip`` directly)
with the published formulas written out in numpy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmscore.cli.main import main
from mmscore.io.storage import FileStorage
from mmscore.io.tables import read_table, write_table
from mmscore.testing.media import make_corrupt_file, make_image

SPECS_TEXTS = [
    "A British Shorthair cat with plush, bluish-gray fur is lounging on a deep green velvet sofa. "
    "The cat is partially tucked under a multi-colored woven jumper.",
    "A British Shorthair cat with plush, bluish-gray fur is lounging on a deep green velvet sofa. "
    "The cat is partially tucked under a multi-colored woven blanket.",
    "A British Shorthair cat with plush, bluish-gray fur is lounging on a deep green velvet sofa. "
    "The cat is partially tucked under a multi-colored woven blanket with fringed edges.",
]


@pytest.fixture(scope="module")
def longclip_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny Long-CLIP-layout checkpoint as a file and inside a directory (DataFlow's layout)."""
    from mmscore.testing.checkpoints import save_longclip_checkpoint
    from mmscore.testing.models import build_tiny_clip

    folder = tmp_path_factory.mktemp("longclip")
    model = build_tiny_clip(seed=1)
    directory = folder / "BeichenZhang" / "LongCLIP-L-336px"
    path = save_longclip_checkpoint(model, directory / "longclip-L@336px.pt")
    return {"dir": directory, "file": path}


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _embed(spec: Path | str, images: list[Path], texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from mmscore.models.clip import load_clip

    encoder = load_clip(spec)
    pil = [Image.open(p).convert("RGB") for p in images]
    return (
        encoder.encode_images(pil, normalize=False).numpy(),
        encoder.encode_texts(texts, normalize=False).numpy(),
    )


def _seed_example(folder: Path) -> Path:
    """The seed's example: ``1.png`` next to the jsonl, a relative path in the table."""
    make_image(folder / "1.png", color="red", width=60, height=40)
    entry = folder / "test_image_eval.jsonl"
    entry.write_text(
        json.dumps(
            {"image_path": "1.png", "text": "The image shows a man and a woman in what appears to be a car."}
        )
        + "\n"
    )
    return entry


@pytest.mark.parametrize("which", ["dir", "file"])
def test_seed_dataflow_example(which: str, tmp_path: Path, longclip_files, monkeypatch) -> None:
    from mmscore.dataflow import ImageLongCLIPEvaluator

    entry = _seed_example(tmp_path / "data")
    monkeypatch.chdir(tmp_path)  # relative image path resolves against the input file's folder
    storage = FileStorage(
        first_entry_file_name=str(entry),
        cache_path="./cache_local",
        file_name_prefix="longclip_eval",
        cache_type="jsonl",
    )
    evaluator = ImageLongCLIPEvaluator(model_name=str(longclip_files[which]), device=None)
    cols = evaluator.run(
        storage=storage.step(),
        input_image_key="image_path",
        input_text_key="text",
        output_key="longclip_score",
    )
    assert cols == ["longclip_score"]
    out = read_table(tmp_path / "cache_local" / "longclip_eval_step1.jsonl")
    img, txt = _embed(longclip_files["file"], [tmp_path / "data" / "1.png"], [out["text"][0]])
    expected = min(max((_cos(img[0], txt[0]) + 1) / 2, 0.0), 1.0)
    assert out["longclip_score"][0] == pytest.approx(expected, abs=1e-6)
    assert 0.0 <= out["longclip_score"][0] <= 1.0
    assert out["longclip_score_error"].isna().all()
    assert "fp:sha256:" in evaluator.signature and "metric:longclip" in evaluator.signature


def test_longclip_default_directory_name_relative_to_cwd(tmp_path: Path, longclip_files, monkeypatch) -> None:
    """DataFlow's default ``model_name`` works when that directory exists locally."""
    from mmscore.operators.image_text import ImageLongCLIPEvaluator

    shutil.copytree(longclip_files["dir"], tmp_path / "BeichenZhang" / "LongCLIP-L-336px")
    entry = _seed_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    storage = FileStorage(str(entry), cache_path="cache")
    assert ImageLongCLIPEvaluator().run(storage.step()) == ["longclip_score"]
    assert read_table(tmp_path / "cache" / "dataflow_cache_step_step1.jsonl")["longclip_score"].notna().all()


def test_specs_example_shape_one_image_three_captions(tmp_path: Path, longclip_files) -> None:
    from mmscore.operators.image_text import ImageSPECSEvaluator

    image = make_image(tmp_path / "cat.png", color="blue", width=80, height=64)
    entry = write_table(
        pd.DataFrame({"image_path": [str(image)] * 3, "text": SPECS_TEXTS}), tmp_path / "in.jsonl"
    )
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "cache"))
    evaluator = ImageSPECSEvaluator(model_name=str(longclip_files["file"]))
    assert evaluator.run(storage.step()) == ["specs_score"]
    out = read_table(tmp_path / "cache" / "dataflow_cache_step_step1.jsonl")
    img, txt = _embed(longclip_files["file"], [image], SPECS_TEXTS)
    expected = [max((_cos(img[0], t) + 1) / 2, 0.0) for t in txt]
    np.testing.assert_allclose(out["specs_score"].to_numpy(dtype=float), expected, atol=1e-6)
    assert len(set(np.round(expected, 8))) == 3  # three different captions, three different scores


def test_bad_rows_get_null_and_error(tmp_path: Path, tiny_clip_hf_dir, sample_images) -> None:
    from mmscore.operators.image_text import ImageLongCLIPEvaluator

    corrupt = make_corrupt_file(tmp_path / "corrupt.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(Path(sample_images["green"]).read_bytes()[:60])
    rows = [
        (str(sample_images["red"]), "a red square"),
        ("missing.png", "a square"),
        (str(corrupt), "a square"),
        (str(truncated), "a green square"),
        (str(sample_images["blue"]), float("nan")),
        (str(sample_images["blue"]), None),
        (str(sample_images["blue"]), "   "),
        (None, "a blue square"),
        (str(sample_images["green"]), "a green square"),
    ]
    entry = write_table(pd.DataFrame(rows, columns=["image_path", "text"]), tmp_path / "in.jsonl")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "cache"))
    ImageLongCLIPEvaluator(model_name=str(tiny_clip_hf_dir)).run(storage.step())
    out = read_table(tmp_path / "cache" / "dataflow_cache_step_step1.jsonl")
    scores, errors = out["longclip_score"].tolist(), out["longclip_score_error"].tolist()
    good = [0, 8]
    assert all(isinstance(scores[i], float) and not np.isnan(scores[i]) for i in good)
    assert all(errors[i] is None or pd.isna(errors[i]) for i in good)
    for i in range(1, 8):
        assert scores[i] is None or pd.isna(scores[i]), f"row {i} should be null, got {scores[i]}"
        assert isinstance(errors[i], str) and errors[i]
    assert "missing.png" in errors[1] and "not found" in errors[1]
    assert "corrupt.png" in errors[2]
    assert "truncated.png" in errors[3]
    assert "empty or missing text" in errors[4] and "empty or missing text" in errors[5]
    assert "empty or missing image path" in errors[7]
    img, txt = _embed(
        tiny_clip_hf_dir, [sample_images["red"], sample_images["green"]], ["a red square", "a green square"]
    )
    assert scores[0] == pytest.approx((_cos(img[0], txt[0]) + 1) / 2, abs=1e-6)
    assert scores[8] == pytest.approx((_cos(img[1], txt[1]) + 1) / 2, abs=1e-6)


def test_clipscore_and_refclipscore_operators(tmp_path: Path, tiny_clip_hf_dir, sample_images) -> None:
    from mmscore.operators.image_text import CLIPScoreEvaluator, RefCLIPScoreEvaluator

    captions = ["a red square", "a green square", "a blue square"]
    references = [["red box", "a square"], "a green thing", json.dumps(["blue", "a dark picture"])]
    images = [sample_images[c] for c in ("red", "green", "blue")]
    table = pd.DataFrame({"image_path": [str(p) for p in images], "text": captions, "refs": references})
    entry = write_table(table, tmp_path / "in.jsonl")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "cache"))
    clip = CLIPScoreEvaluator(model_name=str(tiny_clip_hf_dir))
    assert clip.run(storage.step()) == ["clip_score"]
    # the tiny random model gives negative cosines with the prompt prefix (CLIP-S clipped to 0), so
    # RefCLIP-S is checked without it, where the cosines are positive and the harmonic mean non-trivial
    ref_op = RefCLIPScoreEvaluator(model_name=str(tiny_clip_hf_dir), prefix=None)
    assert ref_op.run(storage.step(), reference_key="refs") == ["refclip_score"]
    out = read_table(tmp_path / "cache" / "dataflow_cache_step_step2.jsonl")

    flat_refs = [["red box", "a square"], ["a green thing"], ["blue", "a dark picture"]]
    img, prefixed = _embed(tiny_clip_hf_dir, images, ["A photo depicts " + c for c in captions])
    _, plain = _embed(tiny_clip_hf_dir, [], captions)
    for row in range(3):
        assert out["clip_score"][row] == pytest.approx(
            2.5 * max(_cos(img[row], prefixed[row]), 0.0), abs=1e-5
        )
        clip_s = 2.5 * max(_cos(img[row], plain[row]), 0.0)
        _, ref_emb = _embed(tiny_clip_hf_dir, [], flat_refs[row])
        ref_term = max(max(_cos(plain[row], r) for r in ref_emb), 0.0)
        want = 0.0 if clip_s + ref_term == 0 else 2 * clip_s * ref_term / (clip_s + ref_term)
        assert out["refclip_score"][row] == pytest.approx(want, abs=1e-5)
    assert (out["refclip_score"] > 0).all()  # the harmonic mean is exercised, not just the clamp


def test_cli_longclip_and_strict(tmp_path: Path, longclip_files, sample_images) -> None:
    table = pd.DataFrame({"image": [str(sample_images["red"]), "nope.png"], "caption": ["a red square", "x"]})
    entry = write_table(table, tmp_path / "pairs.csv")
    out_file = tmp_path / "scored.jsonl"
    rc = main(
        [
            "--quiet",
            "longclip",
            str(entry),
            "--model",
            str(longclip_files["dir"]),
            "--image-key",
            "image",
            "--text-key",
            "caption",
            "-o",
            str(out_file),
            "--batch-size",
            "4",
        ]
    )
    assert rc == 0
    out = read_table(out_file)
    assert out["longclip_score"].notna().tolist() == [True, False]
    run = json.loads((tmp_path / "scored.jsonl.run.json").read_text())
    assert run["longclip_score"]["signature"].startswith("metric:longclip|")
    rc = main(
        [
            "--quiet",
            "longclip",
            str(entry),
            "--model",
            str(longclip_files["file"]),
            "--image-key",
            "image",
            "--text-key",
            "caption",
            "--strict",
        ]
    )
    assert rc == 1
    assert (tmp_path / "pairs.longclip.csv").exists()  # the scores are written before failing


def test_cli_clipscore_with_references_and_specs(
    tmp_path: Path, tiny_clip_hf_dir, longclip_files, sample_images
) -> None:
    table = pd.DataFrame(
        {
            "image_path": [str(sample_images["red"]), str(sample_images["blue"])],
            "text": ["a red square", "a blue square"],
            "refs": [["red"], ["blue", "navy"]],
        }
    )
    entry = write_table(table, tmp_path / "pairs.jsonl")
    rc = main(
        ["--quiet", "clipscore", str(entry), "--model", str(tiny_clip_hf_dir), "--reference-key", "refs"]
    )
    assert rc == 0
    out = read_table(tmp_path / "pairs.clipscore.jsonl")
    assert out[["clip_score", "refclip_score"]].notna().all().all()
    rc = main(["--quiet", "specs", str(entry), "--model", str(longclip_files["file"])])
    assert rc == 0
    assert read_table(tmp_path / "pairs.specs.jsonl")["specs_score"].between(0, 1).all()


def test_cli_missing_column_is_one_line_error(tmp_path: Path, tiny_clip_hf_dir, capsys) -> None:
    entry = write_table(pd.DataFrame({"img": ["a.png"], "text": ["x"]}), tmp_path / "in.jsonl")
    assert main(["clipscore", str(entry), "--model", str(tiny_clip_hf_dir)]) == 2
    assert "column 'image_path' not found" in capsys.readouterr().err


def test_registry_and_pipeline(tmp_path: Path, tiny_clip_hf_dir, sample_images) -> None:
    from mmscore.operators.pipeline import load_pipeline, run_pipeline

    entry = write_table(
        pd.DataFrame({"image_path": [str(sample_images["red"])], "text": ["red"]}), tmp_path / "in.jsonl"
    )
    spec = {
        "storage": {"first_entry_file_name": str(entry), "cache_path": str(tmp_path / "c")},
        "operators": [
            {"name": "CLIPScoreEvaluator", "args": {"model_name": str(tiny_clip_hf_dir)}},
            {"name": "ImageLongCLIPEvaluator", "args": {"model_name": str(tiny_clip_hf_dir)}},
        ],
    }
    import yaml

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(yaml.safe_dump(spec))
    results = run_pipeline(load_pipeline(pipeline))
    final = read_table(results[-1][2])
    assert {"clip_score", "longclip_score"} <= set(final.columns)


def test_demo_part_runs_offline(tmp_path: Path, tiny_clip_hf_dir, monkeypatch) -> None:
    from rich.console import Console

    import mmscore.models.hub as hub
    from mmscore.demo import DemoContext
    from mmscore.demo.parts import image_text
    from mmscore.errors import ModelError

    ctx = DemoContext(workspace=tmp_path, model=str(tiny_clip_hf_dir), console=Console(quiet=True))
    lines = image_text.run(ctx)
    assert image_text.ORDER == 40
    assert "scored 16 image/caption pairs" in lines[0]
    out = read_table(ctx.shared["image_text_scores"])
    assert out[["longclip_score", "clip_score"]].notna().all().all() and len(out) == 16
    # a model the user named that does not load is an error (issue 21: no silent random fallback) ...
    broken = DemoContext(workspace=tmp_path / "b", model=str(tmp_path / "no-such-model.pt"),
                         console=Console(quiet=True))
    with pytest.raises(ModelError, match="no-such-model.pt"):
        image_text.run(broken)
    # ... the fallback is for a missing shipped demo model only
    monkeypatch.setattr(hub, "demo_checkpoint_path", lambda: tmp_path / "not-installed.pt")
    absent = DemoContext(workspace=tmp_path / "c", console=Console(quiet=True))
    assert "tiny RANDOM CLIP" in image_text.run(absent)[0]
