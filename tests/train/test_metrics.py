"""The metrics, each implemented once: known values on tiny arrays and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from product_studio.errors import UsageError
from product_studio.train.metrics import detection_scores, frechet_distance, psnr


def test_detection_scores_known_values_and_tolerance():
    truth = np.zeros((20, 20), np.uint8)
    truth[10, 2:12] = 255  # a 10-px line
    pred = np.zeros_like(truth)
    pred[11, 2:7] = 255  # 5 px, one row off
    pred[0, 19] = 255  # 1 px far away
    exact = detection_scores(pred, truth, tolerance=0)
    assert exact.precision == 0 and exact.recall == 0 and exact.f1 == 0
    near = detection_scores(pred, truth, tolerance=2)
    assert near.precision == pytest.approx(5 / 6)
    assert near.recall == pytest.approx(7 / 10)  # columns 2..8 lie within 2 px of a predicted pixel
    assert near.f1 == pytest.approx(2 * (5 / 6) * 0.7 / (5 / 6 + 0.7))
    assert detection_scores(np.zeros_like(truth), np.zeros_like(truth)).f1 == 1.0
    with pytest.raises(UsageError, match="same size"):
        detection_scores(pred, truth[:10])


def test_psnr_in_a_mask_known_value():
    clean = np.full((4, 4, 3), 100, np.uint8)
    restored = clean.copy()
    restored[0, 0] = 110  # error 10 on 3 channels of 1 pixel; the other masked pixel is exact
    mask = np.zeros((4, 4), np.uint8)
    mask[0, :2] = 255
    assert psnr(restored, clean, mask=mask) == pytest.approx(10 * np.log10(255**2 / 50))
    assert psnr(clean, clean, mask=mask) == float("inf")
    with pytest.raises(UsageError, match="the mask is empty"):
        psnr(clean, clean, mask=np.zeros((4, 4), np.uint8))


def test_psnr_known_values_peak_border_and_tensors():
    clean = np.full((6, 6, 3), 100, np.uint8)
    noisy = clean.copy()
    noisy[0] = 104  # the top row only: error 4 on 6 of 36 pixels, MSE 16 / 6
    assert psnr(noisy, clean) == pytest.approx(10 * np.log10(255**2 / (16 / 6)))
    assert psnr(noisy, clean, border=1) == float("inf")  # the row lies in the left-out border
    a, b = torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.6)
    assert psnr(a, b, peak=1.0) == pytest.approx(20.0, abs=1e-4)
    with pytest.raises(UsageError, match="same shape"):
        psnr(noisy, clean[:5])
    with pytest.raises(UsageError, match="not both"):
        psnr(noisy, clean, mask=np.ones((6, 6), np.uint8), border=1)


def test_frechet_distance_known_values():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # N(0, I) vs N(2, I): ‖μ‖² = 3·4 = 12, the covariance term ≈ 0
    assert frechet_distance(a, rng.normal(size=(4000, 3)) + 2.0) == pytest.approx(12.0, rel=0.05)
    # N(0, I) vs N(0, 4I): Tr(I + 4I - 2·2I) = 3
    assert frechet_distance(a, 2.0 * rng.normal(size=(4000, 3))) == pytest.approx(3.0, rel=0.1)
