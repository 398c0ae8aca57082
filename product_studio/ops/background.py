"""Background: segment the product, refine its alpha, clean its edge colours, composite on a colour.

Contract of every function here: pixels are RGB, HxWx3, uint8 (sRGB); an alpha is HxW, uint8,
255 = product. Nothing here prints, writes files or changes global OpenCV settings.

How a cut-out is made (``segment_product`` then ``estimate_foreground``):

1. A coarse map: U²-Net-p's saliency (320x320), GrabCut's hard labels, or a user's mask.
2. Refinement at a working resolution (long side <= ``work_size``, 1024 by default):
   a fast guided filter (He et al. 2015: coefficients at a reduced resolution, upsampled) with
   the colour image as guide snaps the blurry map to the product's real edges; the result is
   made binary, cleaned (small specks dropped, small holes filled), then a second, small-radius
   colour guided filter turns the binary mask into a soft matte that follows the image's edge.
   Values near 0 or 1 become exactly 0 or 255, so the background is exactly transparent.
3. Full resolution: the second filter's coefficients are upsampled and applied to the full-size
   image only in the thin band where the matte is soft; everywhere else the working-resolution
   answer (exactly 0 or 255) is simply enlarged. The costly work never runs on all 9 MP of a
   3000x3000 photo.
4. Decontamination: in the soft band the colour is re-estimated as the product's own colour
   (``I = aF + (1 - a)B`` solved with a locally propagated background ``B``, blended with the
   interior colour propagated outwards), so no trace of the old background fringes the product.

``composite_on_color`` is exact: alpha 0 outside the shadow gives exactly the colour (255 for
white), alpha 255 gives the pixel unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import cv2
import numpy as np
from pydantic import Field, model_validator

from ..errors import OperationError, UsageError
from ..item import ImageItem, check_mask, check_rgb
from .registry import OpOptions, register_op

SegmentMethod = Literal["u2netp", "grabcut", "mask"]
ShadowKind = Literal["none", "contact", "drop"]

WORK_SIZE = 800
GRABCUT_SIZE = 480
ALPHA_LOW = 0.03  # matte values at or below this become exactly 0 ...
ALPHA_HIGH = 0.97  # ... and at or above this exactly 1 (255)
FG_TRUST_FROM = 0.3  # below this alpha an edge pixel takes its colour from the product's interior


# ----------------------------------------------------------------------------------------------
# guided filter


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


# ----------------------------------------------------------------------------------------------
# working resolution


def _work_shape(h: int, w: int, work_size: int) -> tuple[int, int]:
    scale = min(1.0, work_size / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def shrink_image(pixels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Area-average ``pixels`` down to (h, w); exact halvings first, which OpenCV does ~8x faster."""
    h, w = hw
    src = pixels
    while src.shape[0] % 2 == 0 and src.shape[1] % 2 == 0 and src.shape[0] >= 2 * h and src.shape[1] >= 2 * w:
        src = cv2.resize(src, (src.shape[1] // 2, src.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if src.shape[:2] == (h, w):
        return src
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)


def _resize_float(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    if x.shape[:2] == (h, w):
        return x
    shrinking = h * w < x.shape[0] * x.shape[1]
    return cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _to_unit(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) * np.float32(1.0 / 255.0)


def _to_byte(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _points(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) of the true pixels of a 2-D mask (flat indices are ~10x faster than np.nonzero)."""
    rows, cols = divmod(np.flatnonzero(mask), mask.shape[1])
    return rows, cols


def _sample(
    maps: np.ndarray, ys: np.ndarray, xs: np.ndarray, scale_y: float, scale_x: float, interp: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """Values of a low-resolution map at full-resolution pixel centres (ys, xs), bilinear."""
    n = len(xs)
    cols = 1024  # remap wants both sides under 32767: lay the points out as rows of 1024
    rows = max(1, -(-n // cols))
    map_x = np.zeros(rows * cols, np.float32)
    map_y = np.zeros(rows * cols, np.float32)
    map_x[:n] = (xs.astype(np.float32) + 0.5) * np.float32(scale_x) - 0.5
    map_y[:n] = (ys.astype(np.float32) + 0.5) * np.float32(scale_y) - 0.5
    out = cv2.remap(
        maps,
        map_x.reshape(rows, cols),
        map_y.reshape(rows, cols),
        interpolation=interp,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out.reshape(rows * cols, -1)[:n] if out.ndim == 3 else out.reshape(-1)[:n]


# ----------------------------------------------------------------------------------------------
# coarse maps


def grabcut_mask(
    pixels: np.ndarray,
    *,
    saliency: np.ndarray | None = None,
    iterations: int = 4,
    max_side: int = GRABCUT_SIZE,
    margin: float = 0.05,
) -> np.ndarray:
    """GrabCut's foreground (float32 0/1) at a reduced resolution (long side <= ``max_side``).

    Initialised from ``saliency`` (float32 HxW of any size, 0..1) when given, otherwise from a
    rectangle ``margin`` x the image size inside each border. OpenCV's thread count is left as
    the caller set it (worker processes set 1).
    """
    check_rgb(pixels)
    if iterations < 1:
        raise UsageError(f"iterations must be >= 1; got {iterations}")
    if not 0.0 <= margin < 0.5:
        raise UsageError(f"margin must be in [0, 0.5); got {margin}")
    h, w = _work_shape(*pixels.shape[:2], max_side)
    small = shrink_image(pixels, (h, w))
    bgr = np.ascontiguousarray(small[..., ::-1])
    labels = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    if saliency is not None:
        s = _resize_float(saliency.astype(np.float32), (h, w))
        labels[:] = cv2.GC_PR_BGD
        labels[s > 0.5] = cv2.GC_PR_FGD
        labels[s > 0.95] = cv2.GC_FGD
        labels[s < 0.02] = cv2.GC_BGD
        if not (labels == cv2.GC_PR_FGD).any() and not (labels == cv2.GC_FGD).any():
            saliency = None  # nothing salient: fall back to the rectangle
        elif not ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).any():
            return np.ones((h, w), np.float32)
    if saliency is None:
        mx, my = max(1, round(w * margin)), max(1, round(h * margin))
        if w - 2 * mx < 2 or h - 2 * my < 2:
            raise OperationError(
                f"image is too small for GrabCut ({pixels.shape[1]}x{pixels.shape[0]}); give a mask instead"
            )
        cv2.grabCut(bgr, labels, (mx, my, w - 2 * mx, h - 2 * my), bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    else:
        cv2.grabCut(bgr, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.float32)


def mask_to_alpha(mask: np.ndarray, shape: tuple[int, int], *, name: str = "mask") -> np.ndarray:
    """A user's mask as HxW uint8 at the image's size.

    Accepts HxW uint8 (0..255), HxW bool, HxW float in 0..1, or an RGB/RGBA uint8 image (alpha if
    present, else luminance). A mask of the same aspect ratio but another size is resized.
    """
    if not isinstance(mask, np.ndarray):
        raise UsageError(f"{name} must be a numpy array; got {type(mask).__name__}")
    if mask.ndim == 3 and mask.shape[2] == 4 and mask.dtype == np.uint8:
        mask = mask[..., 3]
    elif mask.ndim == 3 and mask.shape[2] == 3 and mask.dtype == np.uint8:
        mask = cv2.cvtColor(mask, cv2.COLOR_RGB2GRAY)
    if mask.ndim != 2 or mask.size == 0:
        raise UsageError(f"{name} must be HxW (or an RGB/RGBA image); got shape {mask.shape}")
    if mask.dtype == bool:
        mask = mask.astype(np.uint8) * 255
    elif np.issubdtype(mask.dtype, np.floating):
        if not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
            raise UsageError(f"a float {name} must hold values in 0..1")
        mask = _to_byte(mask)
    elif mask.dtype != np.uint8:
        raise UsageError(f"{name} must be uint8, bool or float in 0..1; got {mask.dtype}")
    h, w = shape
    if mask.shape != (h, w):
        mh, mw = mask.shape
        if abs(mw / mh - w / h) > 0.01 * (w / h):
            raise UsageError(
                f"{name} is {mw}x{mh} but the image is {w}x{h} (another aspect ratio); make the mask match the image"
            )
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(mask)


def load_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A mask file (PNG ...) as HxW uint8 at the image's size: its alpha if it has one, else luminance."""
    from ..imageio import load_image

    item = load_image(path)
    mask = item.alpha if item.alpha is not None else cv2.cvtColor(item.pixels, cv2.COLOR_RGB2GRAY)
    return mask_to_alpha(mask, shape, name=f"mask {path}")


# ----------------------------------------------------------------------------------------------
# refinement


def _snap(alpha: np.ndarray) -> np.ndarray:
    """Exact 0 and 1 near the ends of the range."""
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha[alpha <= ALPHA_LOW] = 0.0
    alpha[alpha >= ALPHA_HIGH] = 1.0
    return alpha


def _background_colours(image: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """A 16x16x16 table: True for colours seen in ``outside`` (a little widened for tolerance)."""
    bins = (image >> 4).astype(np.int32)
    index = (bins[..., 0] << 8) | (bins[..., 1] << 4) | bins[..., 2]
    counts = np.bincount(index[outside], minlength=4096).reshape(16, 16, 16)
    seen = counts > max(2, 1e-4 * counts.sum())
    wide = seen.copy()
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, 15), slice(1, 16)
        wide[tuple(lo)] |= seen[tuple(hi)]
        wide[tuple(hi)] |= seen[tuple(lo)]
    return wide.reshape(-1)[index]  # HxW bool


def clean_mask(
    binary: np.ndarray, *, image: np.ndarray | None = None, min_part: float = 0.05, max_hole: float = 0.002
) -> np.ndarray:
    """Drop specks and fill false holes of a binary (bool / 0-1) mask; returns bool HxW.

    Keeps the largest part and every part at least ``min_part`` x its area (a pair of shoes
    stays a pair). Fills enclosed holes smaller than ``max_hole`` x the product's area, and, when
    ``image`` (RGB uint8, same size) is given, any enclosed hole whose colours mostly do not occur
    in the background around the product: a mug's handle opening shows the background and stays
    open; the pale inside of a product a model mistook for background is filled.
    """
    fg = (np.asarray(binary) > 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 1:
        return fg.astype(bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = areas >= max(1, min_part * areas.max())
    fg_clean = keep[labels]
    area = int(areas[keep[1:]].sum())
    count_b, labels_b, stats_b, _ = cv2.connectedComponentsWithStats((~fg_clean).astype(np.uint8), connectivity=4)
    if count_b > 2:
        h, w = fg.shape
        x0, y0 = stats_b[:, cv2.CC_STAT_LEFT], stats_b[:, cv2.CC_STAT_TOP]
        x1, y1 = x0 + stats_b[:, cv2.CC_STAT_WIDTH], y0 + stats_b[:, cv2.CC_STAT_HEIGHT]
        enclosed = (x0 > 0) & (y0 > 0) & (x1 < w) & (y1 < h)
        enclosed[0] = False
        fill = enclosed & (stats_b[:, cv2.CC_STAT_AREA] < max_hole * area)
        if image is not None and enclosed.any() and not enclosed[1:].all():
            outer = ~enclosed[labels_b] & ~fg_clean
            like_background = _background_colours(image, outer)
            share = np.bincount(
                labels_b.reshape(-1), weights=like_background.reshape(-1).astype(np.float64), minlength=count_b
            )
            share /= np.maximum(stats_b[:, cv2.CC_STAT_AREA], 1)
            fill |= enclosed & (share < 0.5)
        if fill.any():
            fg_clean |= fill[labels_b]
    return fg_clean


@dataclass
class _Matte:
    """The working-resolution result, and what full resolution needs to redo its edge."""

    alpha: np.ndarray  # float32 at working resolution, exact 0/1 away from the edge
    a: np.ndarray  # the edge filter's coefficients (HxWx3) ...
    b: np.ndarray  # ... and offsets (HxW)
    fixed: np.ndarray  # bool: far from the edge, where alpha is the binary mask itself


def _refine_at_work(small: np.ndarray, coarse: np.ndarray, *, snap_edges: bool) -> _Matte:
    guide = _to_unit(small)
    h, w = guide.shape[:2]
    long_side = max(h, w)
    p = _resize_float(coarse.astype(np.float32), (h, w))
    if snap_edges:
        # 1. Move the blurry map's 0.5 line onto the image's edges: a large colour guided filter,
        #    cheap because its coefficients are computed at 1/s resolution.
        r1 = max(2, round(long_side / 80))
        p = guided_filter(guide, p, radius=r1, eps=1e-3, subsample=max(1, r1 // 3))
    binary = clean_mask(p > 0.5, image=small)
    # 2. A soft matte that follows the edge: small radius, full working resolution.
    r2 = max(1, round(long_side / 400))
    a, b = guided_filter_coefficients(guide, binary.astype(np.float32), radius=r2, eps=2e-4)
    alpha = _snap(apply_coefficients(a, b, guide))
    # Beyond twice the filter's reach from the binary edge, the answer is the binary mask.
    kernel = np.ones((4 * r2 + 3, 4 * r2 + 3), np.uint8)
    binary_u8 = binary.astype(np.uint8)
    inside = cv2.erode(binary_u8, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    outside = ~cv2.dilate(binary_u8, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    alpha[inside] = 1.0
    alpha[outside] = 0.0
    return _Matte(alpha=alpha, a=a, b=b, fixed=inside | outside)


def _full_matte(pixels: np.ndarray, matte: _Matte) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution uint8 alpha plus the (ys, xs) of its soft pixels (0 < alpha < 255).

    The fixed parts are enlarged (nearest: they are exactly 0 or 255); in the band around the
    edge the working-resolution coefficients are evaluated on the full-resolution colours.
    """
    h, w = pixels.shape[:2]
    hw, ww = matte.alpha.shape
    if (hw, ww) == (h, w):
        alpha = _to_byte(matte.alpha)
        ys, xs = _points((alpha > 0) & (alpha < 255))
        return alpha, ys, xs
    hard = np.where(matte.alpha >= 0.5, 255, 0).astype(np.uint8)
    alpha = cv2.resize(hard, (w, h), interpolation=cv2.INTER_NEAREST)
    band = cv2.dilate((~matte.fixed).astype(np.uint8), np.ones((3, 3), np.uint8))
    if not band.any():
        empty = np.zeros(0, np.intp)
        return alpha, empty, empty
    ys_w, xs_w = _points(band)
    y0, y1, x0, x1 = int(ys_w.min()), int(ys_w.max()) + 1, int(xs_w.min()), int(xs_w.max()) + 1
    sy, sx = h / hw, w / ww
    fy0, fy1 = int(y0 * sy), min(h, int(np.ceil(y1 * sy)))
    fx0, fx1 = int(x0 * sx), min(w, int(np.ceil(x1 * sx)))
    band_full = cv2.resize(band[y0:y1, x0:x1], (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_NEAREST)
    ys, xs = _points(band_full)
    ys += fy0
    xs += fx0
    colour = _to_unit(pixels[ys, xs])
    coeffs = _sample(np.dstack([matte.a, matte.b]), ys, xs, hw / h, ww / w)
    q = _snap((coeffs[:, :3] * colour).sum(axis=1) + coeffs[:, 3])
    fixed = _sample(matte.fixed.astype(np.uint8), ys, xs, hw / h, ww / w, cv2.INTER_NEAREST) > 0
    q[fixed] = alpha[ys[fixed], xs[fixed]] * (1.0 / 255.0)
    values = _to_byte(q)
    alpha[ys, xs] = values
    soft = (values > 0) & (values < 255)
    return alpha, ys[soft], xs[soft]


def refine_alpha(
    pixels: np.ndarray, coarse: np.ndarray, *, snap_edges: bool = True, work_size: int = WORK_SIZE
) -> np.ndarray:
    """Make a coarse map into an alpha that follows the product's edges.

    pixels: RGB HxWx3 uint8. coarse: float32 0..1 or uint8 0..255, HxW at any resolution (a
    saliency map, GrabCut's labels, a user's mask). ``snap_edges=True`` first moves a blurry map
    onto the image's edges with a large guided filter; a precise mask can skip it.
    Returns HxW uint8 at the image's size, exactly 0 on the background, exactly 255 inside.
    """
    check_rgb(pixels)
    if not isinstance(coarse, np.ndarray) or coarse.ndim != 2 or coarse.size == 0:
        raise UsageError(f"coarse map must be HxW; got {getattr(coarse, 'shape', type(coarse).__name__)}")
    if work_size < 64:
        raise UsageError(f"work_size must be >= 64; got {work_size}")
    return _cut_out(pixels, coarse, snap_edges=snap_edges, work_size=work_size, decontaminate=False)[1]


def _cut_out(
    pixels: np.ndarray,
    coarse: np.ndarray,
    *,
    snap_edges: bool,
    work_size: int,
    decontaminate: bool,
    small: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(pixels with clean edge colours, alpha) from a coarse map; shares the working image."""
    coarse = _to_unit(coarse) if coarse.dtype == np.uint8 else coarse.astype(np.float32)
    hw = _work_shape(*pixels.shape[:2], work_size)
    if small is None:
        small = shrink_image(pixels, hw)
    matte = _refine_at_work(small, coarse, snap_edges=snap_edges)
    alpha, ys, xs = _full_matte(pixels, matte)
    if not decontaminate or len(ys) == 0:
        return pixels, alpha
    return _decontaminate(pixels, alpha, ys, xs, small, _to_byte(matte.alpha)), alpha


# ----------------------------------------------------------------------------------------------
# segmentation


def segment_product(
    pixels: np.ndarray,
    *,
    method: SegmentMethod = "u2netp",
    refine: bool = True,
    mask: np.ndarray | None = None,
    work_size: int = WORK_SIZE,
    model: Any = None,
) -> np.ndarray:
    """The product's alpha: RGB HxWx3 uint8 in, HxW uint8 out (255 = product, exactly 0 = background).

    method: "u2netp" (salient-object model, needs the model file), "grabcut" (no model; OpenCV
        GrabCut from a rectangle 5% inside the borders), "mask" (``mask`` given by the user:
        HxW uint8/bool/float, or an RGB/RGBA image).
    refine: snap the map to the image's edges and make a soft, clean matte (see the module's
        docstring). Without it: the model's map enlarged (soft), GrabCut's or the user's mask as is.
    model: a ``runtime.LoadedModel`` to use instead of this process's cached U²-Net-p.

    >>> alpha = segment_product(photo)                      # doctest: +SKIP
    """
    return cut_out(
        pixels, method=method, refine=refine, mask=mask, work_size=work_size, model=model, decontaminate=False
    )[1]


def cut_out(
    pixels: np.ndarray,
    *,
    method: SegmentMethod = "u2netp",
    refine: bool = True,
    mask: np.ndarray | None = None,
    work_size: int = WORK_SIZE,
    model: Any = None,
    decontaminate: bool = True,
    saliency: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``segment_product`` and ``estimate_foreground`` in one pass sharing the working image.

    Returns (RGB HxWx3 uint8 with clean edge colours, alpha HxW uint8). Without ``refine`` (or
    ``decontaminate``) the pixels come back untouched. ``saliency``: a U²-Net-p map already
    predicted for these pixels (float32 HxW of any size, 0..1, e.g. from a batch), used by
    method "u2netp" instead of running the model again.
    """
    check_rgb(pixels)
    if work_size < 64:
        raise UsageError(f"work_size must be >= 64; got {work_size}")
    h, w = pixels.shape[:2]
    if saliency is not None and method != "u2netp":
        raise UsageError(f"a saliency map was given with method='{method}'; it is only used by method='u2netp'")
    if method in ("u2netp", "grabcut") and mask is not None:
        raise UsageError(f"a mask was given with method='{method}'; use method='mask' to cut along your mask")
    decontaminate = decontaminate and refine
    if method == "u2netp":
        from ..runtime import predict_saliency_320

        small = shrink_image(pixels, _work_shape(h, w, work_size))
        if saliency is None:
            coarse = predict_saliency_320(small, model=model)
        elif isinstance(saliency, np.ndarray) and saliency.ndim == 2 and saliency.size:
            coarse = saliency.astype(np.float32)
        else:
            raise UsageError(
                f"saliency must be a float HxW map in 0..1; got {getattr(saliency, 'shape', type(saliency).__name__)}"
            )
        if not refine:
            return pixels, _to_byte(np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0))
        return _cut_out(pixels, coarse, snap_edges=True, work_size=work_size, decontaminate=decontaminate, small=small)
    if method == "grabcut":
        coarse = grabcut_mask(pixels)
        if not refine:
            return pixels, np.where(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5, 255, 0).astype(
                np.uint8
            )
        # GrabCut's labels are blocky at its reduced size: snap them to the edges like a soft map.
        return _cut_out(pixels, coarse, snap_edges=True, work_size=work_size, decontaminate=decontaminate)
    if method == "mask":
        if mask is None:
            raise UsageError("method='mask' needs a mask (an HxW array, or mask_path in a recipe)")
        user = mask_to_alpha(mask, (h, w))
        if not refine:
            return pixels, user
        return _cut_out(pixels, user, snap_edges=False, work_size=work_size, decontaminate=decontaminate)
    raise UsageError(f"unknown method '{method}'; choose u2netp, grabcut or mask")


# ----------------------------------------------------------------------------------------------
# foreground colour


def _push_pull(colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fill every pixel with the colour of the nearest weighted pixels (pull-push interpolation).

    colour: float32 HxWx3; weight: float32 HxW in 0..1 (1 = known). Weighted means are taken
    down a pyramid of halvings, then each level fills its poorly known pixels from the level
    below it: nearby known colours win, far ones fill only what nothing nearer reaches.
    """
    levels = [(colour * weight[..., None], weight)]
    while min(levels[-1][1].shape) > 2:
        c, wt = levels[-1]
        size = ((wt.shape[1] + 1) // 2, (wt.shape[0] + 1) // 2)
        levels.append(
            (cv2.resize(c, size, interpolation=cv2.INTER_AREA), cv2.resize(wt, size, interpolation=cv2.INTER_AREA))
        )
    c, wt = levels[-1]
    total = float(wt.sum())
    mean = c.reshape(-1, 3).sum(axis=0) / total if total > 0 else np.full(3, 0.5, np.float32)
    estimate = np.broadcast_to(mean.astype(np.float32), c.shape)
    for c, wt in reversed(levels):
        up = cv2.resize(np.ascontiguousarray(estimate), (wt.shape[1], wt.shape[0]), interpolation=cv2.INTER_LINEAR)
        confidence = np.minimum(wt * 4.0, 1.0)[..., None]
        known = c / np.maximum(wt, 1e-6)[..., None]
        estimate = confidence * known + (1.0 - confidence) * up
    return estimate


def _decontaminate(
    pixels: np.ndarray, alpha: np.ndarray, ys: np.ndarray, xs: np.ndarray, small: np.ndarray, small_alpha: np.ndarray
) -> np.ndarray:
    h, w = alpha.shape
    hw, ww = small_alpha.shape
    colour = _to_unit(small)
    fg_map = _push_pull(colour, (small_alpha >= 250).astype(np.float32))
    bg_map = _push_pull(colour, (small_alpha == 0).astype(np.float32))
    if (hw, ww) == (h, w):
        f_prop, b_est = fg_map[ys, xs], bg_map[ys, xs]
    else:
        both = _sample(np.dstack([fg_map, bg_map]), ys, xs, hw / h, ww / w)
        f_prop, b_est = both[:, :3], both[:, 3:]
    a = _to_unit(alpha[ys, xs])[:, None]
    observed = _to_unit(pixels[ys, xs])
    # I = aF + (1 - a)B  ->  F = (I - (1 - a)B) / a, trusted where a is large enough.
    f_solved = np.clip((observed - (1.0 - a) * b_est) / np.maximum(a, 1e-3), 0.0, 1.0)
    trust = np.clip((a - FG_TRUST_FROM) / (1.0 - FG_TRUST_FROM), 0.0, 1.0)
    out = pixels.copy()
    out[ys, xs] = _to_byte(trust * f_solved + (1.0 - trust) * f_prop)
    return out


def estimate_foreground(pixels: np.ndarray, alpha: np.ndarray, *, work_size: int = WORK_SIZE) -> np.ndarray:
    """Edge colours cleaned of the old background: RGB HxWx3 uint8, same size as ``pixels``.

    Only pixels with 0 < alpha < 255 change. Each gets ``F`` from ``I = aF + (1 - a)B``, with
    ``B`` the background colour propagated from nearby transparent pixels, blended (by alpha)
    with the product's own colour propagated from its opaque interior: a faint edge pixel takes
    its neighbours' product colour, a nearly opaque one keeps its own.
    """
    check_rgb(pixels)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    ys, xs = _points((alpha > 0) & (alpha < 255))
    if len(ys) == 0:
        return pixels
    hw = _work_shape(*alpha.shape, work_size)
    small_alpha = alpha if hw == alpha.shape else cv2.resize(alpha, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
    return _decontaminate(pixels, alpha, ys, xs, shrink_image(pixels, hw), small_alpha)


# ----------------------------------------------------------------------------------------------
# compositing


def _check_color(color: Any) -> np.ndarray:
    try:
        values = [int(c) for c in color]
        exact = all(int(c) == c for c in color)
    except (TypeError, ValueError):
        raise UsageError(f"color must be three integers 0..255 (r, g, b); got {color!r}") from None
    if len(values) != 3 or not exact or any(not 0 <= c <= 255 for c in values):
        raise UsageError(f"color must be three integers 0..255 (r, g, b); got {color!r}")
    return np.array(values, np.uint8)


SHADOW_MARGIN = 0.015  # share of the canvas side kept free of shadow at every edge


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
        small = cv2.warpAffine(_to_unit(a_small), shift, (sw, sh), flags=cv2.INTER_LINEAR, borderValue=0)
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


def composite_on_color(
    pixels: np.ndarray,
    alpha: np.ndarray,
    *,
    color: tuple[int, int, int] = (255, 255, 255),
    shadow: ShadowKind = "none",
    shadow_strength: float = 0.35,
) -> np.ndarray:
    """Place the cut-out on a flat colour: RGB HxWx3 uint8 + alpha HxW uint8 -> RGB HxWx3 uint8.

    Exact integer blend ``(F * a + C * (255 - a) + 127) // 255``: alpha 0 gives exactly ``color``
    (outside any shadow), alpha 255 gives the pixel unchanged. ``shadow`` darkens the colour
    under the product by up to ``shadow_strength``; a shadow fades to exactly ``color``: any
    darkening that would not change the colour by a whole level is dropped.

    >>> px = np.full((1, 3, 3), 100, np.uint8); a = np.array([[0, 128, 255]], np.uint8)
    >>> composite_on_color(px, a)[0, :, 0].tolist()
    [255, 177, 100]
    """
    check_rgb(pixels)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    col = _check_color(color)
    if shadow not in ("none", "contact", "drop"):
        raise UsageError(f"shadow must be none, contact or drop; got {shadow!r}")
    if not 0.0 <= float(shadow_strength) <= 1.0:
        raise UsageError(f"shadow_strength must be between 0 and 1; got {shadow_strength}")
    h, w = alpha.shape
    out = np.empty((h, w, 3), np.uint8)
    out[:] = col
    if shadow != "none" and shadow_strength > 0 and col.max() > 0:
        small, _ = _shadow_small(alpha, shadow)
        darkness = small * np.float32(shadow_strength)
        darkness[darkness * float(col.max()) < 1.0] = 0.0  # fade to the exact colour
        if darkness.any():
            # The shaded colour is smooth: make it at the small size, enlarge only its bounding box.
            shaded = np.clip(col.astype(np.float32) * (1.0 - darkness[..., None]) + 0.5, 0, 255).astype(np.uint8)
            rows, cols = np.flatnonzero(darkness.any(axis=1)), np.flatnonzero(darkness.any(axis=0))
            sy, sx = small.shape[0] / h, small.shape[1] / w
            x0, y0 = max(0, int((cols[0] - 1) / sx)), max(0, int((rows[0] - 1) / sy))
            x1, y1 = min(w, int(np.ceil((cols[-1] + 2) / sx))), min(h, int(np.ceil((rows[-1] + 2) / sy)))
            out[y0:y1, x0:x1] = _enlarge_region(shaded, (h, w), (x0, y0, x1, y1))
    cv2.copyTo(pixels, (alpha == 255).view(np.uint8), out)
    ys, xs = _points((alpha > 0) & (alpha < 255))
    if len(ys):
        a = alpha[ys, xs].astype(np.uint16)[:, None]
        blend = (pixels[ys, xs].astype(np.uint16) * a + out[ys, xs].astype(np.uint16) * (255 - a) + 127) // 255
        out[ys, xs] = blend.astype(np.uint8)
    return out


# ----------------------------------------------------------------------------------------------
# registered steps


class RemoveBackgroundOptions(OpOptions):
    method: SegmentMethod = Field("u2netp", description="u2netp (model), grabcut (no model) or mask (mask_path)")
    refine: bool = Field(True, description="snap the alpha to the image's edges and clean the edge colours")
    mask_path: str | None = Field(None, description="a PNG mask (alpha, or luminance if opaque); implies method=mask")

    @model_validator(mode="before")
    @classmethod
    def _mask_path_means_mask(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("mask_path") and "method" not in data:
            data = {**data, "method": "mask"}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> RemoveBackgroundOptions:
        if self.method == "mask" and not self.mask_path:
            raise ValueError("method 'mask' needs mask_path (a PNG mask file)")
        if self.mask_path and self.method != "mask":
            raise ValueError(f"mask_path is given but method is '{self.method}'; use method: mask")
        return self


Channel = Annotated[int, Field(ge=0, le=255)]


class WhiteBackgroundOptions(OpOptions):
    color: tuple[Channel, Channel, Channel] = Field((255, 255, 255), description="background colour [r, g, b]")
    shadow: ShadowKind = Field(
        "none", description="none, contact (ellipse under the product) or drop (offset silhouette)"
    )
    shadow_strength: float = Field(0.35, ge=0.0, le=1.0, description="darkest shadow: fraction of the colour removed")


@register_op("remove_background", options=RemoveBackgroundOptions)
def remove_background_step(item: ImageItem, options: RemoveBackgroundOptions) -> ImageItem:
    """Cut the product out: set its alpha (background exactly 0) and clean its edge colours."""
    if item.alpha is not None and options.method == "u2netp" and int(item.alpha.min()) < 255:
        out = item.replace()
        out.metadata["alpha_source"] = "input (the image already had transparency; kept as is)"
        return out
    model = None
    mask = None
    if options.method == "u2netp":
        from ..runtime import load_u2netp

        model = load_u2netp()
    elif options.method == "mask":
        mask = load_mask(options.mask_path, (item.height, item.width))
    pixels, alpha = cut_out(item.pixels, method=options.method, refine=options.refine, mask=mask, model=model)
    if not (alpha > 0).any():
        raise OperationError(
            f"no product found with method '{options.method}' (the cut-out is empty); try another method or give a mask",
            path=item.source,
        )
    out = item.replace(pixels=pixels, alpha=alpha)
    out.metadata["alpha_source"] = options.method
    if model is not None:
        out.step_model = model.label
    return out


@register_op("white_background", options=WhiteBackgroundOptions)
def white_background_step(item: ImageItem, options: WhiteBackgroundOptions) -> ImageItem:
    """Composite the cut-out on a flat colour (white by default), with an optional shadow."""
    if item.alpha is None:
        out = item.replace()
        out.metadata["white_background"] = "no cut-out (no alpha): image left unchanged"
        return out
    pixels = composite_on_color(
        item.pixels, item.alpha, color=options.color, shadow=options.shadow, shadow_strength=options.shadow_strength
    )
    return item.replace(pixels=pixels, alpha=None)
