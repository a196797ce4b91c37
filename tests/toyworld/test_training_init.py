"""The training tool's second stage (``tools/train_demo_clip.py --init``): a fine-tune starts from
the given checkpoint's weights, read back through mmscore's loader, not from random ones."""

from __future__ import annotations

from dataclasses import replace

import torch


def test_init_starts_from_the_checkpoint_weights(tmp_path, train_tool):
    tool = train_tool
    tiny = tool.TrainConfig(
        seed=3, image_size=32, patch_size=16, vision_width=64, text_width=64, layers=1, embed_dim=32, context_length=248
    )
    saved = tool.build_model(tiny)
    with torch.no_grad():  # weights a fresh build with the same seed cannot have
        for param in saved.parameters():
            param.add_(0.5)
    path = tool.export(saved, tmp_path / "stage1.pt")
    expected = {k: v.half().float() for k, v in saved.state_dict().items()}  # the file is fp16

    started = tool.initial_model(replace(tiny, init=str(path))).state_dict()
    fresh = tool.initial_model(tiny).state_dict()
    weight = "vision_model.encoder.layers.0.mlp.fc1.weight"
    assert torch.equal(started[weight], expected[weight])
    assert not torch.equal(fresh[weight], expected[weight])
    for name, value in expected.items():
        if value.is_floating_point():
            assert torch.allclose(started[name], value, atol=1e-3), name
