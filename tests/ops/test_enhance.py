"""Enhancement ops: known values on tiny arrays, identities, error messages, the registered step."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from product_studio.errors import RecipeError, UsageError
from product_studio.imageio import load_image
from product_studio.item import ImageItem
from product_studio.ops import apply_op, list_ops
from product_studio.ops.enhance import (
    adjust_levels,
    enhance,
    estimate_backdrop,
    local_contrast,
    sharpen,
    white_balance,
    white_balance_gains,
)
from product_studio.vision.colors import rgb_to_lab
from synthetic_product import iou, synthetic_product

ALL_OPS = [white_balance, adjust_levels, local_contrast, sharpen, enhance]


def textured(size: int = 48, seed: int = 0) -> np.ndarray:
    """A smooth colourful image with some texture: gradients, a disc, mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    img = np.dstack([60 + 120 * x, 50 + 100 * y, 150 - 80 * x * y])
    disc = (x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.06
    img[disc] = (200, 70, 40)
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def gradient_energy(image: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(np.sum(np.diff(grey, axis=0) ** 2) + np.sum(np.diff(grey, axis=1) ** 2))


# ---------------------------------------------------------------------------- shapes, identity


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda f: f.__name__)
def test_output_is_a_new_rgb_uint8_array_of_the_same_shape(op):
    img = textured(37)  # odd size on purpose
    before = img.copy()
    out = op(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out is not img and not np.shares_memory(out, img)
    np.testing.assert_array_equal(img, before)  # the input is never modified


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda f: f.__name__)
def test_strength_zero_is_exactly_the_identity(op):
    img = textured()
    out = op(img, strength=0)
    np.testing.assert_array_equal(out, img)
    assert out is not img


def test_enhance_with_every_stage_off_is_the_identity():
    img = textured()
    out = enhance(img, white_balance=False, exposure=False, contrast=False, sharpen=False)
    np.testing.assert_array_equal(out, img)


def test_enhance_full_strength_changes_the_image_more_than_half():
    img = textured(seed=3)
    half = np.abs(enhance(img, strength=0.5).astype(int) - img).mean()
    full = np.abs(enhance(img, strength=1.0).astype(int) - img).mean()
    assert 0 < half < full


def test_one_pixel_images_work():
    img = np.array([[[10, 200, 90]]], np.uint8)
    for op in ALL_OPS:
        assert op(img).shape == (1, 1, 3)


# ---------------------------------------------------------------------------- white balance


def test_white_balance_removes_a_colour_cast_from_a_grey_card():
    rng = np.random.default_rng(1)
    grey = np.clip(128 + rng.normal(0, 4, (32, 32, 1)), 0, 255)
    cast = np.clip(grey * np.array([1.2, 1.0, 0.8]), 0, 255).round().astype(np.uint8)
    means = cast.reshape(-1, 3).mean(axis=0)
    assert means.max() / means.min() > 1.4  # the cast is real
    out = white_balance(cast).reshape(-1, 3).mean(axis=0)
    assert out.max() / out.min() < 1.02


def test_white_balance_half_strength_corrects_part_of_the_cast():
    cast = np.full((8, 8, 3), (150, 128, 100), np.uint8)
    full = white_balance(cast)[0, 0].astype(int)
    half = white_balance(cast, strength=0.5)[0, 0].astype(int)
    assert np.ptp(full) < np.ptp(half) < np.ptp(cast[0, 0].astype(int))


def test_white_balance_ignores_clipped_pixels():
    # A blown-out white region (it tells nothing about the light) next to a warm grey card:
    # the estimate must come from the card alone.
    img = np.full((20, 20, 3), (150, 128, 100), np.uint8)
    img[:, :10] = 255
    gains = white_balance_gains(img)
    card_only = white_balance_gains(img[:, 10:])
    np.testing.assert_allclose(gains, card_only)


def test_white_balance_estimates_from_the_mask_only():
    # Left half a neutral grey card, right half an orange product: with the mask on the card,
    # nothing on the neutral half moves.
    img = np.full((16, 16, 3), 128, np.uint8)
    img[:, 8:] = (220, 120, 30)
    mask = np.zeros((16, 16), np.uint8)
    mask[:, :8] = 255
    out = white_balance(img, mask=mask)
    np.testing.assert_array_equal(out, img)
    assert not np.array_equal(white_balance(img), img)  # without the mask the orange pulls


def test_white_balance_leaves_an_all_clipped_image_alone():
    img = np.full((8, 8, 3), 255, np.uint8)
    np.testing.assert_array_equal(white_balance(img), img)


# ---------------------------------------------------------------------------- levels


def test_levels_stretch_a_low_contrast_image_to_near_full_range():
    ramp = np.linspace(90, 160, 64)
    img = np.repeat(np.repeat(ramp[None, :, None], 16, axis=0), 3, axis=2).round().astype(np.uint8)
    out = adjust_levels(img)
    assert out.min() <= 5 and out.max() >= 250
    # monotonic: a brighter input pixel is never darker afterwards
    assert np.all(np.diff(out[0, :, 1].astype(int)) >= 0)


def test_levels_keep_the_hue_of_a_coloured_patch():
    ramp = np.linspace(30, 100, 64)
    img = np.repeat(np.repeat(ramp[None, :, None], 64, axis=0), 3, axis=2).round().astype(np.uint8)
    img[20:40, 20:40] = (90, 60, 45)  # a dim, warm patch in an under-exposed shot
    out = adjust_levels(img)
    before, after = img[30, 30].astype(float), out[30, 30].astype(float)
    assert after[1] > before[1] * 1.5  # brightened a lot
    # R:G:B within 10% (8-bit LAB quantises a dim patch's chroma to about +-4%), hue within 3/256.
    np.testing.assert_allclose(after / after[1], before / before[1], rtol=0.1)
    hue = lambda rgb: cv2.cvtColor(rgb.reshape(1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2HSV_FULL)[0, 0, 0]  # noqa: E731
    assert abs(int(hue(after)) - int(hue(before))) <= 3  # of 256


def test_levels_lift_an_under_exposed_image_towards_mid_grey():
    img = (textured(seed=2).astype(float) * 0.3).astype(np.uint8)
    out = adjust_levels(img)
    assert img.mean() < 40 and out.mean() > 90


def test_levels_do_not_blow_up_a_flat_image():
    img = np.full((16, 16, 3), 120, np.uint8)
    img[0, 0] = 122
    out = adjust_levels(img, clip=0)
    assert np.abs(out.astype(int) - img).max() <= 12


# ---------------------------------------------------------------------------- local contrast


def test_clahe_raises_the_spread_of_a_low_contrast_image():
    rng = np.random.default_rng(4)
    img = np.clip(120 + 10 * cv2.GaussianBlur(rng.normal(0, 1, (64, 64)), (0, 0), 2) * 3, 0, 255)
    img = np.repeat(img[..., None], 3, axis=2).round().astype(np.uint8)
    out = local_contrast(img)
    assert out.std() > 1.5 * img.std()
    assert local_contrast(img, strength=0.5).std() < out.std()


def test_clahe_keeps_the_colour_of_a_neutral_image_neutral():
    img = np.repeat(textured()[..., :1], 3, axis=2)
    out = local_contrast(img).astype(int)
    assert np.abs(out[..., 0] - out[..., 2]).max() <= 2


# ---------------------------------------------------------------------------- sharpen


def test_sharpen_raises_the_gradient_energy_of_an_edge():
    edge = np.full((16, 16, 3), 60, np.uint8)
    edge[:, 8:] = 180
    soft = cv2.GaussianBlur(edge, (0, 0), 1.5)
    out = sharpen(soft)
    assert gradient_energy(out) > 1.2 * gradient_energy(soft)
    assert gradient_energy(sharpen(soft, strength=2)) > gradient_energy(out)


def test_sharpen_leaves_a_flat_image_exactly_unchanged():
    flat = np.full((12, 12, 3), (40, 150, 220), np.uint8)
    np.testing.assert_array_equal(sharpen(flat, strength=4), flat)


def test_sharpen_threshold_leaves_faint_noise_alone():
    rng = np.random.default_rng(5)
    faint = np.clip(128 + rng.integers(-1, 2, (16, 16, 1)), 0, 255).astype(np.uint8).repeat(3, axis=2)
    np.testing.assert_array_equal(sharpen(faint, threshold=2), faint)
    assert not np.array_equal(sharpen(faint, threshold=0), faint)


def test_sharpen_adds_no_colour_fringes():
    edge = np.full((8, 16, 3), 60, np.uint8)
    edge[:, 8:] = 180
    out = sharpen(cv2.GaussianBlur(edge, (0, 0), 1.0)).astype(int)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 1], out[..., 2])


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((4, 4), np.uint8), "HxWx3"),
        (np.zeros((4, 4, 4), np.uint8), "HxWx3"),
        (np.zeros((4, 4, 3), np.float32), "uint8"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        ([[1, 2, 3]], "numpy array"),
    ],
)
def test_bad_pixels_raise_usage_error(op, bad, words):
    with pytest.raises(UsageError, match=words):
        op(bad)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda img: white_balance(img, strength=1.5), "strength must be between 0.0 and 1.0; got 1.5"),
        (lambda img: white_balance(img, strength=float("nan")), "strength must be between"),
        (lambda img: white_balance(img, strength="high"), "strength must be a number"),
        (lambda img: white_balance(img, mask=np.ones((3, 3), np.uint8)), "resize the mask"),
        (lambda img: white_balance(img, mask=np.ones((8, 8), np.float32)), "HxW bool or uint8"),
        (lambda img: white_balance(img, mask=np.zeros((8, 8), bool)), "selects no pixels"),
        (lambda img: adjust_levels(img, clip=60), "clip must be between 0.0 and 10.0"),
        (lambda img: adjust_levels(img, strength=-0.1), "strength must be between"),
        (lambda img: local_contrast(img, tile=0), "tile must be between 1 and 64"),
        (lambda img: local_contrast(img, tile=2.5), "tile must be a whole number"),
        (lambda img: local_contrast(img, clip_limit=0), "clip_limit must be between"),
        (lambda img: sharpen(img, radius=0), "radius must be between"),
        (lambda img: sharpen(img, threshold=-1), "threshold must be between 0 and 255"),
        (lambda img: sharpen(img, strength=True), "strength must be a number"),
        (lambda img: enhance(img, strength=2), "strength must be between 0.0 and 1.0"),
        (lambda img: enhance(img, alpha=np.ones((3, 3), np.uint8)), "resize the mask"),
        (lambda img: enhance(img, alpha=np.ones((8, 8), bool)), "alpha must be HxW uint8"),
    ],
)
def test_bad_options_raise_usage_error_with_a_useful_message(call, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(".", r"\.")):
        call(np.zeros((8, 8, 3), np.uint8))


