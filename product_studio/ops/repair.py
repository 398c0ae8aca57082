"""Repair: find defects (dust, scratches, stains) and overlaid text, and fill them from their surroundings.

Filling (``inpaint``):

- ``learned``: a gated-convolution U-Net (``models/inpainter.py``) that corrects a Navier-Stokes
  fill, trained on photos with synthetic defects (``train/inpainter.py``); run in
  overlapping tiles, only where there are holes, so a 12-megapixel photo with a few specks is quick;
- ``telea`` / ``ns``: OpenCV's fast-marching (Telea 2004) and Navier-Stokes (Bertalmio 2001) methods;
- ``auto`` (the default): the best on the held-out repair benchmark (``benchmarks/restoration_repair.py``):
  ``learned`` for found defects, which it may look through (PSNR in the hole 26.78 dB against 26.35
  for ``ns`` and 25.75 for ``telea``), ``ns`` for painted masks and text (``learned`` gains 0.15 dB
  there for about 1000x the time); ``learned`` when a ``model`` is given.

Finding (``detect_defects``): ``learned`` is a small U-Net (``models/defect_detector.py``) giving a
defect probability per pixel, cut at the threshold chosen on validation photos; ``classical`` is
black-hat + top-hat morphology (thin dark and light structures) with a fixed contrast threshold,
what ``auto`` falls back to when the learned detector's weights cannot be loaded.
``text_mask`` turns the boxes OCR finds into a tight mask of the glyph strokes in them.

A mask is HxW uint8 with the image's size: non-zero = fill this pixel. Mask files are PNGs: the
alpha channel when there is one (opaque = fill), otherwise the lightness (white = fill).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import ModelError, UsageError
from ..imageio import load_image
from ..item import ImageItem, check_rgb
from .enhance import check_int
from .registry import LOCAL_ONLY, OpOptions, register_op

InpaintMethod = Literal["auto", "learned", "telea", "ns"]
DetectMethod = Literal["auto", "learned", "classical"]
_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
INPAINT_METHODS = ("auto", "learned", "telea", "ns")
DETECT_METHODS = ("auto", "learned", "classical")
INPAINTER_WEIGHTS = "inpainter.onnx"
DETECTOR_WEIGHTS = "defect_detector.onnx"
CLASSICAL_THRESHOLD = 128  # grey levels of black-hat / top-hat response (best F1 on the validation photos, grid 12..128)
CLASSICAL_SIZE = 5  # px: the structuring element (grid 5, 7, 9, 13); thinner or smaller structures are found


def _check_fill_mask(mask: np.ndarray, shape: tuple[int, int]) -> None:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype not in (np.uint8, np.bool_):
        got = getattr(mask, "shape", type(mask).__name__), getattr(mask, "dtype", "")
        raise UsageError(f"mask must be HxW uint8 (non-zero = fill this pixel); got {got}")
    if mask.shape != tuple(shape):
        raise UsageError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} (WxH) but the image is {shape[1]}x{shape[0]}; "
            "resize the mask to the image (nearest neighbour) or export it at the image's size"
        )


# ---- the learned models: loaded once per process -----------------------------------------------------


@functools.lru_cache(maxsize=4)
def _load(file_name: str, family: str, path: str | None) -> Any:
    """An onnxruntime session (``runtime.LoadedModel``): the shipped file (sha256 checked) or ``path``."""
    from ..models.registry import WEIGHTS_DIR
    from ..runtime import load_shipped, open_onnx

    hint = f"; give a file written by `product-studio train {family.replace('_', '-')}` and exported with scripts/export_onnx.py"
    model = load_shipped(WEIGHTS_DIR / file_name) if path is None else open_onnx(path, family=family, hint=hint)
    if "multiple" not in model.metadata:
        raise ModelError(f"{model.path} lacks the 'multiple' metadata; export it with scripts/export_onnx.py", path=str(model.path))
    return model


def load_inpainter(path: str | os.PathLike | None = None) -> Any:
    """The inpainting network (shipped weights unless ``path``), loaded once; ModelError if it cannot be."""
    return _load(INPAINTER_WEIGHTS, "inpainter", str(path) if path else None)


def load_defect_detector(path: str | os.PathLike | None = None) -> Any:
    """The defect detector (shipped weights unless ``path``), loaded once; ModelError if it cannot be."""
    return _load(DETECTOR_WEIGHTS, "defect_detector", str(path) if path else None)


@functools.lru_cache(maxsize=2)
def learned_available(kind: Literal["inpainter", "detector"] = "inpainter") -> bool:
    """Whether the shipped model of ``kind`` loads (file present and intact).
    Answered once per process: a file that fails to load is not retried on every image."""
    try:
        (load_inpainter if kind == "inpainter" else load_defect_detector)()
    except (ModelError, ImportError):
        return False
    return True


def _tiles(length: int, core: int) -> list[int]:
    return list(range(0, length, core)) if length > core else [0]


def _to_array(pixels: np.ndarray) -> np.ndarray:
    """RGB HxWx3 uint8 -> float32 1x3xHxW in 0..1."""
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)[None] * np.float32(1 / 255)


def _pad(x: np.ndarray, multiple: int) -> np.ndarray:
    """N×C×H×W padded at the bottom and right to multiples of ``multiple`` (as models/padding.py:
    reflection where the image is larger than the padding, else the edge repeated)."""
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if not (pad_h or pad_w):
        return x
    return np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="reflect" if min(h, w) > max(pad_h, pad_w) else "edge")


def _navier_stokes_base(image: np.ndarray, mask: np.ndarray, radius: int) -> np.ndarray:
    """The inpainter's pre-fill (models/inpainter.navier_stokes_fill) in numpy: ``mask`` (1×1×H×W,
    0/1) of ``image`` (1×3×H×W in 0..1) filled by OpenCV's Navier-Stokes on an 8-bit copy."""
    hole = mask[0, 0].astype(np.uint8)
    if not hole.any():
        return image
    pixels = np.ascontiguousarray((np.clip(image[0], 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0))
    fill = cv2.inpaint(pixels, hole, radius, cv2.INPAINT_NS).transpose(2, 0, 1)[None].astype(np.float32) / 255
    return image * (1 - mask) + fill * mask


def _run_inpainter(model: Any, image: np.ndarray, holes: np.ndarray, trust: np.ndarray) -> np.ndarray:
    """The network on one window (1×C×h×w arrays): pad, pre-fill, refine, crop."""
    h, w = image.shape[-2:]
    m = int(model.metadata["multiple"])
    image, holes, trust = (_pad(a, m) for a in (image, holes, trust))
    holes = (holes > 0.5).astype(np.float32)
    base = _navier_stokes_base(image, holes, int(model.metadata.get("ns_radius", 3)))
    # A network that is not content-aware ignores ``trusted``; its export has no such input.
    names = {i.name for i in model.session.get_inputs()}
    feed = {k: v for k, v in (("image", image), ("mask", holes), ("trusted", trust), ("base", base)) if k in names}
    return model.session.run(None, feed)[0][..., :h, :w]


def learned_inpaint(
    pixels: np.ndarray, mask: np.ndarray, *, model: Any = None, trusted: np.ndarray | None = None, tile: int = 256, margin: int = 64,
    flip_ensemble: bool = True,
) -> np.ndarray:
    """Fill ``mask`` with the inpainting network, tile by tile (``tile`` px cores, each seen with
    ``margin`` px of context around it); tiles without holes are not computed. RGB uint8 in and out.

    trusted: HxW, non-zero where the pixels under the hole are a semi-transparent defect over the
    real image (found stains, scratches, dust) that a content-aware network (``content_input``)
    may look through; None (user masks, text) fills from the surroundings only.
    flip_ensemble: also fill the mirror image and average the two (+0.12 dB in the hole on the
    held-out repair benchmark, twice the time). The network runs on onnxruntime."""
    check_rgb(pixels)
    _check_fill_mask(mask, pixels.shape[:2])
    model = model if model is not None else load_inpainter()
    hole = mask > 0
    seen = None
    if trusted is not None and model.config.get("content_input", False):
        _check_fill_mask(trusted, pixels.shape[:2])
        seen = (trusted > 0) & hole
    out = pixels.copy()
    if not hole.any():
        return out
    if hole.all():
        raise UsageError("the mask covers the whole image, so there is nothing to fill it from; mark only the defects")
    h, w = hole.shape
    for y in _tiles(h, tile):
        for x in _tiles(w, tile):
            if not hole[y : y + tile, x : x + tile].any():
                continue
            y0, x0 = max(0, y - margin), max(0, x - margin)
            y1, x1 = min(h, y + tile + margin), min(w, x + tile + margin)
            image = _to_array(pixels[y0:y1, x0:x1])
            holes = hole[y0:y1, x0:x1].astype(np.float32)[None, None]
            trust = np.zeros_like(holes) if seen is None else seen[y0:y1, x0:x1].astype(np.float32)[None, None]
            filled = _run_inpainter(model, image, holes, trust)
            if flip_ensemble:
                mirrored = _run_inpainter(model, *(np.ascontiguousarray(a[..., ::-1]) for a in (image, holes, trust)))
                filled = (filled + mirrored[..., ::-1]) / 2
            window = np.clip(np.rint(filled[0].transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)
            cy, cx = y - y0, x - x0
            core = window[cy : cy + min(tile, h - y), cx : cx + min(tile, w - x)]
            region = out[y : y + tile, x : x + tile]
            sel = hole[y : y + tile, x : x + tile]
            region[sel] = core[sel]
    return out


# What ``inpaint(method="auto")`` uses: the method with the best PSNR in the hole on the held-out
# repair benchmark (docs/repair.md). For a hole whose content is not trusted (a painted mask, text),
# Navier-Stokes: the network, which corrects a Navier-Stokes fill, gains only 0.15 dB there for
# about 1000x the time. For found defects, which the network may look through, the network: 26.78
# dB against 26.35 for Navier-Stokes. Re-measure before pointing either at a new network.
AUTO_INPAINT = "ns"
AUTO_INPAINT_SEE_THROUGH = "learned"  # falls back to AUTO_INPAINT when the weights do not load


def inpaint(
    pixels: np.ndarray,
    mask: np.ndarray,
    *,
    method: InpaintMethod = "auto",
    radius: int = 3,
    model: Any = None,
    trusted: np.ndarray | None = None,
) -> np.ndarray:
    """Fill the pixels where ``mask`` > 0 from their surroundings.

    pixels: RGB, HxWx3, uint8. mask: HxW uint8 (or bool) of the same height and width.
    method: "learned" (the shipped inpainting network), "telea" (fast marching, Telea 2004),
    "ns" (Navier-Stokes, Bertalmio 2001), or "auto": the best on the held-out benchmark, which is
    learned when ``trusted`` is given (or ``model``), ns otherwise (``resolve_inpaint_method``).
    radius: 1..50 px, the neighbourhood Telea and NS compute each filled pixel from.
    model: an inpainter module to use for "learned" instead of the shipped one. trusted: where the
    learned method may look through the hole at a semi-transparent defect (see ``learned_inpaint``).
    Pixels outside the mask are returned unchanged; an empty mask returns an identical copy.
    Returns a new RGB uint8 array.

    >>> img = np.full((8, 8, 3), 100, np.uint8); img[3:5, 3:5] = 255
    >>> hole = np.zeros((8, 8), np.uint8); hole[3:5, 3:5] = 255
    >>> int(inpaint(img, hole, method="telea")[4, 4, 0])
    100
    """
    check_rgb(pixels)
    _check_fill_mask(mask, pixels.shape[:2])
    if method not in INPAINT_METHODS:
        raise UsageError(f"method must be one of {', '.join(INPAINT_METHODS)}; got {method!r}")
    radius = check_int("radius", radius, 1, 50)
    fill = (mask > 0).astype(np.uint8)
    if not fill.any():
        return pixels.copy()
    if fill.all():
        raise UsageError("the mask covers the whole image, so there is nothing to fill it from; mark only the defects")
    if method == "auto":
        method = "learned" if model is not None else resolve_inpaint_method("auto", see_through=trusted is not None)
    if method == "learned":
        return learned_inpaint(pixels, fill, model=model, trusted=trusted)
    return cv2.inpaint(pixels, fill, radius, _METHODS[method])


def resolve_inpaint_method(method: InpaintMethod, *, see_through: bool = False) -> str:
    """The method ``inpaint`` will really use for ``method`` ("auto" resolved). see_through: the hole
    holds found defects that the network may look through (then "learned" when its weights load)."""
    if method != "auto":
        return method
    if see_through and learned_available("inpainter"):
        return AUTO_INPAINT_SEE_THROUGH
    return AUTO_INPAINT


# ---- finding defects ------------------------------------------------------------------------------------


def defect_probability(pixels: np.ndarray, *, model: Any = None, tile: int = 512, margin: int = 32) -> np.ndarray:
    """The learned detector's per-pixel defect probability (HxW float32, 0..1), in overlapping tiles
    (onnxruntime)."""
    check_rgb(pixels)
    model = model if model is not None else load_defect_detector()
    m = int(model.metadata["multiple"])
    h, w = pixels.shape[:2]
    prob = np.zeros((h, w), np.float32)
    for y in _tiles(h, tile):
        for x in _tiles(w, tile):
            y0, x0 = max(0, y - margin), max(0, x - margin)
            y1, x1 = min(h, y + tile + margin), min(w, x + tile + margin)
            window = _to_array(pixels[y0:y1, x0:x1])
            logits = model.run(_pad(window, m))[0][0, 0, : y1 - y0, : x1 - x0]
            p = 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))
            cy, cx = y - y0, x - x0
            prob[y : y + tile, x : x + tile] = p[cy : cy + min(tile, h - y), cx : cx + min(tile, w - x)]
    return prob


