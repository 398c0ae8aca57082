"""How many separate products an image shows: the product mask's connected components of significant size.

``count_items(pixels, alpha=None)``:

1. The product mask, at a reduced size (longer side ``WORK_SIDE``): the item's alpha when it has
   one (a cut-out); on a white background (``WHITE_BAND_SHARE`` of the outer band near white) every
   pixel more than ``INK_LEVEL`` from white; otherwise U²-Net-p's salient-object map (> 0.5;
   ``runtime.predict_saliency_320``, about 0.1-0.5 s on one core, the slow path).
2. Closed over gaps of ``CLOSE_SHARE`` of the longer side and with holes filled, so a white product
   whose faint body breaks into outline pieces, or a product with a see-through part, stays one.
3. Components of significant size: at least ``MIN_AREA`` of the image and ``MIN_OF_LARGEST`` of the
   largest component. Smaller ones are fragments, crumbs, tags or small parts of one product.
   A component whose pixels are nearly all light neutral grey (``SHADOW_*``) is a shadow, not an item.
4. A pair counts as one item: exactly two components of similar size (``PAIR_AREA_RATIO``), colour
   (``PAIR_COLOUR``) and outline (``PAIR_SHAPE``, Hu moments, as it is or mirrored: a left and a right shoe match): a pair of
   shoes, earrings or gloves is sold as one product. Two different products, or three copies, count
   as several.

About 5 ms on a 2000 px image with a white background (plus U²-Net-p where it is needed).

    >>> found = count_items(pixels)                         # doctest: +SKIP
    >>> found.count, found.boxes, found.pair
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_mask, check_rgb

WORK_SIDE = 400
INK_LEVEL = 16  # on white: a pixel this far from white in some channel is the product (or a shadow)
WHITE_BAND_SHARE = 0.9  # a white background: this share of the outer band is near white
BAND_SHARE = 0.02  # the outer band, as a share of the shorter side
CLOSE_SHARE = 0.025  # gaps narrower than this share of the longer side are closed
MIN_AREA = 0.004  # a component covers at least this share of the image ...
MIN_OF_LARGEST = 0.12  # ... and at least this share of the largest one's area
SHADOW_CHROMA = 14  # a shadow's pixels: channels within this of each other ...
SHADOW_LEVEL = 80  # ... and at most this far from white ...
SHADOW_SHARE = 0.85  # ... for this share of the component's pixels
PAIR_AREA_RATIO = 0.6  # a pair: the smaller at least this share of the larger's area ...
PAIR_COLOUR = 30  # ... mean colours this close (largest channel difference) ...
PAIR_SHAPE = 0.25  # ... and outlines this alike (cv2.matchShapes, CONTOURS_MATCH_I1)


@dataclass(frozen=True)
class ItemCount:
    """count: the separate items (a pair counted once); boxes: each significant component's
    [x0, y0, x1, y1] in px of the checked image (exclusive ends), largest first; areas: their
    shares of the image; pair: the two components are a pair; mask_source: "alpha", "white" or "u2netp"."""

    count: int
    boxes: list[list[int]]
    areas: list[float]
    pair: bool
    mask_source: str
    confidence: float


def white_background(pixels: np.ndarray) -> bool:
    """True when ``WHITE_BAND_SHARE`` of the outer band (``BAND_SHARE`` of the shorter side, at least
    1 px) is within INK_LEVEL of white in every channel."""
    check_rgb(pixels)
    h, w = pixels.shape[:2]
    b = max(1, round(min(h, w) * BAND_SHARE))
    strips = [pixels[:b], pixels[h - b :], pixels[:, :b], pixels[:, w - b :]]
    near = sum(int(np.count_nonzero(s.min(axis=2) >= 255 - INK_LEVEL)) for s in strips)
    total = sum(s.shape[0] * s.shape[1] for s in strips)
    return near >= WHITE_BAND_SHARE * total


def product_mask(pixels: np.ndarray, alpha: np.ndarray | None = None, *, max_side: int = WORK_SIDE) -> tuple[np.ndarray, np.ndarray, str]:
    """(the product mask at a reduced size: HxW bool, the reduced pixels, where the mask came from)."""
    check_rgb(pixels)
    if max_side < 32:
        raise UsageError(f"max_side must be >= 32; got {max_side}")
    h, w = pixels.shape[:2]
    s = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA) if s < 1 else pixels
    if alpha is not None:
        check_mask(alpha, (h, w), name="alpha")
        a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA) if s < 1 else alpha
        return a > 127, small, "alpha"
    if white_background(small):
        return small.min(axis=2) < 255 - INK_LEVEL, small, "white"
    from ..runtime import predict_saliency_320

    sal = cv2.resize(predict_saliency_320(pixels), size, interpolation=cv2.INTER_LINEAR)
    return sal > 0.5, small, "u2netp"


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` (uint8 0/255) with every hole not reachable from the border filled."""
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 255)
    return (padded | cv2.bitwise_not(flood))[1:-1, 1:-1]


