"""The guided filter (He, Sun, Tang 2013; the fast variant of He and Sun 2015): edge-preserving
smoothing of a map steered by an image, what snaps a blurry alpha onto the product's real edges.

Contract: the guide is float32 HxW (grey) or HxWx3 (colour) in 0..1, the source float32 HxW.
``guided_filter_coefficients`` gives the window-averaged linear coefficients ``q = a . I + b``;
``apply_coefficients`` evaluates them on a guide of any size, so they can be computed at a
reduced resolution and applied at full resolution.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import UsageError


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, reflecting at the borders (any number of channels)."""
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def _check_guide(guide: np.ndarray, src: np.ndarray) -> None:
    if not isinstance(guide, np.ndarray) or guide.dtype != np.float32 or guide.ndim not in (2, 3):
        raise UsageError(
            f"guide must be float32 HxW or HxWx3 in 0..1; got {getattr(guide, 'shape', type(guide).__name__)} {getattr(guide, 'dtype', '')}"
        )
    if guide.ndim == 3 and guide.shape[2] != 3:
        raise UsageError(f"a colour guide must have 3 channels; got shape {guide.shape}")
    if not isinstance(src, np.ndarray) or src.dtype != np.float32 or src.ndim != 2:
        raise UsageError(
            f"src must be float32 HxW; got {getattr(src, 'shape', type(src).__name__)} {getattr(src, 'dtype', '')}"
        )
    if src.shape != guide.shape[:2]:
        raise UsageError(f"src {src.shape} and guide {guide.shape[:2]} must have the same height and width")


def guided_filter_coefficients(
    guide: np.ndarray, src: np.ndarray, *, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """The window-averaged linear coefficients (a, b) of the guided filter: ``q = a . I + b``.

    guide: float32 HxW (grey) or HxWx3 (colour) in 0..1; src: float32 HxW.
    Returns a (HxW, or HxWx3 for a colour guide) and b (HxW), both float32, at the inputs'
    resolution; ``apply_coefficients`` evaluates them on a guide of any size.
    """
    _check_guide(guide, src)
    if radius < 1:
        raise UsageError(f"radius must be >= 1; got {radius}")
    if eps <= 0:
        raise UsageError(f"eps must be > 0; got {eps}")
    p = src
    mean_p = _box(p, radius)
    if guide.ndim == 2:
        mean_i = _box(guide, radius)
        a = (_box(guide * p, radius) - mean_i * mean_p) / (_box(guide * guide, radius) - mean_i * mean_i + eps)
        b = mean_p - a * mean_i
        return _box(a, radius), _box(b, radius)
    r, g, bl = (np.ascontiguousarray(guide[..., k]) for k in range(3))
    mr, mg, mb = _box(r, radius), _box(g, radius), _box(bl, radius)
    cov_r = _box(r * p, radius) - mr * mean_p
    cov_g = _box(g * p, radius) - mg * mean_p
    cov_b = _box(bl * p, radius) - mb * mean_p
    s_rr = _box(r * r, radius) - mr * mr + eps
    s_rg = _box(r * g, radius) - mr * mg
    s_rb = _box(r * bl, radius) - mr * mb
    s_gg = _box(g * g, radius) - mg * mg + eps
    s_gb = _box(g * bl, radius) - mg * mb
    s_bb = _box(bl * bl, radius) - mb * mb + eps
    # Inverse of the symmetric 3x3 covariance by cofactors, for every pixel at once.
    c_rr = s_gg * s_bb - s_gb * s_gb
    c_rg = s_gb * s_rb - s_rg * s_bb
    c_rb = s_rg * s_gb - s_gg * s_rb
    c_gg = s_rr * s_bb - s_rb * s_rb
    c_gb = s_rb * s_rg - s_rr * s_gb
    c_bb = s_rr * s_gg - s_rg * s_rg
    inv_det = 1.0 / (s_rr * c_rr + s_rg * c_rg + s_rb * c_rb)
    a_r = (c_rr * cov_r + c_rg * cov_g + c_rb * cov_b) * inv_det
    a_g = (c_rg * cov_r + c_gg * cov_g + c_gb * cov_b) * inv_det
    a_b = (c_rb * cov_r + c_gb * cov_g + c_bb * cov_b) * inv_det
    b = mean_p - a_r * mr - a_g * mg - a_b * mb
    a = np.empty(guide.shape, np.float32)
    a[..., 0], a[..., 1], a[..., 2] = _box(a_r, radius), _box(a_g, radius), _box(a_b, radius)
    return a, _box(b, radius)


def apply_coefficients(a: np.ndarray, b: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """``q = a . I + b`` on ``guide`` (float32, same kind as the one the coefficients came from),
    upsampling a and b bilinearly when the guide is larger (the "fast" guided filter)."""
    h, w = guide.shape[:2]
    if a.shape[:2] != (h, w):
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    if guide.ndim == 2:
        return a * guide + b
    return a[..., 0] * guide[..., 0] + a[..., 1] * guide[..., 1] + a[..., 2] * guide[..., 2] + b


def guided_filter(
    guide: np.ndarray, src: np.ndarray, *, radius: int, eps: float = 1e-3, subsample: int = 1
) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` steered by ``guide`` (He, Sun, Tang; fast variant).

    guide: float32 HxW or HxWx3 in 0..1; src: float32 HxW. ``radius`` is in pixels of the input;
    with ``subsample`` = s > 1 the coefficients are computed at 1/s resolution (radius / s) and
    upsampled, which costs about 1/s^2 as much and looks the same for alpha mattes.
    A constant ``src`` comes back unchanged.

    >>> g = np.random.rand(32, 32, 3).astype(np.float32)
    >>> bool(np.allclose(guided_filter(g, np.full((32, 32), 0.5, np.float32), radius=2), 0.5, atol=1e-4))
    True
    """
    _check_guide(guide, src)
    if subsample < 1:
        raise UsageError(f"subsample must be >= 1; got {subsample}")
    h, w = src.shape
    if subsample > 1 and min(h, w) // subsample >= 4:
        size = (max(1, round(w / subsample)), max(1, round(h / subsample)))
        small_guide = cv2.resize(guide, size, interpolation=cv2.INTER_AREA)
        small_src = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
        a, b = guided_filter_coefficients(small_guide, small_src, radius=max(1, round(radius / subsample)), eps=eps)
    else:
        a, b = guided_filter_coefficients(guide, src, radius=radius, eps=eps)
    return apply_coefficients(a, b, guide)
