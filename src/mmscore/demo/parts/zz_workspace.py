"""Demo part: the toy-world workspace (clips, pictures, caption tables) and what the model sees in it.

Writes ``<workspace>/toyworld/`` with clips (a shape moving in each direction, one appearing, one
changing colour), still pictures, and two tables of true and one-attribute-wrong captions
(``videos.jsonl``: ``video_path, candidate, reference, kind, correct``; ``images.jsonl``:
``image_path, text, kind, correct``). Paths go into ``ctx.shared["toyworld"]`` for later parts.
Then it checks, with the demo model (or ``--model``), that true captions outrank wrong ones.
"""

from __future__ import annotations

from pathlib import Path

ORDER = 20
TITLE = "Toy world: synthetic clips and pictures with true and wrong captions"

N_IMAGES = 6
WRONG_IMAGE_ATTRIBUTES = ("color", "shape", "position")


def _clips():
    from mmscore.toyworld import DEMO_SEED_START, DIRECTIONS, VideoScene, random_video_scene

    clips = []
    for number, direction in enumerate(DIRECTIONS):
        scene = random_video_scene(DEMO_SEED_START + number, events=("move",))
        clips.append(
            VideoScene(
                scene.actor,
                "move",
                direction,
                None,
                scene.distractor,
                scene.background,
                scene.n_frames,
                scene.frame_size,
                scene.fps,
                scene.seed,
            )
        )
    clips.append(random_video_scene(DEMO_SEED_START + 10, events=("appear",)))
    clips.append(random_video_scene(DEMO_SEED_START + 11, events=("change",)))
    return clips


def build_workspace(folder: Path) -> dict:
    """Render the clips and pictures and write the caption tables; returns the paths."""
    import pandas as pd

    from mmscore.io.tables import write_table
    from mmscore.toyworld import (
        DEMO_SEED_START,
        detail_sentences,
        long_caption,
        random_image_scene,
        save_image,
        short_caption,
        write_scene_video,
        wrong_caption,
        wrong_detail,
    )

    video_rows, videos = [], []
    for number, clip in enumerate(_clips()):
        name = f"videos/clip_{number}_{clip.event}.mp4"
        videos.append(write_scene_video(clip, folder / name))
        truth = long_caption(clip)
        video_rows.append(
            {"video_path": name, "candidate": short_caption(clip), "reference": truth, "kind": "true", "correct": True}
        )
        third = {"move": "direction", "appear": "position", "change": "new_color"}[clip.event]
        for attribute in ("color", "shape", third):
            video_rows.append(
                {
                    "video_path": name,
                    "candidate": wrong_caption(clip, attribute, seed=number),
                    "reference": truth,
                    "kind": f"wrong {attribute}",
                    "correct": False,
                }
            )

    image_rows, images = [], []
    for number in range(N_IMAGES):
        scene = random_image_scene(DEMO_SEED_START + 100 + number)
        name = f"images/scene_{number}.png"
        images.append(save_image(scene, folder / name))
        image_rows.append({"image_path": name, "text": short_caption(scene), "kind": "true", "correct": True})
        for attribute in WRONG_IMAGE_ATTRIBUTES:
            image_rows.append(
                {
                    "image_path": name,
                    "text": wrong_caption(scene, attribute, seed=number),
                    "kind": f"wrong {attribute}",
                    "correct": False,
                }
            )
        for k in range(1, len(detail_sentences(scene)) + 1):
            image_rows.append(
                {"image_path": name, "text": long_caption(scene, k), "kind": f"long {k}", "correct": True}
            )
            if k > 1:
                image_rows.append(
                    {
                        "image_path": name,
                        "text": long_caption(scene, k - 1) + " " + wrong_detail(scene, k - 1, seed=number),
                        "kind": f"long {k - 1} + wrong detail",
                        "correct": False,
                    }
                )
    return {
        "folder": folder,
        "videos": videos,
        "images": images,
        "videos_table": write_table(pd.DataFrame(video_rows), folder / "videos.jsonl"),
        "images_table": write_table(pd.DataFrame(image_rows), folder / "images.jsonl"),
    }


def check_images(encoder, table: Path) -> list[str]:
    """How often true captions beat wrong ones, by the (cos + 1) / 2 score of the encoder."""
    from mmscore.io.tables import read_table

    df = read_table(table)
    folder = table.parent
    paths = list(dict.fromkeys(df["image_path"]))
    image_vectors = dict(zip(paths, encoder.encode_images([folder / p for p in paths]), strict=True))
    text_vectors = encoder.encode_texts(df["text"].tolist())
    df["score"] = [float((image_vectors[p] @ t + 1) / 2) for p, t in zip(df["image_path"], text_vectors, strict=True)]
    short_wins = short_total = rises = falls = steps = 0
    for _, group in df.groupby("image_path", sort=False):
        scores = dict(zip(group["kind"], group["score"], strict=True))
        for attribute in WRONG_IMAGE_ATTRIBUTES:
            short_total += 1
            short_wins += int(scores["true"] > scores[f"wrong {attribute}"])
        k = 1
        while f"long {k + 1}" in scores:
            rises += int(scores[f"long {k + 1}"] > scores[f"long {k}"])
            falls += int(scores[f"long {k} + wrong detail"] < scores[f"long {k}"])
            steps += 1
            k += 1
    right = df.loc[df["correct"], "score"].mean()
    wrong = df.loc[~df["correct"], "score"].mean()
    return [
        f"  true short caption beats its wrong-colour/shape/position twin: {short_wins}/{short_total}",
        f"  long caption + a true detail scores higher: {rises}/{steps}; + a wrong detail scores lower: "
        f"{falls}/{steps}",
        f"  mean (cos+1)/2: true captions {right:.3f}, wrong captions {wrong:.3f}",
    ]


def run(ctx) -> list[str]:
    from mmscore.models.clip import load_clip

    paths = build_workspace(ctx.workspace / "toyworld")
    ctx.shared["toyworld"] = paths
    lines = [
        f"{len(paths['videos'])} clips and {len(paths['images'])} pictures in {paths['folder']}",
        f"  caption tables: {paths['videos_table']} (video_path, candidate, reference, kind, correct), "
        f"{paths['images_table']} (image_path, text, kind, correct)",
    ]
    spec = ctx.model or "mmscore-demo"
    encoder = load_clip(spec, device=ctx.device)
    lines.append(f"  pictures scored with {spec}:")
    lines += check_images(encoder, paths["images_table"])
    return lines