def _is_shadow(small: np.ndarray, raw: np.ndarray) -> bool:
    px = small[raw]
    if px.size == 0:
        return True
    px = px.astype(np.int16)
    chroma = px.max(axis=1) - px.min(axis=1)
    light = 255 - px.min(axis=1)
    return float(((chroma <= SHADOW_CHROMA) & (light <= SHADOW_LEVEL)).mean()) >= SHADOW_SHARE


def _outline(component: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(component, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return max(contours, key=cv2.contourArea)


def count_items(pixels: np.ndarray, alpha: np.ndarray | None = None, *, max_side: int = WORK_SIDE) -> ItemCount:
    """The separate products in ``pixels`` (RGB HxWx3 uint8; ``alpha``: HxW uint8 product mask when
    known): see the module docstring. Boxes in px of ``pixels``."""
    mask, small, source = product_mask(pixels, alpha, max_side=max_side)
    h, w = mask.shape
    H, W = pixels.shape[:2]
    k = max(3, round(CLOSE_SHARE * max(h, w)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    closed = _fill_holes(cv2.morphologyEx(mask.astype(np.uint8) * 255, cv2.MORPH_CLOSE, kernel))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    found, shadows = [], []
    for label in range(1, n):
        area = int(stats[label, cv2.CC_STAT_AREA])
        if area < MIN_AREA * h * w:
            continue
        component = labels == label
        if source == "white" and _is_shadow(small, component & mask):
            shadows.append((area, label, component))
            continue
        found.append((area, label, component))
    if not found:  # a grey product alone on white reads like a shadow; it is still the product
        found = sorted(shadows, key=lambda f: -f[0])[:1]
    if not found:
        return ItemCount(0, [], [], False, source, 0.9)
    largest = max(a for a, _, _ in found)
    found = sorted([f for f in found if f[0] >= MIN_OF_LARGEST * largest], key=lambda f: -f[0])
    sx, sy = W / w, H / h
    boxes, areas = [], []
    for area, label, _ in found:
        x, y, bw, bh = (int(v) for v in stats[label, :4])
        boxes.append([int(x * sx), int(y * sy), min(W, int(np.ceil((x + bw) * sx))), min(H, int(np.ceil((y + bh) * sy)))])
        areas.append(round(area / (h * w), 4))
    pair = False
    if len(found) == 2:
        (a1, _, c1), (a2, _, c2) = found
        colour = np.abs(small[c1 & mask].mean(axis=0) - small[c2 & mask].mean(axis=0)).max() if (c1 & mask).any() and (c2 & mask).any() else 255
        first = _outline(c1.astype(np.uint8))
        # Hu's seventh moment changes sign in a mirror: compare with the second as it is and mirrored
        shape = min(cv2.matchShapes(first, _outline(np.ascontiguousarray(m.astype(np.uint8))), cv2.CONTOURS_MATCH_I1, 0.0)
                    for m in (c2, c2[:, ::-1]))
        pair = a2 >= PAIR_AREA_RATIO * a1 and colour <= PAIR_COLOUR and shape <= PAIR_SHAPE
    count = 1 if pair else len(found)
    # confidence: how clearly the smallest counted item stands above the size cut
    smallest = min(a for a, _, _ in found) / largest
    confidence = 0.9 if count == 1 else round(min(0.95, 0.6 + 0.5 * smallest), 3)
    return ItemCount(count, boxes, areas, pair, source, confidence)
