"""The guided filter: a constant stays constant, a mask's edge moves onto the guide's edge, errors."""

from __future__ import annotations

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.vision.guided_filter import guided_filter


def test_guided_filter_preserves_a_constant():
    rng = np.random.default_rng(0)
    guide = rng.random((50, 60, 3), dtype=np.float32)
    src = np.full((50, 60), 0.7, np.float32)
    for subsample in (1, 3):
        out = guided_filter(guide, src, radius=4, eps=1e-3, subsample=subsample)
        assert out.shape == src.shape and out.dtype == np.float32
        np.testing.assert_allclose(out, 0.7, atol=1e-4)
    out = guided_filter(guide[..., 0].copy(), src, radius=3)
    np.testing.assert_allclose(out, 0.7, atol=1e-4)


def test_guided_filter_follows_the_guides_edge():
    guide = np.zeros((40, 40, 3), np.float32)
    guide[:, 20:] = 1.0  # a sharp edge at x = 20
    src = np.zeros((40, 40), np.float32)
    src[:, 16:] = 1.0  # a mask whose edge is 4 px off
    out = guided_filter(guide, src, radius=8, eps=1e-4)
    assert out[:, 5].max() < 0.35 and out[:, 30].min() > 0.65
    assert out[20, 20] - out[20, 19] > 0.3  # the step moved onto the guide's edge


def test_guided_filter_errors():
    with pytest.raises(UsageError, match="float32"):
        guided_filter(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), radius=1)
    with pytest.raises(UsageError, match="same height and width"):
        guided_filter(np.zeros((4, 4, 3), np.float32), np.zeros((5, 4), np.float32), radius=1)
