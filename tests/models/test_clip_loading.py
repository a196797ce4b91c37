"""Spec resolution (directory rule, HF cache, demo model) and every documented loading error."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

import mmscore.models.hub as hub
from mmscore.errors import ConfigError, ModelError, WeightsNotAvailableError
from mmscore.models.clip import load_clip, select_device
from mmscore.models.hub import pick_checkpoint

# --- directory rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "chosen"),
    [
        (["a.pt", "longclip-x.bin", "other.safetensors"], "longclip-x.bin"),  # name preference first
        (["b.ckpt", "a.pt", "c.safetensors", "d.bin"], "c.safetensors"),  # then extension priority
        (["model.bin", "model.ckpt", "README.md"], "model.bin"),
        (
            ["optimizer.pt", "scheduler.pt", "rng_state_0.pth", "training_args.bin", "weights.pth"],
            "weights.pth",
        ),
        (["SPEC.PT", "clip.pt"], "SPEC.PT"),  # case-insensitive
        (["spec.pt", "longclip-B.safetensors"], "longclip-B.safetensors"),
    ],
)
def test_directory_rule_picks(names, chosen):
    assert pick_checkpoint(names, "dir") == chosen


@pytest.mark.parametrize(
    "names",
    [
        ["longclip-B.pt", "longclip-L.pt"],  # DataFlow-MM would silently take longclip-B.pt
        ["spec.pt", "openai_b32_longclip.pt"],
        ["a.pt", "b.pt"],
    ],
)
def test_directory_rule_refuses_ties(names):
    with pytest.raises(
        ModelError, match="several checkpoints in dir match the selection rule equally"
    ) as err:
        pick_checkpoint(names, "dir")
    for name in names:
        assert name in str(err.value)


def test_load_from_directory_logs_choice(formats77, tmp_path, caplog):
    folder = tmp_path / "ckpts"
    folder.mkdir()
    shutil.copy(formats77["openai"], folder / "clip-openai.pt")
    shutil.copy(formats77["openai"], folder / "clip-openai.ckpt")  # lower extension priority
    (folder / "notes.txt").write_text("not a model")
    with caplog.at_level(logging.INFO, logger="mmscore.models.hub"):
        enc = load_clip(folder)
    assert "picked clip-openai.pt" in caplog.text
    assert enc.source.startswith("clip-openai.pt picked in")
    assert enc.fingerprint == load_clip(formats77["hf"]).fingerprint


def test_empty_directory_error(tmp_path):
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(
        ModelError, match=r"no checkpoint found in directory .*\*\.safetensors, \*\.pt.*readme\.md"
    ):
        load_clip(tmp_path)


# --- specs -----------------------------------------------------------------------------------------


def test_unknown_spec_and_missing_path():
    with pytest.raises(ModelError, match="unknown model 'not-a-model': not a local file or directory"):
        load_clip("not-a-model")
    with pytest.raises(ModelError, match="model path not found: ./missing/model.pt"):
        load_clip("./missing/model.pt")


def test_offline_hub_error_names_file_and_local_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotAvailableError) as err:
        load_clip("BeichenZhang/LongCLIP-L-336px", cache_dir=tmp_path)
    message = str(err.value)
    assert "'longclip-L@336px.pt'" in message and "HF_HUB_OFFLINE" in message
    assert "--model /path/to/longclip-L@336px.pt" in message
    with pytest.raises(WeightsNotAvailableError, match="the weights of 'someone/tiny-clip'"):
        load_clip("someone/tiny-clip", cache_dir=tmp_path)
    with pytest.raises(WeightsNotAvailableError, match="openai/clip-vit-base-patch32"):
        load_clip("ViT-B/32", cache_dir=tmp_path)  # OpenAI name -> its hub repo


def _fake_cache(root: Path, repo: str, files: dict[str, Path]) -> Path:
    """The layout huggingface_hub uses: models--owner--name/{refs/main, snapshots/<commit>/...}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    base = root / ("models--" + repo.replace("/", "--"))
    snapshot = base / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(commit)
    for name, source in files.items():
        if source.is_dir():
            shutil.copytree(source, snapshot / name, dirs_exist_ok=True)
        else:
            shutil.copy(source, snapshot / name)
    return snapshot


