"""A missing or damaged shipped model is an error naming its file, never a silent classical stand-in;
the classical method runs instead only where the user asked for it (``method: auto``), and says why."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from product_studio.errors import ModelError
from product_studio.item import ImageItem
from product_studio.models import registry
from product_studio.ops import apply_op
from product_studio.ops.denoise import load_denoiser
from product_studio.ops.upscale import load_upscaler


@pytest.fixture
def damaged_weights(tmp_path, monkeypatch):
    """A copy of the shipped weights folder with the x2 upscaler and the denoiser (their ONNX files) truncated to half."""
    folder = tmp_path / "weights"
    shutil.copytree(registry.WEIGHTS_DIR, folder)
    for name in ("upscaler_x2.onnx", "denoiser_unet.onnx"):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(registry, "WEIGHTS_DIR", folder.resolve())
    monkeypatch.setattr(registry, "MANIFEST_PATH", folder.resolve() / "manifest.json")
    load_upscaler.cache_clear()
    load_denoiser.cache_clear()
    yield folder
    load_upscaler.cache_clear()
    load_denoiser.cache_clear()


def photo() -> ImageItem:
    rng = np.random.default_rng(0)
    return ImageItem(pixels=rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))


@pytest.mark.parametrize("op, options, file_name", [
    ("upscale", {"scale": 2}, "upscaler_x2.onnx"),
    ("denoise", {}, "denoiser_unet.onnx"),
])
def test_a_damaged_model_is_an_error_naming_its_file(damaged_weights, op, options, file_name):
    with pytest.raises(ModelError) as info:
        apply_op(photo(), op, options)
    assert file_name in str(info.value) and "reinstall" in str(info.value)


@pytest.mark.parametrize("op, options, fact, method", [
    ("upscale", {"scale": 2, "method": "auto"}, "upscale_fallback", "bicubic"),
    ("denoise", {"method": "auto"}, "denoise_fallback", "nlm"),
])
def test_auto_falls_back_to_the_classical_method_and_says_why(damaged_weights, op, options, fact, method):
    out = apply_op(photo(), op, options)
    assert out.metadata[f"{op}_method"] == method
    assert "sha256 mismatch" in out.metadata[fact]
    assert out.log[-1].model is None


def test_intact_weights_run_the_network():
    out = apply_op(photo(), "upscale", {"scale": 2})
    assert out.metadata["upscale_method"] == "cnn" and out.log[-1].model and "upscale_fallback" not in out.metadata
