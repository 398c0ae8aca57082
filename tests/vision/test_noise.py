"""The blind noise estimate against known sigmas, a hard edge and bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.vision.noise import estimate_noise_sigma

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from noise_images import smooth_image, with_noise  # tests/noise_images.py


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
