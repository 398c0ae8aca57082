"""Repair: fill marked regions (dust, scratches, a sticker, a watermark) from their surroundings.

The classical baseline is OpenCV's inpainting: Telea's fast marching method or the
Navier-Stokes based one. Both propagate the colours around a hole into it, which is right for
small defects on smooth or gently varying areas and blurry on large holes in texture, where
learned inpainting (LaMa and friends) will have to do better.

A mask is HxW uint8 with the image's size: non-zero = fill this pixel. Mask files are PNGs: the
alpha channel when there is one (opaque = fill), otherwise the lightness (white = fill).
"""

from __future__ import annotations

import os
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import UsageError
from ..imageio import load_image
from ..item import ImageItem, check_rgb
from .enhance import check_int
from .registry import OpOptions, register_op

InpaintMethod = Literal["telea", "ns"]
_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def _check_fill_mask(mask: np.ndarray, shape: tuple[int, int]) -> None:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype not in (np.uint8, np.bool_):
        got = getattr(mask, "shape", type(mask).__name__), getattr(mask, "dtype", "")
        raise UsageError(f"mask must be HxW uint8 (non-zero = fill this pixel); got {got}")
    if mask.shape != tuple(shape):
        raise UsageError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} (WxH) but the image is {shape[1]}x{shape[0]}; "
            "resize the mask to the image (nearest neighbour) or export it at the image's size"
        )


def inpaint(pixels: np.ndarray, mask: np.ndarray, *, method: InpaintMethod = "telea", radius: int = 3) -> np.ndarray:
    """Fill the pixels where ``mask`` > 0 from their surroundings.

    pixels: RGB, HxWx3, uint8. mask: HxW uint8 (or bool) of the same height and width.
    method: "telea" (fast marching, Telea 2004) or "ns" (Navier-Stokes, Bertalmio 2001).
    radius: 1..50 px, the neighbourhood each filled pixel is computed from. Pixels outside the
    mask are returned unchanged; an empty mask returns an identical copy.
    Returns a new RGB uint8 array.

    >>> img = np.full((8, 8, 3), 100, np.uint8); img[3:5, 3:5] = 255
    >>> hole = np.zeros((8, 8), np.uint8); hole[3:5, 3:5] = 255
    >>> int(inpaint(img, hole)[4, 4, 0])
    100
    """
    check_rgb(pixels)
    _check_fill_mask(mask, pixels.shape[:2])
    if method not in _METHODS:
        raise UsageError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    radius = check_int("radius", radius, 1, 50)
    fill = (mask > 0).astype(np.uint8)
    if not fill.any():
        return pixels.copy()
    if fill.all():
        raise UsageError("the mask covers the whole image, so there is nothing to fill it from; mark only the defects")
    return cv2.inpaint(pixels, fill, radius, _METHODS[method])


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
    mask_path: str = Field(..., min_length=1, description="mask image: alpha, or white on black; opaque/white = fill")
    method: InpaintMethod = Field("telea", description="telea (fast marching) | ns (Navier-Stokes)")
    radius: int = Field(3, ge=1, le=50, description="neighbourhood radius in pixels used to fill each pixel")
    dilate: int = Field(0, ge=0, le=100, description="grow the mask by this many pixels to cover defect edges")


@register_op("inpaint", options=InpaintOptions)
def inpaint_step(item: ImageItem, options: InpaintOptions) -> ImageItem:
    """Fill the regions a mask file marks (dust, scratches, stickers) from their surroundings."""
    mask = load_mask(options.mask_path, item.pixels.shape)
    if options.dilate:
        size = 2 * options.dilate + 1
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    pixels = inpaint(item.pixels, mask, method=options.method, radius=options.radius)
    out = item.replace(pixels=pixels)
    out.metadata["inpainted_pixels"] = int(np.count_nonzero(mask))
    return out
