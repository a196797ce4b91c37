"""``mmscore train specs | longclip``: fine-tune a CLIP encoder (several devices: ``torchrun``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import EPILOG, group
from mmscore.cli.options import DeviceOpt

InitOpt = Annotated[str, typer.Option("--init", help="Start checkpoint (.pt state dict or TorchScript file).")]
DataOpt = Annotated[Path, typer.Option("--data", help="Prepared training data: a datasets folder (save_to_disk) "
                                       "or a JSONL/JSON/CSV/parquet table (see `mmscore train prepare`).")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Output folder: model.pt (Long-CLIP layout), "
                                      "model.json card, log.csv, eval.csv, checkpoints/.")]
EpochsOpt = Annotated[int, typer.Option("--epochs", min=1, help="Passes over the data.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=2, help="Images per device per micro-batch.")]
AccumOpt = Annotated[int, typer.Option("--accumulation", min=1, help="Micro-batches per optimizer step.")]
LrOpt = Annotated[float, typer.Option("--lr", min=0.0, help="AdamW peak learning rate.")]
WdOpt = Annotated[float, typer.Option("--weight-decay", min=0.0, help="AdamW decoupled weight decay.")]
WarmupOpt = Annotated[int, typer.Option("--warmup", min=0, help="Linear warm-up, in optimizer steps.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the data order, text choices and initial RNG.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=0, help="DataLoader processes (decode + tokenise).")]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="auto (fp16 + GradScaler on CUDA, fp32 on CPU), "
                                           "fp32, fp16 or bf16.")]
MaxStepsOpt = Annotated[int, typer.Option("--max-steps", min=0, help="Stop after N optimizer steps (0: all "
                                          "epochs); the schedule keeps its full length, --resume continues.")]
SaveOpt = Annotated[int, typer.Option("--save-every", min=0, help="Resumable checkpoint every N steps.")]
EvalDataOpt = Annotated[Optional[Path], typer.Option("--eval-data", help="Held-out sDCI-style set (image, captions, "
                                                     "neg_captions) for SPECS Pos/Neg/Avg and R@1.")]
EvalEveryOpt = Annotated[int, typer.Option("--eval-every", min=0, help="Evaluate every N steps (and at the end).")]
EvalLimitOpt = Annotated[Optional[int], typer.Option("--eval-limit", min=1, help="Use the first N held-out images.")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue the run saved in the output folder.")]
OffsetOpt = Annotated[bool, typer.Option("--schedule-from-one", help="As train_spec.py: the first scheduler call "
                                         "uses t=1 (peak one step early, last step at lr 0).")]


def _run(recipe, args: dict) -> None:
    """Train ``recipe`` with the command's arguments (``locals()`` of the command function)."""
    from dataclasses import fields

    from mmscore.training.engine import TrainSettings
    from mmscore.training.run import run_training

    names = {f.name for f in fields(TrainSettings)} - {"schedule_offset"}
    settings = TrainSettings(**{k: v for k, v in args.items() if k in names},
                             schedule_offset=int(args["schedule_from_one"]))
    eval_data = args["eval_data"]
    card = run_training(recipe, args["init"], args["data"], args["output"], settings, resume=args["resume"],
                        eval_data=str(eval_data) if eval_data else None, eval_limit=args["eval_limit"])
    if card is not None:  # the main process reports; torchrun's other workers stay quiet
        typer.echo(json.dumps({k: card[k] for k in ("model", "steps", "final_train", "final_eval")}, indent=2))


def specs_command(
    init: InitOpt, data: DataOpt, output: OutOpt,
    epochs: EpochsOpt = 6, batch_size: BatchOpt = 100, accumulation: AccumOpt = 4, lr: LrOpt = 1e-5,
    weight_decay: WdOpt = 0.01, warmup: WarmupOpt = 40, seed: SeedOpt = 0, workers: WorkersOpt = 2,
    precision: PrecisionOpt = "auto", max_steps: MaxStepsOpt = 0, save_every: SaveOpt = 1000,
    eval_data: EvalDataOpt = None, eval_every: EvalEveryOpt = 0, eval_limit: EvalLimitOpt = None,
    device: DeviceOpt = None, resume: ResumeOpt = False, schedule_from_one: OffsetOpt = False,
    lambda_contrastive: Annotated[float, typer.Option("--lambda-contrastive", help="λc: text→image InfoNCE.")] = 1.0,
    lambda_detail: Annotated[float, typer.Option("--lambda-detail", help="λd: detail hinge.")] = 8.0,
    lambda_negative: Annotated[float, typer.Option("--lambda-negative", help="λn: negative hinge.")] = 0.8,
    epsilon: Annotated[float, typer.Option("--epsilon", help="Hinge margin in logit units; 0 = adaptive "
                                           "(run_spec.sh).")] = 0.0,
    train_frozen_positions: Annotated[bool, typer.Option(
        "--train-frozen-positions", help="As train_spec.py: also train positional_embedding (Long-CLIP keeps "
        "it frozen; off by default).")] = False,
    train_resize: Annotated[str, typer.Option(
        "--train-resize", help="Training image resize: pil (the scoring pipeline) or tensor (as train_spec.py: "
        "uint8 bicubic without antialiasing).")] = "pil",
) -> None:
    """SPECS: InfoNCE + detail and negative hinges on chunk chains, from a Long-CLIP checkpoint.

    Defaults are run_spec.sh's: λ 1/8/0.8, adaptive margin, AdamW lr 1e-5 wd 0.01, 40 warm-up
    steps, 6 epochs, 100 per device × 4. Several devices: torchrun --nproc_per_node N -m mmscore train specs ...
    """
    args = dict(locals())
    from mmscore.training.losses import SpecsWeights
    from mmscore.training.recipes import SpecsRecipe

    recipe = SpecsRecipe(SpecsWeights(lambda_contrastive, lambda_detail, lambda_negative, epsilon),
                         train_frozen_positions)
    _run(recipe, args)


