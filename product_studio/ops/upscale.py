"""Upscaling x2 / x4 with a learned network (bicubic and Lanczos as the classical choices).

    big = upscale_image(pixels, scale=2)                     # the CNN
    big = upscale_image(pixels, scale=4, method="lanczos")   # classical

The CNN adds learned detail on top of a bicubic upsample (``models/upscaler.py``); it was
trained on photographs shrunk with an antialiased bicubic filter, so it suits clean photographs
that are merely small. Any resolution runs in tiles of at most ``max_tile_pixels`` *input* pixels
(peak memory about 1 KB per input pixel at x4: the default 256x256 tile needs about 70 MB).

The ``upscale`` step enlarges by ``scale``, or -- with ``min_side`` / ``min_long_side`` -- only
as far as a marketplace's minimum needs: a source already large enough passes through untouched,
a smaller one gets x2 when that is enough and x4 (or several passes) otherwise. This is how a
preset's recipe brings a too-small source up to the preset's minimum size (see
``marketplaces/presets/*.yaml``).

An enlargement is honest up to x4, the most the shipped x4 network adds (``HONEST_ENLARGEMENT``):
each step that enlarges records the product's enlargement so far in ``metadata["enlargement"]``
(``record_enlargement``), and past x4 in all a warning in ``metadata["warnings"]`` says the image
has less detail than its size suggests. ``fit_to_canvas`` with ``upscale="learned"`` enlarges a
small product's crop with ``upscale_rgba`` and never past that bound.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from ..errors import ModelError, UsageError
from ..item import ImageItem, check_mask, check_rgb
from .registry import LOCAL_ONLY, OpOptions, register_op

Method = Literal["cnn", "bicubic", "lanczos"]
StepMethod = Literal["cnn", "auto", "bicubic", "lanczos"]
SCALES = (2, 4)
UPSCALER_OVERLAP = 12  # input pixels: 8 layers see 9 px each way
DEFAULT_MAX_TILE_PIXELS = 256 * 256
MAX_OUTPUT_PIXELS = 400_000_000
HONEST_ENLARGEMENT = 4  # the most a learned upscaler adds (the x4 network); past it an image only looks bigger


def upscaler_weights(scale: int) -> str:
    return f"upscaler_x{scale}.onnx"


@functools.lru_cache(maxsize=8)
def load_upscaler(scale: int, path: str | None = None):
    """The x``scale`` network as an onnxruntime session (``runtime.LoadedModel``), opened once per
    process; ``path`` None = the shipped ``upscaler_x{scale}.onnx`` (sha256 checked), else an ``.onnx``
    exported from a `product-studio train upscaler` run (scripts/export_onnx.py)."""
    from ..models.registry import WEIGHTS_DIR
    from ..runtime import load_shipped, open_onnx

    if scale not in SCALES:
        raise UsageError(f"scale must be 2 or 4; got {scale}")
    if path is None:
        model = load_shipped(WEIGHTS_DIR / upscaler_weights(scale),
                             hint=f"; train it with scripts/train_upscaler.py --scale {scale} --ship, or use method 'bicubic'")
    else:
        model = open_onnx(path, family="upscaler", hint=f"; give a file written by `product-studio train upscaler --scale {scale}`")
    if model.config.get("scale") != scale:
        raise ModelError(f"{model.path} holds {model.model_name!r}, an x{model.config.get('scale')} upscaler, not x{scale}", path=str(model.path))
    return model


def upscaler_available(scale: int = 2) -> bool:
    try:
        load_upscaler(scale)
    except ModelError:
        return False
    return True


def upscale_image(
    pixels: np.ndarray,
    *,
    scale: int = 2,
    method: Method = "cnn",
    model=None,
    max_tile_pixels: int = DEFAULT_MAX_TILE_PIXELS,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Enlarge RGB HxWx3 uint8 ``pixels`` by ``scale`` (2 or 4); returns RGB uint8 (H·s)x(W·s)x3.

    The network runs on onnxruntime in float32 (``model``: a ``runtime.LoadedModel``, by default the
    shipped one); torch is not imported."""
    check_rgb(pixels)
    if scale not in SCALES:
        raise UsageError(f"scale must be 2 or 4; got {scale}")
    h, w = pixels.shape[:2]
    if h * w * scale * scale > MAX_OUTPUT_PIXELS:
        raise UsageError(
            f"upscaling {w}x{h} by {scale} would make {w * scale}x{h * scale} pixels, above the "
            f"{MAX_OUTPUT_PIXELS:,} pixel limit; crop or shrink the image first"
        )
    if method == "bicubic":
        return interpolate(pixels, scale, cv2.INTER_CUBIC)
    if method == "lanczos":
        return interpolate(pixels, scale, cv2.INTER_LANCZOS4)
    if method != "cnn":
        raise UsageError(f"unknown upscale method {method!r}; use cnn, bicubic or lanczos")
    from ..vision.tiling import run_tiled

    if model is None:
        model = load_upscaler(scale)
    elif model.config.get("scale") != scale:
        raise UsageError(f"the model upscales x{model.config.get('scale')}, not x{scale}")

    def network(tile: np.ndarray) -> np.ndarray:
        return model.run(tile)[0]

    out = run_tiled(pixels.astype(np.float32) / 255.0, network, scale=scale, max_tile_pixels=max_tile_pixels,
                    overlap=UPSCALER_OVERLAP, progress=progress)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def interpolate(image: np.ndarray, scale: int, interpolation: int) -> np.ndarray:
    """OpenCV resize by an integer factor (HxW or HxWxC uint8)."""
    h, w = image.shape[:2]
    return cv2.resize(image, (w * scale, h * scale), interpolation=interpolation)


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """An HxW uint8 mask enlarged by ``scale`` (bicubic, clipped)."""
    check_mask(alpha, alpha.shape)
    return interpolate(alpha, scale, cv2.INTER_CUBIC)


