"""``mmscore eval zeroshot | retrieval | specificity``: the SPECS / Long-CLIP evaluation suite."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mmscore.cli.app import group
from mmscore.cli.options import BatchSizeOpt, DeviceOpt, OutputOpt

DataArg = Annotated[Path, typer.Argument(help="Dataset file or folder (see the command help for layouts).")]
ModelOpt = Annotated[str, typer.Option("--model", help="Encoder: checkpoint file/folder, transformers folder, "
                                       "hub id or mmscore-demo.")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only the first N items (smoke runs).")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=0, help="Image decoding threads (0: decode inline).")]

ZEROSHOT_HELP = """Zero-shot top-1/top-5 accuracy with a prompt ensemble.

Layouts: an ImageNet-style folder of class sub-folders (1,000 n######## folders get OpenAI's
CLIP class names; otherwise folder names or --class-names), CIFAR-10 'cifar-10-batches-py/'
(test_batch + batches.meta) or CIFAR-100 'cifar-100-python/' (test + meta). --limit counts
images per class for folders, images in total for CIFAR.

Examples:

  mmscore eval zeroshot data/imagenet/val --model ./longclip-B.pt

  mmscore eval zeroshot data/cifar-10-batches-py --model ./spec.pt --templates cifar
"""

RETRIEVAL_HELP = """Text-to-image and image-to-text recall@1/5/10.