def classical_defects(pixels: np.ndarray, *, threshold: float = CLASSICAL_THRESHOLD, size: int = CLASSICAL_SIZE) -> np.ndarray:
    """Thin or small dark and light structures: black-hat and top-hat of the grey image (elliptic
    ``size`` px element) above ``threshold`` grey levels. HxW uint8, 255 = defect. The baseline the
    learned detector is measured against; it misses stains (they are wide) and flags fine texture."""
    check_rgb(pixels)
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    response = np.maximum(cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel), cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel))
    return np.where(response >= threshold, np.uint8(255), np.uint8(0))


def resolve_detect_method(method: DetectMethod) -> str:
    """The detector ``detect_defects`` will really use for ``method`` ("auto" resolved): the learned
    one beats the classical one on the held-out benchmark (pixel F1 0.69 against 0.30,
    benchmarks/restoration_repair.py); classical is the fallback when its weights do not load."""
    if method == "auto":
        return "learned" if learned_available("detector") else "classical"
    return method


def detect_defects(
    pixels: np.ndarray,
    *,
    method: DetectMethod = "auto",
    threshold: float | None = None,
    grow: int = 0,
    min_area: int = 0,
    model: Any = None,
) -> np.ndarray:
    """A mask of the scratches, stains/spots and dust on a photo: HxW uint8, 255 = defect.

    pixels: RGB, HxWx3, uint8. method: "learned" (the shipped U-Net), "classical" (black-hat/top-hat
    morphology) or "auto" (learned when its weights load or ``model`` is given, else classical).
    threshold: the learned detector's probability cut (default: the one stored with the weights,
    chosen for the best F1 on validation photos), or the classical contrast in grey levels.
    grow: dilate the mask by this many px (a repair mask should cover the defect's soft edge: 1-2 px). min_area: drop detected blobs of
    fewer pixels. model: a detector module to use for "learned" instead of the shipped one.
    Save the mask as a PNG to look at or edit it, and hand it back to ``inpaint``.
    """
    check_rgb(pixels)
    if method not in DETECT_METHODS:
        raise UsageError(f"method must be one of {', '.join(DETECT_METHODS)}; got {method!r}")
    grow = check_int("grow", grow, 0, 50)
    min_area = check_int("min_area", min_area, 0, 1_000_000)
    method = "learned" if method == "auto" and model is not None else resolve_detect_method(method)
    if method == "learned":
        model = model if model is not None else load_defect_detector()
        cut = float(threshold) if threshold is not None else float(getattr(model, "metrics", {}).get("threshold", 0.5))
        if not 0.0 < cut < 1.0:
            raise UsageError(f"the learned detector's threshold is a probability between 0 and 1; got {cut}")
        mask = np.where(defect_probability(pixels, model=model) >= cut, np.uint8(255), np.uint8(0))
    else:
        mask = classical_defects(pixels, threshold=CLASSICAL_THRESHOLD if threshold is None else float(threshold))
    if min_area > 1:
        _count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        small = np.nonzero(stats[:, cv2.CC_STAT_AREA] < min_area)[0]
        small = small[small > 0]
        if len(small):
            mask[np.isin(labels, small)] = 0
    if grow:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return mask


