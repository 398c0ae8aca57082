"""Shadows: the backdrop a cut-out is placed on -- a flat colour with the product's shadow on it.

"contact": a soft flattened ellipse under the product's bottom edge, as if it stood on the
surface. "drop": the product's own silhouette, blurred and offset down and to the right. A
shadow is made at <= 512 px (it is smooth) and enlarged; it never reaches the outer
``SHADOW_MARGIN`` of the canvas, where marketplaces measure the pure-white background, and it
fades to exactly the backdrop's colour.

Contract: an alpha is HxW, uint8, 255 = product; a backdrop is RGB, HxWx3, uint8.
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_mask
from ..vision.matting import shrink_image, to_unit

ShadowKind = Literal["none", "contact", "drop"]

SHADOW_MARGIN = 0.015  # share of the canvas side kept free of shadow at every edge


def _check_color(color: Any) -> np.ndarray:
    try:
        values = [int(c) for c in color]
        exact = all(int(c) == c for c in color)
    except (TypeError, ValueError):
        raise UsageError(f"color must be three integers 0..255 (r, g, b); got {color!r}") from None
    if len(values) != 3 or not exact or any(not 0 <= c <= 255 for c in values):
        raise UsageError(f"color must be three integers 0..255 (r, g, b); got {color!r}")
    return np.array(values, np.uint8)


def _shadow_small(alpha: np.ndarray, kind: str) -> tuple[np.ndarray, float]:
    """The shadow at <= 512 px (it is smooth) and the scale from full size to it."""
    h, w = alpha.shape
    scale = min(1.0, 512.0 / max(h, w))
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    a_small = shrink_image(alpha, (sh, sw)) if scale < 1 else alpha
    rows = np.flatnonzero((a_small > 8).any(axis=1))
    if rows.size == 0:
        return np.zeros((sh, sw), np.float32), scale
    cols = np.flatnonzero((a_small[rows[0] : rows[-1] + 1] > 8).any(axis=0))
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    bw, bh = x1 - x0, y1 - y0
    margin = max(2.0, SHADOW_MARGIN * max(sh, sw))
    if kind == "contact":
        small = np.zeros((sh, sw), np.float32)
        cx, cy = (x0 + x1) / 2, y1 - 0.5
        # The visible half of the ellipse plus its blur (about 1.8 ry) must end above the margin:
        # a product that nearly fills the canvas gets a flatter shadow, not a cut one.
        room = max(0.0, sh - margin - cy)
        rx, ry = max(1.0, 0.46 * bw), max(0.5, min(0.045 * bw, room / 2.8))
        cv2.ellipse(
            small,
            (round(cx * 16), round(cy * 16)),
            (round(rx * 16), round(ry * 16)),
            0,
            0,
            360,
            1.0,
            -1,
            cv2.LINE_AA,
            4,
        )
        sigma = max(1.0, 0.6 * ry)
    else:
        shift = np.float32([[1, 0, 0.03 * bw], [0, 1, 0.04 * bh]])
        small = cv2.warpAffine(to_unit(a_small), shift, (sw, sh), flags=cv2.INTER_LINEAR, borderValue=0)
        sigma = max(1.0, 0.025 * max(bw, bh))
    small = cv2.GaussianBlur(small, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    peak = float(small.max())
    if peak > 0:
        small *= 1.0 / peak
    small *= _border_window(sh, sw, margin)
    return small, scale


def _border_window(h: int, w: int, margin: float) -> np.ndarray:
    """1 inside, 0 on the outer ``margin`` pixels, a smooth ramp between: no shadow ever reaches
    the canvas border, where marketplaces measure the pure-white background."""
    def ramp(n: int) -> np.ndarray:
        d = np.minimum(np.arange(n, dtype=np.float32) + 0.5, n - 0.5 - np.arange(n, dtype=np.float32))
        return np.clip((d - margin) / max(1.0, margin), 0.0, 1.0)

    return ramp(h)[:, None] * ramp(w)[None, :]


def _enlarge_region(small: np.ndarray, full_hw: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """The part (x0, y0, x1, y1) of ``small`` enlarged (bilinear) to the full size ``full_hw``."""
    x0, y0, x1, y1 = box
    if small.shape[:2] == tuple(full_hw):
        return small[y0:y1, x0:x1]
    sx, sy = small.shape[1] / full_hw[1], small.shape[0] / full_hw[0]
    m = np.float32([[sx, 0, (x0 + 0.5) * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]])
    return cv2.warpAffine(
        small, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def shadow_map(alpha: np.ndarray, *, kind: ShadowKind = "contact") -> np.ndarray:
    """Shadow darkness per pixel, float32 HxW in 0..1 (0 = no shadow), for a product's alpha.

    "contact": a soft flattened ellipse under the product's bottom edge, as if it stood on the
    surface. "drop": the product's own silhouette, blurred and offset down and to the right.
    """
    if kind not in ("contact", "drop"):
        raise UsageError(f"shadow kind must be contact or drop; got {kind!r}")
    check_mask(alpha, alpha.shape, name="alpha")
    small, _ = _shadow_small(alpha, kind)
    h, w = alpha.shape
    return np.clip(_enlarge_region(small, (h, w), (0, 0, w, h)), 0.0, 1.0)



def shadow_backdrop(
    alpha: np.ndarray, color: Any = (255, 255, 255), *, kind: ShadowKind = "none", strength: float = 0.35
) -> np.ndarray:
    """The flat ``color`` with the shadow of the product whose alpha is given: RGB HxWx3 uint8.

    ``kind`` "none" gives the plain colour; otherwise the colour darkens under the product by up
    to ``strength`` (0..1) and fades to exactly ``color``: any darkening that would not change
    the colour by a whole level is dropped.
    """
    check_mask(alpha, alpha.shape, name="alpha")
    col = _check_color(color)
    if kind not in ("none", "contact", "drop"):
        raise UsageError(f"shadow must be none, contact or drop; got {kind!r}")
    if not 0.0 <= float(strength) <= 1.0:
        raise UsageError(f"shadow_strength must be between 0 and 1; got {strength}")
    h, w = alpha.shape
    out = np.empty((h, w, 3), np.uint8)
    out[:] = col
    if kind != "none" and strength > 0 and col.max() > 0:
        small, _ = _shadow_small(alpha, kind)
        darkness = small * np.float32(strength)
        darkness[darkness * float(col.max()) < 1.0] = 0.0  # fade to the exact colour
        if darkness.any():
            # The shaded colour is smooth: make it at the small size, enlarge only its bounding box.
            shaded = np.clip(col.astype(np.float32) * (1.0 - darkness[..., None]) + 0.5, 0, 255).astype(np.uint8)
            rows, cols = np.flatnonzero(darkness.any(axis=1)), np.flatnonzero(darkness.any(axis=0))
            sy, sx = small.shape[0] / h, small.shape[1] / w
            x0, y0 = max(0, int((cols[0] - 1) / sx)), max(0, int((rows[0] - 1) / sy))
            x1, y1 = min(w, int(np.ceil((cols[-1] + 2) / sx))), min(h, int(np.ceil((rows[-1] + 2) / sy)))
            out[y0:y1, x0:x1] = _enlarge_region(shaded, (h, w), (x0, y0, x1, y1))
    return out
