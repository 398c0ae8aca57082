"""Shared fixtures: small, deterministic test pictures made on the spot (no files in the repo)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def photo() -> np.ndarray:
    """RGB, 48x64, uint8: smooth gradients with a pure red 8x8 block in the top-left corner.

    Smooth, so lossy codecs keep it close; the corner block tells which way up it is.
    """
    h, w = 48, 64
    y, x = np.mgrid[0:h, 0:w]
    image = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full((h, w), 128)], axis=-1).astype(np.uint8)
    image[:8, :8] = (255, 0, 0)
    return image


@pytest.fixture
def noisy_photo() -> np.ndarray:
    """RGB, 300x400, uint8 with fine detail, so JPEG size depends clearly on quality."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:300, 0:400]
    base = np.stack([x * 255 // 399, y * 255 // 299, (x + y) * 255 // 698], axis=-1).astype(np.int16)
    noise = rng.integers(-40, 41, size=base.shape, dtype=np.int16)
    return np.clip(base + noise, 0, 255).astype(np.uint8)
