"""Train ``mmscore-demo``: a tiny CLIP that really understands the toy world (``mmscore.toyworld``).

Why: random-weight test models prove the maths, not that scores *mean* something. This model
knows six colours, five shapes, five positions, two sizes, three backgrounds, four directions of
motion, appearing and colour changes; it is shipped inside the package (``mmscore-demo``) for
``mmscore demo`` and for the semantic tests. It is a toy: never use it for real evaluation.

Architecture: OpenAI CLIP layout (ViT image tower, causal text transformer pooled at EOT, linear
projections, quick-GELU), built as a transformers ``CLIPModel`` from the same architecture
description the loader uses (``mmscore.models.architecture.hf_config``) and exported to the
Long-CLIP checkpoint layout (248 positions, ``positional_embedding`` + ``positional_embedding_res``)
in half precision. Tokenizer: mmscore's CLIP BPE (``mmscore.models.tokenizer``).
Image tower: 96 px pictures cut into a 6x6 grid of 16 px patches (2x2 patches per named position
of the toy world); vision patch positions start from a 2-D sine/cosine table (trained).
Why patch supervision (``patch_weight``): with only the CLS-pooled embedding to learn from, the
image tower learned colours within the CPU budget but stayed at chance on shapes (runs with 8 px
patches, 1500 steps, stronger position initialisation, attribute heads on the CLS embedding all
failed the same way). Telling patch tokens directly what is drawn in them (colour, shape and size
of a still's object, read from the patches of its position; ``actor_patches``: colour, shape, size
and motion of a clip's actor, read from the patch under the actor's centre) makes patch tokens
learn shapes and trails, and the contrastive loss with hard negatives then carries them into the
pooled embedding. Why 16 px patches: with 32 px ones (3x3) positions stayed at chance, so the
pooled embedding could not say on which side of the frame a shape is; together with clips that
move from the centre towards the edge they head for (``mmscore.toyworld.render.MOVE_SPAN``) that
is what makes the direction of motion visible in every frame. ``long_negatives``: long-caption
hard negatives also change sizes and any named shape. The 32 px / 800-step recipe of the previous
model is ``--patch-size 32 --steps 800 --no-actor-patches --no-long-negatives`` (MODEL_CARD.md
"Experiments"). What the model still cannot do is in MODEL_CARD.md.

The shipped model is two runs: the defaults (stage 1, from scratch), then ``--init`` that file
with ``--steps 3200 --lr 3e-4 --warmup 60 --n-video-scenes 7200 --video-fraction 0.7`` (stage 2:
a fine-tune on six times the clips, which lifted moving shapes from 0.83 to 0.95; the exact
commands are in MODEL_CARD.md "Training").

Training data (all rendered on the fly from seeds, nothing downloaded):
* still scenes (1-3 shapes) from scene seeds ``[0, TRAIN_SEED_END)``;
* clips (move/appear/change, 12 frames 96 px), encoded with mpeg4 and decoded again so training
  sees the same codec artefacts as scoring a real video file; each decoded frame is a sample.

Objective, per batch of B pictures: symmetric InfoNCE between pictures and a true caption (short,
or a long caption of the first n detail sentences); for the picture->text direction each
picture also sees a hard negative (the same caption of the scene with exactly one attribute
changed); for long captions a margin ranking makes a correct extra detail raise the similarity
and a wrong extra detail lower it (the SPECS property). The text token states at every position
can also be pulled towards the picture of their caption (``token_weight``; off by default, it
did not help in our runs). The SAME linear heads read,
from the picture embedding and from the true caption's embedding, the colour/shape/size at each
position, the background and a clip's motion (auxiliary supervision, ``aux_weight``; attributes a
caption does not mention are ignored; the heads are not exported), and the patch heads above
read the vision patch tokens (not exported either).

The loop is the project's one training engine (``mmscore.training.engine.optimizer_step``) with
this objective as its recipe (``DemoRecipe``): the same warm-up + cosine schedule as
``mmscore train``, gradient clipping to norm 1, and AdamW groups without decay on embeddings,
biases and norms; the weights equal the earlier stand-alone loop's bit for bit (tested).

Held-out evaluation uses scene seeds ``HELDOUT_SEED_START + i`` (never trained on); the semantic
tests use seeds from ``TEST_SEED_START`` (constants in ``mmscore.toyworld.scenes``).

Usage::

    python tools/train_demo_clip.py                       # train, export, evaluate (writes the .pt)
    python tools/train_demo_clip.py --pool-cache /tmp/pool.npz   # keep the rendered set between runs
    python tools/train_demo_clip.py --eval-only           # re-evaluate the shipped weights
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mmscore.models.architecture import ClipArchitecture, hf_config
from mmscore.models.preprocess import CLIP_MEAN, CLIP_STD
from mmscore.models.tokenizer import default_tokenizer
from mmscore.toyworld import (
    BACKGROUNDS,
    COLORS,
    DIRECTIONS,
    HELDOUT_SEED_START,
    POSITIONS,
    SHAPES,
    TRAIN_SEED_END,
    ImageScene,
    VideoScene,
    corrupt,
    detail_sentences,
    long_caption,
    random_image_scene,
    random_video_scene,
    render_image,
    short_caption,
    wrong_caption,
    wrong_detail,
)
from mmscore.training.distributed import DistContext
from mmscore.training.engine import StepParts, optimizer_step
from mmscore.training.optim import CosineSchedule

log = logging.getLogger("train_demo_clip")

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "mmscore" / "models" / "demo" / "mmscore-demo.pt"


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 2400
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 40
    weight_decay: float = 0.05
    n_image_scenes: int = 6000
    n_video_scenes: int = 1200
    video_fraction: float = 0.5
    frames: int = 12
    image_size: int = 96
    patch_size: int = 16
    vision_width: int = 192
    text_width: int = 128
    layers: int = 4
    embed_dim: int = 128
    context_length: int = 248
    margin: float = 0.05
    rank_weight: float = 1.0
    # stills shifted by up to this many pixels (never cutting a shape off): shapes seen at every
    # offset against the patch grid, as a moving shape is (0 = no shift, the earlier runs)
    still_shift: int = 0
    token_weight: float = 0.0
    aux_weight: float = 1.0
    patch_weight: float = 1.0
    position_init_scale: float = 1.0
    # options that made the 16-px model work (MODEL_CARD.md); on in the shipped run
    actor_patches: bool = True  # a clip actor's patch learns its colour/shape/size/motion; size heads
    long_negatives: bool = True  # long-caption hard negatives also change sizes and any named shape
    patch_init_scale: float = 0.25
    threads: int = 2
    # start from this checkpoint's weights instead of random ones (a second, fine-tuning stage;
    # the auxiliary heads are not in a checkpoint and start fresh); "" = from scratch
    init: str = ""


def architecture(cfg: TrainConfig) -> ClipArchitecture:
    return ClipArchitecture(
        embed_dim=cfg.embed_dim,
        image_size=cfg.image_size,
        patch_size=cfg.patch_size,
        vision_width=cfg.vision_width,
        vision_layers=cfg.layers,
        vision_heads=cfg.vision_width // 64,
        vision_mlp=4 * cfg.vision_width,
        text_width=cfg.text_width,
        text_layers=cfg.layers,
        text_heads=cfg.text_width // 64,
        text_mlp=4 * cfg.text_width,
        context_length=cfg.context_length,
        vocab_size=49408,
    )


def build_model(cfg: TrainConfig):
    from transformers import CLIPModel

    torch.manual_seed(cfg.seed)
    config = hf_config(architecture(cfg))
    config._attn_implementation = "sdpa"
    model = CLIPModel(config)
    with torch.no_grad():  # see sincos_2d: where a patch is must be visible from the first step
        table = model.vision_model.embeddings.position_embedding.weight
        grid = cfg.image_size // cfg.patch_size
        table[1:] = cfg.position_init_scale * sincos_2d(grid, table.shape[1])
        table[0] = 0.0
        model.vision_model.embeddings.patch_embedding.weight.mul_(cfg.patch_init_scale)
    return model


def sincos_2d(grid: int, width: int) -> torch.Tensor:
    """Fixed 2-D sine/cosine patch positions [grid*grid, width] (half the channels for x, half for y).

    The default initialisation (std 0.02) makes position ~10x weaker than patch content, so a
    tiny ViT needs thousands of steps to learn *where* things are; this start (still trainable)
    gets "left"/"top" right within a few hundred CPU steps.
    """
    quarter = width // 4
    omega = 1.0 / (100.0 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    ys, xs = torch.meshgrid(
        torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing="ij"
    )
    parts = []
    for coord in (xs.flatten(), ys.flatten()):
        angles = coord[:, None] * omega[None, :]
        parts += [torch.sin(angles), torch.cos(angles)]
    table = torch.cat(parts, dim=1)
    return F.pad(table, (0, width - table.shape[1]))


# ----------------------------------------------------------------------------- data


def decode_through_codec(frames: list[np.ndarray], fps: int, folder: Path, name: str) -> np.ndarray:
    """Encode with mpeg4 and decode again: the frames a scorer will actually see."""
    import av

    from mmscore.testing.media import write_video

    path = write_video(folder / f"{name}.mp4", frames, fps=fps)
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    path.unlink()
    return np.stack(decoded)


@dataclass
class Pool:
    images: np.ndarray  # [N, S, S, 3] uint8
    image_scenes: list[ImageScene]
    frames: np.ndarray  # [V, F, S, S, 3] uint8 (after the codec)
    video_scenes: list[VideoScene]


def build_pool(cfg: TrainConfig, cache: Path | None = None) -> Pool:
    """Render the training pictures (or reload them from ``cache``, an .npz written by an earlier run
    with the same configuration: rendering and the codec round trip take ~30 s)."""
    from mmscore.toyworld import render_video

    key = f"{cfg.n_image_scenes}-{cfg.n_video_scenes}-{cfg.frames}-{cfg.image_size}"
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            if str(data["key"]) == key:
                image_scenes = [random_image_scene(s, cfg.image_size) for s in range(cfg.n_image_scenes)]
                video_scenes = [
                    random_video_scene(TRAIN_SEED_END // 2 + s, cfg.image_size, cfg.frames)
                    for s in range(cfg.n_video_scenes)
                ]
                return Pool(data["images"], image_scenes, data["frames"], video_scenes)
    start = time.perf_counter()
    image_scenes = [random_image_scene(s, cfg.image_size) for s in range(cfg.n_image_scenes)]
    images = np.stack([render_image(s) for s in image_scenes])
    # video scene seeds are offset so that still and video seeds never coincide
    video_scenes = [
        random_video_scene(TRAIN_SEED_END // 2 + s, cfg.image_size, cfg.frames) for s in range(cfg.n_video_scenes)
    ]
    if max(cfg.n_image_scenes, cfg.n_video_scenes) > TRAIN_SEED_END // 2:
        raise ValueError(f"at most {TRAIN_SEED_END // 2} scenes of each kind stay inside the training seeds")
    with tempfile.TemporaryDirectory() as tmp:
        frames = np.stack(
            [decode_through_codec(render_video(v), v.fps, Path(tmp), str(i)) for i, v in enumerate(video_scenes)]
        )
    log.info("rendered %d stills and %d clips in %.1f s", len(images), len(frames), time.perf_counter() - start)
    if cache is not None:
        np.savez(cache, key=key, images=images, frames=frames)
    return Pool(images, image_scenes, frames, video_scenes)


def attributes_for(scene) -> list[str]:
    """Attributes whose one-word change gives a hard negative for a short caption of ``scene``."""
    if isinstance(scene, ImageScene):
        return ["color", "shape", "position"]
    extra = {"move": ["direction", "direction"], "appear": ["position"], "change": ["new_color", "position"]}
    return ["color", "shape", *extra[scene.event]]


@dataclass
class TextPlan:
    positive: str
    hard_negative: str
    prefix: str | None = None  # the positive minus its last sentence (long captions)
    prefix_wrong: str | None = None  # prefix + a wrong last sentence
    n_sentences: int = 0  # 0: short caption; else the long caption's number of detail sentences


def plan_texts(scene, rng: np.random.Generator, long_negatives: bool = False) -> TextPlan:
    seed = int(rng.integers(1 << 30))
    sentences = detail_sentences(scene)
    if rng.random() < 0.35:
        attribute = attributes_for(scene)[int(rng.integers(len(attributes_for(scene))))]
        return TextPlan(short_caption(scene), wrong_caption(scene, attribute, seed=seed))
    n = 1 + int(rng.integers(len(sentences)))
    # long captions also state sizes, and name every shape of a still: any of them can be the wrong one
    options = [*attributes_for(scene), "size"] if long_negatives else attributes_for(scene)
    attribute = options[int(rng.integers(len(options)))]
    target = 0
    if long_negatives and isinstance(scene, ImageScene):
        target = int(rng.integers(min(n, len(scene.objects))))
    wrong = long_caption(corrupt(scene, attribute, target=target, seed=seed), n)
    if n == 1:
        return TextPlan(long_caption(scene, 1), wrong, n_sentences=1)
    prefix = long_caption(scene, n - 1)
    return TextPlan(long_caption(scene, n), wrong, prefix, prefix + " " + wrong_detail(scene, n - 1, seed=seed), n)


class Tokens:
    """Caching CLIP tokenizer producing batch-padded ids (pads after EOT cannot affect a causal model)."""

    def __init__(self, context_length: int) -> None:
        self.tokenizer = default_tokenizer()
        self.context_length = context_length
        self.cache: dict[str, list[int]] = {}

    def row(self, text: str) -> list[int]:
        """SOT + ids + EOT (unpadded; truncated to the context like the encoder does)."""
        if text not in self.cache:
            tokenized = self.tokenizer([text], self.context_length)
            self.cache[text] = tokenized.ids[0, : int(tokenized.lengths[0])].tolist()
        return self.cache[text]

    def __call__(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [self.row(text) for text in texts]
        lengths = torch.tensor([len(row) for row in rows])
        ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
        return ids, lengths


_MEAN = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
_STD = torch.tensor(CLIP_STD).view(1, 3, 1, 1)


def to_pixels(batch: np.ndarray) -> torch.Tensor:
    """uint8 [N,S,S,3] -> normalised [N,3,S,S]; the OpenAI transform is exactly this at the model's size."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() / 255.0
    return (x - _MEAN) / _STD


