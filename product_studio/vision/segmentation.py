"""Segmentation: the product's silhouette, from a salient-object model, GrabCut or a user's mask.

Contract of every function here: pixels are RGB, HxWx3, uint8 (sRGB); an alpha is HxW, uint8,
255 = product. Nothing here prints, writes files or changes global OpenCV settings.

How a cut-out is made (``segment_product``; ``cut_out`` also cleans the edge colours):

1. A coarse map: U²-Net-p's saliency (320x320; the onnxruntime session is opened once per
   process by ``runtime.load_u2netp``), GrabCut's hard labels, or a user's mask.
2. Refinement at a working resolution and full resolution, then decontamination of the edge
   colours: ``vision.matting`` (guided filter, clean mask, soft matte, ``I = aF + (1 - a)B``).

    >>> alpha = segment_product(photo)                      # doctest: +SKIP
    >>> pixels, alpha = cut_out(photo)                      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from ..errors import OperationError, UsageError
from ..item import check_rgb
from .matting import WORK_SIZE, refine_cut_out, resize_float, shrink_image, to_byte, work_shape

SegmentMethod = Literal["u2netp", "grabcut", "mask"]

GRABCUT_SIZE = 480


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
    h, w = work_shape(*pixels.shape[:2], max_side)
    small = shrink_image(pixels, (h, w))
    bgr = np.ascontiguousarray(small[..., ::-1])
    labels = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    if saliency is not None:
        s = resize_float(saliency.astype(np.float32), (h, w))
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
        mask = to_byte(mask)
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
# segmentation


def segment_product(pixels: np.ndarray, **options: Any) -> np.ndarray:
    """The product's alpha: RGB HxWx3 uint8 in, HxW uint8 out (255 = product, exactly 0 = background).

    ``options`` are ``cut_out``'s (method, refine, mask, work_size, model, saliency); only the
    alpha is made, the edge colours are left as they are.

    >>> alpha = segment_product(photo)                      # doctest: +SKIP
    """
    return cut_out(pixels, decontaminate=False, **options)[1]


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
    """The product's alpha and its edge colours cleaned of the old background, in one pass sharing
    the working image (``segment_product`` and ``matting.estimate_foreground`` together).

    method: "u2netp" (salient-object model, needs the model file), "grabcut" (no model; OpenCV
        GrabCut from a rectangle 5% inside the borders), "mask" (``mask`` given by the user:
        HxW uint8/bool/float, or an RGB/RGBA image).
    refine: snap the map to the image's edges and make a soft, clean matte (see
        ``vision.matting``). Without it: the model's map enlarged (soft), GrabCut's or the
        user's mask as is.
    model: a ``runtime.LoadedModel`` to use instead of this process's cached U²-Net-p.
    saliency: a U²-Net-p map already predicted for these pixels (float32 HxW of any size, 0..1,
        e.g. from a batch), used by method "u2netp" instead of running the model again.

    Returns (RGB HxWx3 uint8 with clean edge colours, alpha HxW uint8). Without ``refine`` (or
    ``decontaminate``) the pixels come back untouched.
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

        small = shrink_image(pixels, work_shape(h, w, work_size))
        if saliency is None:
            coarse = predict_saliency_320(small, model=model)
        elif isinstance(saliency, np.ndarray) and saliency.ndim == 2 and saliency.size:
            coarse = saliency.astype(np.float32)
        else:
            raise UsageError(
                f"saliency must be a float HxW map in 0..1; got {getattr(saliency, 'shape', type(saliency).__name__)}"
            )
        if not refine:
            return pixels, to_byte(np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0))
        return refine_cut_out(pixels, coarse, snap_edges=True, work_size=work_size, decontaminate=decontaminate, small=small)
    if method == "grabcut":
        coarse = grabcut_mask(pixels)
        if not refine:
            return pixels, np.where(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5, 255, 0).astype(
                np.uint8
            )
        # GrabCut's labels are blocky at its reduced size: snap them to the edges like a soft map.
        return refine_cut_out(pixels, coarse, snap_edges=True, work_size=work_size, decontaminate=decontaminate)
    if method == "mask":
        if mask is None:
            raise UsageError("method='mask' needs a mask (an HxW array, or mask_path in a recipe)")
        user = mask_to_alpha(mask, (h, w))
        if not refine:
            return pixels, user
        return refine_cut_out(pixels, user, snap_edges=False, work_size=work_size, decontaminate=decontaminate)
    raise UsageError(f"unknown method '{method}'; choose u2netp, grabcut or mask")