# ---- overlaid text and watermarks -----------------------------------------------------------------------


def glyph_mask(pixels: np.ndarray, box: Sequence[Sequence[float]], *, grow: int = 2) -> np.ndarray:
    """The text strokes inside one OCR box (four (x, y) corners): HxW uint8 of the image's size.

    Inside the box, the grey image minus a local background (a median over about the text's
    height) is split by Otsu's threshold on its magnitude; the sign that most strong pixels share
    (light text on dark or dark on light) is kept, and the result grown by ``grow`` px so the
    anti-aliased edges of the letters are filled too.
    """
    check_rgb(pixels)
    h, w = pixels.shape[:2]
    poly = np.asarray(box, np.float32).reshape(-1, 2)
    x0, y0 = np.floor(poly.min(0)).astype(int)
    x1, y1 = np.ceil(poly.max(0)).astype(int)
    pad = 4 + grow
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    mask = np.zeros((h, w), np.uint8)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return mask
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(inside, [np.rint(poly - [x0, y0]).astype(np.int32)], 255)
    inside = cv2.dilate(inside, np.ones((3, 3), np.uint8), iterations=2)
    grey = cv2.cvtColor(pixels[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.int16)
    text_height = max(3, int(min(y1 - y0, x1 - x0)))
    k = min(text_height | 1, 255)
    background = cv2.medianBlur(cv2.copyMakeBorder(grey.astype(np.uint8), k, k, k, k, cv2.BORDER_REFLECT), k)[k:-k, k:-k]
    diff = grey - background.astype(np.int16)
    sel = inside > 0
    magnitude = np.clip(np.abs(diff), 0, 255).astype(np.uint8)
    if not sel.any() or magnitude[sel].max() < 8:
        return mask
    level, _ = cv2.threshold(magnitude[sel].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    level = max(float(level), 8.0)
    strong = sel & (magnitude > level)
    light = int(np.count_nonzero(strong & (diff > 0)))
    dark = int(np.count_nonzero(strong & (diff < 0)))
    glyphs = strong & ((diff > 0) if light >= dark else (diff < 0))
    local = glyphs.astype(np.uint8) * 255
    if grow:
        local = cv2.dilate(local, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    mask[y0:y1, x0:x1] = local
    return mask


def text_mask(
    pixels: np.ndarray, *, lines: Sequence[Any] | None = None, match: str | None = None, min_confidence: float = 0.5,
    grow: int = 2,
) -> tuple[np.ndarray, list[Any]]:
    """A mask of the overlaid text (watermarks, captions, prices) and the OCR lines it covers.

    lines: OCR results (``vision.ocr.TextLine``); read with RapidOCR when None. match: keep only
    lines whose text contains this (case-insensitive; e.g. the watermark's wording); None keeps all.
    Returns (HxW uint8 mask, 255 = a letter's stroke, the lines used).
    """
    check_rgb(pixels)
    grow = check_int("grow", grow, 0, 20)
    if lines is None:
        from ..vision.ocr import read_text

        lines = read_text(pixels, min_confidence=min_confidence)
    if match is not None:
        if not match.strip():
            raise UsageError("match must be some text to look for (or leave it out to remove all text)")
        lines = [line for line in lines if match.strip().casefold() in line.text.casefold()]
    mask = np.zeros(pixels.shape[:2], np.uint8)
    for line in lines:
        np.maximum(mask, glyph_mask(pixels, line.box, grow=grow), out=mask)
    return mask, list(lines)


def load_mask(path: str | os.PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """Read a mask image as HxW uint8, 255 = fill, 0 = keep, for an image of ``shape`` (H, W[, C]).

    The alpha channel is used when the file has one (alpha > 127 = fill), otherwise the
    lightness (> 127 = fill: paint the defects white on black). Raises UsageError when the
    mask's size is not the image's, and the load_image errors for unreadable files.
    """
    if len(shape) < 2:
        raise UsageError(f"shape must be the image's (height, width[, channels]); got {shape}")
    item = load_image(path)
    if item.alpha is not None:
        plane = item.alpha
    else:
        plane = cv2.cvtColor(item.pixels, cv2.COLOR_RGB2GRAY)
    height, width = int(shape[0]), int(shape[1])
    if plane.shape != (height, width):
        raise UsageError(
            f"mask is {plane.shape[1]}x{plane.shape[0]} (WxH) but the image is {width}x{height}; "
            "export the mask at the image's size",
            path=str(path),
        )
    return np.where(plane > 127, np.uint8(255), np.uint8(0))


class InpaintOptions(OpOptions):
    mask_path: str = Field(..., min_length=1, description="mask image: alpha, or white on black; opaque/white = fill",
                           json_schema_extra=LOCAL_ONLY)
    method: InpaintMethod = Field("auto", description="auto (= ns, the best on the held-out benchmark) | learned | telea | ns")
    radius: int = Field(3, ge=1, le=50, description="neighbourhood radius in pixels used to fill each pixel")
    dilate: int = Field(0, ge=0, le=100, description="grow the mask by this many pixels to cover defect edges")


@register_op("inpaint", options=InpaintOptions)
def inpaint_step(item: ImageItem, options: InpaintOptions) -> ImageItem:
    """Fill the regions a mask file marks (dust, scratches, stickers) from their surroundings."""
    mask = load_mask(options.mask_path, item.pixels.shape)
    if options.dilate:
        size = 2 * options.dilate + 1
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return _fill(item, mask, options.method, options.radius)


def _fill(item: ImageItem, mask: np.ndarray, method: InpaintMethod, radius: int, *, see_through: bool = False) -> ImageItem:
    used = resolve_inpaint_method(method, see_through=see_through)
    pixels = inpaint(item.pixels, mask, method=used, radius=radius, trusted=mask if see_through else None)  # type: ignore[arg-type]
    out = item.replace(pixels=pixels)
    out.metadata["inpainted_pixels"] = int(np.count_nonzero(mask))
    out.metadata["inpaint_method"] = used
    if used == "learned":
        out.step_model = _model_label(load_inpainter())
    return out


def _model_label(model: Any) -> str:
    from ..version import __version__

    return f"{model.model_name} ({os.path.basename(str(getattr(model, 'path', '') or ''))}, product-studio {__version__})"


class RepairDefectsOptions(OpOptions):
    detector: DetectMethod = Field("auto", description="auto (learned when its weights load, else classical) | learned | classical")
    threshold: float | None = Field(None, gt=0, lt=256, description="detector cut: a probability for learned, grey levels for classical")
    grow: int = Field(1, ge=0, le=20, description="grow the detected mask by this many pixels before filling")
    min_area: int = Field(0, ge=0, le=1_000_000, description="ignore detected blobs smaller than this many pixels")
    method: InpaintMethod = Field("auto", description="auto (= learned, looking through the found defects; ns when its "
                                  "weights do not load) | learned | telea | ns")
    radius: int = Field(3, ge=1, le=50, description="neighbourhood radius for telea and ns")


@register_op("repair_defects", options=RepairDefectsOptions)
def repair_defects_step(item: ImageItem, options: RepairDefectsOptions) -> ImageItem:
    """Find scratches, stains and dust automatically and fill them (learned detector and inpainter)."""
    detector = resolve_detect_method(options.detector)
    mask = detect_defects(item.pixels, method=detector, threshold=options.threshold, grow=options.grow,  # type: ignore[arg-type]
                          min_area=options.min_area)
    out = _fill(item, mask, options.method, options.radius, see_through=True)
    out.metadata["defect_pixels"] = int(np.count_nonzero(mask))
    out.metadata["defect_detector"] = detector
    if detector == "learned":
        models = [_model_label(load_defect_detector()), out.step_model]
        out.step_model = " + ".join(m for m in models if m)
    return out


class RemoveTextOptions(OpOptions):
    match: str | None = Field(None, min_length=1, description="remove only lines containing this text (case-insensitive); default all")
    min_confidence: float = Field(0.5, ge=0, le=1, description="ignore OCR lines read with a lower score")
    grow: int = Field(2, ge=0, le=20, description="grow the letters' mask by this many pixels")
    method: InpaintMethod = Field("auto", description="auto (= ns, the best on the held-out benchmark) | learned | telea | ns")
    radius: int = Field(3, ge=1, le=50, description="neighbourhood radius for telea and ns")


@register_op("remove_text", options=RemoveTextOptions)
def remove_text_step(item: ImageItem, options: RemoveTextOptions) -> ImageItem:
    """Remove watermarks and overlaid text: OCR finds the lines, their letters are masked and filled."""
    mask, lines = text_mask(item.pixels, match=options.match, min_confidence=options.min_confidence, grow=options.grow)
    if not mask.any():
        out = item.replace()
        out.metadata["removed_text"] = []
        out.metadata["inpainted_pixels"] = 0
        return out
    out = _fill(item, mask, options.method, options.radius)
    out.metadata["removed_text"] = [line.text for line in lines]
    return out
