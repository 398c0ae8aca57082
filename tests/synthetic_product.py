"""A synthetic product photo with its true alpha, and the IoU of two alphas: what the segmentation,
matting and background tests measure a cut-out against."""

from __future__ import annotations

import numpy as np


def synthetic_product(h: int = 240, w: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A saturated, textured disc on a light-grey noisy sweep, and its true alpha (0/255)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    background = (230 - 30 * yy / h)[..., None] + rng.normal(0, 2, (h, w, 3))
    product = np.empty((h, w, 3))
    product[..., 0], product[..., 1], product[..., 2] = 200 + 20 * np.sin(xx / 5), 40.0, 40 + 20 * np.cos(yy / 7)
    inside = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (0.3 * h) ** 2
    image = np.where(inside[..., None], product, background)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), (inside * 255).astype(np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 128, b >= 128
    return float((a & b).sum() / max(1, (a | b).sum()))
