"""OpenAI CLIP image preprocessing with PIL + numpy (no torchvision).

The transform every CLIP-family checkpoint here was trained with (OpenAI, Long-CLIP, SPECS):

1. resize so the shorter side is ``S`` with PIL bicubic; the longer side becomes
   ``int(S * long / short)`` (truncated, as torchvision computes it);
2. centre crop ``S x S`` at offset ``int(round((dim - S) / 2))`` (Python's round-half-to-even,
   as torchvision). Hugging Face's ``CLIPImageProcessor`` floors this offset instead, which
   shifts the crop by one pixel when the margin is odd; we use the OpenAI rule for every checkpoint
   format so identical weights give identical embeddings;
3. convert to RGB (after the crop, like OpenAI: alpha is dropped, not composited);
4. scale to [0, 1] and normalise with the CLIP mean/std.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from mmscore.errors import InputError
from mmscore.io.images import load_image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resize_shorter_side(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    if (new_w, new_h) == (width, height):
        return image
    return image.resize((new_w, new_h), resample=Image.Resampling.BICUBIC)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    if width < size or height < size:  # cannot happen after resize_shorter_side; guard anyway
        raise ValueError(f"image {width}x{height} is smaller than the crop {size}")
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def image_items(images: Any) -> list[Any]:
    """Split the accepted inputs into one item per image: PIL images, uint8 arrays (one HxWx3 or a
    batch NxHxWx3), tensors, image paths, or a list of those."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    if isinstance(images, np.ndarray):
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
            raise InputError(f"expected an image array of shape [N,H,W,3] (uint8 RGB), got {images.shape}")
        return list(images)
    if isinstance(images, (Image.Image, str, os.PathLike)):
        return [images]
    if not isinstance(images, Sequence):
        raise InputError(f"expected a list of images, got {type(images).__name__}")
    return list(images)


def to_pil(item: Any, index: int = 0) -> Image.Image:
    if isinstance(item, Image.Image):
        return item
    if isinstance(item, (str, os.PathLike)):
        return load_image(item, mode=None)  # RGB conversion comes after the crop
    if isinstance(item, (np.ndarray, torch.Tensor)):
        arr = item.detach().cpu().numpy() if isinstance(item, torch.Tensor) else item
        return _array_to_pil(arr, index)
    raise InputError(
        f"image {index}: unsupported type {type(item).__name__} (PIL image, array or path expected)"
    )


def as_pil_images(images: Any) -> list[Image.Image]:
    return [to_pil(item, i) for i, item in enumerate(image_items(images))]


def _array_to_pil(array: np.ndarray, index: int) -> Image.Image:
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise InputError(f"image {index}: expected an HxWx3 array, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise InputError(f"image {index}: expected a uint8 array (0-255 RGB), got dtype {array.dtype}")
    if array.shape[-1] == 1:
        array = array[..., 0]
    return Image.fromarray(np.ascontiguousarray(array))


class ClipImageTransform:
    """Callable turning images into a normalised [N, 3, S, S] float32 tensor."""

    def __init__(self, size: int, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD) -> None:
        self.size = int(size)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 1, 3)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 1, 3)
        mean_s = ",".join(f"{m:.6g}" for m in mean)
        std_s = ",".join(f"{s:.6g}" for s in std)
        self.id = f"openai-clip-v1/{self.size}/bicubic-short/crop-round/mean={mean_s}/std={std_s}"

    def one(self, image: Image.Image) -> np.ndarray:
        image = center_crop(resize_shorter_side(image, self.size), self.size).convert("RGB")
        arr = np.asarray(image, dtype=np.float32) / 255.0
        return ((arr - self.mean) / self.std).transpose(2, 0, 1)

    def __call__(self, images: Any) -> torch.Tensor:
        pil = as_pil_images(images)
        if not pil:
            return torch.empty(0, 3, self.size, self.size)
        return torch.from_numpy(np.stack([self.one(img) for img in pil]).astype(np.float32, copy=False))
