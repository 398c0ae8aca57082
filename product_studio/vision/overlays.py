"""Text added to a product photo -- promotional overlays and watermarks -- told apart from the text
printed on the product itself.

Every line of text RapidOCR finds (``vision.ocr.read_text`` on the image downscaled to
``DETECT_SIDE``) is judged by where it sits and how it is drawn:

1. The background: on a uniform backdrop (the outer band within ``BAND_TOLERANCE`` of its median
   colour on ``UNIFORM_SHARE`` of its pixels; every white main image) it is the near-backdrop pixels
   connected to the border; otherwise (a scene) U²-Net-p's saliency below 0.5; a given alpha wins.
2. For each line, at a working size: ``on_background``, the share of background in a ring around
   the line's box (the box grown by ``RING`` x the text height, the box itself left out). Text
   printed on a product is surrounded by the product; text beside it or across its edge is not.
3. A badge: when the ring is not background, the flat plate the text sits on (pixels close to the
   colour around the letters, connected to them, within a window about the line) is found; a plate
   that ends within the window and whose own ring is background is a sticker laid over the image.
4. ``contrast``: the letters against their local background (per channel, the 90th percentile over
   the letters of |pixel - local median|, 0..1). Opaque text is drawn in a colour of its own; a
   watermark is a blend of ink and what lies under it, so it stays close to its background.
5. ``repeats``: how many lines read the same text (tiled watermarks repeat).

A line is a ``watermark`` when it repeats (``TILED_REPEATS``), or is faint (contrast below
``WATERMARK_CONTRAST``) and either leaves the product or lies at a slant (``SLANT_DEGREES``), or is
large (``LARGE_TEXT`` of the image side) and fainter still (``FAINT_ON_PRODUCT``); an ``overlay`` when it touches the background
(``OVERLAY_BACKGROUND``) or sits on a badge; otherwise ``product`` text. Degenerate boxes (a short
string over a quarter of the image: the detector's false alarms on large smooth areas) are dropped.
A watermark the reader does not see (a slanted one over the product, often) is missed: a classical
detector of faint strokes on the backdrop was tried and flagged pale products; see docs.

    >>> scan = scan_text(pixels)                           # RGB HxWx3 uint8
    >>> [(f.text, f.rect) for f in scan.of_kind("overlay")]
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_rgb

DETECT_SIDE = 768  # OCR works on the image downscaled to this longest side (speed; text stays >= ~12 px)
WORK_SIDE = 512  # masks and rings are measured at this longest side
BAND = 0.02  # the outer band (share of the side) that tells the backdrop's colour
BAND_TOLERANCE = 24  # max channel difference from the backdrop colour that still counts as backdrop
UNIFORM_SHARE = 0.85  # the backdrop is uniform when this share of the band is within the tolerance
RING = 0.45  # the ring around a line: its box grown by this x the text height
OVERLAY_BACKGROUND = 0.2  # a line whose ring is this much background is off the product or across its edge
PLATE_TOLERANCE = 28  # a badge's plate: pixels within this max channel difference of the colour around the letters
WATERMARK_CONTRAST = 0.5  # letters fainter than this (0..1) are blended into the image (40% ink on white + JPEG reads ~0.44)
FAINT_ON_PRODUCT = 0.3  # a large, level line on the product is a watermark only when this faint (prints vary)
SLANT_DEGREES = 12.0
LARGE_TEXT = 0.05  # text this tall (share of the image's longer side) and faint is a watermark even on the product
TILED_REPEATS = 3
MIN_CONFIDENCE = 0.5

Kind = Literal["overlay", "watermark", "product"]


@dataclass(frozen=True)
class TextFinding:
    """One line of text and the verdict on it.

    box: the four corners in the image's pixels (as ``vision.ocr.TextLine``); rect: [x0, y0, x1, y1]
    ints around it. on_background: share of backdrop around the line (0..1). contrast: 0..1.
    angle: degrees from horizontal. repeats: lines reading the same text (itself included).
    """

    text: str
    box: tuple[tuple[float, float], ...]
    confidence: float
    kind: Kind
    on_background: float
    contrast: float
    angle: float
    repeats: int
    badge: bool
    reason: str

    @property
    def rect(self) -> list[int]:
        pts = np.asarray(self.box, np.float64)
        x0, y0 = np.floor(pts.min(0)).astype(int)
        x1, y1 = np.ceil(pts.max(0)).astype(int)
        return [int(x0), int(y0), int(x1), int(y1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "box": self.rect, "corners": [[round(x, 1), round(y, 1)] for x, y in self.box], "kind": self.kind, "confidence": round(self.confidence, 3),
            "on_background": round(self.on_background, 3), "contrast": round(self.contrast, 3),
            "angle": round(self.angle, 1), "repeats": self.repeats, "badge": self.badge, "reason": self.reason,
        }


@dataclass(frozen=True)
class TextScan:
    """Every line found, judged; ``background`` says how the backdrop was told ("uniform", "alpha",
    "saliency"); ``plates``: each badge's plate, {"box": [x0, y0, x1, y1] in the image's pixels,
    "colour": [r, g, b]} (``plate_mask`` draws them)."""

    findings: tuple[TextFinding, ...]
    background: str
    seconds: float
    plates: tuple[dict[str, Any], ...] = field(default=())

    def of_kind(self, kind: Kind) -> list[TextFinding]:
        return [f for f in self.findings if f.kind == kind]


# ---------------------------------------------------------------------------------------------
# the backdrop


def _shrink(pixels: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    h, w = pixels.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale >= 1.0:
        return pixels, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), scale


def background_mask(pixels: np.ndarray, *, alpha: np.ndarray | None = None, side: int = WORK_SIDE) -> tuple[np.ndarray, float, str]:
    """The backdrop at a working size: (HxW bool, the scale from the image to it, how it was told:
    "alpha", "uniform" or "saliency"). See the module's docstring."""
    mask, scale, how, _ = _backdrop(pixels, alpha=alpha, side=side)
    return mask, scale, how