Layouts: COCO 'annotations/captions_val2017.json' (images from ../val2017 or --images; first 5
captions per image), Urban1k folder with image/*.jpg and caption/*.txt, Flickr30k
'results_20130124.token' (images from flickr30k-images/ beside it or --images), or a Karpathy
split file 'dataset_flickr30k.json' / 'dataset_coco.json' (--split test: the 1k/5k test images).

Examples:

  mmscore eval retrieval data/coco/annotations/captions_val2017.json --model ./longclip-L.pt

  mmscore eval retrieval data/flickr30k/dataset_flickr30k.json --images data/flickr30k/images --model ./spec.pt

  mmscore eval retrieval data/Urban1k --model ./longclip-B.pt
"""

SPECIFICITY_HELP = """SPECS intrinsic specificity (Pos / Neg / Avg) on sDCI-style data.

Layouts: a Hugging Face datasets folder saved with save_to_disk (needs 'pip install datasets';
the split is --split) with columns image, captions, neg_captions; or, without the datasets
package, a JSONL/JSON/CSV/parquet table with the same fields (captions as lists).

Examples:

  mmscore eval specificity data/sDCI --model ./spec.pt

  mmscore eval specificity sdci_test.jsonl --model ./spec.pt -o specificity.json
"""


def register(app: typer.Typer) -> None:
    eval_app = group("eval")

    @eval_app.command("zeroshot", help=ZEROSHOT_HELP)
    def zeroshot_command(
        data: DataArg, model: ModelOpt,
        class_names: Annotated[Optional[Path], typer.Option("--class-names", help="Class names file for a "
                               "folder dataset (one per line, '<folder> <name>' lines, or JSON).")] = None,
        templates: Annotated[str, typer.Option("--templates", help="Prompt set: imagenet (the 80 OpenAI "
                             "templates, as Long-CLIP/SPECS use for all sets) or cifar (OpenAI's 18).")] = "imagenet",
        limit: LimitOpt = None, output: OutputOpt = None, batch_size: BatchSizeOpt = 64,
        device: DeviceOpt = None, workers: WorkersOpt = 2,
    ) -> None:
        from mmscore.errors import ConfigError
        from mmscore.evaluation import datasets as ds
        from mmscore.evaluation.templates import TEMPLATE_SETS
        from mmscore.evaluation.zeroshot import evaluate_zeroshot

        _check_output(output, data, class_names)
        if templates not in TEMPLATE_SETS:
            raise ConfigError(f"--templates must be one of {', '.join(TEMPLATE_SETS)}; got {templates!r}")
        if _is_cifar(data):
            dataset = ds.load_cifar(data, limit=limit)
        else:
            dataset = ds.load_image_folder(data, class_names, limit_per_class=limit)
        encoder = _load(model, device, batch_size)
        result = evaluate_zeroshot(encoder, dataset, TEMPLATE_SETS[templates], batch_size=batch_size, workers=workers)
        result["templates"] = templates
        _report("zeroshot", result, encoder, model, output, ["top1", "top5"])

    @eval_app.command("retrieval", help=RETRIEVAL_HELP)
    def retrieval_command(
        data: DataArg, model: ModelOpt,
        dataset_kind: Annotated[str, typer.Option("--dataset", help="auto, coco, urban1k, flickr30k or karpathy "
                                "(dataset_flickr30k.json / dataset_coco.json split files).")] = "auto",
        split: Annotated[str, typer.Option("--split", help="Karpathy split files: the split to evaluate.")] = "test",
        images: Annotated[Optional[Path], typer.Option("--images", help="Image folder (COCO / Flickr30k).")] = None,
        split_file: Annotated[Optional[Path], typer.Option("--split-file", help="Flickr30k: file of image names "
                              "to keep (e.g. the 1k test split).")] = None,
        captions_per_image: Annotated[int, typer.Option("--captions-per-image", min=1,
                                      help="COCO / Flickr30k captions per image.")] = 5,
        block_size: Annotated[int, typer.Option("--block-size", min=1, help="Rows per similarity block.")] = 1024,
        limit: LimitOpt = None, output: OutputOpt = None, batch_size: BatchSizeOpt = 64,
        device: DeviceOpt = None, workers: WorkersOpt = 2,
    ) -> None:
        from mmscore.errors import ConfigError
        from mmscore.evaluation import datasets as ds
        from mmscore.evaluation.retrieval import evaluate_retrieval

        _check_output(output, data, images, split_file)
        kind = _retrieval_kind(data) if dataset_kind == "auto" else dataset_kind
        if kind == "coco":
            dataset = ds.load_coco_captions(data, images, captions_per_image, limit=limit)
        elif kind == "urban1k":
            dataset = ds.load_urban1k(data, limit=limit)
        elif kind == "flickr30k":
            token = data / "results_20130124.token" if data.is_dir() else data
            dataset = ds.load_flickr30k(token, images, split_file, captions_per_image, limit=limit)
        elif kind == "karpathy":
            dataset = ds.load_karpathy_split(data, images, split, captions_per_image, limit=limit)
        else:
            raise ConfigError(f"--dataset must be auto, coco, urban1k, flickr30k or karpathy; got {dataset_kind!r}")
        encoder = _load(model, device, batch_size)
        result = evaluate_retrieval(encoder, dataset, batch_size=batch_size, workers=workers, block_size=block_size)
        keys = [f"{d}_R@{k}" for d in ("t2i", "i2t") for k in (1, 5, 10)]
        _report("retrieval", result, encoder, model, output, keys)

    @eval_app.command("specificity", help=SPECIFICITY_HELP)
    def specificity_command(
        data: DataArg, model: ModelOpt,
        split: Annotated[str, typer.Option("--split", help="Split of a datasets folder.")] = "test",
        legacy_mask: Annotated[bool, typer.Option("--legacy-mask", help="Count captions as the SPECS script "
                               "does (cosine > 0), which drops pairs with negative cosines.")] = False,
        limit: LimitOpt = None, output: OutputOpt = None, batch_size: BatchSizeOpt = 64,
        device: DeviceOpt = None, workers: WorkersOpt = 2,
    ) -> None:
        from mmscore.evaluation import datasets as ds
        from mmscore.evaluation.specificity import evaluate_specificity

        _check_output(output, data)
        dataset = ds.load_specificity_set(data, split=split, limit=limit)
        encoder = _load(model, device, batch_size)
        result = evaluate_specificity(encoder, dataset, batch_size=batch_size, workers=workers,
                                      legacy_mask=legacy_mask)
        _report("specificity", result, encoder, model, output, ["Pos", "Neg", "Avg"])


def _check_output(output: Path | None, *inputs: Path | None) -> None:
    """Refuse an output that is an input; check it (or the working folder) is writable, before loading."""
    from mmscore.io.outputs import check_writable_dir, prepare_outputs

    if output is None:
        check_writable_dir(Path("."))
    else:
        prepare_outputs([output], list(inputs))


def _is_cifar(path: Path) -> bool:
    if path.is_dir():
        return (path / "test_batch").is_file() or ((path / "test").is_file() and (path / "meta").is_file())
    return path.name in ("test_batch", "test")


def _retrieval_kind(path: Path) -> str:
    from mmscore.errors import InputError

    if path.is_dir():
        if (path / "image").is_dir() and (path / "caption").is_dir():
            return "urban1k"
        if (path / "results_20130124.token").is_file():
            return "flickr30k"
    elif path.suffix.lower() == ".json":
        return "karpathy" if path.name.lower().startswith("dataset_") else "coco"
    elif path.suffix.lower() == ".token" or path.name.endswith(".token.txt"):
        return "flickr30k"
    raise InputError(f"{path}: cannot tell the dataset layout; pass --dataset coco|urban1k|flickr30k|karpathy")


def _load(model: str, device: str | None, batch_size: int) -> Any:
    from mmscore.models.clip import load_clip

    return load_clip(model, device=device, batch_size=batch_size)


def _report(task: str, result: dict[str, Any], encoder: Any, model: str, output: Path | None,
            keys: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from mmscore.io.atomic import atomic_write_json
    from mmscore.provenance import run_info

    settings = {"task": task, "model": model, "fp": encoder.fingerprint, "ctx": encoder.context_length,
                "img": encoder.image_size}
    record = {"results": result, **run_info(settings)}
    output = output or Path(f"eval_{task}_{_safe(result['dataset'])}.json")
    atomic_write_json(output, record)
    console = Console()
    table = Table(title=f"{task}: {result['dataset']} ({model})")
    for key in keys:
        table.add_column(key, justify="right")
    table.add_row(*[f"{result[key]:.2f}" if key in result else "-" for key in keys])
    console.print(table)
    counts = ", ".join(f"{k}={v}" for k, v in result.items() if k.startswith("n_"))
    console.print(f"[dim]{counts}[/dim]")
    console.print(f"[dim]signature: {record['signature']}[/dim]")
    console.print(f"wrote {output}")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
