"""Matting: cleaning a binary mask, refining a coarse map into an alpha, cleaning edge colours, and
the exact blend of a cut-out over a backdrop."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.vision.matting import clean_mask, composite_over, estimate_foreground, refine_alpha

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic_product import iou, synthetic_product


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


def test_composite_over_known_values_and_backdrop_kept_where_transparent():
    pixels = np.array([[[10, 20, 30], [100, 150, 200], [7, 8, 9]]], np.uint8)
    alpha = np.array([[0, 255, 128]], np.uint8)
    backdrop = np.array([[[1, 2, 3], [4, 5, 6], [255, 255, 255]]], np.uint8)
    out = composite_over(pixels, alpha, backdrop)
    assert out[0, 0].tolist() == [1, 2, 3]  # alpha 0: the backdrop as it was
    assert out[0, 1].tolist() == [100, 150, 200]  # alpha 255: the pixel unchanged
    assert out[0, 2].tolist() == [131, 131, 132]  # (F * 128 + 255 * 127 + 127) // 255
    with pytest.raises(UsageError, match="backdrop has shape"):
        composite_over(pixels, alpha, np.zeros((2, 3, 3), np.uint8))
