from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from product_studio.understand import quality
from product_studio.understand.quality import assess_quality, brisque, brisque_features, exposure, sharpness

needs_brisque = pytest.mark.skipif(quality.find_brisque_files() is None, reason="opencv-data (BRISQUE model) not installed")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.astronaut()  # 512x512 RGB, shipped with scikit-image


def test_sharp_scores_above_blurred(photo):
    blurred = cv2.GaussianBlur(photo, (0, 0), 3)
    assert sharpness(photo) > 10 * sharpness(blurred)
    sharp, soft = assess_quality(photo, with_brisque=False), assess_quality(blurred, with_brisque=False)
    assert sharp.sharpness_score > 0.8 and soft.sharpness_score < 0.2


def test_sharpness_uses_the_mask():
    img = np.full((200, 200, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    img[:, 100:] = rng.integers(0, 256, (200, 100, 3), dtype=np.uint8)  # busy texture on the right only
    left = np.zeros((200, 200), np.uint8)
    left[:, :100] = 255
    assert sharpness(img, left) < 1.0 < sharpness(img)


def test_exposure_counts_clipped_pixels_on_the_product():
    img = np.full((100, 100, 3), 255, np.uint8)  # white background: clipped on purpose
    img[25:75, 25:75] = 120
    mask = np.zeros((100, 100), np.uint8)
    mask[25:75, 25:75] = 255
    whole, product = exposure(img), exposure(img, mask)
    assert whole.clipped_bright == pytest.approx(0.75, abs=0.01) and whole.verdict == "overexposed"
    assert product.clipped_bright == 0.0 and product.verdict == "ok" and 45 < product.mean_l < 55


def test_noise_sigma_rises_with_noise(photo):
    rng = np.random.default_rng(1)
    noisy = np.clip(photo + rng.normal(0, 15, photo.shape), 0, 255).astype(np.uint8)
    assert assess_quality(noisy, with_brisque=False).noise_sigma > 3 * assess_quality(photo, with_brisque=False).noise_sigma


@needs_brisque
def test_brisque_ranks_clean_better_than_noisy_and_blurred(photo):
    rng = np.random.default_rng(2)
    noisy = np.clip(photo + rng.normal(0, 20, photo.shape), 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(photo, (0, 0), 3)
    clean = brisque(photo)
    assert clean < 20
    assert brisque(noisy) > clean + 20 and brisque(blurred) > clean + 20


@needs_brisque
def test_our_svr_matches_opencvs_ml_module(photo):
    """The numpy SVR gives what OpenCV's own SVM gives for the same scaled features."""
    model = quality.load_brisque_model()
    assert model.support_vectors.shape == (774, 36)
    features = brisque_features(photo)
    assert features.shape == (36,) and np.isfinite(features).all()
    svm = cv2.ml.SVM_load(model.source)
    scaled = (-1 + 2 * (features - model.feature_min) / (model.feature_max - model.feature_min)).astype(np.float32)
    assert model.predict(features) == pytest.approx(float(svm.predict(scaled[None])[1][0, 0]), abs=1e-3)


def test_too_small_for_brisque_is_a_usage_error():
    from product_studio.errors import UsageError

    with pytest.raises(UsageError, match="16x16"):
        brisque_features(np.zeros((8, 8, 3), np.uint8))