def shifted(picture: np.ndarray, scene: ImageScene, limit: int, rng: np.random.Generator) -> np.ndarray:
    """The still moved by a random whole-pixel offset of at most ``limit`` per axis, filled with its
    background and never pushing a shape over the border.

    Why: still shapes sit at fixed offsets against the 16 px patch grid, so without this the image
    tower learned each shape only at that offset; a moving shape crosses every offset, and its
    shape was recognised in about half of its frames (MODEL_CARD.md). A shift of at most 8 px keeps
    every shape inside its named third of the frame. Measured: it made shapes worse within the
    CPU budget (MODEL_CARD.md "Experiments"), so the shipped run does not shift (0).
    """
    if limit <= 0:
        return picture
    background = np.array(BACKGROUNDS[scene.background], dtype=np.int16)
    drawn = np.abs(picture.astype(np.int16) - background).max(axis=2) > 12
    rows, columns = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    size = picture.shape[0]
    offsets = []
    for used in (rows, columns):
        low, high = (-min(limit, int(used[0])), min(limit, size - 1 - int(used[-1]))) if len(used) else (0, 0)
        offsets.append(int(rng.integers(low, high + 1)))
    dy, dx = offsets
    out = np.empty_like(picture)
    out[:] = background.astype(np.uint8)
    source = picture[max(0, -dy) : size - max(0, dy), max(0, -dx) : size - max(0, dx)]
    out[max(0, dy) : max(0, dy) + source.shape[0], max(0, dx) : max(0, dx) + source.shape[1]] = source
    return out