def learned_scale(factor: float) -> int:
    """The learned upscaler's pass for an enlargement of ``factor`` (1 < factor <= 4): x2 up to x2,
    else x4; the result is then area-averaged down to the exact size."""
    if not 1 < factor <= HONEST_ENLARGEMENT:
        raise UsageError(f"a learned enlargement must be above x1 and at most x{HONEST_ENLARGEMENT}; got x{factor:.3g}")
    return 2 if factor <= 2 else 4


def upscale_rgba(
    pixels: np.ndarray, alpha: np.ndarray, *, scale: int, max_tile_pixels: int = DEFAULT_MAX_TILE_PIXELS
) -> tuple[np.ndarray, np.ndarray, str, str | None]:
    """Enlarge RGB ``pixels`` and their HxW uint8 ``alpha`` by ``scale`` (2 or 4).

    The colour goes through the learned upscaler premultiplied by alpha, so the old background under
    alpha 0 never bleeds into the product's edge; alpha is enlarged bicubic. Without the network's
    weights the colour is enlarged bicubic. Returns (pixels, alpha, method, model name or None)."""
    check_rgb(pixels)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    method: Method = "cnn" if upscaler_available(scale) else "bicubic"
    model = load_upscaler(scale) if method == "cnn" else None
    a = alpha.astype(np.float32) * (1.0 / 255.0)
    premult = np.clip(pixels.astype(np.float32) * a[..., None] + 0.5, 0, 255).astype(np.uint8)
    big = upscale_image(premult, scale=scale, method=method, model=model, max_tile_pixels=max_tile_pixels)
    big_alpha = upscale_alpha(alpha, scale)
    a2 = big_alpha.astype(np.float32) * (1.0 / 255.0)
    colour = big.astype(np.float32) / np.maximum(a2, 1e-4)[..., None]
    colour = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    colour[big_alpha == 0] = 0
    return colour, big_alpha, method, model.model_name if model is not None else None


def record_enlargement(item: ImageItem, factor: float) -> None:
    """Multiply the product's enlargement so far (``item.metadata["enlargement"]``, 1 for a decoded
    source) by ``factor``; the first time it passes ``HONEST_ENLARGEMENT``, add a warning to
    ``item.metadata["warnings"]`` (a new list: ``ImageItem.replace`` shares metadata values)."""
    before = float(item.metadata.get("enlargement", 1.0))
    total = before * factor
    item.metadata["enlargement"] = round(total, 4)
    if total > HONEST_ENLARGEMENT + 1e-6 >= before:
        add_warning(item, f"enlarged x{total:.1f} in all, past the x{HONEST_ENLARGEMENT} a learned upscaler can add: "
                          "the image has less detail than its size suggests; use a larger photo")


