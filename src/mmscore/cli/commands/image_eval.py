"""``mmscore eval zeroshot | retrieval | specificity``: the SPECS / Long-CLIP evaluation suite.

Dataset layouts and their detection live in :mod:`mmscore.evaluation.layouts`, the run record in
:mod:`mmscore.evaluation.record`; the commands only parse flags and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mmscore.cli.app import EPILOG, group
from mmscore.cli.options import BatchSizeOpt, DeviceOpt, JsonOpt, WorkersOpt, command

DataArg = Annotated[Path, typer.Argument(help="Dataset file or folder (see the command help for layouts).")]
ModelOpt = Annotated[str, typer.Option("--model", help="Encoder: checkpoint file/folder, transformers folder, "
                                       "hub id or mmscore-demo.")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only the first N items (smoke runs).")]
EvalOutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Result record; .json keeps it "
                          "nested, .csv/.parquet/.jsonl write one flattened row (default: eval_<task>_<data>.json).")]

ZEROSHOT_HELP = f"""Zero-shot top-1/top-5 accuracy with a prompt ensemble.

Layouts: an ImageNet-style folder of class sub-folders (1,000 n######## folders get OpenAI's
CLIP class names; otherwise folder names or --class-names), CIFAR-10 'cifar-10-batches-py/'
(test_batch + batches.meta) or CIFAR-100 'cifar-100-python/' (test + meta). --limit counts
images per class for folders, images in total for CIFAR.

Examples:

  mmscore eval zeroshot data/imagenet/val --model ./longclip-B.pt

  mmscore eval zeroshot data/cifar-10-batches-py --model ./spec.pt --templates cifar -o cifar10.csv

{EPILOG}
"""

RETRIEVAL_HELP = f"""Text-to-image and image-to-text recall@1/5/10.

