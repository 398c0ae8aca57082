"""vision/item_count.py: separate products counted from the product mask's components."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from layout_images import bottle, paste, teddy, teddy_on_white, two_products, white  # tests/layout_images.py

from product_studio.errors import UsageError
from product_studio.vision.item_count import count_items, white_background


def test_one_product_on_white_is_one_item() -> None:
    found = count_items(teddy_on_white(1200))
    assert found.count == 1 and found.mask_source == "white" and not found.pair
    x0, y0, x1, y1 = found.boxes[0]
    assert x1 - x0 > 500 and y1 - y0 > 800  # the whole bear, not a part of it


def test_two_and_three_separate_products_are_counted_with_their_boxes() -> None:
    img = two_products(1200)
    found = count_items(img)
    assert found.count == 2 and len(found.boxes) == 2
    xs = sorted(b[0] for b in found.boxes)
    assert xs[0] < 100 and xs[1] > 800  # the bear on the left, the bottle on the right
    paste(img, bottle(300, (40, 160, 60)), 520, 40)
    assert count_items(img).count == 3


def test_a_mirrored_pair_counts_as_one_item() -> None:
    img = white(1200)
    shoe = teddy(500)
    paste(img, shoe, 60, 350)
    paste(img, shoe[:, ::-1].copy(), 640, 350)
    found = count_items(img)
    assert found.count == 1 and found.pair and len(found.boxes) == 2


def test_a_shadow_crumbs_and_parts_are_not_items() -> None:
    img = teddy_on_white(1200, fill=0.7)
    shadow = np.zeros((1200, 1200), np.float32)
    cv2.ellipse(shadow, (600, 1130), (380, 40), 0, 0, 360, 1.0, -1)  # a soft shadow apart from the bear
    shadow = cv2.GaussianBlur(shadow, (0, 0), 12)
    img = (img * (1 - 0.25 * shadow[..., None])).astype(np.uint8)
    cv2.circle(img, (100, 100), 8, (30, 30, 30), -1)  # a crumb
    assert count_items(img).count == 1


def test_a_white_product_on_white_stays_one() -> None:
    img = white(1200)
    cv2.ellipse(img, (600, 620), (300, 420), 0, 0, 360, (236, 236, 240), -1)  # a white vase, barely off white
    cv2.ellipse(img, (600, 620), (300, 420), 0, 0, 360, (200, 200, 205), 3)  # its shaded outline
    cv2.ellipse(img, (600, 300), (90, 30), 0, 0, 360, (150, 150, 155), 2)  # its rim
    assert count_items(img).count == 1


def test_the_alpha_is_used_when_the_item_has_one() -> None:
    pixels = np.full((400, 400, 3), 128, np.uint8)  # a grey photo: the alpha says where the products are
    alpha = np.zeros((400, 400), np.uint8)
    alpha[50:200, 40:150] = 255
    alpha[220:380, 250:380] = 255
    pixels[220:380, 250:380] = (200, 30, 30)  # not a pair: another colour
    found = count_items(pixels, alpha)
    assert found.mask_source == "alpha" and found.count == 2


def test_white_background_and_errors() -> None:
    assert white_background(teddy_on_white(600))
    assert not white_background(np.full((100, 100, 3), 128, np.uint8))
    with pytest.raises(UsageError, match="alpha"):
        count_items(white(100), np.zeros((50, 50), np.uint8))
    with pytest.raises(UsageError, match="RGB"):
        count_items(np.zeros((10, 10), np.uint8))
