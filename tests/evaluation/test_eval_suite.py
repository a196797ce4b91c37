"""Dataset readers and the zero-shot / retrieval / specificity runners on hand-checkable data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmscore.errors import DependencyError, InputError
from mmscore.evaluation import datasets as ds
from mmscore.evaluation.retrieval import evaluate_retrieval
from mmscore.evaluation.specificity import evaluate_specificity
from mmscore.evaluation.templates import CIFAR_TEMPLATES, IMAGENET_TEMPLATES
from mmscore.evaluation.zeroshot import evaluate_zeroshot
from mmscore.testing.media import make_corrupt_file, make_image


def test_template_lists_are_the_published_ones() -> None:
    assert len(IMAGENET_TEMPLATES) == 80 and len(set(IMAGENET_TEMPLATES)) == 80
    assert IMAGENET_TEMPLATES[0] == "a bad photo of a {}." and IMAGENET_TEMPLATES[-1] == "a tattoo of the {}."
    assert len(CIFAR_TEMPLATES) == 18 and CIFAR_TEMPLATES[0] == "a photo of a {}."
    assert all(t.count("{}") == 1 for t in IMAGENET_TEMPLATES + CIFAR_TEMPLATES)


def test_image_folder_zeroshot_known_answer(colour_folder: Path, colour_encoder) -> None:
    dataset = ds.load_image_folder(colour_folder)
    assert dataset.class_names == ["blue", "green", "red"]  # sorted folder order
    assert dataset.labels == [0, 0, 1, 1, 2, 2]
    result = evaluate_zeroshot(colour_encoder, dataset, IMAGENET_TEMPLATES, workers=2, batch_size=4)
    assert result["top1"] == 100.0 and result["n_templates"] == 80
    assert "top5" not in result  # capped at the number of classes (3)


def test_image_folder_wrong_names_give_known_accuracy(
    colour_folder: Path, tmp_path: Path, colour_encoder
) -> None:
    names = tmp_path / "names.txt"
    # folders blue, green, red named "leafy green tree", "deep blue cat", "bright red fox": blue images score the cat
    # (200) over their own tree (40), green images the tree over the cat: rank 1 each
    names.write_text("leafy green tree\ndeep blue cat\nbright red fox\n")
    dataset = ds.load_image_folder(colour_folder, names)
    result = evaluate_zeroshot(colour_encoder, dataset, CIFAR_TEMPLATES, ks=(1, 2, 3))
    assert (result["top1"], result["top2"], result["top3"]) == pytest.approx((100 / 3, 100.0, 100.0))


def test_class_names_file_formats(colour_folder: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "synsets.txt"
    mapping.write_text("red Red square, crimson\nblue Blue square\ngreen Green square\n")
    assert ds.load_image_folder(colour_folder, mapping).class_names == [
        "Blue square",
        "Green square",
        "Red square",
    ]
    as_json = tmp_path / "names.json"
    as_json.write_text(json.dumps({"red": "r", "green": "g", "blue": "b"}))
    assert ds.load_image_folder(colour_folder, as_json).class_names == ["b", "g", "r"]
    bad = tmp_path / "bad.txt"
    bad.write_text("only one\n")
    with pytest.raises(InputError, match="1 class names for 3 class folders"):
        ds.load_image_folder(colour_folder, bad)


def test_imagenet_wnid_folders_get_openai_names(tmp_path: Path) -> None:
    from mmscore.evaluation.imagenet_classes import IMAGENET_CLASSES

    root = tmp_path / "imagenet"
    picture = make_image(tmp_path / "a.JPEG", color="red").read_bytes()
    for i in range(1000):  # every class holds an image: empty class folders are skipped (issue 21)
        (root / f"n{i:08d}").mkdir(parents=True)
        (root / f"n{i:08d}" / "a.JPEG").write_bytes(picture)
    dataset = ds.load_image_folder(root)
    assert dataset.class_names[0] == "tench" and dataset.class_names == list(IMAGENET_CLASSES)
    assert len(dataset.images) == 1000 and not dataset.skipped_classes


@pytest.mark.parametrize("kind", ["cifar10", "cifar100"])
def test_cifar_pickles(kind: str, tmp_path: Path, colour_encoder, cifar_writer) -> None:
    names = ["red", "green", "blue"] if kind == "cifar10" else ["dark_red", "dark_green", "dark_blue"]
    folder = cifar_writer(tmp_path / kind, kind, [0, 1, 2, 2, 0], names)
    dataset = ds.load_cifar(folder)
    assert dataset.name == kind and dataset.labels == [0, 1, 2, 2, 0]
    assert dataset.class_names == [n.replace("_", " ") for n in names]
    first = dataset.images[0]()
    assert first.size == (32, 32) and first.getpixel((16, 16)) == (220, 30, 30)
    assert evaluate_zeroshot(colour_encoder, dataset, ["a photo of a {}."], ks=(1,))["top1"] == 100.0
    assert len(ds.load_cifar(folder / ("test_batch" if kind == "cifar10" else "test"), limit=2).labels) == 2


def test_cifar_pickle_refuses_code(tmp_path: Path) -> None:
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"labels": [0], b"data": Evil()}))
    with pytest.raises(InputError, match="refusing to load builtins.print"):
        ds.load_cifar(tmp_path)


def test_coco_reader_and_retrieval_known_ranks(coco_layout: Path, colour_encoder) -> None:
    dataset = ds.load_coco_captions(coco_layout / "annotations" / "captions_val2017.json")
    assert dataset.image_names == ["000010.jpg", "000020.jpg", "000030.jpg"]  # sorted by image id
    assert len(dataset.captions) == 15 and dataset.text_to_image == [0] * 5 + [1] * 5 + [2] * 5
    assert "sixth" not in " ".join(dataset.captions)
    result = evaluate_retrieval(colour_encoder, dataset, ks=(1, 5, 10))
    # one of 15 captions ("green and blue" for the red image) ranks the blue and green images above
    # the red one: T2I R@1 = 14/15; every image still has one of its own captions on top
    assert result["t2i_R@1"] == pytest.approx(100 * 14 / 15)
    assert result["t2i_R@5"] == 100.0 and result["i2t_R@1"] == 100.0
    assert (result["n_images"], result["n_captions"]) == (3, 15)


def test_urban1k_reader(tmp_path: Path, colour_encoder) -> None:
    root = tmp_path / "Urban1k"
    for k, colour in enumerate(("red", "green", "blue")):
        make_image(root / "image" / f"{k}.jpg", color=colour)
        (root / "caption").mkdir(parents=True, exist_ok=True)
        (root / "caption" / f"{k}.txt").write_text(f"a long {colour} caption\nsecond line ignored\n")
    dataset = ds.load_urban1k(root)
    assert dataset.captions == ["a long red caption", "a long green caption", "a long blue caption"]
    assert evaluate_retrieval(colour_encoder, dataset, ks=(1,)) == {
        "dataset": "urban1k",
        "n_images": 3,
        "n_captions": 3,
        "n_truncated": 0,
        "i2t_R@1": 100.0,
        "t2i_R@1": 100.0,
    }
    (root / "caption" / "9.txt").write_text("orphan\n")
    with pytest.raises(InputError, match="9.txt: no image named 9"):
        ds.load_urban1k(root)


def test_flickr_reader_with_split(tmp_path: Path) -> None:
    root = tmp_path / "flickr"
    for name in ("1.jpg", "2.jpg"):
        make_image(root / "flickr30k-images" / name, color="red")
    lines = [f"{n}#{k}\tcaption {k} of {n}" for n in ("1.jpg", "2.jpg") for k in range(6)]
    (root / "results_20130124.token").write_text("\n".join(lines) + "\n")
    dataset = ds.load_flickr30k(root / "results_20130124.token")
    assert dataset.image_names == ["1.jpg", "2.jpg"] and len(dataset.captions) == 10
    assert dataset.captions[0] == "caption 0 of 1.jpg" and dataset.text_to_image[5] == 1
    split = tmp_path / "test.txt"
    split.write_text("2.jpg\n")
    only = ds.load_flickr30k(root / "results_20130124.token", split_file=split)
    assert only.image_names == ["2.jpg"] and only.text_to_image == [0] * 5


def test_karpathy_split_reader(tmp_path: Path) -> None:
    root = tmp_path / "flickr"
    entries = []
    for i, split in enumerate(["train", "test", "val", "test"]):
        make_image(root / "flickr30k-images" / f"{i}.jpg", color="red")
        sentences = [{"raw": f" caption {k} of {i} ", "tokens": []} for k in range(6)]
        entries.append({"filename": f"{i}.jpg", "imgid": i, "split": split, "sentences": sentences})
    (root / "dataset_flickr30k.json").write_text(json.dumps({"images": entries, "dataset": "flickr30k"}))
    dataset = ds.load_karpathy_split(root / "dataset_flickr30k.json")
    assert dataset.image_names == ["1.jpg", "3.jpg"] and dataset.images[0] == root / "flickr30k-images" / "1.jpg"
    assert dataset.captions[:2] == ["caption 0 of 1", "caption 1 of 1"] and len(dataset.captions) == 10
    assert dataset.text_to_image == [0] * 5 + [1] * 5
    assert ds.load_karpathy_split(root / "dataset_flickr30k.json", split="val").image_names == ["2.jpg"]
    with pytest.raises(InputError, match=r"no image in split 'restval' \(splits present: test, train, val\)"):
        ds.load_karpathy_split(root / "dataset_flickr30k.json", split="restval")
    coco = {"images": [{"filepath": "val2014", "filename": "a.jpg", "split": "test",
                        "sentences": [{"raw": "x"}]}], "dataset": "coco"}
    (tmp_path / "dataset_coco.json").write_text(json.dumps(coco))
    make_image(tmp_path / "imgs" / "val2014" / "a.jpg", color="red")
    assert ds.load_karpathy_split(tmp_path / "dataset_coco.json", tmp_path / "imgs").images == [
        tmp_path / "imgs" / "val2014" / "a.jpg"
    ]
    (tmp_path / "captions.json").write_text(json.dumps({"images": [{"id": 1}], "annotations": []}))
    with pytest.raises(InputError, match="expected a Karpathy split file"):
        ds.load_karpathy_split(tmp_path / "captions.json")


def test_retrieval_fails_on_unreadable_image(tmp_path: Path, colour_encoder) -> None:
    root = tmp_path / "u"
    make_corrupt_file(root / "image" / "0.jpg")
    (root / "caption").mkdir()
    (root / "caption" / "0.txt").write_text("red\n")
    with pytest.raises(Exception, match=r"0\.jpg"):
        evaluate_retrieval(colour_encoder, ds.load_urban1k(root))


def _specificity_rows(images: dict[str, Path]) -> list[dict]:
    return [
        {
            "image": str(images["red"]),
            "captions": ["a square", "a square red", "a square red red", "a square red red x"],
            "neg_captions": ["a square blue", "a square red green", "a square red red blue"],
        },
        {
            "image": str(images["blue"]),
            "captions": ["blue", "blue green", "blue green blue"],
            "neg_captions": ["blue red", "blue green red"],
        },
        {"image": str(images["green"]), "captions": ["green", "green x"], "neg_captions": ["green red"]},
    ]


def test_specificity_runner_against_hand_computation(tmp_path: Path, sample_images, colour_encoder) -> None:
    rows = _specificity_rows(sample_images)
    table = tmp_path / "sdci.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = ds.load_specificity_set(table)
    result = evaluate_specificity(colour_encoder, dataset)
    # recompute the cosines by hand and apply the SPECS rule
    pos_all, neg_all = [], []
    for row in rows:
        image = colour_encoder.encode_pixels(colour_encoder.preprocess([Image.open(row["image"])]))[0].numpy()
        pos_all.append([float(colour_encoder.encode_texts([t])[0].numpy() @ image) for t in row["captions"]])
        neg_all.append(
            [float(colour_encoder.encode_texts([t])[0].numpy() @ image) for t in row["neg_captions"]]
        )
    pos_frac, neg_frac = [], []
    for pos, neg in zip(pos_all, neg_all, strict=True):
        m = min(len(pos), len(neg))
        n = m - 1
        if n <= 1:
            continue
        pos_frac.append(sum(pos[c + 1] > pos[c] for c in range(n)) / n)
        neg_frac.append(sum(pos[c] > neg[c] for c in range(n)) / n)
    assert result["n_scored"] == 1 and result["n_skipped"] == 2  # only the first row has n = 2
    assert result["Pos"] == pytest.approx(100 * np.mean(pos_frac))
    assert result["Neg"] == pytest.approx(100 * np.mean(neg_frac))
    assert result["Avg"] == pytest.approx((result["Pos"] + result["Neg"]) / 2)


def test_specificity_hf_directory_without_datasets(tmp_path: Path, monkeypatch) -> None:
    import sys

    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "dataset_dict.json").write_text('{"splits": ["test"]}')
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(DependencyError, match="JSONL file with 'image', 'captions' and 'neg_captions'"):
        ds.load_specificity_set(folder)


@pytest.mark.parametrize("image_feature", [False, True])
def test_specificity_hf_save_to_disk(image_feature: bool, tmp_path: Path, sample_images, colour_encoder) -> None:
    datasets = pytest.importorskip("datasets")
    rows = _specificity_rows(sample_images)
    table = datasets.Dataset.from_list(rows)
    if image_feature:  # images embedded in the Arrow files, as the published sDCI set stores them
        table = table.cast_column("image", datasets.Image())
    datasets.DatasetDict({"test": table}).save_to_disk(str(tmp_path / "sdci"))
    dataset = ds.load_specificity_set(tmp_path / "sdci", split="test")
    assert dataset.captions == [r["captions"] for r in rows]
    from_jsonl = tmp_path / "sdci.jsonl"
    from_jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    want = evaluate_specificity(colour_encoder, ds.load_specificity_set(from_jsonl))
    got = evaluate_specificity(colour_encoder, dataset)
    assert got.pop("dataset") == "sdci" and want.pop("dataset") == "sdci.jsonl"
    assert got == want
    with pytest.raises(InputError, match="split 'train' not found"):
        ds.load_specificity_set(tmp_path / "sdci", split="train")


def test_specificity_bad_rows(tmp_path: Path) -> None:
    table = tmp_path / "bad.jsonl"
    table.write_text(json.dumps({"image": "x.png", "captions": "not a list"}) + "\n")
    with pytest.raises(InputError, match="row 0 has no 'neg_captions'"):
        ds.load_specificity_set(table)