def sample_batch(pool: Pool, cfg: TrainConfig, rng: np.random.Generator):
    pictures, scenes, frame_numbers = [], [], []
    for _ in range(cfg.batch):
        if rng.random() < cfg.video_fraction:
            v = int(rng.integers(len(pool.video_scenes)))
            scene = pool.video_scenes[v]
            first = cfg.frames // 3 + 1 if scene.event == "appear" else 0  # the actor is visible
            frame = int(rng.integers(first, cfg.frames))
            pictures.append(pool.frames[v, frame])
        else:
            i = int(rng.integers(len(pool.image_scenes)))
            scene, frame = pool.image_scenes[i], -1
            pictures.append(shifted(pool.images[i], scene, cfg.still_shift, rng))
        scenes.append(scene)
        frame_numbers.append(frame)
    plans = [plan_texts(s, rng, cfg.long_negatives) for s in scenes]
    targets = {"image": attribute_targets(scenes, frame_numbers), "text": text_targets(scenes, plans)}
    targets["image"]["actor_patch"] = actor_patches(scenes, frame_numbers, cfg)
    return np.stack(pictures), plans, targets


# auxiliary attribute heads: direct supervision that teaches the image tower what to look at
# within the few hundred steps the CPU budget allows; they are dropped at export
_POS, _COL, _SHP, _SIZ = list(POSITIONS), list(COLORS), list(SHAPES), ["small", "large"]
_MOTIONS = [*DIRECTIONS, "appear", "change"]
HEADS = {
    **{f"{p}_color": 1 + len(_COL) for p in _POS},
    **{f"{p}_shape": 1 + len(_SHP) for p in _POS},
    **{f"{p}_size": 1 + len(_SIZ) for p in _POS},
    "background": 3,
    "actor_color": len(_COL),
    "actor_shape": len(_SHP),
    "motion": len(_MOTIONS),
    "actor_size": len(_SIZ),  # last: without actor_patches the heads are built as in the shipped run
}