def longclip_command(
    init: InitOpt, data: DataOpt, output: OutOpt,
    epochs: EpochsOpt = 6, batch_size: BatchOpt = 128, accumulation: AccumOpt = 1, lr: LrOpt = 1e-6,
    weight_decay: WdOpt = 0.01, warmup: WarmupOpt = 200, seed: SeedOpt = 0, workers: WorkersOpt = 2,
    precision: PrecisionOpt = "auto", max_steps: MaxStepsOpt = 0, save_every: SaveOpt = 1000,
    eval_data: EvalDataOpt = None, eval_every: EvalEveryOpt = 0, eval_limit: EvalLimitOpt = None,
    device: DeviceOpt = None, resume: ResumeOpt = False, schedule_from_one: OffsetOpt = False,
    short_weight: Annotated[float, typer.Option("--short-weight", help="Weight of the short-caption loss "
                                                "(0.1: Long-CLIP's first release).")] = 1.0,
    components: Annotated[int, typer.Option("--pca-components", min=1, help="Primary components kept.")] = 32,
    stretch_precision: Annotated[str, typer.Option("--stretch-precision", help="Precision of the 77→248 "
                                                   "stretch: fp32, or fp16 as load_from_clip on a GPU.")] = "fp32",
) -> None:
    """Long-CLIP: stretch a 77-token CLIP to 248 positions (or continue a Long-CLIP checkpoint) and
    train long + short (PCA-32) symmetric losses with label smoothing 0.1, features gathered
    across devices. Defaults are Long-CLIP's train.md (lr 1e-6, 200 warm-up steps, 128 per device).
    """
    args = dict(locals())
    from mmscore.training.recipes import LongClipRecipe

    recipe = LongClipRecipe(components=components, short_weight=short_weight, stretch_precision=stretch_precision)
    _run(recipe, args)


def prepare_command(
    recipe: Annotated[str, typer.Argument(help="sharegpt4v, dci or long-short.")],
    source: Annotated[Path, typer.Argument(help="sharegpt4v / long-short: the share-captioner_*.json file; "
                                           "dci: the densely_captioned_images folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (data.parquet, missing.tsv, "
                                         "prepare.json; re-running continues a killed run).")],
    images: Annotated[Optional[Path], typer.Option("--images", help="Image root the JSON's relative paths "
                                                   "start from (default: the JSON's folder).")] = None,
    split: Annotated[str, typer.Option("--split", help="dci: the splits.json split.")] = "train",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the negative draws and shuffles.")] = 42,
    shuffle_fraction: Annotated[float, typer.Option("--shuffle-fraction", min=0.0, max=1.0, help="sharegpt4v: the "
                                                    "first fraction of rows get word-shuffled negatives.")] = 0.9,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=3, help="Chains stop before a text exceeds this "
                                            "many CLIP tokens (SOT/EOT included).")] = 248,
    full_decode: Annotated[bool, typer.Option("--full-decode", help="Decode every image whole (the default "
                                              "opens headers only, as the original).")] = False,
) -> None:
    """Training tables: SPECS chunk chains (sharegpt4v, dci) or Long-CLIP long/short pairs.

    The chunker needs NLTK's punkt_tab and averaged_perceptron_tagger_eng data (the error says how
    to get them). Missing or unreadable images are listed in missing.tsv.
    """
    from mmscore.training.prepare import PrepareSettings, prepare

    summary = prepare(PrepareSettings(recipe, source, output, images, split, seed, shuffle_fraction, max_tokens,
                                      full_decode))
    typer.echo(json.dumps(summary, indent=2))


def register(app: typer.Typer) -> None:
    train_app = group("train")
    train_app.command("specs", epilog=EPILOG)(specs_command)
    train_app.command("longclip", epilog=EPILOG)(longclip_command)
    train_app.command("prepare", epilog=EPILOG)(prepare_command)
