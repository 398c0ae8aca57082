"""Matting: a coarse map made into an alpha that follows the product's edges, and the edge
colours cleaned of the old background.

Contract of every function here: pixels are RGB, HxWx3, uint8 (sRGB); an alpha is HxW, uint8,
255 = product. Nothing here prints, writes files or changes global OpenCV settings.

1. Refinement at a working resolution (long side <= ``work_size``): a fast guided filter (He
   et al. 2015: coefficients at a reduced resolution, upsampled) with the colour image as guide
   snaps the blurry map to the product's real edges; the result is made binary, cleaned (small
   specks dropped, small holes filled), then a second, small-radius colour guided filter turns
   the binary mask into a soft matte that follows the image's edge. Values near 0 or 1 become
   exactly 0 or 255, so the background is exactly transparent.
2. Full resolution: the second filter's coefficients are upsampled and applied to the full-size
   image only in the thin band where the matte is soft; everywhere else the working-resolution
   answer (exactly 0 or 255) is simply enlarged. The costly work never runs on all 9 MP of a
   3000x3000 photo.
3. Decontamination: in the soft band the colour is re-estimated as the product's own colour
   (``I = aF + (1 - a)B`` solved with a locally propagated background ``B``, blended with the
   interior colour propagated outwards), so no trace of the old background fringes the product.

``composite_over`` is the same equation the other way: the cut-out placed over a backdrop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_mask, check_rgb
from .guided_filter import apply_coefficients, guided_filter, guided_filter_coefficients

WORK_SIZE = 800
ALPHA_LOW = 0.03  # matte values at or below this become exactly 0 ...
ALPHA_HIGH = 0.97  # ... and at or above this exactly 1 (255)
FG_TRUST_FROM = 0.3  # below this alpha an edge pixel takes its colour from the product's interior


# ----------------------------------------------------------------------------------------------
# working resolution


def work_shape(h: int, w: int, work_size: int) -> tuple[int, int]:
    """(h, w) scaled so the long side is at most ``work_size`` (never enlarged)."""
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


def resize_float(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """A float map at (h, w): area-averaged when it shrinks, bilinear when it grows."""
    h, w = hw
    if x.shape[:2] == (h, w):
        return x
    shrinking = h * w < x.shape[0] * x.shape[1]
    return cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def to_unit(x: np.ndarray) -> np.ndarray:
    """0..255 as float32 0..1."""
    return x.astype(np.float32) * np.float32(1.0 / 255.0)


def to_byte(x: np.ndarray) -> np.ndarray:
    """0..1 as uint8 0..255, rounded and clipped."""
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def mask_points(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    guide = to_unit(small)
    h, w = guide.shape[:2]
    long_side = max(h, w)
    p = resize_float(coarse.astype(np.float32), (h, w))
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
        alpha = to_byte(matte.alpha)
        ys, xs = mask_points((alpha > 0) & (alpha < 255))
        return alpha, ys, xs
    hard = np.where(matte.alpha >= 0.5, 255, 0).astype(np.uint8)
    alpha = cv2.resize(hard, (w, h), interpolation=cv2.INTER_NEAREST)
    band = cv2.dilate((~matte.fixed).astype(np.uint8), np.ones((3, 3), np.uint8))
    if not band.any():
        empty = np.zeros(0, np.intp)
        return alpha, empty, empty
    ys_w, xs_w = mask_points(band)
    y0, y1, x0, x1 = int(ys_w.min()), int(ys_w.max()) + 1, int(xs_w.min()), int(xs_w.max()) + 1
    sy, sx = h / hw, w / ww
    fy0, fy1 = int(y0 * sy), min(h, int(np.ceil(y1 * sy)))
    fx0, fx1 = int(x0 * sx), min(w, int(np.ceil(x1 * sx)))
    band_full = cv2.resize(band[y0:y1, x0:x1], (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_NEAREST)
    ys, xs = mask_points(band_full)
    ys += fy0
    xs += fx0
    colour = to_unit(pixels[ys, xs])
    coeffs = _sample(np.dstack([matte.a, matte.b]), ys, xs, hw / h, ww / w)
    q = _snap((coeffs[:, :3] * colour).sum(axis=1) + coeffs[:, 3])
    fixed = _sample(matte.fixed.astype(np.uint8), ys, xs, hw / h, ww / w, cv2.INTER_NEAREST) > 0
    q[fixed] = alpha[ys[fixed], xs[fixed]] * (1.0 / 255.0)
    values = to_byte(q)
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
    return refine_cut_out(pixels, coarse, snap_edges=snap_edges, work_size=work_size, decontaminate=False)[1]


def refine_cut_out(
    pixels: np.ndarray,
    coarse: np.ndarray,
    *,
    snap_edges: bool,
    work_size: int,
    decontaminate: bool,
    small: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(pixels with clean edge colours, alpha) from a coarse map; shares the working image."""
    coarse = to_unit(coarse) if coarse.dtype == np.uint8 else coarse.astype(np.float32)
    hw = work_shape(*pixels.shape[:2], work_size)
    if small is None:
        small = shrink_image(pixels, hw)
    matte = _refine_at_work(small, coarse, snap_edges=snap_edges)
    alpha, ys, xs = _full_matte(pixels, matte)
    if not decontaminate or len(ys) == 0:
        return pixels, alpha
    return _decontaminate(pixels, alpha, ys, xs, small, to_byte(matte.alpha)), alpha


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
    colour = to_unit(small)
    fg_map = _push_pull(colour, (small_alpha >= 250).astype(np.float32))
    bg_map = _push_pull(colour, (small_alpha == 0).astype(np.float32))
    if (hw, ww) == (h, w):
        f_prop, b_est = fg_map[ys, xs], bg_map[ys, xs]
    else:
        both = _sample(np.dstack([fg_map, bg_map]), ys, xs, hw / h, ww / w)
        f_prop, b_est = both[:, :3], both[:, 3:]
    a = to_unit(alpha[ys, xs])[:, None]
    observed = to_unit(pixels[ys, xs])
    # I = aF + (1 - a)B  ->  F = (I - (1 - a)B) / a, trusted where a is large enough.
    f_solved = np.clip((observed - (1.0 - a) * b_est) / np.maximum(a, 1e-3), 0.0, 1.0)
    trust = np.clip((a - FG_TRUST_FROM) / (1.0 - FG_TRUST_FROM), 0.0, 1.0)
    out = pixels.copy()
    out[ys, xs] = to_byte(trust * f_solved + (1.0 - trust) * f_prop)
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
    ys, xs = mask_points((alpha > 0) & (alpha < 255))
    if len(ys) == 0:
        return pixels
    hw = work_shape(*alpha.shape, work_size)
    small_alpha = alpha if hw == alpha.shape else cv2.resize(alpha, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
    return _decontaminate(pixels, alpha, ys, xs, shrink_image(pixels, hw), small_alpha)


# ----------------------------------------------------------------------------------------------
# compositing


def composite_over(pixels: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """The cut-out placed over a backdrop: RGB HxWx3 uint8 + alpha HxW uint8 over RGB HxWx3 uint8.

    Exact integer blend ``(F * a + B * (255 - a) + 127) // 255``: alpha 0 leaves the backdrop as
    it is, alpha 255 gives the pixel unchanged. ``backdrop`` is painted on and returned (it may
    be changed in place: pass a copy to keep it).

    >>> px = np.full((1, 3, 3), 100, np.uint8); a = np.array([[0, 128, 255]], np.uint8)
    >>> composite_over(px, a, np.full((1, 3, 3), 255, np.uint8))[0, :, 0].tolist()
    [255, 177, 100]
    """
    check_rgb(pixels)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    check_rgb(backdrop, name="backdrop")
    if backdrop.shape != pixels.shape:
        raise UsageError(f"backdrop has shape {backdrop.shape} but the image is {pixels.shape}; give one the same size")
    out = cv2.copyTo(pixels, (alpha == 255).view(np.uint8), backdrop)
    ys, xs = mask_points((alpha > 0) & (alpha < 255))
    if len(ys):
        a = alpha[ys, xs].astype(np.uint16)[:, None]
        blend = (pixels[ys, xs].astype(np.uint16) * a + out[ys, xs].astype(np.uint16) * (255 - a) + 127) // 255
        out[ys, xs] = blend.astype(np.uint8)
    return out
