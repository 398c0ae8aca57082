"""Upscaling x2 / x4 with a learned network (bicubic and Lanczos as the classical choices).

The ``upscale`` step enlarges by ``scale``, or -- with ``min_side`` / ``min_long_side`` -- only
as far as a marketplace's minimum needs: a source already large enough passes through untouched,
a smaller one gets x2 when that is enough and x4 (or several passes) otherwise. This is how a
preset's recipe brings a too-small source up to the preset's minimum size (see
``marketplaces/presets/*.yaml``). The network itself lives in ``product_studio.restore.upscale``.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from ..item import ImageItem
from .registry import OpOptions, register_op


class UpscaleOptions(OpOptions):
    scale: Literal[2, 4] = Field(2, description="enlargement factor when no minimum is given")
    method: Literal["cnn", "bicubic", "lanczos"] = Field(
        "cnn", description="cnn (learned; bicubic if its weights are not installed), bicubic, lanczos"
    )
    min_side: int | None = Field(None, ge=1, le=20000, description="upscale only until the shorter side is at least this")
    min_long_side: int | None = Field(None, ge=1, le=20000, description="upscale only until the longer side is at least this")


def upscale_passes(options: UpscaleOptions, size: tuple[int, int]) -> list[int]:
    """The x2/x4 passes the ``upscale`` step makes on an image of ``size`` (width, height)."""
    from ..restore.upscale import factors_to_reach

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
    from ..restore.upscale import load_upscaler, upscale_alpha, upscale_image, upscaler_available

    passes = upscale_passes(options, (item.width, item.height))
    if not passes:
        out = item.replace()
        out.metadata["upscale_factor"] = 1
        return out
    method = options.method
    if method == "cnn" and not all(upscaler_available(s) for s in set(passes)):
        method = "bicubic"
    pixels, alpha, models = item.pixels, item.alpha, []
    for scale in passes:
        model = load_upscaler(scale) if method == "cnn" else None
        pixels = upscale_image(pixels, scale=scale, method=method, model=model)
        alpha = upscale_alpha(alpha, scale) if alpha is not None else None
        if model is not None:
            models.append(model.model_name)
    out = item.replace(pixels=pixels, alpha=alpha)
    out.metadata["upscale_factor"] = math.prod(passes)
    out.metadata["upscale_method"] = method
    if models:
        out.metadata["_model"] = "+".join(models)
    return out
