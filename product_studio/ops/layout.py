"""Layout: trim to the product, scale it to a fill ratio, centre it on a square canvas, resize.

Every function takes RGB HxWx3 uint8 pixels and an HxW uint8 alpha (255 = product). Resampling is
done on alpha-premultiplied colour, so the old background hidden under alpha 0 never bleeds into
the product's edge when it is scaled.

``fit_to_canvas`` with ``upscale="learned"`` is how the presets reach their target size: a product
too small for the target canvas is enlarged by the learned upscaler (``ops/upscale.py``; x2 or x4,
then area-averaged to the exact size), at most ``max_enlargement`` (x4) in all; a product that
would need more is placed at the largest honest size -- the canvas is then smaller than the target
and a warning says so. A product already large enough is only shrunk (no network runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import OperationError, UsageError
from ..item import ImageItem, check_mask, check_rgb
from ..vision.geometry import product_bbox
from .registry import OpOptions, register_op
from .upscale import HONEST_ENLARGEMENT, add_warning, learned_scale, record_enlargement, upscale_rgba

UpscalePolicy = Literal["never", "to_minimum", "always", "learned"]
# Up to this enlargement ``learned`` resamples with Lanczos: a product within 10% of the target costs the
# network's full run for a few pixels (it still gains there: +0.8 dB at x1.1 on held-out photos, +1.2 to
# +1.3 at x1.25-x1.5, +0.8 at x4; ``benchmarks/zoom_sizes.py --quality``), a trade of time, not quality.
LEARNED_MIN_SCALE = 1.1


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


@dataclass(frozen=True)
class Fitted:
    """What ``fit_product`` made: the canvas and how the product got there."""

    pixels: np.ndarray
    alpha: np.ndarray
    scale: float  # the product's scale on the canvas (> 1: enlarged)
    product_size: tuple[int, int]  # the trimmed product's (width, height) before scaling
    method: str  # how it was resampled: "area", "lanczos", "cnn" or "bicubic" (learned, without its weights)
    model: str | None  # the learned upscaler that ran, if one did
    target_reached: bool  # the canvas has the side asked for (``size``)


def plan_canvas(
    long_side: int, *, size: int, fill: float, min_size: int = 0, upscale: UpscalePolicy = "never",
    max_enlargement: float = HONEST_ENLARGEMENT,
) -> int:
    """The side of the square canvas ``fit_to_canvas`` makes for a product whose longer side is
    ``long_side``: ``size`` when the product fills it without enlarging, else by the policy --
    ``never``: the product's own size (``ceil(long_side / fill)``); ``to_minimum``: up to
    ``min_size``; ``always``: ``size``; ``learned``: ``size`` when at most ``max_enlargement`` gets
    there, else the largest canvas that enlargement allows. Grows with ``long_side``, so the
    image's longer side gives an upper bound (``canvas_side``)."""
    natural = math.ceil(long_side / fill)
    if upscale == "always" or natural >= size:
        return size
    if upscale == "to_minimum":
        return min(size, max(natural, min_size))
    if upscale == "learned":
        return min(size, math.floor(max_enlargement * long_side / fill + 1e-9))  # floor: never past the bound
    return natural