def attribute_targets(scenes, frame_numbers) -> dict[str, torch.Tensor]:
    """Class targets per head (-100 = not applicable): what is at each position of a still, and the
    actor's colour, shape and motion in a clip frame."""
    targets = {name: [] for name in HEADS}
    for scene, frame in zip(scenes, frame_numbers, strict=True):
        row = dict.fromkeys(HEADS, -100)
        row["background"] = list(BACKGROUNDS).index(scene.background)
        if isinstance(scene, ImageScene):
            for p in _POS:
                row[f"{p}_color"] = row[f"{p}_shape"] = row[f"{p}_size"] = 0
            for obj in scene.objects:
                row[f"{obj.position}_color"] = 1 + _COL.index(obj.color)
                row[f"{obj.position}_shape"] = 1 + _SHP.index(obj.shape)
                row[f"{obj.position}_size"] = 1 + _SIZ.index(obj.size)
        else:
            color = scene.actor.color
            if scene.event == "change":
                middle = (scene.n_frames - 1) / 2
                color = None if frame == middle else (color if frame < middle else scene.new_color)
            row["actor_color"] = -100 if color is None else _COL.index(color)
            row["actor_shape"] = _SHP.index(scene.actor.shape)
            row["actor_size"] = _SIZ.index(scene.actor.size)
            row["motion"] = _MOTIONS.index(scene.direction if scene.event == "move" else scene.event)
        for name in HEADS:
            targets[name].append(row[name])
    return {name: torch.tensor(values) for name, values in targets.items()}


HEAD_SCALE = 10.0  # heads read L2-normalised embeddings scaled by this (a fixed temperature)


def text_targets(scenes, plans) -> dict[str, torch.Tensor]:
    """What each true caption *says*, for the same heads: attributes it does not mention are -100."""
    targets = {name: [] for name in HEADS}
    for scene, plan in zip(scenes, plans, strict=True):
        row = dict.fromkeys(HEADS, -100)
        n = plan.n_sentences
        if isinstance(scene, ImageScene):
            named = scene.objects if n == 0 else scene.objects[:n]
            complete = n == 0 or n > len(scene.objects)  # every shape (or the count) is stated
            if complete:
                for p in _POS:
                    row[f"{p}_color"] = row[f"{p}_shape"] = 0
            for obj in named:
                row[f"{obj.position}_color"] = 1 + _COL.index(obj.color)
                row[f"{obj.position}_shape"] = 1 + _SHP.index(obj.shape)
                if n:
                    row[f"{obj.position}_size"] = 1 + _SIZ.index(obj.size)
            if n and n == len(scene.objects) + 2:
                row["background"] = list(BACKGROUNDS).index(scene.background)
        else:
            if scene.event != "change":
                row["actor_color"] = _COL.index(scene.actor.color)
            row["actor_shape"] = _SHP.index(scene.actor.shape)
            row["motion"] = _MOTIONS.index(scene.direction if scene.event == "move" else scene.event)
            if n:  # long captions state the actor's size
                row["actor_size"] = _SIZ.index(scene.actor.size)
            if n and n == len(detail_sentences(scene)):
                row["background"] = list(BACKGROUNDS).index(scene.background)
        for name in HEADS:
            targets[name].append(row[name])
    return {name: torch.tensor(values) for name, values in targets.items()}


