"""The model registry: every preset builds, trains and round-trips; bad weight files are refused."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from product_studio.errors import ModelError, UsageError
from product_studio.models import create_model, list_models, load_model, read_metadata, registry, save_model


def _input_for(model: torch.nn.Module, batch: int = 2) -> torch.Tensor:
    cfg = model.config
    generator = torch.Generator().manual_seed(0)
    return torch.rand(batch, cfg.in_channels, cfg.image_size, cfg.image_size, generator=generator)


def test_registry_lists_the_presets():
    names = list_models()
    assert {"fmnist_cnn", "fmnist_cnn_tiny", "catalog_cnn_64"} <= set(names)
    assert names == sorted(names)
    assert "fmnist_cnn" in list_models("classifier")


def test_unknown_model_and_bad_override_are_usage_errors():
    with pytest.raises(UsageError, match="unknown model 'nope'.*fmnist_cnn"):
        create_model("nope")
    with pytest.raises(UsageError, match="does not take"):
        create_model("fmnist_cnn", no_such_option=3)


@pytest.mark.parametrize("name", list_models("classifier"))
def test_forward_shape_no_nan_and_every_parameter_learns(name):
    torch.manual_seed(0)
    model = create_model(name)
    x = _input_for(model, batch=3)
    out = model(x)
    num_classes = model.config.num_classes
    assert out.shape == (3, num_classes)
    assert torch.isfinite(out).all()
    out.logsumexp(1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"parameters without a gradient: {missing}"
    dead = [n for n, p in model.named_parameters() if p.grad.abs().sum() == 0]
    assert not dead, f"parameters whose gradient is zero: {dead}"


@pytest.mark.parametrize("name", list_models("classifier"))
def test_save_load_round_trip_gives_identical_outputs(name, tmp_path):
    torch.manual_seed(1)
    model = create_model(name)
    # Move the BN statistics and zero-initialised scales off their defaults so the check has teeth.
    model.train()
    model(_input_for(model, batch=4))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.eval()
    path = save_model(model, tmp_path / f"{name}.safetensors", metrics={"accuracy": 0.5})
    loaded = load_model(path)
    x = _input_for(model)
    assert torch.equal(model(x), loaded(x))
    assert loaded.model_name == name and loaded.config == model.config
    assert loaded.metrics == {"accuracy": 0.5}
    meta = read_metadata(path)
    assert meta["model"] == name and json.loads(meta["config"])["widths"] == list(model.config.widths)


def test_overrides_reach_the_module_and_the_file(tmp_path):
    model = create_model("catalog_cnn_64", class_names=("bag", "hat", "shoe"))
    assert model.config.num_classes == 3 and model.head.out_features == 3
    loaded = load_model(save_model(model, tmp_path / "c.safetensors"))
    assert loaded.class_names == ["bag", "hat", "shoe"]


def _rewrite(path, tmp_path, **meta_changes):
    tensors, meta = load_file(str(path)), read_metadata(path)
    meta.update(meta_changes)
    target = tmp_path / "changed.safetensors"
    save_file(tensors, str(target), metadata=meta)
    return target


def test_version_mismatch_is_refused_with_a_clear_error(tmp_path):
    path = save_model(create_model("fmnist_cnn_tiny"), tmp_path / "m.safetensors")
    old = _rewrite(path, tmp_path, package_version="0.0.1")
    with pytest.raises(ModelError, match=r"version mismatch: written by product-studio 0\.0\.1"):
        load_model(old)
    assert load_model(old, strict_version=False).model_name == "fmnist_cnn_tiny"


def test_config_mismatch_is_refused_with_a_clear_error(tmp_path):
    path = save_model(create_model("fmnist_cnn_tiny"), tmp_path / "m.safetensors")
    config = json.loads(read_metadata(path)["config"])
    wider = _rewrite(path, tmp_path, config=json.dumps({**config, "widths": [16, 32, 64]}))
    with pytest.raises(ModelError, match="config mismatch.*wrong shape"):
        load_model(wider)
    unknown = _rewrite(path, tmp_path, config=json.dumps({**config, "attention_heads": 4}))
    with pytest.raises(ModelError, match="does not know: attention_heads"):
        load_model(unknown)
    with pytest.raises(ModelError, match="expected 'fmnist_cnn'"):
        load_model(path, expect_model="fmnist_cnn")


def test_foreign_and_damaged_files_are_refused(tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(ModelError, match="not a Product Studio weight file"):
        load_model(plain)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="not a readable safetensors file .*: give the final.safetensors a training run wrote"):
        load_model(junk)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.safetensors")


def test_the_shipped_weights_match_the_manifest():
    manifest = registry.read_manifest()["weights"]
    assert "fmnist_cnn.safetensors" in manifest
    for name, entry in manifest.items():
        path = registry.WEIGHTS_DIR / name
        assert path.stat().st_size <= 8 * 1024 * 1024  # small enough for git; the GAN (float16) is the largest
        assert registry.sha256_file(path) == entry["sha256"]
        if "exported_from" in entry or ("data" not in entry and name.endswith(".onnx")):  # an export of a shipped safetensors (train/export.ship_onnx), with its parity
            assert {"command", "exported_from", "exported_from_sha256", "parity_max_abs_diff"} <= set(entry)
            assert manifest[entry["exported_from"]]["sha256"] == entry["exported_from_sha256"]
        else:
            assert {"command", "data", "metrics"} <= set(entry)


def test_a_tampered_shipped_weight_is_refused(tmp_path, monkeypatch):
    """A copy of the shipped folder with one byte changed: load_model must refuse it (sha256)."""
    shipped = tmp_path / "weights"
    shutil.copytree(registry.WEIGHTS_DIR, shipped)
    monkeypatch.setattr(registry, "WEIGHTS_DIR", shipped.resolve())
    monkeypatch.setattr(registry, "MANIFEST_PATH", shipped / "manifest.json")
    path = shipped / "fmnist_cnn.safetensors"
    assert load_model(path).model_name == "fmnist_cnn"  # intact: loads
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one bit in the last tensor
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        load_model(path)
    stray = shipped / "stray.safetensors"
    save_model(create_model("fmnist_cnn_tiny"), stray)
    with pytest.raises(ModelError, match="no manifest entry"):
        load_model(stray)
