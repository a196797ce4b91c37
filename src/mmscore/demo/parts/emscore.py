"""Demo part: EMScore of synthetic toy-world clips with true and one-attribute-wrong captions."""

from __future__ import annotations

ORDER = 30
TITLE = "EMScore for video captions (EMScoreEval, official whole-video algorithm)"

N_CLIPS = 4
WRONG_ATTRIBUTES = ("direction", "color")


def run(ctx) -> list[str]:
    import json

    import pandas as pd

    from mmscore.demo.clip_encoder import demo_encoder
    from mmscore.io.storage import FileStorage
    from mmscore.io.tables import read_table, write_table
    from mmscore.operators.emscore import EMScoreEval
    from mmscore.toyworld import random_video_scene, short_caption, write_scene_video, wrong_caption

    folder = ctx.workspace / "emscore"
    rows = []
    for seed in range(N_CLIPS):
        scene = random_video_scene(seed=100 + seed, n_frames=16, events=("move",))
        video = write_scene_video(scene, folder / "videos" / f"clip_{seed}.mp4")
        truth = short_caption(scene)
        name = f"videos/{video.name}"
        rows.append({"video_path": name, "candidate": truth, "reference": truth, "caption": "true"})
        for attribute in WRONG_ATTRIBUTES:
            rows.append({"video_path": name, "candidate": wrong_caption(scene, attribute), "reference": truth,
                         "caption": f"wrong {attribute}"})
    rows.append({"video_path": "videos/missing.mp4", "candidate": "a clip that does not exist", "reference": None,
                 "caption": "missing video"})
    entry = write_table(pd.DataFrame(rows), folder / "captions.jsonl")

    encoder, spec, note = demo_encoder(ctx, "emscore", "show the mechanics only, not caption quality")
    lines = [f"note: {note}"] if note else []
    storage = FileStorage(str(entry), cache_path=str(folder / "cache"), file_name_prefix="emscore")
    evaluator = EMScoreEval(every_n_seconds=0.5, return_all_frames=True, clip_model_path=spec)
    evaluator.configure(encoder=encoder, cache_dir=folder / "video-cache")
    evaluator.run(storage.step())
    out_path = folder / "cache" / "emscore_step1.jsonl"
    result = read_table(out_path)

    lines.append(f"scored {len(result)} captions of {N_CLIPS} clips (true, wrong direction, wrong colour, "
                 f"one missing video) with {spec} -> {out_path}")
    column = "EMScore(X,V)_full_F"
    for kind in ["true"] + [f"wrong {a}" for a in WRONG_ATTRIBUTES]:
        mean = result.loc[result["caption"] == kind, column].astype(float).mean()
        lines.append(f"  {column} mean, {kind} captions: {mean:.4f}")
    scored = result[result[column].notna()]
    wins = sum(
        int(group.loc[group["caption"] == "true", column].iloc[0] > group.loc[group["caption"] != "true", column].max())
        for _, group in scored.groupby("video_path")
    )
    lines.append(f"  the true caption beats both wrong ones (caption vs video only) for {wins}/{N_CLIPS} clips")
    missing = result.loc[result["caption"] == "missing video", "emscore_error"].iloc[0]
    lines.append(f"  missing video -> null scores, emscore_error: {missing}")
    first = json.loads(result.loc[0, "frame_details"])
    stamps = ", ".join(f"{entry['timestamp']:g}s" for entry in first)
    lines.append(f"  frame_details of row 0: {len(first)} frames at {stamps}")
    lines.append(f"  signature: {evaluator.signature}")
    ctx.shared["emscore_scores"] = str(out_path)
    return lines
