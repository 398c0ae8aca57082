"""Denoising: the noise estimator against known sigmas, NLM against the clean image, the step."""

from __future__ import annotations

import numpy as np
import pytest

from product_studio.errors import RecipeError, UsageError
from product_studio.item import ImageItem
from product_studio.ops import apply_op, list_ops
from product_studio.ops.denoise import denoise_nlm, estimate_noise_sigma


def smooth_image(size: int = 96) -> np.ndarray:
    """Gentle colour gradients and a soft wave, all in mid-range so added noise is not clipped."""
    y, x = np.mgrid[0:size, 0:size] / size
    return np.dstack([60 + 80 * x + 20 * np.sin(6 * y), 100 + 50 * y, 140 - 40 * x * y])


def with_noise(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).round().astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.mark.parametrize("sigma", [3, 5, 10, 20, 30])
def test_noise_estimate_recovers_a_known_sigma(sigma):
    noisy = with_noise(smooth_image(), sigma, seed=sigma)
    assert estimate_noise_sigma(noisy) == pytest.approx(sigma, rel=0.2)


def test_noise_estimate_of_a_clean_image_is_small():
    clean = smooth_image().round().astype(np.uint8)
    assert estimate_noise_sigma(clean) < 1.0


def test_noise_estimate_is_not_fooled_by_a_hard_edge():
    img = np.full((64, 64, 3), 40.0)
    img[:, 32:] = 220.0
    assert estimate_noise_sigma(with_noise(img, 5)) == pytest.approx(5, rel=0.2)


def test_noise_estimate_rejects_tiny_and_bad_images():
    with pytest.raises(UsageError, match="at least 3x3"):
        estimate_noise_sigma(np.zeros((2, 8, 3), np.uint8))
    with pytest.raises(UsageError, match="uint8"):
        estimate_noise_sigma(np.zeros((8, 8, 3), np.float64))


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
    assert set(spec.options.model_fields) == {"strength", "method"}
    clean = smooth_image(48)
    noisy = with_noise(clean, 15)
    alpha = np.full(noisy.shape[:2], 200, np.uint8)
    item = ImageItem(pixels=noisy, alpha=alpha)
    out = apply_op(item, "denoise", {"strength": 0.5, "method": "nlm"})
    assert psnr(out.pixels, clean) > psnr(noisy, clean) + 5
    np.testing.assert_array_equal(out.alpha, alpha)
    assert out.metadata["noise_sigma"] == pytest.approx(15, rel=0.2)
    assert out.log[-1].op == "denoise" and out.log[-1].params == {"strength": 0.5, "method": "nlm"}


@pytest.mark.parametrize("options", [{"method": "dncnn"}, {"strength": -0.5}, {"sigma": 5}])
def test_denoise_step_rejects_bad_options(options):
    with pytest.raises(RecipeError, match="step 'denoise' has bad options"):
        apply_op(ImageItem(pixels=np.zeros((8, 8, 3), np.uint8)), "denoise", options)