def _backdrop(pixels: np.ndarray, *, alpha: np.ndarray | None, side: int) -> tuple[np.ndarray, float, str, np.ndarray | None]:
    """``background_mask`` and the backdrop's colour (RGB float, None unless uniform)."""
    check_rgb(pixels)
    small, scale = _shrink(pixels, side)
    h, w = small.shape[:2]
    if alpha is not None:
        a = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA) if scale < 1.0 else alpha
        if (a < 128).any():
            return a < 128, scale, "alpha", None
    band = max(1, round(BAND * max(h, w)))
    ring = np.concatenate([small[:band].reshape(-1, 3), small[-band:].reshape(-1, 3),
                           small[:, :band].reshape(-1, 3), small[:, -band:].reshape(-1, 3)])
    colour = np.median(ring, axis=0)
    near_band = np.abs(ring.astype(np.int16) - colour).max(1) <= BAND_TOLERANCE
    if near_band.mean() >= UNIFORM_SHARE:
        near = (np.abs(small.astype(np.int16) - colour).max(2) <= BAND_TOLERANCE).astype(np.uint8)
        count, labels = cv2.connectedComponents(near, connectivity=4)
        edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        edge = edge[edge > 0]
        return np.isin(labels, edge), scale, "uniform", colour.astype(np.float32)
    from ..runtime import predict_saliency_320

    saliency = predict_saliency_320(_shrink(pixels, 320)[0])
    return cv2.resize(saliency, (w, h), interpolation=cv2.INTER_LINEAR) < 0.5, scale, "saliency", None


# ---------------------------------------------------------------------------------------------
# one line


def _rect_of(box: np.ndarray) -> tuple[tuple[float, float], tuple[float, float], float]:
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(box.astype(np.float32))
    return (cx, cy), (rw, rh), angle