def test_hub_ids_resolve_from_the_cache_offline(formats77, formats248, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # SPECS repo holds two .pt files: the known-file table picks spec.pt
    _fake_cache(
        tmp_path,
        "Xiaohud/SPECS",
        {"spec.pt": formats248["longclip"], "openai_b32_longclip.pt": formats77["openai"]},
    )
    specs = load_clip("Xiaohud/SPECS", cache_dir=tmp_path)
    assert specs.context_length == 248 and specs.layout == "longclip/pickle"
    assert specs.source == "Xiaohud/SPECS (HF cache)"
    assert specs.fingerprint == load_clip(formats248["longclip"]).fingerprint  # spec.pt, not the other file
    # a transformers model repo gives a model dir
    _fake_cache(tmp_path, "someone/tiny-clip", {".": formats77["hf"]})
    enc = load_clip("someone/tiny-clip", cache_dir=tmp_path)
    assert enc.layout == "transformers" and enc.fingerprint == load_clip(formats77["hf"]).fingerprint
    # an unknown repo with one checkpoint file: the directory rule
    _fake_cache(tmp_path, "someone/one-file", {"weights.safetensors": formats77["safetensors"]})
    assert load_clip("someone/one-file", cache_dir=tmp_path).layout == "openai/safetensors"


def test_demo_model(formats248, tmp_path, monkeypatch):
    missing = tmp_path / "demo" / "mmscore-demo.pt"
    monkeypatch.setattr(hub, "demo_checkpoint_path", lambda: missing)
    with pytest.raises(ModelError, match="the shipped demo model 'mmscore-demo' is not installed"):
        load_clip("mmscore-demo")
    missing.parent.mkdir()
    shutil.copy(formats248["longclip"], missing)
    enc = load_clip("mmscore-demo")
    assert enc.name == "mmscore-demo" and enc.context_length == 248


def test_demo_path_points_into_the_package():
    path = hub.demo_checkpoint_path()
    assert (
        path.name == "mmscore-demo.pt" and path.parent.name == "demo" and path.parent.parent.name == "models"
    )


# --- broken checkpoints -----------------------------------------------------------------------------


def test_shape_mismatch_names_the_key(formats77, formats248, tmp_path):
    sd = torch.load(formats77["openai"], weights_only=True)
    sd["transformer.resblocks.1.mlp.c_fc.weight"] = sd["transformer.resblocks.1.mlp.c_fc.weight"][:64]
    torch.save(sd, tmp_path / "bad.pt")
    with pytest.raises(
        ModelError,
        match=r"shape mismatch for 'transformer\.resblocks\.1\.mlp\.c_fc\.weight'.*"
        r"\(64, 32\), expected \(128, 32\)",
    ):
        load_clip(tmp_path / "bad.pt")
    long = torch.load(formats248["longclip"], weights_only=True)
    long["positional_embedding_res"] = long["positional_embedding_res"][:77]
    torch.save(long, tmp_path / "bad_long.pt")
    expected = r"shape mismatch for 'positional_embedding_res': \(77, 32\), expected \(248, 32\)"
    with pytest.raises(ModelError, match=expected):
        load_clip(tmp_path / "bad_long.pt")


def test_not_clip_resnet_and_corrupt_files(formats77, tmp_path):
    torch.save({"encoder.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a CLIP checkpoint"):
        load_clip(tmp_path / "other.pt")
    torch.save(
        {"token_embedding.weight": torch.zeros(2, 2), "visual.layer1.0.conv1.weight": torch.zeros(1)},
        tmp_path / "rn50.pt",
    )
    with pytest.raises(ModelError, match="ResNet CLIP checkpoints"):
        load_clip(tmp_path / "rn50.pt")
    (tmp_path / "garbage.pt").write_bytes(b"definitely not a checkpoint")
    with pytest.raises(ModelError, match="garbage.pt"):
        load_clip(tmp_path / "garbage.pt")
    sd = torch.load(formats77["openai"], weights_only=True)
    sd["transformer.resblocks.0.attn.extra"] = torch.zeros(1)
    torch.save(sd, tmp_path / "extra.pt")
    with pytest.raises(ModelError, match=r"unexpected keys: transformer\.resblocks\.0\.attn\.extra"):
        load_clip(tmp_path / "extra.pt")


def test_broken_weights_errors_name_the_file_and_key(formats77, tmp_path):
    sd = torch.load(formats77["openai"], weights_only=True)
    missing = {k: v for k, v in sd.items() if k != "ln_final.bias"}
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(ModelError, match=r"missing\.pt: OpenAI-layout checkpoint is missing the key 'ln_final\.bias'"):
        load_clip(tmp_path / "missing.pt")
    grid = dict(sd, **{"visual.positional_embedding": sd["visual.positional_embedding"][:-1]})
    torch.save(grid, tmp_path / "grid.pt")
    with pytest.raises(ModelError, match=r"grid\.pt: shape mismatch for 'visual\.positional_embedding'"):
        load_clip(tmp_path / "grid.pt")
    qkv_key = "visual.transformer.resblocks.0.attn.in_proj_weight"
    torch.save(dict(sd, **{qkv_key: sd[qkv_key][:-1]}), tmp_path / "qkv.pt")
    with pytest.raises(ModelError, match=r"qkv\.pt: shape mismatch for 'visual\.transformer\.resblocks\.0\.attn"):
        load_clip(tmp_path / "qkv.pt")


def test_truncated_download_is_reported_as_such(formats77, tmp_path):
    data = formats77["openai"].read_bytes()
    (tmp_path / "half.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"half\.pt: not a PyTorch checkpoint .*truncated"):
        load_clip(tmp_path / "half.pt")
    sd = torch.load(formats77["openai"], weights_only=True)  # the legacy (non-zip) torch.save format
    torch.save(sd, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert load_clip(tmp_path / "legacy.pt").fingerprint == load_clip(formats77["openai"]).fingerprint


def test_wrapped_checkpoints_and_trust_pickle(formats77, tmp_path):
    sd = torch.load(formats77["openai"], weights_only=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3}, tmp_path / "ddp.ckpt")
    reference = load_clip(formats77["openai"]).fingerprint
    assert load_clip(tmp_path / "ddp.ckpt").fingerprint == reference
    torch.save({"state_dict": sd, "hparams": argparse.Namespace(lr=0.1)}, tmp_path / "lightning.ckpt")
    with pytest.raises(ModelError, match="trust_pickle=True"):
        load_clip(tmp_path / "lightning.ckpt")
    assert load_clip(tmp_path / "lightning.ckpt", trust_pickle=True).fingerprint == reference


def test_heads_override_and_inference(formats77):
    default = load_clip(formats77["openai"])
    assert (default.architecture.text_heads, default.architecture.vision_heads) == (
        2,
        2,
    )  # 32 wide: 16-dim heads
    other = load_clip(formats77["openai"], heads=4)
    assert other.architecture.text_heads == 4 and other.fingerprint != default.fingerprint
    with pytest.raises(ModelError, match="not divisible by heads=5"):
        load_clip(formats77["openai"], heads=5)


def test_device_and_dtype_selection(formats77, caplog):
    assert select_device(None).type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert select_device(None).type in ("mps", "cpu")
        with pytest.raises(ConfigError, match="CUDA is not available"):
            load_clip(formats77["openai"], device="cuda")
    with pytest.raises(ConfigError, match="invalid device"):
        select_device("tpu-please")
    with caplog.at_level(logging.WARNING, logger="mmscore.models.clip"):
        enc = load_clip(formats77["openai"], device="cpu", dtype=torch.float16)
    assert enc.dtype == torch.float32 and "half precision requested on CPU" in caplog.text
    with pytest.raises(ConfigError, match="batch_size must be >= 1"):
        load_clip(formats77["openai"], batch_size=0)


# --- other layouts and the online hub path ------------------------------------------------------------


def test_old_transformers_files_with_position_ids_load(formats77, tmp_path, rgb_batch):
    """transformers < 4.31 saved ``embeddings.position_ids`` buffers (the original openai/clip-vit-*
    files have them); they are not weights and must not make the file "unexpected"."""
    from safetensors.torch import load_file

    folder = tmp_path / "old"
    shutil.copytree(formats77["hf"], folder)
    weights = load_file(folder / "model.safetensors")
    weights["text_model.embeddings.position_ids"] = torch.arange(77)[None]
    weights["vision_model.embeddings.position_ids"] = torch.arange(5)[None]
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "pytorch_model.bin")
    enc, base = load_clip(folder), load_clip(formats77["hf"])
    assert enc.fingerprint == base.fingerprint
    torch.testing.assert_close(enc.encode_images(rgb_batch), base.encode_images(rgb_batch), atol=1e-6, rtol=0)


def test_longclip_transformers_port_dir(model248, formats248, tmp_path):
    """creative-graphic-design's LongCLIPModel layout: nested prefixes, two position tables."""
    import json

    from safetensors.torch import save_file

    long_sd = torch.load(formats248["longclip"], weights_only=True)
    sd = {}
    for key, value in model248.state_dict().items():
        for tower in ("text_model", "vision_model"):
            if key.startswith(tower + "."):
                key = f"{tower}.{key}"
        sd[key] = value.clone()
    sd["text_model.text_model.embeddings.position_embedding.weight"] = long_sd["positional_embedding"]
    sd["text_model.text_model.embeddings.position_embedding_res"] = long_sd["positional_embedding_res"]
    folder = tmp_path / "longclip-port"
    folder.mkdir()
    save_file(sd, str(folder / "model.safetensors"))
    config = json.loads((formats248["hf"] / "config.json").read_text())
    config["model_type"] = "longclip"
    config["architectures"] = ["LongCLIPModel"]
    config["text_config"].update(
        model_type="longclip_text_model", interpolation_keep_length=20, use_position_interpolation=True
    )
    (folder / "config.json").write_text(json.dumps(config))
    enc = load_clip(folder)
    assert enc.layout == "transformers" and enc.context_length == 248
    assert enc.fingerprint == load_clip(formats248["hf"]).fingerprint


def test_other_vocabulary_is_refused(model77, tmp_path):
    from mmscore.testing.checkpoints import openai_state_dict

    sd = openai_state_dict(model77)
    sd["token_embedding.weight"] = sd["token_embedding.weight"][:1000]
    torch.save(sd, tmp_path / "small_vocab.pt")
    with pytest.raises(ModelError, match="vocabulary has 1000 entries"):
        load_clip(tmp_path / "small_vocab.pt")


def test_loaded_weights_are_reused(formats77):
    a, b = load_clip(formats77["openai"]), load_clip(formats77["openai"], batch_size=8)
    assert a.model is b.model and a is not b and b.batch_size == 8


def test_online_hub_downloads_the_right_files(formats77, formats248, tmp_path, monkeypatch):
    """No network here: the hub client is replaced by a fake serving local files."""
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    repos = {
        "BeichenZhang/LongCLIP-L-336px": {
            "longclip-L@336px.pt": formats248["longclip"],
            "README.md": None,
            "other-longclip.pt": formats77["openai"],
        },
        "someone/clip-hf": {
            name: formats77["hf"] / name
            for name in ("config.json", "model.safetensors", "preprocessor_config.json")
        }
        | {"tf_model.h5": None, "tokenizer.json": None},
    }
    downloaded = []

    class FakeApi:
        def list_repo_files(self, repo):
            return list(repos[repo])

    def fake_download(repo, filename, cache_dir=None, local_files_only=False):
        if local_files_only:
            raise FileNotFoundError(filename)
        downloaded.append((repo, filename))
        target = tmp_path / "dl" / repo / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(repos[repo][filename], target)
        return str(target)

    def no_snapshot(*args, **kwargs):
        raise FileNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_snapshot)
    enc = load_clip("BeichenZhang/LongCLIP-L-336px", cache_dir=tmp_path)
    assert downloaded == [("BeichenZhang/LongCLIP-L-336px", "longclip-L@336px.pt")]
    assert enc.context_length == 248 and enc.source.endswith("(downloaded)")
    downloaded.clear()
    enc = load_clip("someone/clip-hf", cache_dir=tmp_path)
    # config.json is fetched first to check it is a CLIP model, then the files a CLIP model needs
    assert [name for _, name in downloaded] == [
        "config.json",
        "config.json",
        "preprocessor_config.json",
        "model.safetensors",
    ]
    assert enc.layout == "transformers" and enc.fingerprint == load_clip(formats77["hf"]).fingerprint
    siglip = tmp_path / "siglip-config.json"
    siglip.write_text('{"model_type": "siglip"}')
    repos["someone/siglip"] = {"config.json": siglip, "model.safetensors": None}
    with pytest.raises(ModelError, match="'someone/siglip' is a 'siglip' model, not a CLIP model"):
        load_clip("someone/siglip", cache_dir=tmp_path)


def test_transformers_folder_with_its_own_small_vocabulary(tmp_path):
    """A model trained with another BPE (here: the first 86 CLIP merges, 600 ids) tokenizes with the
    folder's vocab.json + merges.txt; ids and embeddings equal transformers' own tokenizer + model."""
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    from mmscore.models.tokenizer import byte_unicode_table, load_bpe
    from mmscore.testing.models import tiny_clip_config

    _, merges = load_bpe()
    base = list(byte_unicode_table().values())
    tokens = base + [t + "</w>" for t in base] + ["".join(m) for m in merges[:86]]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(tokens) == 600
    folder = tmp_path / "small-vocab"
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges[:86]) + "\n")
    data = tiny_clip_config().to_dict()
    data["text_config"].update(vocab_size=600, bos_token_id=598, eos_token_id=599, pad_token_id=599)
    torch.manual_seed(5)
    model = CLIPModel(CLIPConfig(**data)).eval()
    model.save_pretrained(folder)

    enc = load_clip(folder)
    texts = ["a red circle moves to the left", "Zebras & quails!", ""]
    reference = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
    batch = enc.tokenize(texts)
    for row, text in enumerate(texts):
        expected = reference(text)["input_ids"]
        assert batch.ids[row, : batch.lengths[row]].tolist() == expected
        with torch.inference_mode():
            features = model.get_text_features(input_ids=torch.tensor([expected]))
        features = getattr(features, "pooler_output", features)
        ours = enc.encode_texts([text])[0]
        torch.testing.assert_close(ours, torch.nn.functional.normalize(features, dim=-1)[0], atol=1e-5, rtol=0)
    assert enc.tokenizer_id.startswith("bpe-600-")


def test_small_vocabulary_without_tokenizer_files_is_refused(tmp_path):
    from mmscore.testing.models import save_tiny_clip_hf

    folder = save_tiny_clip_hf(tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["text_config"]["vocab_size"] = 600
    (folder / "config.json").write_text(json.dumps(config))
    from safetensors.torch import load_file, save_file

    sd = load_file(folder / "model.safetensors")
    sd["text_model.embeddings.token_embedding.weight"] = sd["text_model.embeddings.token_embedding.weight"][:600]
    save_file(sd, folder / "model.safetensors")
    with pytest.raises(ModelError, match="vocabulary has 600 entries.*vocab.json"):
        load_clip(folder)
