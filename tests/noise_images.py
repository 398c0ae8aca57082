"""Test pictures for noise: a smooth image and the same with Gaussian noise (the denoiser's and the
noise estimate's tests). Imported by tests/ops/test_denoise.py and tests/vision/test_noise.py."""

from __future__ import annotations

import numpy as np


def smooth_image(size: int = 96) -> np.ndarray:
    """Gentle colour gradients and a soft wave, all in mid-range so added noise is not clipped."""
    y, x = np.mgrid[0:size, 0:size] / size
    return np.dstack([60 + 80 * x + 20 * np.sin(6 * y), 100 + 50 * y, 140 - 40 * x * y])


def with_noise(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).round().astype(np.uint8)
