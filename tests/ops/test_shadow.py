"""Shadows: they fade to the exact backdrop colour, stay under the product and never reach the
canvas border; no product, no shadow."""

from __future__ import annotations

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.ops.background import composite_on_color
from product_studio.ops.shadow import shadow_backdrop, shadow_map


@pytest.mark.parametrize("kind", ["contact", "drop"])
def test_shadow_fades_to_exact_white(kind):
    alpha = np.zeros((200, 200), np.uint8)
    alpha[40:140, 60:140] = 255
    pixels = np.full((200, 200, 3), 50, np.uint8)
    out = composite_on_color(pixels, alpha, shadow=kind, shadow_strength=0.5)
    background = alpha == 0
    darker = background & (out.min(axis=2) < 255)
    assert darker.any(), "a shadow must show somewhere"
    assert out[background].min() >= round(255 * 0.5) - 1  # never darker than the strength allows
    # Away from the product and its shadow the colour is exactly white.
    assert (out[:20] == 255).all() and (out[:, :30] == 255).all()
    # The shadow sits below / beside the product, and its values are whole steps from white.
    rows = np.flatnonzero(darker.any(axis=1))
    assert rows.max() >= 135
    shadow = shadow_map(alpha, kind=kind)
    assert shadow.dtype == np.float32 and 0.0 <= shadow.min() and shadow.max() <= 1.0


def test_no_shadow_without_product():
    out = composite_on_color(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.uint8), shadow="drop")
    assert (out == 255).all()


@pytest.mark.parametrize("shadow", ["contact", "drop"])
def test_shadow_never_reaches_the_canvas_border(shadow):
    # A product that nearly fills its canvas leaves almost no room below it.
    alpha = np.zeros((400, 400), np.uint8)
    alpha[4:392, 10:390] = 255
    pixels = np.full((400, 400, 3), 40, np.uint8)
    out = composite_on_color(pixels, alpha, shadow=shadow, shadow_strength=0.6)
    band = max(2, round(0.015 * 400))
    outer = np.concatenate([out[:band].reshape(-1, 3), out[-band:].reshape(-1, 3), out[:, :band].reshape(-1, 3), out[:, -band:].reshape(-1, 3)])
    product = np.concatenate([alpha[:band].ravel(), alpha[-band:].ravel(), alpha[:, :band].ravel(), alpha[:, -band:].ravel()]) > 0
    assert (outer[~product] == 255).all()
    # and the shadow is still there, below the product
    assert out[393:395, 150:250].min() < 255


def test_shadow_backdrop_plain_colour_and_errors():
    alpha = np.zeros((6, 8), np.uint8)
    alpha[2:4, 2:6] = 255
    assert (shadow_backdrop(alpha, (12, 34, 56)) == np.array([12, 34, 56], np.uint8)).all()
    assert shadow_backdrop(alpha, kind="drop").shape == (6, 8, 3)
    with pytest.raises(UsageError, match="three integers"):
        shadow_backdrop(alpha, (1, 2))
    with pytest.raises(UsageError, match="shadow must be"):
        shadow_backdrop(alpha, kind="long")