def position_cells(cfg: TrainConfig) -> torch.Tensor:
    """[positions, patches] averaging weights: each named position's patches (those whose centre lies
    in the position's third of the frame, one patch at 32 px, 2x2 at 16 px), CLS excluded."""
    grid = cfg.image_size // cfg.patch_size
    centres = (torch.arange(grid) + 0.5) / grid
    cells = (centres * 3).long()  # which third of the frame each patch row/column lies in
    weights = torch.zeros(len(_POS), grid * grid)
    for index, (x, y) in enumerate(POSITIONS[p] for p in _POS):
        inside = (cells[:, None] == int(y * 3)) & (cells[None, :] == int(x * 3))  # [rows, columns]
        weights[index] = inside.flatten().float() / inside.sum()
    return weights


def actor_patches(scenes, frame_numbers, cfg: TrainConfig) -> torch.Tensor:
    """Per sample, the patch (0-based, CLS excluded) under the centre of a clip frame's actor; -100 for stills."""
    from mmscore.toyworld.render import actor_center

    grid = cfg.image_size // cfg.patch_size
    out = []
    for scene, frame in zip(scenes, frame_numbers, strict=True):
        if isinstance(scene, ImageScene):
            out.append(-100)
            continue
        x, y = actor_center(scene, frame)
        column, row = (min(grid - 1, max(0, int(v * grid))) for v in (x, y))
        out.append(row * grid + column)
    return torch.tensor(out)


