"""Upscaling: the shipped x2/x4 networks against bicubic on held-out photos, the op and its minimums."""

from __future__ import annotations

import numpy as np
import pytest

from product_studio.errors import RecipeError, UsageError
from product_studio.item import ImageItem
from product_studio.ops import apply_op, list_ops
from product_studio.ops.upscale import factors_to_reach, upscale_image, upscaler_available
from product_studio.train.metrics import psnr
from product_studio.train.restoration_data import downscale, eval_crops


@pytest.fixture(scope="module")
def truths():
    crops = eval_crops(192, max_side=512)
    return [crops[k] for k in ("coffee", "kite", "astronaut", "flower")]


@pytest.mark.parametrize("scale, gain", [(2, 1.0), (4, 0.3)])
def test_the_shipped_upscalers_beat_bicubic_on_held_out_photos(truths, scale, gain):
    assert upscaler_available(scale)
    ours, bicubic = [], []
    for truth in truths:
        low = downscale(truth, scale)
        big = upscale_image(low, scale=scale)
        assert big.shape == truth.shape and big.dtype == np.uint8
        ours.append(psnr(big, truth, border=scale))
        bicubic.append(psnr(upscale_image(low, scale=scale, method="bicubic"), truth, border=scale))
    assert np.mean(ours) > np.mean(bicubic) + gain


def test_tiled_upscaling_equals_one_pass(truths):
    low = downscale(truths[0], 2)[:, :77]
    whole = upscale_image(low, scale=2)
    tiled = upscale_image(low, scale=2, max_tile_pixels=48 * 48)
    assert whole.shape == (low.shape[0] * 2, 154, 3)
    assert np.abs(whole.astype(int) - tiled).max() <= 1


def test_classical_methods_and_bad_input():
    image = np.random.default_rng(0).integers(0, 255, (10, 12, 3), dtype=np.uint8)
    assert upscale_image(image, scale=4, method="lanczos").shape == (40, 48, 3)
    flat = np.full((6, 6, 3), 77, np.uint8)
    assert (upscale_image(flat, scale=2, method="bicubic") == 77).all()
    with pytest.raises(UsageError, match="scale must be 2 or 4"):
        upscale_image(image, scale=3)
    with pytest.raises(UsageError, match="unknown upscale method"):
        upscale_image(image, method="magic")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="HxWx3"):
        upscale_image(np.zeros((8, 8), np.uint8))


def test_factors_to_reach_a_minimum():
    assert factors_to_reach(600, 500) == []
    assert factors_to_reach(400, 800) == [2]
    assert factors_to_reach(300, 1000) == [4]
    assert factors_to_reach(100, 1000) == [4, 4]
    with pytest.raises(UsageError, match="more than x16"):
        factors_to_reach(10, 1000)


def test_upscale_step_scales_by_what_the_minimum_needs():
    spec = {op.name: op for op in list_ops()}["upscale"]
    assert set(spec.options.model_fields) == {"scale", "method", "min_side", "min_long_side", "max_tile_pixels"}
    pixels = np.random.default_rng(1).integers(0, 255, (60, 90, 3), dtype=np.uint8)
    alpha = np.zeros((60, 90), np.uint8)
    alpha[10:50, 20:70] = 255
    item = ImageItem(pixels=pixels, alpha=alpha)
    out = apply_op(item, "upscale", {})
    assert out.pixels.shape == (120, 180, 3) and out.alpha.shape == (120, 180)
    assert out.alpha[40, 90] == 255 and out.alpha[2, 2] == 0
    assert out.metadata["upscale_factor"] == 2 and out.log[-1].model == "upscaler_x2"
    assert apply_op(item, "upscale", {"min_side": 200}).pixels.shape == (240, 360, 3)  # 60 -> x4
    assert apply_op(item, "upscale", {"min_long_side": 150, "method": "lanczos"}).pixels.shape == (120, 180, 3)
    same = apply_op(item, "upscale", {"min_side": 60, "min_long_side": 90})
    assert same.pixels is item.pixels and same.metadata["upscale_factor"] == 1 and same.log[-1].op == "upscale"


def test_upscale_step_rejects_bad_options():
    with pytest.raises(RecipeError, match="step 'upscale' has bad options"):
        apply_op(ImageItem(pixels=np.zeros((8, 8, 3), np.uint8)), "upscale", {"scale": 3})


def test_a_weight_file_of_another_kind_or_scale_is_refused_with_a_clear_error():
    from product_studio.errors import ModelError
    from product_studio.models.registry import WEIGHTS_DIR
    from product_studio.ops.upscale import load_upscaler

    with pytest.raises(ModelError, match="not an ONNX model file"):
        load_upscaler(2, str(WEIGHTS_DIR / "fmnist_cnn.safetensors"))
    with pytest.raises(ModelError, match="'mtcnn_pnet', which is not an upscaler; give a file written by `product-studio train upscaler --scale 2`"):
        load_upscaler(2, str(WEIGHTS_DIR / "mtcnn_pnet.onnx"))
    with pytest.raises(ModelError, match="an x4 upscaler, not x2"):
        load_upscaler(2, str(WEIGHTS_DIR / "upscaler_x4.onnx"))
