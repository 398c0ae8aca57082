"""Privacy: blur faces and personal text (phone numbers, e-mails, addresses, ID numbers).

Three registered steps:

- ``blur_faces``: ``vision.faces.find_faces`` (MTCNN in ONNX on the four right-angle turns and
  +-25 degree tilts, down to 20 px) finds faces; each padded box is destroyed irreversibly (reduced to
  a few coarse cells, then blurred).
- ``blur_personal_text``: OCR (``vision.ocr.read_text``, Chinese + English) reads the lines;
  ``ops.personal_text.find_personal_text`` matches phone numbers, e-mail addresses, street
  addresses and ID numbers; only the matching part of each line is blurred, so a brand name or a
  price next to it stays readable.
- ``anonymize``: both.

Metadata needs no step: every save strips it (see ``product_studio.metadata``).

    >>> boxes = find_faces(pixels)                         # [(x0, y0, x1, y1), ...] any orientation
    >>> pixels = blur_regions(pixels, boxes)                # pixelated, padded boxes
    >>> from product_studio.vision.ocr import read_text
    >>> pixels = blur_personal_text(pixels, read_text(pixels, min_confidence=0.3))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import UsageError
from ..item import ImageItem, check_rgb
from ..vision.faces import Box, boxes_overlap, find_faces, load_mtcnn, merge_boxes
from .personal_text import (
    PERSONAL_KINDS,
    PersonalKind,
    TextLineLike,
    find_personal_text,
    personal_text_polygons,
    quad_height,
)
from .registry import OpOptions, register_op

BlurMethod = Literal["pixelate", "gaussian"]


# --------------------------------------------------------------------------------------------
# Blurring
# --------------------------------------------------------------------------------------------


def blur_regions(
    pixels: np.ndarray,
    boxes: Iterable[Sequence[float]],
    *,
    method: BlurMethod = "pixelate",
    strength: int = 7,
    pad: float = 0.25,
) -> np.ndarray:
    """A copy of ``pixels`` with each box destroyed beyond recovery.

    pixels: RGB, HxWx3, uint8. boxes: (x0, y0, x1, y1) in pixels. pad: each box grows by this
    share of its size on every side (detector boxes are tight; hair, ears and chin stay inside).
    strength 1..10: how coarse. ``pixelate`` averages the box into cells of
    ``long side * strength / 50`` (7 cells across at the default 7) and softens the cell edges;
    ``gaussian`` averages into cells half that size and blurs with a sigma of
    ``long side * strength / 40``. Both first throw the detail away (area averaging), so no
    deconvolution can bring it back.
    """
    check_rgb(pixels, name="pixels")
    _check_blur(method, strength)
    if pad < 0:
        raise UsageError(f"pad must be >= 0; got {pad}")
    out = pixels.copy()
    h, w = pixels.shape[:2]
    for box in boxes:
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 <= x0 or y1 <= y0:
            raise UsageError(f"a box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0; got {tuple(box)}")
        px, py = (x1 - x0) * pad, (y1 - y0) * pad
        ix0, iy0 = max(0, int(np.floor(x0 - px))), max(0, int(np.floor(y0 - py)))
        ix1, iy1 = min(w, int(np.ceil(x1 + px))), min(h, int(np.ceil(y1 + py)))
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        long_side = max(ix1 - ix0, iy1 - iy0)
        out[iy0:iy1, ix0:ix1] = _destroy(out[iy0:iy1, ix0:ix1], long_side * strength / 50.0, method)
    return out


def _check_blur(method: str, strength: int) -> None:
    if method not in ("pixelate", "gaussian"):
        raise UsageError(f"blur method must be 'pixelate' or 'gaussian'; got '{method}'")
    if not 1 <= int(strength) <= 10:
        raise UsageError(f"strength must be between 1 and 10; got {strength}")


def _destroy(region: np.ndarray, cell: float, method: str) -> np.ndarray:
    """Area-average ``region`` into cells of about ``cell`` pixels, shuffle the cells, scale back, soften.

    The averaging throws the detail away for good. The shuffle (a fixed seed: it is no secret and
    needs none) also throws away the coarse layout -- dark eyes over light cheeks -- that Haar
    cascades still find in a plain 7x7 mosaic of a face.
    """
    h, w = region.shape[:2]
    cell = max(2.0, cell if method == "pixelate" else cell / 2.0)
    grid = (max(1, round(w / cell)), max(1, round(h / cell)))
    small = cv2.resize(region, grid, interpolation=cv2.INTER_AREA)
    cells = small.reshape(-1, 3)
    small = cells[np.random.default_rng(7).permutation(len(cells))].reshape(small.shape)
    if method == "pixelate":
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        sigma = cell / 4.0
    else:
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        sigma = cell * 1.25
    return cv2.GaussianBlur(big, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def blur_polygons(
    pixels: np.ndarray,
    polygons: Iterable[Sequence[Sequence[float]]],
    *,
    method: BlurMethod = "pixelate",
    strength: int = 7,
) -> np.ndarray:
    """A copy of ``pixels`` with each polygon (a text line's quadrilateral, possibly rotated) destroyed.

    The cell size follows the polygon's height (its shorter extent): text becomes blobs half a
    line high at the default strength, which no reader -- human or OCR -- can spell out.
    """
    check_rgb(pixels, name="pixels")
    _check_blur(method, strength)
    out = pixels.copy()
    h, w = pixels.shape[:2]
    for polygon in polygons:
        pts = np.asarray(polygon, np.float64).reshape(-1, 2)
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        height = quad_height(pts)
        destroyed = _destroy(out[y0:y1, x0:x1], height * strength / 14.0, method)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round(pts - (x0, y0)).astype(np.int32)], 255)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = destroyed[mask > 0]
    return out


def blur_faces(
    pixels: np.ndarray,
    *,
    method: BlurMethod = "pixelate",
    strength: int = 7,
    min_size: int = 20,
    checks: int = 1,
) -> tuple[np.ndarray, list[Box]]:
    """Find the faces and blur them; returns (new pixels, the boxes blurred).

    ``vision.faces.find_faces`` (MTCNN over the four right-angle turns and +-25 degree tilts, plus
    ``min_size`` px. After blurring, the detector runs again (up to ``checks`` times, only when something was
    found): a detection overlapping what was blurred -- typically a larger box taking in hair and
    the mosaic -- is blurred as well, so nothing the detector calls a face is left where a face was.
    """
    check_rgb(pixels, name="pixels")
    boxes = find_faces(pixels, min_size=min_size)
    out = blur_regions(pixels, boxes, method=method, strength=strength) if boxes else pixels
    done = list(boxes)
    for _ in range(checks if boxes else 0):
        found = find_faces(out, min_size=min_size)
        again = [b for b in found if any(boxes_overlap(b, old, 0.0) or _intersects(b, old) for old in done)]
        if not again:
            break
        out = blur_regions(out, again, method=method, strength=strength)
        done += again
    return out, [tuple(int(v) for v in b) for b in merge_boxes(done)]


def _intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def blur_personal_text(
    pixels: np.ndarray,
    lines: Sequence[TextLineLike],
    *,
    kinds: Iterable[str] = PERSONAL_KINDS,
    method: BlurMethod = "pixelate",
    strength: int = 7,
    scope: Literal["span", "line"] = "span",
) -> np.ndarray:
    """A copy of ``pixels`` with the personal text among ``lines`` (OCR lines of these pixels) blurred.

    Only the matched part of a line is blurred (``scope="span"``), so "Tel:" and the brand name
    beside the number stay readable; ``scope="line"`` blurs every matching line whole.
    """
    check_rgb(pixels, name="pixels")
    if scope not in ("span", "line"):
        raise UsageError(f"scope must be 'span' or 'line'; got '{scope}'")
    matches = find_personal_text(lines, kinds=kinds)
    return blur_polygons(pixels, personal_text_polygons(matches, scope=scope), method=method, strength=strength)


# --------------------------------------------------------------------------------------------
# Registered steps
# --------------------------------------------------------------------------------------------


class FaceOptions(OpOptions):
    method: BlurMethod = Field("pixelate", description="pixelate | gaussian (both irreversible)")
    strength: int = Field(7, ge=1, le=10, description="1 (light) .. 10 (coarsest); 7 leaves about 7 cells across a face")
    min_size: int = Field(20, ge=8, le=4096, description="smallest face side looked for, in pixels")


class PersonalTextOptions(OpOptions):
    kinds: tuple[PersonalKind, ...] = Field(PERSONAL_KINDS, description="which personal text to blur: phone, email, address, id")
    min_confidence: float = Field(0.3, ge=0.0, le=1.0, description="OCR lines read with a lower score are ignored")
    method: BlurMethod = Field("pixelate", description="pixelate | gaussian")
    strength: int = Field(7, ge=1, le=10, description="1 (light) .. 10 (coarsest)")
    scope: Literal["span", "line"] = Field("span", description="blur only the personal part of a line, or the whole line")


class AnonymizeOptions(PersonalTextOptions):
    faces: bool = Field(True, description="blur faces")
    text: bool = Field(True, description="blur personal text")
    min_size: int = Field(20, ge=8, le=4096, description="smallest face side looked for, in pixels")


def _privacy_report(item: ImageItem) -> dict[str, Any]:
    report = dict(item.metadata.get("privacy") or {})
    report.setdefault("faces", 0)
    report.setdefault("personal_text", {})
    return report


def _faces(item: ImageItem, *, method: str, strength: int, min_size: int) -> tuple[ImageItem, str]:
    pixels, boxes = blur_faces(item.pixels, method=method, strength=strength, min_size=min_size)
    out = item.replace(pixels=pixels)
    report = _privacy_report(out)
    report["faces"] = report["faces"] + len(boxes)
    out.metadata["privacy"] = report
    return out, load_mtcnn().label


def _text(item: ImageItem, options: PersonalTextOptions) -> tuple[ImageItem, str]:
    from ..vision.ocr import load_ocr, read_text

    lines = read_text(item.pixels, min_confidence=options.min_confidence)
    matches = find_personal_text(lines, kinds=options.kinds)
    pixels = item.pixels
    if matches:
        polygons = personal_text_polygons(matches, scope=options.scope)
        pixels = blur_polygons(pixels, polygons, method=options.method, strength=options.strength)
    out = item.replace(pixels=pixels)
    report = _privacy_report(out)
    counts = Counter(report["personal_text"])
    counts.update(m.kind for m in matches)
    report["personal_text"] = dict(sorted(counts.items()))
    report["text_lines_read"] = report.get("text_lines_read", 0) + len(lines)
    out.metadata["privacy"] = report  # counts only: the personal data itself is never stored
    return out, load_ocr().label


@register_op("blur_faces", options=FaceOptions)
def blur_faces_step(item: ImageItem, options: FaceOptions) -> ImageItem:
    """Find faces (OpenCV cascades) and pixelate them beyond recovery."""
    out, model = _faces(item, method=options.method, strength=options.strength, min_size=options.min_size)
    out.step_model = model
    return out


@register_op("blur_personal_text", options=PersonalTextOptions)
def blur_personal_text_step(item: ImageItem, options: PersonalTextOptions) -> ImageItem:
    """Read the text (OCR) and blur phone numbers, e-mails, addresses and ID numbers."""
    out, model = _text(item, options)
    out.step_model = model
    return out


@register_op("anonymize", options=AnonymizeOptions)
def anonymize_step(item: ImageItem, options: AnonymizeOptions) -> ImageItem:
    """Blur faces and personal text; metadata is stripped by every save."""
    models = []
    out = item
    if options.faces:
        out, model = _faces(out, method=options.method, strength=options.strength, min_size=options.min_size)
        models.append(model)
    if options.text:
        out, model = _text(out, options)
        models.append(model)
    if out is item:
        out = item.replace()
    report = _privacy_report(out)
    out.metadata["privacy"] = report
    if models:
        out.step_model = " + ".join(models)
    return out
