"""The product's box from its alpha, and the square crop the classifiers see."""

import numpy as np
import pytest

from product_studio.errors import OperationError, UsageError
from product_studio.vision.geometry import product_bbox, resize_square


def test_product_bbox_known_value():
    a = np.zeros((10, 10), np.uint8)
    a[2:5, 3:9] = 255
    a[0, 0] = 8  # at the threshold: not product
    assert product_bbox(a) == (3, 2, 9, 5)


def test_product_bbox_empty_says_what_to_do():
    with pytest.raises(OperationError, match="no product found.*grabcut"):
        product_bbox(np.zeros((4, 4), np.uint8))


def test_product_bbox_needs_a_2d_alpha():
    with pytest.raises(UsageError, match="HxW"):
        product_bbox(np.zeros((4, 4, 1), np.uint8))


def test_resize_square_scales_the_short_side_and_crops_the_centre():
    rgb = np.zeros((40, 80, 3), np.uint8)
    rgb[:, 20:60] = 200  # the middle half of the width: exactly what the centre crop keeps
    out = resize_square(rgb, 20)
    assert out.shape == (20, 20, 3) and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]
    assert np.all(out == 200)


def test_resize_square_enlarges_a_small_image():
    out = resize_square(np.full((3, 5, 3), 77, np.uint8), 9)
    assert out.shape == (9, 9, 3) and np.all(out == 77)