# ---------------------------------------------------------------------------- registered step


def test_enhance_step_is_registered():
    spec = {op.name: op for op in list_ops()}["enhance"]
    assert set(spec.options.model_fields) == {"strength", "white_balance", "exposure", "contrast", "sharpen"}
    assert spec.summary


def test_enhance_step_runs_keeps_alpha_and_logs():
    img = textured()
    alpha = np.zeros(img.shape[:2], np.uint8)
    alpha[10:30, 10:30] = 255
    item = ImageItem(pixels=img, alpha=alpha, source="photo")
    out = apply_op(item, "enhance", {"strength": 0.7, "sharpen": False})
    np.testing.assert_array_equal(out.pixels, enhance(img, strength=0.7, sharpen=False, alpha=alpha))
    np.testing.assert_array_equal(out.alpha, alpha)
    np.testing.assert_array_equal(out.pixels[alpha == 0], img[alpha == 0])  # transparent pixels untouched
    assert not np.array_equal(out.pixels[alpha > 0], img[alpha > 0])
    assert out.log[-1].op == "enhance" and out.log[-1].params["strength"] == 0.7
    assert item.log == []  # the input item is untouched


def test_enhance_step_defaults_and_zero_strength():
    item = ImageItem(pixels=textured())
    np.testing.assert_array_equal(apply_op(item, "enhance").pixels, enhance(item.pixels))
    np.testing.assert_array_equal(apply_op(item, "enhance", {"strength": 0}).pixels, item.pixels)


