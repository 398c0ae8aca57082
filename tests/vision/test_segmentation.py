"""Segmentation: a user's mask read in every form, U²-Net-p on real and synthetic photos, GrabCut,
and the one-pass cut-out that also cleans the edge colours."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.vision.segmentation import cut_out, mask_to_alpha, segment_product

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic_product import iou, synthetic_product


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