def add_warning(item: ImageItem, message: str) -> None:
    """Append ``message`` to ``item.metadata["warnings"]`` (what a report shows as a warning)."""
    item.metadata["warnings"] = [*item.metadata.get("warnings", []), message]


def factors_to_reach(side: int, minimum: int, *, max_factor: int = 16) -> list[int]:
    """The x2/x4 passes that bring ``side`` to at least ``minimum``: [] when it is already there,
    [2] when doubling is enough, [4] up to x4, then more passes (at most ``max_factor`` in total)."""
    if side < 1 or minimum < 1:
        raise UsageError(f"sides must be positive; got {side} and {minimum}")
    passes: list[int] = []
    total = 1
    while side * total < minimum:
        need = minimum / (side * total)
        step = 2 if need <= 2 else 4
        if total * step > max_factor:
            raise UsageError(
                f"a side of {side} px would need more than x{max_factor} to reach {minimum} px; "
                "use a larger source image"
            )
        passes.append(step)
        total *= step
    return passes


class UpscaleOptions(OpOptions):
    scale: Literal[2, 4] = Field(2, description="enlargement factor when no minimum is given")
    method: StepMethod = Field(
        "cnn",
        description="cnn (learned; a missing or damaged model is an error), bicubic, lanczos, "
        "auto = cnn, or bicubic when the model cannot be loaded (the reason is reported as upscale_fallback)",
    )
    min_side: int | None = Field(None, ge=1, le=20000, description="upscale only until the shorter side is at least this")
    min_long_side: int | None = Field(None, ge=1, le=20000, description="upscale only until the longer side is at least this")
    max_tile_pixels: int = Field(
        DEFAULT_MAX_TILE_PIXELS, ge=4096, le=64_000_000, description="memory cap: the largest tile the network sees",
        json_schema_extra=LOCAL_ONLY,
    )


def upscale_passes(options: UpscaleOptions, size: tuple[int, int]) -> list[int]:
    """The x2/x4 passes the ``upscale`` step makes on an image of ``size`` (width, height)."""
    if options.min_side is None and options.min_long_side is None:
        return [options.scale]
    short, long = min(size), max(size)
    needs = [
        factors_to_reach(short, options.min_side) if options.min_side else [],
        factors_to_reach(long, options.min_long_side) if options.min_long_side else [],
    ]
    return max(needs, key=math.prod)


def upscaled_size(options: UpscaleOptions, size: tuple[int, int]) -> tuple[int, int]:
    factor = math.prod(upscale_passes(options, size))
    return size[0] * factor, size[1] * factor


@register_op("upscale", options=UpscaleOptions, output_size=upscaled_size)
def upscale_step(item: ImageItem, options: UpscaleOptions) -> ImageItem:
    """Enlarge x2/x4 with the learned upscaler, or only as far as a minimum size needs."""
    passes = upscale_passes(options, (item.width, item.height))
    if not passes:
        out = item.replace()
        out.metadata["upscale_factor"] = 1
        return out
    method, fallback = options.method, None
    if method == "auto":
        method = "cnn"
        try:
            for scale in set(passes):
                load_upscaler(scale)
        except ModelError as exc:
            method, fallback = "bicubic", str(exc)
    pixels, alpha, models = item.pixels, item.alpha, []
    for scale in passes:
        model = load_upscaler(scale) if method == "cnn" else None
        pixels = upscale_image(pixels, scale=scale, method=method, model=model, max_tile_pixels=options.max_tile_pixels)
        alpha = upscale_alpha(alpha, scale) if alpha is not None else None
        if model is not None:
            models.append(model.model_name)
    out = item.replace(pixels=pixels, alpha=alpha)
    out.metadata["upscale_factor"] = math.prod(passes)
    record_enlargement(out, math.prod(passes))
    out.metadata["upscale_method"] = method
    if fallback:
        out.metadata["upscale_fallback"] = fallback
    if models:
        out.step_model = "+".join(models)
    return out
