"""Denoising: NLM against the clean image, the step, the CNN (the noise estimate: tests/vision/test_noise.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from product_studio.errors import RecipeError, UsageError
from product_studio.item import ImageItem
from product_studio.ops import apply_op, list_ops
from product_studio.ops.denoise import denoise_nlm
from product_studio.train.metrics import psnr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from noise_images import smooth_image, with_noise  # tests/noise_images.py


@pytest.mark.parametrize("sigma", [10, 25])
def test_nlm_raises_psnr_against_the_clean_image(sigma):
    clean = smooth_image(64)
    noisy = with_noise(clean, sigma)
    out = denoise_nlm(noisy)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert psnr(out, clean) > psnr(noisy, clean) + 6


def test_nlm_with_a_given_sigma_matches_the_estimated_one_closely():
    clean = smooth_image(48)
    noisy = with_noise(clean, 15)
    auto, given = denoise_nlm(noisy), denoise_nlm(noisy, sigma=15)
    assert abs(psnr(auto, clean) - psnr(given, clean)) < 1.0


def test_nlm_strength_zero_and_clean_images_are_left_unchanged():
    noisy = with_noise(smooth_image(32), 10)
    out = denoise_nlm(noisy, strength=0)
    np.testing.assert_array_equal(out, noisy)
    assert out is not noisy
    clean = smooth_image(32).round().astype(np.uint8)
    np.testing.assert_array_equal(denoise_nlm(clean), clean)


def test_nlm_keeps_colours_in_place():
    # OpenCV's filter expects BGR: a red patch must stay red, not turn blue.
    img = np.full((32, 32, 3), 128.0)
    img[8:24, 8:24] = (200, 40, 40)
    out = denoise_nlm(with_noise(img, 10))
    r, g, b = out[16, 16].astype(int)
    assert r > 170 and g < 70 and b < 70


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"strength": 2}, "strength must be between 0.0 and 1.0"),
        ({"sigma": -1}, "sigma must be between 0.0 and 100.0"),
        ({"sigma": "auto"}, "sigma must be a number"),
    ],
)
def test_nlm_rejects_bad_options(kwargs, words):
    with pytest.raises(UsageError, match=words.replace(".", r"\.")):
        denoise_nlm(np.zeros((8, 8, 3), np.uint8), **kwargs)


def test_nlm_rejects_bad_pixels():
    with pytest.raises(UsageError, match="HxWx3"):
        denoise_nlm(np.zeros((8, 8), np.uint8))


def test_denoise_step_is_registered_and_runs():
    spec = {op.name: op for op in list_ops()}["denoise"]
    assert set(spec.options.model_fields) == {"strength", "method", "sigma", "max_tile_pixels"}
    clean = smooth_image(48)
    noisy = with_noise(clean, 15)
    alpha = np.full(noisy.shape[:2], 200, np.uint8)
    item = ImageItem(pixels=noisy, alpha=alpha)
    out = apply_op(item, "denoise", {"strength": 0.5, "method": "nlm"})
    assert out.metadata["denoise_method"] == "nlm" and out.log[-1].model is None
    assert psnr(out.pixels, clean) > psnr(noisy, clean) + 5
    np.testing.assert_array_equal(out.alpha, alpha)
    assert out.metadata["noise_sigma"] == pytest.approx(15, rel=0.2)
    assert out.log[-1].op == "denoise" and out.log[-1].params == {"strength": 0.5, "method": "nlm", "sigma": None,
                                                                  "max_tile_pixels": 512 * 512}


@pytest.mark.parametrize("options", [{"method": "dncnn"}, {"strength": -0.5}, {"radius": 5}, {"sigma": 500}])
def test_denoise_step_rejects_bad_options(options):
    with pytest.raises(RecipeError, match="step 'denoise' has bad options"):
        apply_op(ImageItem(pixels=np.zeros((8, 8, 3), np.uint8)), "denoise", options)


# ---- the learned denoiser (method "cnn", the default when its weights are installed) -----------


@pytest.fixture(scope="module")
def held_out():
    """Crops of three held-out photographs (never used in training) and their noisy copies at sigma 25."""
    from product_studio.train.restoration_data import eval_crops

    crops = eval_crops(128, max_side=512)
    clean = [crops[k] for k in ("coffee", "kite", "astronaut")]
    return clean, [with_noise(c.astype(np.float64), 25, seed=i) for i, c in enumerate(clean)]


def test_cnn_is_the_default_method_and_beats_nlm_on_held_out_photos(held_out):
    from product_studio.ops.denoise import denoise_cnn, denoiser_available

    assert denoiser_available(), "the shipped denoiser weights must load"
    clean, noisy = held_out
    noisy_db = np.mean([psnr(n, c) for n, c in zip(noisy, clean)])
    nlm_db = np.mean([psnr(denoise_nlm(n, sigma=25), c) for n, c in zip(noisy, clean)])
    cnn_db = np.mean([psnr(denoise_cnn(n, sigma=25), c) for n, c in zip(noisy, clean)])
    blind_db = np.mean([psnr(denoise_cnn(n), c) for n, c in zip(noisy, clean)])
    assert cnn_db > noisy_db + 8.0
    assert cnn_db > nlm_db + 1.0
    assert blind_db > nlm_db + 0.5  # noise level estimated from the image
    item = apply_op(ImageItem(pixels=noisy[0]), "denoise", {})
    assert item.metadata["denoise_method"] == "cnn" and item.log[-1].model.startswith("denoiser_unet@")
    assert psnr(item.pixels, clean[0]) > psnr(noisy[0], clean[0]) + 7.0


def test_cnn_strength_zero_and_clean_images_are_left_unchanged(held_out):
    from product_studio.ops.denoise import denoise_cnn

    noisy = held_out[1]
    np.testing.assert_array_equal(denoise_cnn(noisy[0], strength=0.0), noisy[0])
    flat = np.full((40, 40, 3), 120, np.uint8)
    np.testing.assert_array_equal(denoise_cnn(flat), flat)  # sigma measured ~0: nothing to do
    softer = denoise_cnn(noisy[0], strength=0.25, sigma=25)
    harder = denoise_cnn(noisy[0], strength=1.0, sigma=25)
    def roughness(x: np.ndarray) -> float:
        return float(np.abs(np.diff(x.astype(np.float64), axis=1)).mean())

    assert roughness(noisy[0]) > roughness(softer) > roughness(harder)  # more strength, smoother


def test_cnn_tiles_give_the_untiled_result_on_an_odd_sized_image(held_out):
    from product_studio.ops.denoise import denoise_cnn

    noisy = np.pad(held_out[1][1][:, :101], ((0, 77), (0, 90), (0, 0)), mode="reflect")  # 205 x 191
    whole = denoise_cnn(noisy, sigma=25)
    tiled = denoise_cnn(noisy, sigma=25, max_tile_pixels=140 * 140)  # 36 px cores inside 52 px of context
    assert whole.shape == noisy.shape
    assert np.abs(whole.astype(int) - tiled).max() <= 1  # float rounding at most


def test_cnn_rejects_bad_input():
    from product_studio.ops.denoise import denoise_cnn

    with pytest.raises(UsageError, match="HxWx3"):
        denoise_cnn(np.zeros((8, 8), np.uint8))
    with pytest.raises(UsageError, match="strength"):
        denoise_cnn(np.zeros((8, 8, 3), np.uint8), strength=2.0)


@pytest.mark.parametrize("shape", [(2, 2), (2, 7), (1, 5), (5, 6)])
def test_cnn_handles_images_thinner_than_its_stride_grid(shape):
    """Smaller than the U-Net's 4-px grid: padded by repeating the edge, not by reflection (which would fail)."""
    from product_studio.ops.denoise import denoise_cnn

    flat = np.full((*shape, 3), 100, np.uint8)
    out = denoise_cnn(flat, sigma=25)
    assert out.shape == flat.shape and np.abs(out.astype(int) - 100).max() <= 8  # a flat grey stays grey


def test_cnn_mirrored_pass_is_run_and_agrees(held_out):
    """flip_ensemble really denoises the mirror image too, and agrees with the single pass."""
    from product_studio.ops.denoise import denoise_cnn

    noisy = held_out[1][0][:64, :64]
    single = denoise_cnn(noisy, sigma=25)
    mirrored = denoise_cnn(noisy, sigma=25, flip_ensemble=True)
    assert not np.array_equal(single, mirrored)
    assert np.abs(single.astype(int) - mirrored).mean() < 2.0
