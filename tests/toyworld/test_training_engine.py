"""The demo trainer runs over the training engine: its weights equal a plain hand-written loop
(lr by the warm-up/cosine closed form, zero_grad, backward, clip to norm 1, AdamW step)."""

from __future__ import annotations

import math

import numpy as np
import torch


def test_demo_recipe_over_the_engine_equals_the_plain_loop(train_tool):
    tool = train_tool
    cfg = tool.TrainConfig(seed=1, steps=3, batch=6, warmup=2, n_image_scenes=20, n_video_scenes=2, frames=4,
                           image_size=96, patch_size=16, vision_width=64, text_width=64, layers=1, embed_dim=32)
    pool = tool.build_pool(cfg)
    engine_model, *_ = tool.train(cfg, pool)

    model = tool.initial_model(cfg).train()
    heads = tool.AttributeHeads(cfg.embed_dim, cfg.vision_width, cfg.actor_patches)
    tokens = tool.Tokens(cfg.context_length)
    decay, no_decay = [], []
    for name, param in [*model.named_parameters(), *heads.named_parameters()]:
        (decay if param.ndim >= 2 and "embedding" not in name else no_decay).append(param)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.98))
    for step in range(cfg.steps):
        pictures, plans, targets = tool.sample_batch(pool, cfg, np.random.default_rng([cfg.seed, step]))
        progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        cosine = cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))
        lr = cfg.lr * (step + 1) / cfg.warmup if step < cfg.warmup else cosine
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss, _ = tool.batch_loss(model, tool.to_pixels(pictures), plans, tokens, cfg, heads, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*model.parameters(), *heads.parameters()], 1.0)
        optimizer.step()
    expected, got = model.state_dict(), engine_model.state_dict()
    assert all(torch.equal(got[k], expected[k]) for k in expected)