class AttributeHeads(torch.nn.Module):
    def __init__(self, dim: int, vision_width: int = 192, actor_patches: bool = False) -> None:
        super().__init__()
        names = [name for name in HEADS if actor_patches or name != "actor_size"]
        self.heads = torch.nn.ModuleDict({name: torch.nn.Linear(dim, HEADS[name]) for name in names})
        kinds = [("color", 1 + len(_COL)), ("shape", 1 + len(_SHP))] + [("size", 1 + len(_SIZ))] * actor_patches
        self.patch_heads = torch.nn.ModuleDict({kind: torch.nn.Linear(vision_width, n) for kind, n in kinds})
        self.patch_motion = torch.nn.Linear(vision_width, len(_MOTIONS))
        self.actor_patches = actor_patches

    def patches(self, states: torch.Tensor, targets: dict[str, torch.Tensor], cfg: TrainConfig) -> torch.Tensor:
        tokens = torch.einsum("qp,bpw->bqw", position_cells(cfg), states[:, 1:])  # [B, positions, width]
        losses = []
        for kind, head in self.patch_heads.items():
            wanted = torch.stack([targets[f"{p}_{kind}"] for p in _POS], dim=1)  # [B, positions]
            if wanted.ne(-100).any():
                losses.append(F.cross_entropy(head(tokens).flatten(0, 1), wanted.flatten(), ignore_index=-100))
        clips = targets["actor_patch"].ne(-100).nonzero().flatten()
        if self.actor_patches and len(clips):
            # a clip frame: the patch under the actor says its colour, shape and size and how it moves
            # (the motion trail is drawn right behind it), wherever on its path the actor is
            actor = states[clips, 1 + targets["actor_patch"][clips]]  # [clips, width]
            color = targets["actor_color"][clips]
            losses.append(F.cross_entropy(self.patch_heads["color"](actor), torch.where(color >= 0, 1 + color, color)))
            for kind in ("shape", "size"):
                losses.append(F.cross_entropy(self.patch_heads[kind](actor), 1 + targets[f"actor_{kind}"][clips]))
            losses.append(F.cross_entropy(self.patch_motion(actor), targets["motion"][clips]))
        elif targets["motion"].ne(-100).any():
            # a clip frame's motion is visible where the shape and its trail are: the most confident
            # patch decides (multiple-instance max over patches), so patch tokens learn the trail
            logits = self.patch_motion(states[:, 1:]).amax(dim=1)
            losses.append(F.cross_entropy(logits, targets["motion"], ignore_index=-100))
        return torch.stack(losses).mean()

    def forward(self, features: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        losses = [
            F.cross_entropy(head(features), targets[name], ignore_index=-100)
            for name, head in self.heads.items()
            if (targets[name] != -100).any()
        ]
        return torch.stack(losses).mean()


# ----------------------------------------------------------------------------- model calls


def encode_pictures(model, pixels: torch.Tensor) -> torch.Tensor:
    return model.visual_projection(model.vision_model(pixel_values=pixels).pooler_output)


def encode_text_states(model, ids: torch.Tensor) -> torch.Tensor:
    """Projected final-layer-norm states at every position [N, L, D] (EOT row = the pooled embedding)."""
    return model.text_projection(model.text_model(input_ids=ids).last_hidden_state)


def pooled(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return states[torch.arange(len(lengths)), lengths - 1]


def pooled_by_length(model, tokens: Tokens, texts: list[str], chunk: int = 48) -> torch.Tensor:
    """Normalised pooled embeddings, encoding length-sorted chunks (less padding, same result)."""
    lengths = [len(tokens.row(t)) for t in texts]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    out = [None] * len(texts)
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        ids, lens = tokens([texts[i] for i in part])
        vectors = F.normalize(pooled(encode_text_states(model, ids), lens), dim=-1)
        for row, i in enumerate(part):
            out[i] = vectors[row]
    return torch.stack(out)


def batch_loss(
    model,
    pixels,
    plans: list[TextPlan],
    tokens: Tokens,
    cfg: TrainConfig,
    heads: AttributeHeads | None = None,
    targets: dict | None = None,
) -> tuple[torch.Tensor, dict]:
    b = len(plans)
    long_rows = [i for i, p in enumerate(plans) if p.prefix is not None]
    texts = [p.positive for p in plans] + [p.hard_negative for p in plans]
    texts += [plans[i].prefix for i in long_rows] + [plans[i].prefix_wrong for i in long_rows]
    ids, lengths = tokens(texts[:b])
    states = F.normalize(encode_text_states(model, ids), dim=-1)  # true captions: every position
    text = torch.cat([pooled(states, lengths), pooled_by_length(model, tokens, texts[b:])])
    vision = model.vision_model(pixel_values=pixels)
    image = F.normalize(model.visual_projection(vision.pooler_output), dim=-1)
    scale = model.logit_scale.exp().clamp(max=100.0)

    sims = image @ text.T  # [B, T]
    # a text identical to the true caption of another picture is not a negative for it
    same = torch.tensor([[texts[j] == plans[i].positive for j in range(len(texts))] for i in range(b)])
    same[torch.arange(b), torch.arange(b)] = False
    n_long = len(long_rows)
    prefix_cols = torch.arange(2 * b, 2 * b + n_long)
    if n_long:
        same[torch.tensor(long_rows), prefix_cols] = True  # a picture's own prefix is true, not a negative
    logits = (scale * sims).masked_fill(same, float("-inf"))
    labels = torch.arange(b)
    loss_i2t = F.cross_entropy(logits, labels)
    t2i = (scale * sims[:, :b]).T.masked_fill(same[:, :b].T, float("-inf"))
    loss_t2i = F.cross_entropy(t2i, labels)
    loss = (loss_i2t + loss_t2i) / 2
    stats = {"i2t": loss_i2t.item(), "t2i": loss_t2i.item()}

    if n_long:
        rows = torch.tensor(long_rows)
        full, prefix, wrong = sims[rows, rows], sims[rows, prefix_cols], sims[rows, prefix_cols + n_long]
        rank = F.relu(cfg.margin + prefix - full).mean() + F.relu(cfg.margin + wrong - prefix).mean()
        loss = loss + cfg.rank_weight * rank
        stats["rank"] = rank.item()

    if cfg.token_weight:
        # every content token of a true caption should point at its picture more than at the others
        positions = torch.arange(ids.shape[1])
        mask = (positions[None, :] >= 1) & (positions[None, :] < lengths[:b, None] - 1)
        token_sims = torch.einsum("tld,id->tli", states[:b], image) * scale  # [B, L, B]
        token_logits = token_sims[mask]  # [n_tokens, B]
        owner = torch.arange(b)[:, None].expand(b, ids.shape[1])[mask]
        loss_tok = F.cross_entropy(token_logits, owner)
        loss = loss + cfg.token_weight * loss_tok
        stats["tok"] = loss_tok.item()
    if heads is not None and cfg.patch_weight:
        # dense supervision: the patch token under each named position says what is drawn there;
        # the CLS token alone gets too weak a signal to learn shapes within the CPU budget
        loss_patch = heads.patches(vision.last_hidden_state, targets["image"], cfg)
        loss = loss + cfg.patch_weight * loss_patch
        stats["patch"] = loss_patch.item()
    if heads is not None and cfg.aux_weight:
        # the SAME linear heads read attributes from picture and caption embeddings: both towers
        # must put colour, shape, position and motion on shared axes of the joint space
        loss_aux = heads(HEAD_SCALE * image, targets["image"])
        loss_text = heads(HEAD_SCALE * text[:b], targets["text"])
        loss = loss + cfg.aux_weight * (loss_aux + loss_text)
        stats["aux"], stats["aux_text"] = loss_aux.item(), loss_text.item()
    return loss, stats


def initial_model(cfg: TrainConfig):
    """Random weights (``build_model``), or those of ``cfg.init`` read through mmscore's ``load_clip``."""
    model = build_model(cfg)
    if cfg.init:
        from mmscore.models.clip import load_clip

        model.load_state_dict(load_clip(cfg.init, device="cpu").model.state_dict())
    return model


@dataclass
class DemoRecipe:
    """The demo objective as a recipe of the training engine (``mmscore.training.engine``): a batch is
    (pictures, text plans, attribute targets) drawn by ``sample_batch``; the loss is ``batch_loss``."""

    cfg: TrainConfig
    heads: AttributeHeads
    tokens: Tokens
    name = "demo"

    def loss(self, module, batch, rank: int):
        pictures, plans, targets = batch
        return batch_loss(module, to_pixels(pictures), plans, self.tokens, self.cfg, self.heads, targets)


def train(cfg: TrainConfig, pool: Pool):
    """The demo objective through the training engine's optimizer step (same schedule, clipping,
    AdamW groups and batches as before the engine existed: the weights are bit-identical)."""
    model = initial_model(cfg).train()
    heads = AttributeHeads(cfg.embed_dim, cfg.vision_width, cfg.actor_patches)
    decay, no_decay = [], []
    for name, param in [*model.named_parameters(), *heads.named_parameters()]:
        (decay if param.ndim >= 2 and "embedding" not in name else no_decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
    )
    parts = StepParts(
        model, DemoRecipe(cfg, heads, Tokens(cfg.context_length)), optimizer,
        CosineSchedule(optimizer, cfg.lr, cfg.warmup, cfg.steps), torch.amp.GradScaler("cpu", enabled=False),
        None, DistContext(), max_grad_norm=1.0, clip_params=[*model.parameters(), *heads.parameters()],
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(cfg.steps):
        rng = np.random.default_rng([cfg.seed, step])
        stats = optimizer_step(parts, step, [sample_batch(pool, cfg, rng)])
        if step % 25 == 0 or step == cfg.steps - 1:
            elapsed = time.perf_counter() - start
            log.info(
                "step %4d/%d loss %.3f %s  %.0f s",
                step,
                cfg.steps,
                stats.pop("loss"),
                " ".join(f"{k}={v:.3f}" for k, v in stats.items() if k != "lr"),
                elapsed,
            )
    log.info("trained in %.0f s wall clock, %.0f s CPU", time.perf_counter() - start, time.process_time() - cpu_start)
    return model.eval(), time.perf_counter() - start, time.process_time() - cpu_start


# ----------------------------------------------------------------------------- evaluation


class Embedder:
    """Embeds pictures and texts with a CLIP given as a transformers model or an mmscore ClipEncoder."""

    def __init__(self, model=None, encoder=None, context_length: int = 248) -> None:
        self.model, self.encoder = model, encoder
        self.tokens = Tokens(context_length)

    @torch.inference_mode()
    def images(self, arrays: np.ndarray) -> torch.Tensor:
        if self.encoder is not None:
            return self.encoder.encode_images(arrays)
        return F.normalize(encode_pictures(self.model, to_pixels(arrays)), dim=-1)

    @torch.inference_mode()
    def texts(self, texts: list[str]) -> torch.Tensor:
        if self.encoder is not None:
            return self.encoder.encode_texts(texts)
        ids, lengths = self.tokens(texts)
        return F.normalize(pooled(encode_text_states(self.model, ids), lengths), dim=-1)


def _choose(embed: Embedder, picture: torch.Tensor, candidates: list[str]) -> int:
    return int(torch.argmax(embed.texts(candidates) @ picture))


def _variants(scene, attribute: str, values) -> list[str]:
    """The short caption with ``attribute`` set to each value (index of the truth = its value)."""
    from dataclasses import replace

    out = []
    for value in values:
        if isinstance(scene, ImageScene):
            out.append(short_caption(replace(scene, objects=(replace(scene.objects[0], **{attribute: value}),))))
        elif attribute == "direction":
            out.append(short_caption(replace(scene, direction=value)))
        else:
            out.append(short_caption(replace(scene, actor=replace(scene.actor, **{attribute: value}))))
    return out


def video_embedding(embed: Embedder, scene: VideoScene, folder: Path) -> torch.Tensor:
    """Mean of the normalised frame embeddings of the encoded clip (EMScore's video vector)."""
    from mmscore.toyworld import render_video

    frames = decode_through_codec(render_video(scene), scene.fps, folder, "eval")
    return F.normalize(embed.images(frames).mean(0), dim=0)


def evaluate(embed: Embedder, n: int = 120, seed_start: int = HELDOUT_SEED_START) -> dict:
    """Zero-shot accuracy on held-out scenes by caption retrieval among one-attribute variants."""
    results: dict[str, float] = {}
    singles = []
    seed = seed_start
    while len(singles) < n:
        scene = random_image_scene(seed, max_objects=1)
        singles.append(scene)
        seed += 1
    pictures = embed.images(np.stack([render_image(s) for s in singles]))
    for attribute, values in (("color", list(COLORS)), ("shape", list(SHAPES)), ("position", list(POSITIONS))):
        hits = [
            _choose(embed, pictures[i], _variants(s, attribute, values))
            == values.index(getattr(s.objects[0], attribute))
            for i, s in enumerate(singles)
        ]
        results[f"image_{attribute}_acc"] = float(np.mean(hits))
    results["chance_color"], results["chance_shape"], results["chance_position"] = 1 / 6, 1 / 5, 1 / 5

    movers = [random_video_scene(seed_start + 10_000 + i, events=("move",)) for i in range(n // 2)]
    with tempfile.TemporaryDirectory() as tmp:
        videos = torch.stack([video_embedding(embed, v, Path(tmp)) for v in movers])
    for attribute, values in (("direction", list(DIRECTIONS)), ("color", list(COLORS)), ("shape", list(SHAPES))):
        truth = [values.index(v.direction if attribute == "direction" else getattr(v.actor, attribute)) for v in movers]
        hits = [_choose(embed, videos[i], _variants(v, attribute, values)) == truth[i] for i, v in enumerate(movers)]
        results[f"video_{attribute}_acc"] = float(np.mean(hits))

    # retrieval among 100 held-out multi-shape scenes with their short captions
    scenes = [random_image_scene(seed_start + 20_000 + i) for i in range(100)]
    sims = embed.images(np.stack([render_image(s) for s in scenes])) @ embed.texts([short_caption(s) for s in scenes]).T
    results["image_to_text_r1_of_100"] = float((sims.argmax(1) == torch.arange(100)).float().mean())
    results["text_to_image_r1_of_100"] = float((sims.argmax(0) == torch.arange(100)).float().mean())

    # SPECS-style: extending a long caption with a true sentence should raise the score, with a wrong one lower it
    pos = neg = total = 0
    for i, scene in enumerate(scenes[:60]):
        sentences = detail_sentences(scene)
        picture = embed.images(render_image(scene)[None])[0]
        captions = [long_caption(scene, k) for k in range(1, len(sentences) + 1)]
        wrong = [captions[k - 1] + " " + wrong_detail(scene, k, seed=i) for k in range(1, len(sentences))]
        s_pos, s_neg = embed.texts(captions) @ picture, embed.texts(wrong) @ picture
        pos += int((s_pos[1:] > s_pos[:-1]).sum())
        neg += int((s_pos[:-1] > s_neg).sum())
        total += len(sentences) - 1
    results["specs_pos"], results["specs_neg"] = pos / total, neg / total
    return results


def emscore_probes(encoder, seed_start: int, n_move: int = 36, n_other: int = 6) -> dict:
    """Through the EMScoreEval operator (idf over the table, every frame): how often the true caption
    of an unseen clip beats its wrong-colour / wrong-shape / wrong-direction twins, by full_F (the
    figure the tests assert) and, to see which half carries it, by figr_F and cogr."""
    import pandas as pd

    from mmscore.operators.emscore import EMScoreEval
    from mmscore.toyworld.probes import probe_clips, probe_rows

    with tempfile.TemporaryDirectory() as tmp:
        clips = probe_clips(seed_start, n_move, n_other, n_other)
        table = pd.DataFrame(probe_rows(clips, tmp))
        operator = EMScoreEval(every_n_frames=1, score_types=["EMScore(X,V)"]).configure(
            encoder=encoder, cache_dir=False
        )
        scored = operator.score_dataframe(table, reference_key=None)
    results: dict[str, float] = {}
    truth = scored[scored["kind"] == "true"].set_index("clip")
    wrong = scored[scored["kind"] != "true"]
    for metric in ("full_F", "figr_F", "cogr"):
        column = f"EMScore(X,V)_{metric}"
        wins = wrong[column].to_numpy() < truth.loc[wrong["clip"], column].to_numpy()
        for kind in ("color", "shape", "direction"):
            mask = (wrong["kind"] == kind).to_numpy()
            suffix = "" if metric == "full_F" else f"_{metric}"
            results[f"emscore_{kind}_win{suffix}"] = float(wins[mask].mean())
    return results


# ----------------------------------------------------------------------------- export


def export(model, path: Path) -> Path:
    """Write the Long-CLIP layout checkpoint (fp16) with the encoder engineer's exporter."""
    from mmscore.testing.checkpoints import save_longclip_checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    # both position tables hold the trained table (no noise in the unused halves of a shipped file)
    save_longclip_checkpoint(model.half(), path, unused="copy")
    model.float()
    return path


def evaluate_file(path: Path) -> dict:
    """Every held-out figure of the model card, measured on the exported file through ``load_clip``."""
    from mmscore.models.clip import load_clip

    encoder = load_clip(path, device="cpu")
    return {**evaluate(Embedder(encoder=encoder)), **emscore_probes(encoder, HELDOUT_SEED_START + 30_000)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    for name, default in asdict(TrainConfig()).items():  # every training setting, defaults = the shipped run
        flag = f"--{name.replace('_', '-')}"
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)
    parser.add_argument("--eval-only", action="store_true", help="evaluate --out through mmscore's load_clip")
    parser.add_argument(
        "--hf-dir",
        type=Path,
        default=None,
        help="also keep the trained model in transformers save_pretrained form here",
    )
    parser.add_argument("--metrics-json", type=Path, default=None, help="also write the evaluation here")
    parser.add_argument("--pool-cache", type=Path, default=None, help="an .npz to keep the rendered training set in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.eval_only:
        report = {"metrics": evaluate_file(args.out)}
    else:
        cfg = TrainConfig(**{name: getattr(args, name) for name in asdict(TrainConfig())})
        pool = build_pool(cfg, args.pool_cache)
        model, seconds, cpu_seconds = train(cfg, pool)
        if args.hf_dir:
            model.save_pretrained(args.hf_dir)
        export(model, args.out)
        report = {
            "config": asdict(cfg),
            "train_seconds": round(seconds, 1),
            "train_cpu_seconds": round(cpu_seconds, 1),
            "metrics": evaluate_file(args.out),
            "size_bytes": args.out.stat().st_size,
        }
    text = json.dumps(report, indent=2)
    print(text)
    if args.metrics_json:
        from mmscore.io.atomic import atomic_write_text

        atomic_write_text(args.metrics_json, text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
