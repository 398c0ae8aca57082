"""Synthetic defects for training and measuring repair: scratches, stains and dust, each with the exact mask.

Every function takes a clean photo (RGB, HxWx3, uint8) and a seed (an ``int`` or a
``numpy.random.Generator``) and returns ``(damaged, mask)``: the damaged copy (RGB uint8) and the
ground-truth mask (HxW uint8, 255 = the defect visibly changed this pixel). A pixel is in the mask
when the defect covers at least ``MASK_COVERAGE`` (15 %) of it and changed it by at least
``VISIBLE_CHANGE`` (8) grey levels in some channel: a dark stain on a black background or a light
scratch on white changes nothing, so there is nothing to find or repair there. The anti-aliased
fringe below 15 % coverage moves a pixel less than 15 % of the way to the defect's colour.

- scratches: thin curved strokes (a smooth random curve, 1-3 px wide, anti-aliased), light
  (emulsion scraped off, a scuff on a glossy product) or dark, mostly opaque;
- stains and spots: blobs 2-7 % of the shorter side across (a union of blurred ellipses, edge
  blur 8-25 % of the radius, sometimes with a darker drying ring) that tint and darken what is
  under them, partly transparent (peak opacity 0.5-0.85): visible to a person, unlike the faint
  wide tints of the first version, which no detector could learn;
- dust: small dark or bright specks (0.5-2.5 px radius), alone and in clusters, and short hairs.

Drawing is done per defect in a small supersampled (4x) canvas around it, so a 12-megapixel photo
costs no more than a patch per defect.

    >>> damaged, mask = add_defects(clean, seed=3, density=1.0)
    >>> mask.shape == clean.shape[:2], mask.dtype
    (True, dtype('uint8'))

How well a detector finds them is measured by ``train.metrics.detection_scores`` (pixel level, with a
tolerance), how well a repair restores them by ``train.metrics.psnr`` with the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_rgb

MASK_COVERAGE = 0.15
VISIBLE_CHANGE = 8.0
SUPERSAMPLE = 4
KINDS = ("scratch", "stain", "dust")

Seed = int | np.random.Generator


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise UsageError(f"seed must be an int or a numpy Generator; got {type(seed).__name__}")


@dataclass
class _Canvas:
    """A defect's coverage (0..1) in a box of the image, drawn at SUPERSAMPLE x resolution."""

    x0: int
    y0: int
    w: int
    h: int

    def blank(self) -> np.ndarray:
        return np.zeros((self.h * SUPERSAMPLE, self.w * SUPERSAMPLE), np.uint8)

    def to_pixels(self, big: np.ndarray) -> np.ndarray:
        return cv2.resize(big, (self.w, self.h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _box(points: np.ndarray, margin: float, shape: tuple[int, int]) -> _Canvas | None:
    h, w = shape
    x0 = max(0, int(np.floor(points[:, 0].min() - margin)))
    y0 = max(0, int(np.floor(points[:, 1].min() - margin)))
    x1 = min(w, int(np.ceil(points[:, 0].max() + margin)) + 1)
    y1 = min(h, int(np.ceil(points[:, 1].max() + margin)) + 1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return _Canvas(x0, y0, x1 - x0, y1 - y0)


def _composite(image: np.ndarray, coverage: np.ndarray, canvas: _Canvas, colour: np.ndarray | None,
               multiply: np.ndarray | None, alpha_total: np.ndarray) -> None:
    """Blend a defect into ``image`` (float32, in place) and record its coverage in ``alpha_total``."""
    ys, xs = slice(canvas.y0, canvas.y0 + canvas.h), slice(canvas.x0, canvas.x0 + canvas.w)
    region = image[ys, xs]
    a = coverage[..., None]
    target = region * multiply if multiply is not None else np.broadcast_to(colour, region.shape)
    region[:] = region * (1 - a) + target * a
    np.maximum(alpha_total[ys, xs], coverage, out=alpha_total[ys, xs])


def _smooth_curve(rng: np.random.Generator, shape: tuple[int, int], length: float) -> np.ndarray:
    """Points along a gently curving path of about ``length`` px starting inside the image."""
    h, w = shape
    start = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    heading = rng.uniform(0, 2 * np.pi)
    curvature = rng.normal(0, 1.2 / max(length, 1.0))
    wiggle = rng.normal(0, 0.4 / max(length, 1.0))
    steps = max(4, int(length / 2))
    points = [start]
    for i in range(steps):
        heading += curvature + wiggle * np.sin(i * 0.3)
        points.append(points[-1] + 2.0 * np.array([np.cos(heading), np.sin(heading)]))
    return np.array(points)


def _stroke(points: np.ndarray, width: float, shape: tuple[int, int]) -> tuple[_Canvas, np.ndarray] | None:
    """An anti-aliased line ``width`` px wide along ``points``, drawn in a canvas of its own:
    (canvas, supersampled drawing), or None when it misses the image."""
    canvas = _box(points, width + 2, shape)
    if canvas is None:
        return None
    big = canvas.blank()
    local = ((points - [canvas.x0, canvas.y0]) * SUPERSAMPLE).round().astype(np.int32)
    cv2.polylines(big, [local], False, 255, thickness=max(1, round(width * SUPERSAMPLE)), lineType=cv2.LINE_AA)
    return canvas, big


def _draw_scratch(image: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> None:
    shape = image.shape[:2]
    side = min(shape)
    length = rng.uniform(0.15, 0.7) * side
    points = _smooth_curve(rng, shape, length)
    drawn = _stroke(points, rng.uniform(0.8, 3.0), shape)
    if drawn is None:
        return
    canvas, big = drawn
    coverage = canvas.to_pixels(big) * rng.uniform(0.65, 1.0)
    if rng.random() < 0.6:  # light: a scuff or scraped-off emulsion
        colour = rng.uniform(205, 255) + rng.normal(0, 6, 3)
    else:
        colour = rng.uniform(0, 55) + rng.normal(0, 6, 3)
    _composite(image, coverage, canvas, np.clip(colour, 0, 255).astype(np.float32), None, alpha)


def _draw_stain(image: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> None:
    shape = image.shape[:2]
    side = min(shape)
    radius = rng.uniform(0.02, 0.07) * side + 2
    centre = np.array([rng.uniform(0, shape[1]), rng.uniform(0, shape[0])])
    blur = rng.uniform(0.08, 0.25) * radius
    canvas = _box(centre[None], 1.6 * radius + 3 * blur + 2, shape)
    if canvas is None:
        return
    big = canvas.blank()
    for _ in range(int(rng.integers(1, 4))):
        c = centre + rng.normal(0, 0.35 * radius, 2)
        axes = np.array([rng.uniform(0.5, 1.0), rng.uniform(0.4, 1.0)]) * radius
        cv2.ellipse(big, tuple(((c - [canvas.x0, canvas.y0]) * SUPERSAMPLE).round().astype(int).tolist()),
                    tuple((axes * SUPERSAMPLE).round().astype(int).tolist()), float(rng.uniform(0, 180)), 0, 360, 255, -1,
                    lineType=cv2.LINE_AA)
    shape_map = big.astype(np.float32) / 255.0
    sigma = blur * SUPERSAMPLE
    soft = cv2.GaussianBlur(shape_map, (0, 0), sigma) if sigma > 0.5 else shape_map
    if rng.random() < 0.4:  # a drying ring: darker at the edge
        edge = np.clip(soft * (1 - soft) * 4, 0, 1)
        soft = np.clip(0.6 * soft + 0.8 * edge, 0, 1)
    soft8 = (np.clip(soft, 0, 1) * 255).astype(np.uint8)
    coverage = canvas.to_pixels(soft8) * rng.uniform(0.5, 0.85)
    tints = ([0.55, 0.42, 0.25], [0.45, 0.45, 0.45], [0.75, 0.6, 0.3], [0.35, 0.3, 0.3], [0.7, 0.7, 0.55])
    tint = np.array(tints[int(rng.integers(len(tints)))], np.float32) * rng.uniform(0.8, 1.1)
    _composite(image, coverage, canvas, None, np.clip(tint, 0, 1).astype(np.float32), alpha)


def _draw_dust(image: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> None:
    shape = image.shape[:2]
    h, w = shape
    clustered = rng.random() < 0.5
    count = int(rng.integers(3, 12)) if clustered else 1
    centre = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    spread = rng.uniform(3, 0.06 * min(shape) + 4)
    dark = rng.random() < 0.75
    for _ in range(count):
        if rng.random() < 0.12:  # a short hair or fibre
            points = _smooth_curve(rng, shape, rng.uniform(6, 0.12 * min(shape) + 8))
            points = points - points[0] + (centre + rng.normal(0, spread, 2) if clustered else centre)
            drawn = _stroke(points, rng.uniform(0.7, 1.5), shape)
            if drawn is None:
                continue
            canvas, big = drawn
        else:
            p = centre + rng.normal(0, spread, 2) if clustered else centre
            r = rng.uniform(0.6, 2.5)
            canvas = _box(p[None], r + 2, shape)
            if canvas is None:
                continue
            big = canvas.blank()
            c = ((p - [canvas.x0, canvas.y0]) * SUPERSAMPLE).round().astype(int)
            axes = (max(1, int(r * SUPERSAMPLE)), max(1, int(r * SUPERSAMPLE * rng.uniform(0.6, 1.0))))
            cv2.ellipse(big, (int(c[0]), int(c[1])), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1, lineType=cv2.LINE_AA)
        coverage = canvas.to_pixels(big) * rng.uniform(0.75, 1.0)
        colour = rng.uniform(5, 60) if dark else rng.uniform(215, 255)
        _composite(image, coverage, canvas, np.full(3, colour, np.float32), None, alpha)


_DRAW = {"scratch": _draw_scratch, "stain": _draw_stain, "dust": _draw_dust}
# Defects per 100x100 px at density 1.0 (a 512x384 photo gets ~1 scratch, ~0.6 stain, ~4 dust spots).
_PER_10K_PIXELS = {"scratch": 0.06, "stain": 0.03, "dust": 0.2}


def _apply(pixels: np.ndarray, seed: Seed, counts: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    check_rgb(pixels)
    rng = _rng(seed)
    image = pixels.astype(np.float32)
    alpha = np.zeros(pixels.shape[:2], np.float32)
    order = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(order)
    for kind in order:
        _DRAW[kind](image, alpha, rng)
    damaged = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    change = np.abs(damaged.astype(np.int16) - pixels.astype(np.int16)).max(-1)
    mask = np.where((alpha >= MASK_COVERAGE) & (change >= VISIBLE_CHANGE), np.uint8(255), np.uint8(0))
    return damaged, mask


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise UsageError(f"{name} must be a whole number >= 0; got {value!r}")
    return int(value)


def add_scratches(pixels: np.ndarray, seed: Seed, *, count: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``count`` thin curved scratches (1-3 px, anti-aliased, light or dark). Returns (damaged, mask)."""
    return _apply(pixels, seed, {"scratch": _check_count("count", count)})


def add_stains(pixels: np.ndarray, seed: Seed, *, count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``count`` soft-edged tinted blobs, partly transparent. Returns (damaged, mask)."""
    return _apply(pixels, seed, {"stain": _check_count("count", count)})


def add_dust(pixels: np.ndarray, seed: Seed, *, count: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``count`` dust events: single specks, clusters of specks, short hairs. Returns (damaged, mask)."""
    return _apply(pixels, seed, {"dust": _check_count("count", count)})


def add_defects(
    pixels: np.ndarray, seed: Seed, *, density: float = 1.0, kinds: Sequence[str] = KINDS
) -> tuple[np.ndarray, np.ndarray]:
    """A mix of scratches, stains and dust scaled to the image's area. Returns (damaged, mask).

    density: 1.0 gives about 0.06 scratches, 0.03 stains and 0.2 dust events per 100x100 px (each
    count drawn from a Poisson law, so a small patch is sometimes clean); 0 gives a clean copy.
    The same ``seed`` and input always give the same output.
    """
    check_rgb(pixels)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise UsageError(f"unknown defect kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    if not np.isfinite(density) or density < 0:
        raise UsageError(f"density must be a number >= 0; got {density!r}")
    rng = _rng(seed)
    area = pixels.shape[0] * pixels.shape[1] / 10_000
    counts = {kind: int(rng.poisson(_PER_10K_PIXELS[kind] * area * density)) for kind in kinds}
    return _apply(pixels, rng, counts)
