"""Background removal and compositing: known values on tiny arrays, real model runs, registered steps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from product_studio.errors import RecipeError, UsageError
from product_studio.item import ImageItem
from product_studio.ops import apply_op
from product_studio.ops.background import (
    clean_mask,
    composite_on_color,
    cut_out,
    estimate_foreground,
    guided_filter,
    mask_to_alpha,
    refine_alpha,
    segment_product,
    shadow_map,
)


def synthetic_product(h: int = 240, w: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A saturated, textured disc on a light-grey noisy sweep, and its true alpha (0/255)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    background = (230 - 30 * yy / h)[..., None] + rng.normal(0, 2, (h, w, 3))
    product = np.empty((h, w, 3))
    product[..., 0], product[..., 1], product[..., 2] = 200 + 20 * np.sin(xx / 5), 40.0, 40 + 20 * np.cos(yy / 7)
    inside = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (0.3 * h) ** 2
    image = np.where(inside[..., None], product, background)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), (inside * 255).astype(np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 128, b >= 128
    return float((a & b).sum() / max(1, (a | b).sum()))


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


@pytest.mark.parametrize("kind", ["contact", "drop"])
def test_shadow_fades_to_exact_white(kind):
    alpha = np.zeros((200, 200), np.uint8)
    alpha[40:140, 60:140] = 255
    pixels = np.full((200, 200, 3), 50, np.uint8)
    out = composite_on_color(pixels, alpha, shadow=kind, shadow_strength=0.5)
    background = alpha == 0
    darker = background & (out.min(axis=2) < 255)
    assert darker.any(), "a shadow must show somewhere"
    assert out[background].min() >= round(255 * 0.5) - 1  # never darker than the strength allows
    # Away from the product and its shadow the colour is exactly white.
    assert (out[:20] == 255).all() and (out[:, :30] == 255).all()
    # The shadow sits below / beside the product, and its values are whole steps from white.
    rows = np.flatnonzero(darker.any(axis=1))
    assert rows.max() >= 135
    shadow = shadow_map(alpha, kind=kind)
    assert shadow.dtype == np.float32 and 0.0 <= shadow.min() and shadow.max() <= 1.0


def test_no_shadow_without_product():
    out = composite_on_color(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.uint8), shadow="drop")
    assert (out == 255).all()


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


# ---------------------------------------------------------------------------------------------- filters


def test_guided_filter_preserves_a_constant():
    rng = np.random.default_rng(0)
    guide = rng.random((50, 60, 3), dtype=np.float32)
    src = np.full((50, 60), 0.7, np.float32)
    for subsample in (1, 3):
        out = guided_filter(guide, src, radius=4, eps=1e-3, subsample=subsample)
        assert out.shape == src.shape and out.dtype == np.float32
        np.testing.assert_allclose(out, 0.7, atol=1e-4)
    out = guided_filter(guide[..., 0].copy(), src, radius=3)
    np.testing.assert_allclose(out, 0.7, atol=1e-4)


def test_guided_filter_follows_the_guides_edge():
    guide = np.zeros((40, 40, 3), np.float32)
    guide[:, 20:] = 1.0  # a sharp edge at x = 20
    src = np.zeros((40, 40), np.float32)
    src[:, 16:] = 1.0  # a mask whose edge is 4 px off
    out = guided_filter(guide, src, radius=8, eps=1e-4)
    assert out[:, 5].max() < 0.35 and out[:, 30].min() > 0.65
    assert out[20, 20] - out[20, 19] > 0.3  # the step moved onto the guide's edge


def test_guided_filter_errors():
    with pytest.raises(UsageError, match="float32"):
        guided_filter(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), radius=1)
    with pytest.raises(UsageError, match="same height and width"):
        guided_filter(np.zeros((4, 4, 3), np.float32), np.zeros((5, 4), np.float32), radius=1)


def test_clean_mask_drops_specks_and_fills_pinholes():
    mask = np.zeros((100, 100), bool)
    mask[20:80, 20:80] = True
    mask[50, 50] = False  # a pin-hole
    mask[5, 5] = True  # a speck
    out = clean_mask(mask)
    assert out[50, 50] and not out[5, 5]


def test_clean_mask_keeps_a_hole_that_shows_the_background():
    image = np.full((100, 100, 3), 240, np.uint8)
    image[20:80, 20:80] = (200, 30, 30)
    image[40:60, 40:60] = 240  # a real opening: background colour
    mask = np.zeros((100, 100), bool)
    mask[20:80, 20:80] = True
    mask[40:60, 40:60] = False
    assert not clean_mask(mask, image=image)[50, 50]
    image[40:60, 40:60] = (30, 30, 200)  # a product-coloured "hole": the model was wrong
    assert clean_mask(mask, image=image)[50, 50]


def test_refine_alpha_snaps_a_blurry_map_to_the_edge():
    pixels, truth = synthetic_product()
    # what a model gives: a low-resolution, blurred version of the truth
    blurry = cv2.GaussianBlur(
        cv2.resize(truth.astype(np.float32) / 255, (40, 30), interpolation=cv2.INTER_AREA), (0, 0), 1.5
    )
    alpha = refine_alpha(pixels, blurry)
    assert alpha.dtype == np.uint8 and alpha.shape == truth.shape
    assert iou(alpha, truth) > 0.97
    assert (alpha[:10] == 0).all() and alpha[120, 160] == 255  # exact 0 and 255 away from the edge


def test_refine_alpha_at_full_resolution_beyond_working_size():
    pixels, truth = synthetic_product(h=900, w=1200)
    alpha = refine_alpha(pixels, truth, snap_edges=False, work_size=300)
    assert alpha.shape == truth.shape
    assert iou(alpha, truth) > 0.98
    assert ((alpha > 0) & (alpha < 255)).mean() < 0.02  # only a thin soft edge


def test_estimate_foreground_removes_background_colour_from_the_edge():
    h, w = 60, 60
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[:] = (0, 0, 255)  # blue background
    pixels[:, 30:] = (255, 0, 0)  # red product
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, 31:] = 255
    alpha[:, 30] = 128
    pixels[:, 30] = (128, 0, 127)  # the edge pixel mixes red and blue
    clean = estimate_foreground(pixels, alpha)
    assert clean[10, 30, 2] < 20 and clean[10, 30, 0] > 235  # the blue is gone
    assert (clean[:, 31:] == pixels[:, 31:]).all() and (clean[:, :30] == pixels[:, :30]).all()


def test_mask_to_alpha_formats_and_errors():
    assert mask_to_alpha(np.ones((4, 6), bool), (4, 6)).max() == 255
    assert mask_to_alpha(np.full((2, 3), 0.5, np.float32), (4, 6)).shape == (4, 6)
    with pytest.raises(UsageError, match="aspect ratio"):
        mask_to_alpha(np.zeros((4, 4), np.uint8), (4, 6))
    with pytest.raises(UsageError, match="0..1"):
        mask_to_alpha(np.full((4, 6), 3.0), (4, 6))


# ---------------------------------------------------------------------------------------------- segmentation


def test_u2netp_on_a_real_photo():
    skimage_data = pytest.importorskip("skimage.data")
    coffee = skimage_data.coffee()
    alpha = segment_product(coffee)
    assert alpha.shape == coffee.shape[:2] and alpha.dtype == np.uint8
    fraction = (alpha >= 128).mean()
    assert 0.25 < fraction < 0.75, fraction  # the cup and saucer, not the whole table
    assert alpha[0, 0] == 0 and alpha[coffee.shape[0] // 2, coffee.shape[1] // 2] == 255
    assert ((alpha > 0) & (alpha < 255)).mean() < 0.05  # a matte, not a blur


def test_u2netp_on_a_synthetic_product():
    pixels, truth = synthetic_product()
    assert iou(segment_product(pixels), truth) > 0.95
    raw = segment_product(pixels, refine=False)
    assert ((raw > 0) & (raw < 255)).mean() > ((segment_product(pixels) > 0) & (segment_product(pixels) < 255)).mean()


def test_grabcut_fallback():
    pixels, truth = synthetic_product()
    alpha = segment_product(pixels, method="grabcut")
    assert iou(alpha, truth) > 0.9
    assert alpha[0, 0] == 0


def test_user_mask_and_errors():
    pixels, truth = synthetic_product()
    alpha = segment_product(pixels, method="mask", mask=truth, refine=False)
    assert (alpha == truth).all()
    assert iou(segment_product(pixels, method="mask", mask=truth), truth) > 0.97
    with pytest.raises(UsageError, match="needs a mask"):
        segment_product(pixels, method="mask")
    with pytest.raises(UsageError, match="method='mask'"):
        segment_product(pixels, method="grabcut", mask=truth)
    with pytest.raises(UsageError, match="RGB, HxWx3"):
        segment_product(pixels[..., 0])


def test_cut_out_decontaminates_only_the_soft_edge():
    pixels, _truth = synthetic_product()
    clean, alpha = cut_out(pixels)
    assert (clean[alpha == 255] == pixels[alpha == 255]).all()
    assert (clean[alpha == 0] == pixels[alpha == 0]).all()


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


@pytest.mark.parametrize("shadow", ["contact", "drop"])
def test_shadow_never_reaches_the_canvas_border(shadow):
    # A product that nearly fills its canvas leaves almost no room below it.
    alpha = np.zeros((400, 400), np.uint8)
    alpha[4:392, 10:390] = 255
    pixels = np.full((400, 400, 3), 40, np.uint8)
    out = composite_on_color(pixels, alpha, shadow=shadow, shadow_strength=0.6)
    band = max(2, round(0.015 * 400))
    outer = np.concatenate([out[:band].reshape(-1, 3), out[-band:].reshape(-1, 3), out[:, :band].reshape(-1, 3), out[:, -band:].reshape(-1, 3)])
    product = np.concatenate([alpha[:band].ravel(), alpha[-band:].ravel(), alpha[:, :band].ravel(), alpha[:, -band:].ravel()]) > 0
    assert (outer[~product] == 255).all()
    # and the shadow is still there, below the product
    assert out[393:395, 150:250].min() < 255