def fit_product(
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    *,
    size: int = 2000,
    fill: float = 0.85,
    min_size: int = 0,
    upscale: UpscalePolicy = "never",
    max_enlargement: float = HONEST_ENLARGEMENT,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Fitted:
    """``fit_to_canvas``, telling how: the product's scale, the resampling and the model used."""
    check_rgb(pixels)
    if alpha is None:
        alpha = np.full(pixels.shape[:2], 255, np.uint8)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    if not 0.05 <= fill <= 1.0:
        raise UsageError(f"fill must be between 0.05 and 1.0; got {fill}")
    if size < 16:
        raise UsageError(f"canvas size must be at least 16 px; got {size}")
    if not 1.0 <= max_enlargement <= HONEST_ENLARGEMENT:
        raise UsageError(f"max_enlargement must be between 1 and {HONEST_ENLARGEMENT}; got {max_enlargement}")
    crop, crop_alpha = trim(pixels, alpha)
    ch, cw = crop_alpha.shape
    long_side = max(ch, cw)
    canvas = plan_canvas(long_side, size=size, fill=fill, min_size=min_size, upscale=upscale, max_enlargement=max_enlargement)
    scale = fill * canvas / long_side
    new_w, new_h = max(1, round(cw * scale)), max(1, round(ch * scale))
    # Rounding must never push the product past the canvas.
    new_w, new_h = min(new_w, canvas), min(new_h, canvas)
    method, model = ("area" if scale <= 1 else "lanczos"), None
    if upscale == "learned" and scale > LEARNED_MIN_SCALE:
        crop, crop_alpha, method, model = upscale_rgba(crop, crop_alpha, scale=learned_scale(min(scale, HONEST_ENLARGEMENT)))
    crop, crop_alpha = resize_rgba(crop, crop_alpha, (new_w, new_h))
    out = np.empty((canvas, canvas, 3), np.uint8)
    out[:] = np.asarray(background, np.uint8)
    out_alpha = np.zeros((canvas, canvas), np.uint8)
    x, y = (canvas - new_w) // 2, (canvas - new_h) // 2
    out[y : y + new_h, x : x + new_w] = crop
    out_alpha[y : y + new_h, x : x + new_w] = crop_alpha
    return Fitted(out, out_alpha, scale, (cw, ch), method, model, canvas == size)


def fit_to_canvas(
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    *,
    size: int = 2000,
    fill: float = 0.85,
    min_size: int = 0,
    upscale: UpscalePolicy = "never",
    max_enlargement: float = HONEST_ENLARGEMENT,
    background: tuple[int, int, int] = (255, 255, 255),
) -> tuple[np.ndarray, np.ndarray]:
    """Trim to the product, scale its longer side to ``fill`` x the canvas, centre on a square canvas.

    Returns (pixels, alpha) of the canvas; outside the product alpha is 0 and the colour is
    ``background``. With ``upscale="never"`` a product smaller than ``fill * size`` is not
    enlarged: the canvas shrinks instead (to ``ceil(long_side / fill)``) so the fill ratio still
    holds; ``"to_minimum"`` enlarges (Lanczos) only as far as a ``min_size`` canvas needs;
    ``"always"`` scales to ``size`` whatever the source; ``"learned"`` enlarges with the learned
    upscaler as far as ``size`` needs but at most ``max_enlargement`` (the canvas is smaller when
    that is not enough). See ``plan_canvas``.

        >>> out, out_alpha = fit_to_canvas(pixels, alpha, size=2000, fill=0.88, upscale="learned")
    """
    fitted = fit_product(pixels, alpha, size=size, fill=fill, min_size=min_size, upscale=upscale,
                         max_enlargement=max_enlargement, background=background)
    return fitted.pixels, fitted.alpha


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
    upscale: UpscalePolicy = Field(
        "never", description="never | to_minimum | always | learned (the learned upscaler towards size, at most max_enlargement)"
    )
    max_enlargement: float = Field(
        HONEST_ENLARGEMENT, ge=1.0, le=HONEST_ENLARGEMENT,
        description="learned: the most the product is enlarged, counting earlier steps (x4: what the learned upscaler adds)",
    )


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
    the whole image, and ``plan_canvas`` grows with the product)."""
    side = plan_canvas(max(size), size=options.size, fill=options.fill, min_size=options.min_size,
                       upscale=options.upscale, max_enlargement=options.max_enlargement)
    return side, side


@register_op("fit_to_canvas", options=FitOptions, output_size=canvas_side)
def fit_to_canvas_step(item: ImageItem, options: FitOptions) -> ImageItem:
    """Trim, scale to the fill ratio and centre on a square canvas."""
    before = float(item.metadata.get("enlargement", 1.0))
    fitted = fit_product(
        item.pixels, item.alpha, size=options.size, fill=options.fill, min_size=options.min_size, upscale=options.upscale,
        max_enlargement=max(1.0, options.max_enlargement / before),  # earlier enlargements count
    )
    out = item.replace(pixels=fitted.pixels, alpha=fitted.alpha)
    record_enlargement(out, fitted.scale)
    if fitted.model is not None or fitted.method == "bicubic":
        out.metadata["upscale_method"] = fitted.method
        out.step_model = fitted.model
    if options.upscale == "learned" and not fitted.target_reached:
        w, h = fitted.product_size
        most = before * max(1.0, options.max_enlargement / before)
        add_warning(out, f"the product is {w}x{h} px: at x{most:g}, the most the learned upscaler adds honestly, it makes "
                         f"a {out.width} px image, below the {options.size} px target; use a larger photo to reach it")
    return out


@register_op("resize", options=ResizeOptions)
def resize_step(item: ImageItem, options: ResizeOptions) -> ImageItem:
    """Shrink so the longer side is at most max_side."""
    pixels, alpha = limit_size(item.pixels, item.alpha, max_side=options.max_side)
    return item.replace(pixels=pixels, alpha=alpha)