def _angle_and_height(box: np.ndarray) -> tuple[float, float]:
    """The line's slant from horizontal (degrees, -90..90) and the text's height (its box's short side)."""
    p = box.reshape(4, 2)
    top = p[1] - p[0]  # OCR boxes run clockwise from the text's top-left: p0 -> p1 is the baseline's direction
    angle = float(np.degrees(np.arctan2(top[1], top[0])))
    if angle > 90:
        angle -= 180
    elif angle < -90:
        angle += 180
    (_, _), (rw, rh), _ = _rect_of(p)
    return angle, float(max(1.0, min(rw, rh)))


def _grown(box: np.ndarray, by: float) -> np.ndarray:
    centre, (rw, rh), angle = _rect_of(box)
    return cv2.boxPoints((centre, (rw + 2 * by, rh + 2 * by), angle))


def _poly_mask(shape: tuple[int, int], poly: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.rint(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def _ring_share(background: np.ndarray, box: np.ndarray, margin: float) -> float:
    outer = _poly_mask(background.shape, _grown(box, margin))
    inner = _poly_mask(background.shape, box)
    ring = outer & ~inner
    return float(background[ring].mean()) if ring.any() else 0.0


def _contrast(pixels: np.ndarray, box: np.ndarray, height: float) -> tuple[float, np.ndarray | None]:
    """The letters' contrast against their local background (0..1) and the colour around them."""
    h, w = pixels.shape[:2]
    x0, y0 = np.floor(box.min(0)).astype(int)
    x1, y1 = np.ceil(box.max(0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0.0, None
    crop = pixels[y0:y1, x0:x1]
    scale = min(1.0, 48.0 / height)  # letters ~48 px tall are enough to judge
    if scale < 1.0:
        crop = cv2.resize(crop, (max(3, round(crop.shape[1] * scale)), max(3, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    inside = _poly_mask(crop.shape[:2], (box - [x0, y0]) * [crop.shape[1] / (x1 - x0), crop.shape[0] / (y1 - y0)])
    k = min(int(max(3, height * scale)) | 1, 101)
    padded = cv2.copyMakeBorder(crop, k, k, k, k, cv2.BORDER_REFLECT)
    local = cv2.medianBlur(padded, k)[k:-k, k:-k]
    diff = np.abs(crop.astype(np.int16) - local.astype(np.int16)).max(2)
    if not inside.any():
        return 0.0, None
    values = diff[inside].astype(np.uint8)
    if values.max() < 6:
        return float(values.max()) / 255.0, np.median(crop[inside], axis=0)
    level, _ = cv2.threshold(values.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    letters = values > max(level, 6)
    contrast = float(np.percentile(values[letters], 90)) / 255.0 if letters.any() else 0.0
    around = crop[inside][~letters] if (~letters).any() else crop[inside]
    return contrast, np.median(around, axis=0)


def _contrast_on_backdrop(pixels: np.ndarray, box: np.ndarray, part: np.ndarray, scale: float, colour: np.ndarray) -> float | None:
    """The letters' contrast against a uniform backdrop, measured only where the line lies over the backdrop
    (``part``: the backdrop closed over the letters, at the working size); None when too little of it does."""
    h, w = pixels.shape[:2]
    x0, y0 = np.floor(box.min(0)).astype(int)
    x1, y1 = np.ceil(box.max(0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    inside = _poly_mask((y1 - y0, x1 - x0), box - [x0, y0])
    sx0, sy0 = int(x0 * scale), int(y0 * scale)
    sx1, sy1 = max(sx0 + 1, int(np.ceil(x1 * scale))), max(sy0 + 1, int(np.ceil(y1 * scale)))
    over = cv2.resize(part[sy0:sy1, sx0:sx1].astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST) > 0
    sel = inside & over
    if sel.sum() < 0.25 * inside.sum() or sel.sum() < 50:
        return None
    diff = np.abs(pixels[y0:y1, x0:x1][sel].astype(np.float32) - colour).max(1)
    letters = diff[diff > 8]
    if letters.size < 20:
        return None
    return float(np.percentile(letters, 90)) / 255.0


def _plate(small: np.ndarray, background: np.ndarray, box: np.ndarray, height: float, colour: np.ndarray) -> tuple[bool, tuple[int, int, int, int] | None]:
    """Whether the line sits on a badge: a flat plate of ``colour`` around it that ends near it and is
    itself surrounded by backdrop. Returns (badge, the plate's box at the working size)."""
    h, w = small.shape[:2]
    pad = 2.5 * height
    x0, y0 = np.floor(box.min(0) - pad).astype(int)
    x1, y1 = np.ceil(box.max(0) + pad).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    window = small[y0:y1, x0:x1].astype(np.int16)
    if window.size == 0:
        return False, None
    close = (np.abs(window - colour.astype(np.int16)).max(2) <= PLATE_TOLERANCE).astype(np.uint8)
    inside = _poly_mask(window.shape[:2], box - [x0, y0])
    close = cv2.morphologyEx(close | inside.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels = cv2.connectedComponents(close, connectivity=8)
    ids, votes = np.unique(labels[inside & (labels > 0)], return_counts=True)
    if ids.size == 0:
        return False, None
    plate = labels == ids[np.argmax(votes)]
    ys, xs = np.nonzero(plate)
    touches = (ys.min() == 0 and y0 > 0) or (xs.min() == 0 and x0 > 0) or (ys.max() == plate.shape[0] - 1 and y1 < h) \
        or (xs.max() == plate.shape[1] - 1 and x1 < w)
    if touches:
        return False, None
    grow = max(2, int(round(0.3 * height)))
    ring = cv2.dilate(plate.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool) & ~plate
    share = float(background[y0:y1, x0:x1][ring].mean()) if ring.any() else 0.0
    rect = (int(xs.min() + x0), int(ys.min() + y0), int(xs.max() + x0 + 1), int(ys.max() + y0 + 1))
    return share >= 0.3, rect


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def _repeats(texts: list[str]) -> list[int]:
    keys = [_norm(t) for t in texts]
    counts = []
    for i, a in enumerate(keys):
        n = 0
        for b in keys:
            if len(a) >= 3 and len(b) >= 3 and (a in b or b in a or SequenceMatcher(None, a, b).ratio() >= 0.7):
                n += 1
        counts.append(max(1, n))
    return counts


# ---------------------------------------------------------------------------------------------
# the scan


def classify_lines(pixels: np.ndarray, lines: list[Any], *, alpha: np.ndarray | None = None) -> TextScan:
    """Judge OCR ``lines`` (``vision.ocr.TextLine``-like: text, box, confidence) found on ``pixels``."""
    check_rgb(pixels)
    start = time.perf_counter()
    H, W = pixels.shape[:2]
    kept = []
    for line in lines:
        box = np.asarray(line.box, np.float64).reshape(4, 2)
        span = np.ptp(box, axis=0)
        if span[0] * span[1] > 0.25 * H * W and len(_norm(line.text)) <= 3:
            continue  # the detector's false alarm over a large smooth area
        kept.append((line, box))
    background, scale, how, backdrop = _backdrop(pixels, alpha=alpha, side=WORK_SIDE)
    small = _shrink(pixels, WORK_SIDE)[0]
    repeats = _repeats([line.text for line, _ in kept])
    closed = None
    if backdrop is not None:
        k = max(3, round(0.012 * max(background.shape))) | 1
        closed = cv2.morphologyEx(background.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)).astype(bool)
    findings, plates = [], []
    for (line, box), count in zip(kept, repeats):
        angle, height = _angle_and_height(box)
        sbox, sheight = box * scale, max(1.0, height * scale)
        on_bg = _ring_share(background, sbox, max(1.5, RING * sheight))
        contrast, colour = _contrast(pixels, box, height)
        if closed is not None:
            measured = _contrast_on_backdrop(pixels, box, closed, scale, backdrop)
            contrast = contrast if measured is None else measured
        badge = False
        if on_bg < OVERLAY_BACKGROUND and colour is not None:
            badge, rect = _plate(small, background, sbox, sheight, colour)
            if badge and rect is not None:
                plates.append({"box": [int(round(v / scale)) for v in rect], "colour": [int(c) for c in colour]})
        faint = contrast < WATERMARK_CONTRAST
        slanted = min(abs(angle), 180 - abs(angle)) >= SLANT_DEGREES
        large = height >= LARGE_TEXT * max(H, W)
        if count >= TILED_REPEATS:
            kind, reason = "watermark", f"repeated {count} times"
        elif faint and (on_bg >= OVERLAY_BACKGROUND or slanted) or (large and contrast < FAINT_ON_PRODUCT):
            where = "slanted" if slanted else "over the background" if on_bg >= OVERLAY_BACKGROUND else "large"
            kind, reason = "watermark", f"faint (contrast {contrast:.2f}) and {where}"
        elif on_bg >= OVERLAY_BACKGROUND:
            kind, reason = "overlay", f"{on_bg:.0%} of its surroundings is background: off the product or across its edge"
        elif badge:
            kind, reason = "overlay", "on a badge laid over the image"
        else:
            kind, reason = "product", "on the product's surface"
        findings.append(TextFinding(
            text=line.text, box=tuple((float(x), float(y)) for x, y in box), confidence=float(line.confidence),
            kind=kind, on_background=on_bg, contrast=contrast, angle=angle, repeats=count, badge=badge, reason=reason,
        ))
    return TextScan(tuple(findings), how, time.perf_counter() - start, tuple(plates))


def scan_text(
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    max_side: int = DETECT_SIDE,
    min_confidence: float = MIN_CONFIDENCE,
    threads: int | None = None,
) -> TextScan:
    """Read the text on ``pixels`` (RGB HxWx3 uint8) and judge each line: overlay, watermark or product
    text. alpha: the product's alpha (HxW uint8) when known. max_side: OCR's working size."""
    check_rgb(pixels)
    if not 0.0 <= float(min_confidence) <= 1.0:
        raise UsageError(f"min_confidence must be between 0 and 1; got {min_confidence}")
    from .ocr import read_text

    start = time.perf_counter()
    lines = read_text(pixels, min_confidence=min_confidence, max_side=max_side, threads=threads)
    scan = classify_lines(pixels, lines, alpha=alpha)
    return TextScan(scan.findings, scan.background, time.perf_counter() - start, scan.plates)


def plate_mask(pixels: np.ndarray, plates: list[dict[str, Any]], *, grow: int = 3) -> np.ndarray:
    """The pixels of badges' plates (``TextScan.plates``): HxW uint8, 255 inside a plate's box where the
    colour is within ``PLATE_TOLERANCE`` (+ JPEG's slack) of the plate's, closed and grown by ``grow`` px."""
    check_rgb(pixels)
    h, w = pixels.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for plate in plates:
        x0, y0, x1, y1 = plate["box"]
        x0, y0, x1, y1 = max(0, x0 - grow), max(0, y0 - grow), min(w, x1 + grow), min(h, y1 + grow)
        if x1 <= x0 or y1 <= y0:
            continue
        region = pixels[y0:y1, x0:x1].astype(np.int16)
        close = (np.abs(region - np.asarray(plate["colour"], np.int16)).max(2) <= PLATE_TOLERANCE + 12).astype(np.uint8)
        size = 2 * grow + 1
        close = cv2.morphologyEx(close, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size * 3, size * 3)))
        close = cv2.dilate(close, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
        mask[y0:y1, x0:x1] = np.maximum(mask[y0:y1, x0:x1], close * 255)
    return mask
