"""Recolor route: colour variants of an uploaded product photo, one stored result per colour.

The product is found once (the cut-out model, the upload's transparency, or an uploaded mask),
the text and logos on it once, then each colour is made, encoded and stored like /v1/remove-bg's
result (kind "recolor"; the upload is stored with each, so every result is whole on its own)."""

from __future__ import annotations

import shutil
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field

from ...errors import UsageError
from ...recipe import Recipe
from ...store import new_id
from ..deps import get_studio, read_upload, require_api_key
from ..forms import op_form
from ..work import Studio, output_format_like, result_dict
from .images import ResultOut

router = APIRouter(prefix="/v1", tags=["recolor"], dependencies=[Depends(require_api_key)])


class VariantOut(BaseModel):
    color: str = Field(description="the colour as asked for")
    hex: str = Field(description="its sRGB value, #rrggbb")
    rgb: list[int]
    result: ResultOut = Field(description="the stored variant: GET result.output.url for the image")


class RecolorOut(BaseModel):
    input_name: str
    mask_source: str = Field(description="mask (uploaded), alpha (the upload's transparency), u2netp or grabcut")
    region: Literal["material", "all", "dominant"] = Field(
        description="what was recoloured: material (the product's main coloured material), all (the whole product or the mask), dominant")
    material: dict[str, Any] | None = Field(
        None, description="region material: the material's colour name, rgb, Lab hue, saturation and share of the product")
    keep_colors: list[str] | None = Field(None, description="colours left unchanged as asked (keep)")
    product_pixels: int
    text_lines: list[str] | None = Field(None, description="text read on the photo and left unchanged (null when text=false)")
    logos: list[list[int]] | None = Field(None, description="logo boxes [x, y, w, h] left unchanged (null when logos=false)")
    variants: list[VariantOut]
    seconds: float


@router.post("/recolor", response_model=RecolorOut,
             summary="Colour variants: the product in each colour, shading kept; background, text and logos unchanged")
async def recolor(
    file: UploadFile = File(..., description="the product photo"),
    colors: str = Form(..., description="comma-separated colours: CSS names (red, navy), #rrggbb, rgb(r,g,b), Chinese (藏青)"),
    mask: UploadFile | None = File(None, description="optional mask of the product, the image's size: white (or opaque) = product"),
    options: dict[str, Any] = Depends(op_form("recolor", exclude=("color",))),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    from ...ops.recolor import parse_colors

    targets = parse_colors(colors)  # a bad colour is a 400 before the upload is decoded
    data, name = await read_upload(file)
    mask_data = await read_upload(mask, "mask") if mask is not None else None

    def work() -> dict[str, Any]:
        start = time.perf_counter()
        if mask_data is None:
            return _variants(studio, data, name, targets, options, None, start)
        stored = studio.blobs.put(new_id(), "mask.png", mask_data[0])  # a 0600 plain copy while encryption is on
        try:
            with studio.blobs.readable(stored) as mask_path:
                return _variants(studio, data, name, targets, options, str(mask_path), start)
        finally:
            shutil.rmtree(stored.parent, ignore_errors=True)

    if not targets:
        raise UsageError("no colour given; for example colors=red,navy,#2e8b57")
    return await studio.limiter.run(work)


def _variants(studio: Studio, data: bytes, name: str, targets: list[Any], options: dict[str, Any], mask_path: str | None,
              start: float) -> dict[str, Any]:
    """One ``pipeline.process`` run per colour (a one-step recipe, the CLI's), each stored as its own result;
    the product's mask, text and logos are found once (the recolor op keeps its analysis of the last image)."""
    fmt = output_format_like(data)
    variants, info = [], {}
    for target in targets:
        recipe = Recipe.from_dict({"name": "recolor", "steps": [{"op": "recolor", "color": target.text, **options,
                                                                 "mask_path": mask_path}], "output": {"format": fmt}})
        outcome = studio.run(data, name=name, recipe=recipe)
        info = outcome.item.metadata["recolor"]
        result = studio.store(outcome, name=name, recipe=recipe, kind="recolor", upload=data)
        variants.append({"color": target.text, "hex": target.hex, "rgb": list(target.rgb), "result": result_dict(result)})
    return {
        "input_name": name, "mask_source": info["mask_source"], "region": info["region"], "product_pixels": info["product_pixels"],
        "material": info.get("material"), "keep_colors": info.get("keep_colors"),
        "text_lines": info.get("text_lines"), "logos": info.get("logos"), "variants": variants,
        "seconds": round(time.perf_counter() - start, 4),
    }
