"""Background: cut the product out and place it on a flat colour, with an optional shadow.

Two registered steps: ``remove_background`` (the product's alpha, background exactly 0, and edge
colours cleaned of the old background: ``vision.segmentation.cut_out``) and ``white_background``
(``composite_on_color``: the cut-out over a colour, with the shadow of ``ops.shadow``).

Contract: pixels are RGB, HxWx3, uint8 (sRGB); an alpha is HxW, uint8, 255 = product.

``composite_on_color`` is exact: alpha 0 outside the shadow gives exactly the colour (255 for
white), alpha 255 gives the pixel unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from ..errors import OperationError
from ..item import ImageItem, check_mask, check_rgb
from ..vision.matting import composite_over
from ..vision.segmentation import SegmentMethod, cut_out, load_mask
from .registry import LOCAL_ONLY, OpOptions, register_op
from .shadow import ShadowKind, shadow_backdrop


def composite_on_color(
    pixels: np.ndarray,
    alpha: np.ndarray,
    *,
    color: tuple[int, int, int] = (255, 255, 255),
    shadow: ShadowKind = "none",
    shadow_strength: float = 0.35,
) -> np.ndarray:
    """Place the cut-out on a flat colour: RGB HxWx3 uint8 + alpha HxW uint8 -> RGB HxWx3 uint8.

    Exact integer blend ``(F * a + C * (255 - a) + 127) // 255``: alpha 0 gives exactly ``color``
    (outside any shadow), alpha 255 gives the pixel unchanged. ``shadow`` darkens the colour
    under the product by up to ``shadow_strength``; a shadow fades to exactly ``color``: any
    darkening that would not change the colour by a whole level is dropped.

    >>> px = np.full((1, 3, 3), 100, np.uint8); a = np.array([[0, 128, 255]], np.uint8)
    >>> composite_on_color(px, a)[0, :, 0].tolist()
    [255, 177, 100]
    """
    check_rgb(pixels)
    check_mask(alpha, pixels.shape[:2], name="alpha")
    backdrop = shadow_backdrop(alpha, color, kind=shadow, strength=shadow_strength)
    return composite_over(pixels, alpha, backdrop)


# ----------------------------------------------------------------------------------------------
# registered steps


class RemoveBackgroundOptions(OpOptions):
    method: SegmentMethod = Field("u2netp", description="u2netp (model), grabcut (no model) or mask (mask_path)")
    refine: bool = Field(True, description="snap the alpha to the image's edges and clean the edge colours")
    mask_path: str | None = Field(None, description="a PNG mask (alpha, or luminance if opaque); implies method=mask",
                                   json_schema_extra=LOCAL_ONLY)

    @model_validator(mode="before")
    @classmethod
    def _mask_path_means_mask(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("mask_path") and "method" not in data:
            data = {**data, "method": "mask"}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> RemoveBackgroundOptions:
        if self.method == "mask" and not self.mask_path:
            raise ValueError("method 'mask' needs mask_path (a PNG mask file)")
        if self.mask_path and self.method != "mask":
            raise ValueError(f"mask_path is given but method is '{self.method}'; use method: mask")
        return self


Channel = Annotated[int, Field(ge=0, le=255)]


class WhiteBackgroundOptions(OpOptions):
    color: tuple[Channel, Channel, Channel] = Field((255, 255, 255), description="background colour [r, g, b]")
    shadow: ShadowKind = Field(
        "none", description="none, contact (ellipse under the product) or drop (offset silhouette)"
    )
    shadow_strength: float = Field(0.35, ge=0.0, le=1.0, description="darkest shadow: fraction of the colour removed")


@register_op("remove_background", options=RemoveBackgroundOptions)
def remove_background_step(item: ImageItem, options: RemoveBackgroundOptions) -> ImageItem:
    """Cut the product out: set its alpha (background exactly 0) and clean its edge colours."""
    if item.alpha is not None and options.method == "u2netp" and int(item.alpha.min()) < 255:
        out = item.replace()
        out.metadata["alpha_source"] = "input (the image already had transparency; kept as is)"
        return out
    model = None
    mask = None
    if options.method == "u2netp":
        from ..runtime import load_u2netp

        model = load_u2netp()
    elif options.method == "mask":
        mask = load_mask(options.mask_path, (item.height, item.width))
    pixels, alpha = cut_out(item.pixels, method=options.method, refine=options.refine, mask=mask, model=model)
    if not (alpha > 0).any():
        raise OperationError(
            f"no product found with method '{options.method}' (the cut-out is empty); try another method or give a mask",
            path=item.source,
        )
    out = item.replace(pixels=pixels, alpha=alpha)
    out.metadata["alpha_source"] = options.method
    if model is not None:
        out.step_model = model.label
    return out


@register_op("white_background", options=WhiteBackgroundOptions)
def white_background_step(item: ImageItem, options: WhiteBackgroundOptions) -> ImageItem:
    """Composite the cut-out on a flat colour (white by default), with an optional shadow."""
    if item.alpha is None:
        out = item.replace()
        out.metadata["white_background"] = "no cut-out (no alpha): image left unchanged"
        return out
    pixels = composite_on_color(
        item.pixels, item.alpha, color=options.color, shadow=options.shadow, shadow_strength=options.shadow_strength
    )
    return item.replace(pixels=pixels, alpha=None)