Layouts: COCO 'annotations/captions_val2017.json' (images from ../val2017 or --images; first 5
captions per image), Urban1k folder with image/*.jpg and caption/*.txt, Flickr30k
'results_20130124.token' (images from flickr30k-images/ beside it or --images), or a Karpathy
split file 'dataset_flickr30k.json' / 'dataset_coco.json' (--split test: the 1k/5k test images).

Examples:

  mmscore eval retrieval data/coco/annotations/captions_val2017.json --model ./longclip-L.pt

  mmscore eval retrieval data/flickr30k/dataset_flickr30k.json --images data/flickr30k/images --model ./spec.pt

  mmscore eval retrieval data/Urban1k --model ./longclip-B.pt --json

{EPILOG}
"""

SPECIFICITY_HELP = f"""SPECS intrinsic specificity (Pos / Neg / Avg) on sDCI-style data.

Layouts: a Hugging Face datasets folder saved with save_to_disk (needs 'pip install datasets';
the split is --split) with columns image, captions, neg_captions; or, without the datasets
package, a JSONL/JSON/CSV/parquet table with the same fields (captions as lists).

Examples:

  mmscore eval specificity data/sDCI --model ./spec.pt

  mmscore eval specificity sdci_test.jsonl --model ./spec.pt -o specificity.json

{EPILOG}
"""


@command
def zeroshot_command(
    data: DataArg, model: ModelOpt,
    class_names: Annotated[Optional[Path], typer.Option("--class-names", help="Class names file for a folder "
                           "dataset (one per line, '<folder> <name>' lines, or JSON).")] = None,
    templates: Annotated[str, typer.Option("--templates", help="Prompt set: imagenet (the 80 OpenAI templates, as "
                         "Long-CLIP/SPECS use for all sets) or cifar (OpenAI's 18).")] = "imagenet",
    limit: LimitOpt = None, output: EvalOutputOpt = None, batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = None, workers: WorkersOpt = 2, as_json: JsonOpt = False,
) -> None:
    from mmscore.cli.options import forbid, given_options
    from mmscore.errors import ConfigError
    from mmscore.evaluation.layouts import is_cifar, load_classification_set
    from mmscore.evaluation.templates import TEMPLATE_SETS
    from mmscore.evaluation.zeroshot import evaluate_zeroshot
    from mmscore.registry import suggest

    if templates not in TEMPLATE_SETS:
        raise ConfigError(f"--templates must be one of {', '.join(TEMPLATE_SETS)}; got {templates!r}."
                          + suggest(templates, list(TEMPLATE_SETS)))
    if is_cifar(data):
        forbid(given_options(), ["class_names"], "for CIFAR (its meta file names the classes)")
    _check_output(output, data, class_names)
    dataset = load_classification_set(data, class_names, limit)
    encoder = _load(model, device, batch_size)
    result = evaluate_zeroshot(encoder, dataset, TEMPLATE_SETS[templates], batch_size=batch_size,
                               workers=workers or 0)
    result["templates"] = templates
    _report("zeroshot", result, encoder, model, output, ["top1", "top5"], as_json)


@command
def retrieval_command(
    data: DataArg, model: ModelOpt,
    dataset_kind: Annotated[str, typer.Option("--dataset", help="auto, coco, urban1k, flickr30k or karpathy "
                            "(dataset_flickr30k.json / dataset_coco.json split files).")] = "auto",
    split: Annotated[str, typer.Option("--split", help="Karpathy split files: the split to evaluate.")] = "test",
    images: Annotated[Optional[Path], typer.Option("--images", help="Image folder (COCO / Flickr30k / "
                      "Karpathy).")] = None,
    split_file: Annotated[Optional[Path], typer.Option("--split-file", help="Flickr30k: file of image names to "
                          "keep (e.g. the 1k test split).")] = None,
    captions_per_image: Annotated[int, typer.Option("--captions-per-image", min=1,
                                  help="COCO / Flickr30k / Karpathy captions per image.")] = 5,
    block_size: Annotated[int, typer.Option("--block-size", min=1, help="Rows per similarity block.")] = 1024,
    limit: LimitOpt = None, output: EvalOutputOpt = None, batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = None, workers: WorkersOpt = 2, as_json: JsonOpt = False,
) -> None:
    from mmscore.evaluation.layouts import load_retrieval_set, retrieval_layout
    from mmscore.evaluation.retrieval import evaluate_retrieval

    kind = retrieval_layout(data) if dataset_kind == "auto" else dataset_kind
    _forbid_for_layout(kind)
    _check_output(output, data, images, split_file)
    dataset = load_retrieval_set(kind, data, images, split, split_file, captions_per_image, limit)
    encoder = _load(model, device, batch_size)
    result = evaluate_retrieval(encoder, dataset, batch_size=batch_size, workers=workers or 0,
                                block_size=block_size)
    keys = [f"{d}_R@{k}" for d in ("t2i", "i2t") for k in (1, 5, 10)]
    _report("retrieval", result, encoder, model, output, keys, as_json)


#: retrieval options and the layouts they apply to (elsewhere they would be silently ignored)
_LAYOUT_OPTIONS = {"split": ("karpathy",), "images": ("coco", "flickr30k", "karpathy"), "split_file": ("flickr30k",),
                   "captions_per_image": ("coco", "flickr30k", "karpathy")}


def _forbid_for_layout(kind: str) -> None:
    from mmscore.cli.options import forbid, given_options

    given = given_options()
    forbid(given, [name for name, kinds in _LAYOUT_OPTIONS.items() if kind not in kinds],
           f"for the {kind} layout")


@command
def specificity_command(
    data: DataArg, model: ModelOpt,
    split: Annotated[str, typer.Option("--split", help="Split of a datasets folder.")] = "test",
    legacy_mask: Annotated[bool, typer.Option("--legacy-mask", help="Count captions as the SPECS script does "
                           "(cosine > 0), which drops pairs with negative cosines.")] = False,
    limit: LimitOpt = None, output: EvalOutputOpt = None, batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = None, workers: WorkersOpt = 2, as_json: JsonOpt = False,
) -> None:
    from mmscore.evaluation.layouts import LAYOUTS
    from mmscore.evaluation.specificity import evaluate_specificity

    _check_output(output, data)
    dataset = LAYOUTS.get("sdci")(data, split=split, limit=limit)
    encoder = _load(model, device, batch_size)
    result = evaluate_specificity(encoder, dataset, batch_size=batch_size, workers=workers or 0,
                                  legacy_mask=legacy_mask)
    _report("specificity", result, encoder, model, output, ["Pos", "Neg", "Avg"], as_json)


def _check_output(output: Path | None, *inputs: Path | None) -> None:
    """Before loading anything: a known extension, not an input, writable (else the working folder is)."""
    from mmscore.io.outputs import check_writable_dir, prepare_outputs
    from mmscore.io.records import check_record_path

    if output is None:
        check_writable_dir(Path("."))
        return
    check_record_path(output)  # an unknown extension fails before the encoder runs
    prepare_outputs([output], list(inputs))


def _load(model: str, device: str | None, batch_size: int) -> Any:
    from mmscore.models.clip import load_clip

    return load_clip(model, device=device, batch_size=batch_size)


def _report(task: str, result: dict[str, Any], encoder: Any, model: str, output: Path | None,
            keys: list[str], as_json: bool) -> None:
    from mmscore.cli.results import Printer
    from mmscore.evaluation.record import default_output, evaluation_record
    from mmscore.io.records import write_record

    record = evaluation_record(task, result, encoder, model)
    output = output or default_output(task, result["dataset"])
    write_record(record, output)
    printer = Printer(as_json)
    printer.table(f"{task}: {result['dataset']} ({model})", keys,
                  [[f"{result[key]:.2f}" if key in result else "-" for key in keys]])
    printer.note(", ".join(f"{k}={v}" for k, v in result.items() if k.startswith("n_")))
    printer.note(f"signature: {record['signature']}")
    printer.wrote(output)
    printer.finish({"command": f"eval {task}", **record})


def register(app: typer.Typer) -> None:  # noqa: ARG001 - the commands live in the shared "eval" group
    eval_app = group("eval")
    eval_app.command("zeroshot", help=ZEROSHOT_HELP, short_help="Zero-shot top-1/top-5 accuracy.")(zeroshot_command)
    eval_app.command("retrieval", help=RETRIEVAL_HELP, short_help="Text-image retrieval recall@K.")(
        retrieval_command)
    eval_app.command("specificity", help=SPECIFICITY_HELP, short_help="SPECS intrinsic specificity.")(
        specificity_command)
