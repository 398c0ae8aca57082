"""Layout: trim to the product, scale it to a fill ratio, centre it on a square canvas, resize.

Every function takes RGB HxWx3 uint8 pixels and an HxW uint8 alpha (255 = product). Resampling is
done on alpha-premultiplied colour, so the old background hidden under alpha 0 never bleeds into
the product's edge when it is scaled.
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import OperationError, UsageError
from ..item import ImageItem, check_mask, check_rgb
from ..vision.geometry import product_bbox
from .registry import OpOptions, register_op

UpscalePolicy = Literal["never", "to_minimum", "always"]


def trim(pixels: np.ndarray, alpha: np.ndarray, *, margin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Crop to the product's bounding box plus ``margin`` pixels (clipped to the image)."""
    check_rgb(pixels)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    if margin < 0:
        raise UsageError(f"margin must be >= 0; got {margin}")
    x0, y0, x1, y1 = product_bbox(alpha)
    h, w = alpha.shape
    x0, y0, x1, y1 = max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin)
    return pixels[y0:y1, x0:x1], alpha[y0:y1, x0:x1]


def resize_rgba(pixels: np.ndarray, alpha: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Resize colour and alpha to ``size`` = (width, height) with premultiplied colour.

    Area averaging when shrinking, Lanczos when enlarging.
    """
    w, h = size
    if w < 1 or h < 1:
        raise UsageError(f"target size must be at least 1x1; got {size}")
    if (w, h) == (pixels.shape[1], pixels.shape[0]):
        return pixels, alpha
    shrinking = w * h < pixels.shape[0] * pixels.shape[1]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
    a = alpha.astype(np.float32) * (1.0 / 255.0)
    premult = pixels.astype(np.float32) * a[..., None]
    premult = cv2.resize(premult, (w, h), interpolation=interp)
    a2 = np.clip(cv2.resize(a, (w, h), interpolation=interp), 0.0, 1.0)
    colour = premult / np.maximum(a2, 1e-4)[..., None]
    colour = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    return colour, np.clip(a2 * 255.0 + 0.5, 0, 255).astype(np.uint8)


def fit_to_canvas(
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    *,
    size: int = 2000,
    fill: float = 0.85,
    min_size: int = 0,
    upscale: UpscalePolicy = "never",
    background: tuple[int, int, int] = (255, 255, 255),
) -> tuple[np.ndarray, np.ndarray]:
    """Trim to the product, scale its longer side to ``fill`` x the canvas, centre on a square canvas.

    Returns (pixels, alpha) of the canvas; outside the product alpha is 0 and the colour is
    ``background``. With ``upscale="never"`` a product smaller than ``fill * size`` is not
    enlarged: the canvas shrinks instead (to ``ceil(long_side / fill)``) so the fill ratio still
    holds; ``"to_minimum"`` enlarges only as far as a ``min_size`` canvas needs; ``"always"``
    scales to ``size`` whatever the source.
    """
    check_rgb(pixels)
    if alpha is None:
        alpha = np.full(pixels.shape[:2], 255, np.uint8)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    if not 0.05 <= fill <= 1.0:
        raise UsageError(f"fill must be between 0.05 and 1.0; got {fill}")
    if size < 16:
        raise UsageError(f"canvas size must be at least 16 px; got {size}")
    crop, crop_alpha = trim(pixels, alpha)
    ch, cw = crop_alpha.shape
    long_side = max(ch, cw)
    natural_canvas = math.ceil(long_side / fill)
    if upscale == "always" or natural_canvas >= size:
        canvas = size
    elif upscale == "to_minimum":
        canvas = min(size, max(natural_canvas, min_size))
    else:
        canvas = natural_canvas
    scale = fill * canvas / long_side
    new_w, new_h = max(1, round(cw * scale)), max(1, round(ch * scale))
    # Rounding must never push the product past the canvas.
    new_w, new_h = min(new_w, canvas), min(new_h, canvas)
    crop, crop_alpha = resize_rgba(crop, crop_alpha, (new_w, new_h))
    out = np.empty((canvas, canvas, 3), np.uint8)
    out[:] = np.asarray(background, np.uint8)
    out_alpha = np.zeros((canvas, canvas), np.uint8)
    x, y = (canvas - new_w) // 2, (canvas - new_h) // 2
    out[y : y + new_h, x : x + new_w] = crop
    out_alpha[y : y + new_h, x : x + new_w] = crop_alpha
    return out, out_alpha


def limit_size(pixels: np.ndarray, alpha: np.ndarray | None, *, max_side: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Shrink so the longer side is at most ``max_side``; never enlarges."""
    check_rgb(pixels)
    if max_side < 1:
        raise UsageError(f"max_side must be >= 1; got {max_side}")
    h, w = pixels.shape[:2]
    if max(h, w) <= max_side:
        return pixels, alpha
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if alpha is None:
        return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), None
    return resize_rgba(pixels, alpha, size)


class TrimOptions(OpOptions):
    margin: int = Field(0, ge=0, description="pixels kept around the product")


class FitOptions(OpOptions):
    size: int = Field(2000, ge=16, le=10000, description="canvas side in pixels (square)")
    fill: float = Field(0.85, ge=0.05, le=1.0, description="product's longer side as a share of the canvas side")
    min_size: int = Field(0, ge=0, le=10000, description="smallest canvas allowed (the preset's minimum)")
    upscale: UpscalePolicy = Field("never", description="never | to_minimum | always")


class ResizeOptions(OpOptions):
    max_side: int = Field(..., ge=1, le=100000, description="longest side after resizing; never enlarges")


@register_op("trim", options=TrimOptions)
def trim_step(item: ImageItem, options: TrimOptions) -> ImageItem:
    """Crop to the product (needs a cut-out)."""
    if item.alpha is None:
        raise OperationError("trim needs a cut-out; put remove_background before it")
    pixels, alpha = trim(item.pixels, item.alpha, margin=options.margin)
    return item.replace(pixels=pixels, alpha=alpha)


def canvas_side(options: FitOptions, size: tuple[int, int]) -> tuple[int, int]:
    """The largest canvas ``fit_to_canvas`` makes from an image of ``size`` (its product is at most
    the whole image): the same choice ``fit_to_canvas`` makes, on the image's longer side."""
    natural = math.ceil(max(size) / options.fill)
    if options.upscale == "always" or natural >= options.size:
        side = options.size
    elif options.upscale == "to_minimum":
        side = min(options.size, max(natural, options.min_size))
    else:
        side = natural
    return side, side


@register_op("fit_to_canvas", options=FitOptions, output_size=canvas_side)
def fit_to_canvas_step(item: ImageItem, options: FitOptions) -> ImageItem:
    """Trim, scale to the fill ratio and centre on a square canvas."""
    pixels, alpha = fit_to_canvas(
        item.pixels, item.alpha, size=options.size, fill=options.fill, min_size=options.min_size, upscale=options.upscale
    )
    return item.replace(pixels=pixels, alpha=alpha)


@register_op("resize", options=ResizeOptions)
def resize_step(item: ImageItem, options: ResizeOptions) -> ImageItem:
    """Shrink so the longer side is at most max_side."""
    pixels, alpha = limit_size(item.pixels, item.alpha, max_side=options.max_side)
    return item.replace(pixels=pixels, alpha=alpha)

