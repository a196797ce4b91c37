"""Demo part: `mmscore train specs` on toy-world chunk chains, from the shipped demo model.

A few steps only show the mechanics (data on disk, held-out evaluation at the start and the end,
the Long-CLIP ``.pt`` that scoring loads, the model card and logs); whether the SPECS objective
raises Pos and Neg takes 200 steps: ``python tools/toy_specs_check.py`` (README, "Toy-world check").
"""

from __future__ import annotations

ORDER = 45
TITLE = "Fine-tuning with the SPECS objective (mmscore train specs) on toy-world chains"

N_TRAIN, N_HELD_OUT, BATCH = 48, 32, 8


def _write_rows(rows, folder):
    """Pictures as PNG files and the chains in ``data.parquet`` (the layout `train prepare` writes)."""
    import pandas as pd
    from PIL import Image

    (folder / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for row in rows:
        name = f"images/{row['seed']}.png"
        Image.fromarray(row["image"]).save(folder / name)
        records.append({"image": name, "caption": row["caption"], "captions": row["captions"],
                        "neg_captions": row["neg_captions"]})
    path = folder / "data.parquet"
    pd.DataFrame(records).to_parquet(path)
    return path


def run(ctx) -> list[str]:
    import json

    import pandas as pd

    from mmscore.models.clip import load_clip
    from mmscore.models.hub import demo_checkpoint_path
    from mmscore.training.engine import TrainSettings
    from mmscore.training.losses import SpecsWeights
    from mmscore.training.recipes import SpecsRecipe
    from mmscore.training.run import run_training
    from mmscore.training.toycheck import ToyFineTune, held_out_rows, training_rows

    folder = ctx.workspace / "training"
    data = _write_rows(training_rows(N_TRAIN), folder / "train")
    held_out = _write_rows(held_out_rows(N_HELD_OUT), folder / "held_out")
    out = folder / "specs_run"
    toy = ToyFineTune()
    weights = toy.weights
    settings = TrainSettings(epochs=1, batch_size=BATCH, accumulation=1, lr=toy.lr, warmup=2, seed=0, workers=0,
                             save_every=0, device=ctx.device or "cpu")
    lines = [] if not ctx.model else [f"note: training starts from the shipped demo model, not {ctx.model}"]
    init = str(demo_checkpoint_path())
    run_training(SpecsRecipe(SpecsWeights(weights.contrastive, weights.detail, weights.negative)), init, data, out,
                 settings, eval_data=str(held_out))
    card = json.loads((out / "model.json").read_text())
    evals = pd.read_csv(out / "eval.csv")
    lines.append(f"same as: mmscore train specs --init {init} --data {data} -o {out} --eval-data {held_out} "
                 f"--lambda-detail {weights.detail:g} --lambda-negative {weights.negative:g} --lr {toy.lr:g} "
                 f"--batch-size {BATCH} --accumulation 1 --epochs 1 --warmup 2 --workers 0")
    lines.append(f"{N_TRAIN} toy scenes (shapes drawn 1.3x), {card['steps']} steps of {BATCH}; "
                 f"last loss {card['final_train']['loss']:.4f} -> {out / 'model.pt'} (+ model.json, log.csv, eval.csv)")
    for _, row in evals.iloc[[0, -1]].iterrows():
        lines.append(f"  held-out ({N_HELD_OUT} scenes) at step {int(row['step'])}: Pos {row['pos']:.1f}, "
                     f"Neg {row['neg']:.1f}, R@1 text->image {row['t2i_r1']:.1f}")
    encoder = load_clip(str(out / "model.pt"), device="cpu")
    lines.append(f"  the output loads for scoring: load_clip -> {encoder.name} ({encoder.context_length} tokens)")
    lines.append("  a few steps show the mechanics; the SPECS behaviour (Pos and Neg above the start and a "
                 "contrastive-only control) takes 200: python tools/toy_specs_check.py")
    return lines
