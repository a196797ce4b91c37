"""Training image transforms: the scoring pipeline (PIL, ``ClipImageTransform``) by default, or
SPECS ``train_spec.py``'s own TorchScript transform, which differs from it slightly.

``train_spec.py`` reads a uint8 RGB tensor, resizes its shorter side with torchvision's tensor
``Resize(bicubic, antialias=None)`` — no antialiasing, rounded and clamped back to uint8 — centre
crops, divides by 255 and normalises. Downscaling without antialiasing keeps detail that PIL's
filter averages away, so the model sees slightly different pixels in training than in scoring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mmscore.errors import ConfigError
from mmscore.models.preprocess import CLIP_MEAN, CLIP_STD, ClipImageTransform, as_pil_images

TRAIN_RESIZES = ("pil", "tensor")


class TensorResizeTransform:
    """``train_spec.py``'s transform: images → normalised [N, 3, S, S] float32."""

    def __init__(self, size: int, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD) -> None:
        self.size = int(size)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
        self.id = f"specs-train-tensor/{self.size}/bicubic-no-antialias/uint8-round/crop-round"

    def resized(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 [3, H, W] with the shorter side at ``size`` (the longer one truncated, as torchvision)."""
        height, width = pixels.shape[1:]
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.size, int(self.size * long / short)
        new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        if (new_h, new_w) == (height, width):
            return pixels
        out = F.interpolate(pixels[None].float(), size=(new_h, new_w), mode="bicubic", align_corners=False,
                            antialias=False)[0]
        return out.clamp(0, 255).round().to(torch.uint8)

    def one(self, pixels: torch.Tensor) -> torch.Tensor:
        pixels = self.resized(pixels)
        height, width = pixels.shape[1:]
        top, left = int(round((height - self.size) / 2.0)), int(round((width - self.size) / 2.0))
        crop = pixels[:, top:top + self.size, left:left + self.size]
        return (crop.float() / 255.0 - self.mean) / self.std

    def __call__(self, images: Any) -> torch.Tensor:
        tensors = [torch.from_numpy(np.array(image.convert("RGB"), dtype=np.uint8)).permute(2, 0, 1)
                   for image in as_pil_images(images)]
        if not tensors:
            return torch.empty(0, 3, self.size, self.size)
        return torch.stack([self.one(t) for t in tensors])


def check_train_resize(resize: str) -> str:
    if resize not in TRAIN_RESIZES:
        raise ConfigError(f"--train-resize must be one of {', '.join(TRAIN_RESIZES)}, got {resize!r}")
    return resize


def training_transform(resize: str, size: int) -> Callable[[Any], torch.Tensor]:
    """"pil": the scoring pipeline; "tensor": ``train_spec.py``'s."""
    check_train_resize(resize)
    return ClipImageTransform(size) if resize == "pil" else TensorResizeTransform(size)
