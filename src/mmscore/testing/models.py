"""Tiny random-weight CLIP models for tests, saved in Hugging Face ``save_pretrained`` form.

The same seed always gives the same weights, so every checkpoint format built from one seed
holds identical tensors (the encoder tests rely on this).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

CLIP_VOCAB_SIZE = 49408
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def tiny_clip_config(
    context_length: int = 77, image_size: int = 32, patch_size: int = 8, vision_width: int = 32,
    text_width: int = 32, layers: int = 2, heads: int = 2, embed_dim: int = 16,
) -> Any:
    """A transformers ``CLIPConfig`` of a tiny ViT CLIP with the real CLIP vocabulary size."""
    from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

    text = CLIPTextConfig(
        vocab_size=CLIP_VOCAB_SIZE, hidden_size=text_width, intermediate_size=4 * text_width,
        num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=context_length,
        hidden_act="quick_gelu", projection_dim=embed_dim, bos_token_id=49406, eos_token_id=49407,
        pad_token_id=49407,
    )
    vision = CLIPVisionConfig(
        hidden_size=vision_width, intermediate_size=4 * vision_width, num_hidden_layers=layers,
        num_attention_heads=heads, image_size=image_size, patch_size=patch_size, hidden_act="quick_gelu",
        projection_dim=embed_dim,
    )
    return CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=embed_dim)


def vit_b32_config() -> Any:
    """The published OpenAI ViT-B/32 CLIP shape (12-layer 768-wide ViT, 224 px, patch 32;
    12-layer 512-wide text tower; 512-d embeddings): for benchmarks with random weights."""
    from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

    text = CLIPTextConfig(
        vocab_size=CLIP_VOCAB_SIZE, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
        num_attention_heads=8, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=512,
        bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
    )
    vision = CLIPVisionConfig(
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, image_size=224,
        patch_size=32, hidden_act="quick_gelu", projection_dim=512,
    )
    return CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=512)


def build_clip_from_config(config: Any, seed: int = 0) -> Any:
    """A randomly initialised ``CLIPModel`` of ``config`` (fp32, eval mode), weights fixed by ``seed``."""
    from transformers import CLIPModel

    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return CLIPModel(config).eval()
    finally:
        torch.random.set_rng_state(generator_state)


def build_tiny_clip(seed: int = 0, **config_kwargs: Any) -> Any:
    """A randomly initialised ``CLIPModel`` (fp32, eval mode); weights depend only on ``seed``."""
    from transformers import CLIPModel

    config = tiny_clip_config(**config_kwargs)
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = CLIPModel(config)
        # spread the weights a little so embeddings are far from degenerate
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name.endswith("position_embedding.weight") or "class_embedding" in name:
                    param.normal_(0.0, 0.5)
    finally:
        torch.random.set_rng_state(generator_state)
    return model.eval()


def save_tiny_clip_hf(path: str | os.PathLike[str], seed: int = 0, **config_kwargs: Any) -> Path:
    """Save a tiny CLIP with ``save_pretrained`` (+ an image preprocessor config) into ``path``."""
    import json

    path = Path(path)
    model = build_tiny_clip(seed=seed, **config_kwargs)
    model.save_pretrained(path)
    size = model.config.vision_config.image_size
    preprocessor = {
        "crop_size": {"height": size, "width": size},
        "do_center_crop": True,
        "do_normalize": True,
        "do_resize": True,
        "do_convert_rgb": True,
        "image_mean": list(CLIP_MEAN),
        "image_std": list(CLIP_STD),
        "resample": 3,
        "size": {"shortest_edge": size},
        "image_processor_type": "CLIPImageProcessor",
    }
    (path / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    return path
