"""Where the product is in the frame, and the square crop the classifiers see.

``product_bbox`` finds the product's box from its alpha (``ops.layout`` trims and fits with it,
``understand.classify`` crops to it); ``resize_square`` is the one square resize-and-crop that
both trains (``train.datasets``) and feeds (``understand.classify``) an RGB classifier.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import OperationError, UsageError


def product_bbox(alpha: np.ndarray, *, threshold: int = 8) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive ends, of the pixels with alpha > threshold.

    >>> a = np.zeros((10, 10), np.uint8); a[2:5, 3:9] = 255
    >>> product_bbox(a)
    (3, 2, 9, 5)
    """
    if alpha.ndim != 2:
        raise UsageError(f"alpha must be HxW; got shape {alpha.shape}")
    rows = np.flatnonzero((alpha > threshold).any(axis=1))
    if rows.size == 0:
        raise OperationError("no product found: the cut-out is empty. Try remove_background with method=grabcut or give a mask")
    cols = np.flatnonzero((alpha[rows[0] : rows[-1] + 1] > threshold).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def resize_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize the shorter side to ``size`` (area filter when shrinking) and centre-crop to size×size."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    top, left = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(resized[top : top + size, left : left + size])