@pytest.mark.parametrize("options", [{"strength": 1.5}, {"sharpness": True}, {"contrast": "maybe"}])
def test_enhance_step_rejects_bad_options(options):
    with pytest.raises(RecipeError, match="step 'enhance' has bad options"):
        apply_op(ImageItem(pixels=textured(8)), "enhance", options)


# ---------------------------------------------------------------------------- the product's true colour

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def to_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    return np.clip(srgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def mean_lab(pixels: np.ndarray, where: np.ndarray) -> np.ndarray:
    return rgb_to_lab(pixels[where].reshape(-1, 3).mean(axis=0).astype(np.float32)).astype(np.float64)


def delta_e76(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def neutral_studio_shot(size: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A well-exposed grey product (a shaded, textured ellipse with a dark rim) on a white sweep
    exposed at 251..255, and its alpha."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    inside = ((x - 0.5) / 0.32) ** 2 + ((y - 0.55) / 0.38) ** 2 < 1
    rim = inside & (((x - 0.5) / 0.29) ** 2 + ((y - 0.55) / 0.35) ** 2 >= 1)
    grey = 40 + 170 * x + 10 * np.sin(40 * y) + rng.normal(0, 3, x.shape)
    grey[rim] = 35
    image = np.where(inside, grey, 253 + rng.normal(0, 1, x.shape))
    pixels = np.repeat(np.clip(image + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    return pixels, (inside * 255).astype(np.uint8)


def test_teddy_cut_out_keeps_its_colour_through_enhance():
    # Its transparent pixels used to count in the statistics: the median (184, 67, 0) became (243, 122, 5).
    item = load_image(SAMPLES / "teddy_bear.png")
    inside = item.alpha >= 250
    for strength in (0.5, 1.0):  # amazon-main's setting, and the full effect
        out = apply_op(item, "enhance", {"strength": strength}).pixels
        before, after = np.median(item.pixels[inside], axis=0), np.median(out[inside], axis=0)
        assert delta_e76(rgb_to_lab(before.astype(np.float32)), rgb_to_lab(after.astype(np.float32))) < 2.0
        assert delta_e76(mean_lab(item.pixels, inside), mean_lab(out, inside)) < 1.0


def test_a_well_exposed_neutral_shot_is_close_to_identity():
    pixels, alpha = neutral_studio_shot()
    inside = cv2.erode(alpha, np.ones((5, 5), np.uint8)) > 0
    away = cv2.dilate(alpha, np.ones((9, 9), np.uint8)) == 0
    for strength, most, changed in ((0.5, 0.4, 3.0), (1.0, 1.0, 5.0)):  # sharpening clips at the dark rim: a little
        out = enhance(pixels, strength=strength)
        assert delta_e76(mean_lab(pixels, inside), mean_lab(out, inside)) < most
        # the sweep stays as it was (the sharpening touches a few noise pixels)
        assert np.abs(out[away].astype(int) - pixels[away]).max() <= 2
        assert np.mean(out[away] != pixels[away]) < 0.01
        assert np.abs(out.astype(int) - pixels).mean() < changed  # detail is added, the rest is kept
        # neutral stays neutral: no white balance invented from nothing
        assert np.abs(out[inside][:, 0].astype(int) - out[inside][:, 2]).max() <= 2


def test_cut_out_and_on_white_get_the_same_colour():
    pixels, alpha = neutral_studio_shot(seed=1)
    pixels[alpha > 0] = (pixels[alpha > 0] * np.array([1.0, 0.6, 0.3])).astype(np.uint8)  # an orange product
    inside = cv2.erode(alpha, np.ones((5, 5), np.uint8)) > 0
    cut_out = pixels.copy()
    cut_out[alpha == 0] = 0  # a cut-out's hidden pixels can be anything
    on_white = enhance(pixels)
    from_cut_out = enhance(cut_out, alpha=alpha)
    assert delta_e76(mean_lab(pixels, inside), mean_lab(on_white, inside)) < 0.6
    assert delta_e76(mean_lab(on_white, inside), mean_lab(from_cut_out, inside)) < 0.5


def test_a_saturated_product_on_a_grey_sweep_keeps_its_colour():
    pixels, alpha = synthetic_product()
    inside = cv2.erode(alpha, np.ones((5, 5), np.uint8)) > 0
    out = enhance(pixels, strength=1.0)
    assert delta_e76(mean_lab(pixels, inside), mean_lab(out, inside)) < 1.0


def test_a_blue_cast_is_corrected_toward_neutral_on_the_backdrop():
    pixels, alpha = neutral_studio_shot(seed=2)
    cast = to_srgb(to_linear(pixels) * 0.9 * np.array([0.75, 0.87, 1.0]))  # shot under blue light
    backdrop = alpha == 0
    inside = cv2.erode(alpha, np.ones((5, 5), np.uint8)) > 0
    chroma = lambda img: float(np.hypot(*mean_lab(img, backdrop)[1:]))  # noqa: E731
    assert chroma(cast) > 8  # the cast is real
    full, half = enhance(cast, strength=1.0), enhance(cast, strength=0.5)
    assert chroma(full) < 1.0 < chroma(half) < chroma(cast)
    assert mean_lab(full, backdrop)[0] > 98  # the white sweep is white again
    shift = delta_e76(mean_lab(pixels, inside), mean_lab(cast, inside))
    assert delta_e76(mean_lab(pixels, inside), mean_lab(full, inside)) < 0.2 * shift


def test_a_coloured_backdrop_is_not_taken_for_a_cast():
    pixels, alpha = neutral_studio_shot(seed=3)
    pixels[alpha == 0] = (90, 140, 230)  # blue paper, not blue light
    out = enhance(pixels, strength=0.5)
    away = cv2.dilate(alpha, np.ones((9, 9), np.uint8)) == 0
    np.testing.assert_array_equal(out[away], pixels[away])
    inside = cv2.erode(alpha, np.ones((5, 5), np.uint8)) > 0
    assert delta_e76(mean_lab(pixels, inside), mean_lab(out, inside)) < 0.4
    assert np.abs(out[inside][:, 0].astype(int) - out[inside][:, 2]).max() <= 2  # the grey product stays grey


def test_a_cut_out_keeps_its_own_tints():
    # No backdrop to read the light on: a warm-grey cut-out is not "corrected" to grey.
    pixels, alpha = neutral_studio_shot(seed=4)
    warm = to_srgb(to_linear(pixels) * np.array([1.0, 0.95, 0.9]))
    out = enhance(warm, strength=1.0, alpha=alpha)
    inside = cv2.erode(alpha, np.ones((5, 5), np.uint8)) > 0
    assert delta_e76(mean_lab(warm, inside), mean_lab(out, inside)) < 1.0


def test_a_scene_is_balanced_on_its_near_neutral_pixels():
    # A cluttered scene (no even border): grey patches under a mild warm light next to saturated
    # colours; the greys come back to grey, and the reds and greens do not drag the estimate.
    rng = np.random.default_rng(6)
    cells = rng.choice([0, 1, 2], size=(8, 8), p=[0.4, 0.3, 0.3])
    colours = np.array([[150, 150, 150], [200, 40, 30], [40, 160, 60]], float)
    scene = np.kron(colours[cells], np.ones((12, 12, 1))) + rng.normal(0, 2, (96, 96, 3))
    scene = np.clip(scene, 0, 255).astype(np.uint8)
    assert estimate_backdrop(scene) is None
    warm = to_srgb(to_linear(scene) * np.array([1.0, 0.95, 0.9]))
    grey = np.kron(cells == 0, np.ones((12, 12))).astype(bool)
    out = enhance(warm, strength=1.0, exposure=False, contrast=False, sharpen=False)
    assert np.hypot(*mean_lab(out, grey)[1:]) < 0.3 * np.hypot(*mean_lab(warm, grey)[1:])


def test_estimate_backdrop_finds_the_sweep_and_gives_up_on_a_scene():
    pixels, alpha = synthetic_product()
    backdrop = estimate_backdrop(pixels)
    assert backdrop is not None and backdrop.shape == alpha.shape
    assert iou((~backdrop * 255).astype(np.uint8), alpha) > 0.9
    assert estimate_backdrop(textured(64)) is None  # a colourful gradient: no even border
    with pytest.raises(UsageError, match="HxWx3"):
        estimate_backdrop(np.zeros((4, 4), np.uint8))
