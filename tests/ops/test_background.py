"""Background: compositing on a colour (known values on tiny arrays) and the registered steps."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from product_studio.errors import RecipeError, UsageError
from product_studio.item import ImageItem
from product_studio.ops import apply_op
from product_studio.ops.background import composite_on_color

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic_product import iou, synthetic_product


# ---------------------------------------------------------------------------------------------- composite


def test_composite_known_values():
    pixels = np.array([[[10, 20, 30], [100, 150, 200], [7, 8, 9]]], np.uint8)
    alpha = np.array([[0, 255, 128]], np.uint8)
    out = composite_on_color(pixels, alpha)
    assert out[0, 0].tolist() == [255, 255, 255]  # alpha 0: exactly the colour
    assert out[0, 1].tolist() == [100, 150, 200]  # alpha 255: the pixel unchanged
    expected = (np.array([7, 8, 9]) * 128 + 255 * 127 + 127) // 255  # the exact blend
    assert out[0, 2].tolist() == expected.tolist() == [131, 131, 132]


def test_composite_background_is_exactly_white_everywhere():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    alpha = np.zeros((64, 80), np.uint8)
    alpha[20:40, 30:50] = 255
    alpha[19, 30:50] = 90
    out = composite_on_color(pixels, alpha)
    assert (out[alpha == 0] == 255).all()
    assert (out[alpha == 255] == pixels[alpha == 255]).all()
    assert out.dtype == np.uint8 and out.shape == pixels.shape


def test_composite_other_colour():
    pixels = np.zeros((4, 4, 3), np.uint8)
    alpha = np.zeros((4, 4), np.uint8)
    out = composite_on_color(pixels, alpha, color=(12, 34, 56))
    assert (out == np.array([12, 34, 56], np.uint8)).all()

@pytest.mark.parametrize(
    ("pixels", "alpha", "message"),
    [
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), "RGB, HxWx3"),
        (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.uint8), "uint8"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8), "resize the mask"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), "HxW uint8"),
    ],
)
def test_composite_rejects_bad_inputs(pixels, alpha, message):
    with pytest.raises(UsageError, match=message):
        composite_on_color(pixels, alpha)


def test_composite_rejects_bad_options():
    px, a = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)
    with pytest.raises(UsageError, match="three integers"):
        composite_on_color(px, a, color=(300, 0, 0))
    with pytest.raises(UsageError, match="shadow must be"):
        composite_on_color(px, a, shadow="long")
    with pytest.raises(UsageError, match="shadow_strength"):
        composite_on_color(px, a, shadow="drop", shadow_strength=2)

# ---------------------------------------------------------------------------------------------- registered steps


def test_steps_through_apply_op():
    pixels, truth = synthetic_product()
    item = ImageItem(pixels=pixels, source="synthetic")
    cut = apply_op(item, "remove_background")
    assert cut.alpha is not None and iou(cut.alpha, truth) > 0.95
    assert cut.log[-1].op == "remove_background" and cut.log[-1].model.startswith("u2netp@")
    assert "_model" not in cut.metadata and cut.metadata["alpha_source"] == "u2netp"
    white = apply_op(cut, "white_background", {"shadow": "contact"})
    assert white.alpha is None and white.log[-1].params["color"] == [255, 255, 255]
    assert (white.pixels[:5] == 255).all()
    assert (white.pixels[cut.alpha == 255] == cut.pixels[cut.alpha == 255]).all()


def test_remove_background_keeps_an_existing_alpha():
    pixels, truth = synthetic_product()
    item = ImageItem(pixels=pixels, alpha=truth)
    out = apply_op(item, "remove_background")
    assert (out.alpha == truth).all() and out.metadata["alpha_source"].startswith("input")
    assert out.log[-1].model is None
    regrab = apply_op(item, "remove_background", {"method": "grabcut"})
    assert regrab.metadata["alpha_source"] == "grabcut"


def test_remove_background_with_mask_path(tmp_path):
    pixels, truth = synthetic_product()
    path = tmp_path / "mask.png"
    Image.fromarray(truth, "L").save(path)  # luminance mask
    out = apply_op(ImageItem(pixels=pixels), "remove_background", {"mask_path": str(path)})
    assert out.log[-1].params["method"] == "mask" and iou(out.alpha, truth) > 0.97
    rgba = np.dstack([np.zeros_like(pixels), truth])  # a mask carried in the alpha channel
    Image.fromarray(rgba, "RGBA").save(path)
    out = apply_op(
        ImageItem(pixels=pixels), "remove_background", {"method": "mask", "mask_path": str(path), "refine": False}
    )
    assert (out.alpha == truth).all()


def test_remove_background_bad_options():
    item = ImageItem(pixels=np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(RecipeError, match="mask_path"):
        apply_op(item, "remove_background", {"method": "mask"})
    with pytest.raises(RecipeError, match="method"):
        apply_op(item, "remove_background", {"method": "magic"})
    with pytest.raises(RecipeError, match="color"):
        apply_op(item, "white_background", {"color": [256, 0, 0]})


def test_white_background_without_alpha_leaves_the_image_alone():
    pixels = np.full((10, 10, 3), 250, np.uint8)
    pixels[0, 0] = 248  # a near-white border must not be "fixed"
    out = apply_op(ImageItem(pixels=pixels), "white_background")
    assert (out.pixels == pixels).all() and out.alpha is None
