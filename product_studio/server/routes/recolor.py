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
from ...imageio import encode_image
from ...recipe import Recipe
from ...store import new_id
from ...store import repository as repo
from ..deps import get_studio, read_upload, require_api_key
from ..work import INPUT_EXTENSIONS, Studio, result_dict
from .images import ResultOut

router = APIRouter(prefix="/v1", tags=["recolor"], dependencies=[Depends(require_api_key)])

# Formats kept as they are; TIFF, BMP and GIF keep their pixels exactly in PNG; HEIC becomes JPEG (as the CLI does).
OUTPUT_FORMAT = {"jpeg": "jpeg", "png": "png", "webp": "webp", "heif": "jpeg"}
OUTPUT_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}


class VariantOut(BaseModel):
    color: str = Field(description="the colour as asked for")
    hex: str = Field(description="its sRGB value, #rrggbb")
    rgb: list[int]
    result: ResultOut = Field(description="the stored variant: GET result.output.url for the image")


class RecolorOut(BaseModel):
    input_name: str
    mask_source: str = Field(description="mask (uploaded), alpha (the upload's transparency), u2netp or grabcut")
    region: Literal["all", "dominant"]
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
    method: Literal["u2netp", "grabcut"] = Form("u2netp", description="how to find the product without a mask or transparency"),
    region: Literal["all", "dominant"] = Form("all", description="the whole product, or only its largest colour"),
    text: bool = Form(True, description="leave the text on the product (OCR) unchanged"),
    logos: bool = Form(True, description="leave small high-contrast marks (logos) unchanged"),
    strength: float = Form(1.0, ge=0.0, le=1.0, description="0 = unchanged .. 1 = the full new colour"),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    from ...ops.recolor import parse_colors

    targets = parse_colors(colors)  # a bad colour is a 400 before the upload is decoded
    data, name = await read_upload(file)
    mask_data = await read_upload(mask, "mask") if mask is not None else None

    def work() -> dict[str, Any]:
        from ...ops.background import mask_to_alpha
        from ...ops.recolor import prepare_recolor, recolor_item

        start = time.perf_counter()
        item = studio.decode(data, name)
        user_mask = None
        if mask_data is not None:
            mask_item = studio.decode(*mask_data)
            user_mask = mask_to_alpha(mask_item.rgba() if mask_item.alpha is not None else mask_item.pixels,
                                      (item.height, item.width), name=f"mask {mask_data[1]}")
        plan = prepare_recolor(item.pixels, alpha=item.alpha, mask=user_mask, method=method, region=region, text=text, logos=logos)
        source_format = item.metadata["source_format"]
        fmt = OUTPUT_FORMAT.get(source_format, "png")
        variants = []
        for target, variant in zip(targets, recolor_item(item, targets, plan, strength=strength)):
            recipe = Recipe.from_dict({
                "name": "recolor",
                "steps": [{"op": "recolor", "color": target.text, "region": region, "text": text, "logos": logos,
                           "strength": strength, "method": method}],
                "output": {"format": fmt},
            })
            encoded, _quality = encode_image(variant, format=fmt)
            rid = new_id()
            try:
                input_path = studio.blobs.put(rid, f"input{INPUT_EXTENSIONS[source_format]}", data)
                output_path = studio.blobs.put(rid, f"output{OUTPUT_EXTENSIONS[fmt]}", encoded)
                result = repo.add_result(
                    studio.db,
                    id=rid, kind="recolor", status="done", input_name=name, recipe=recipe.resolved(), recipe_hash=recipe.hash,
                    ops=[s.op for s in variant.log], models=sorted({s.model for s in variant.log if s.model}),
                    steps=[s.to_dict() for s in variant.log],
                    input_path=str(input_path), input_format=source_format, input_width=item.width, input_height=item.height,
                    output_path=str(output_path), output_format=fmt, output_width=variant.width, output_height=variant.height,
                    output_bytes=len(encoded), seconds=variant.log[-1].seconds,
                )
            except BaseException:
                shutil.rmtree(studio.blobs.folder(rid), ignore_errors=True)
                raise
            variants.append({"color": target.text, "hex": target.hex, "rgb": list(target.rgb), "result": result_dict(result)})
        info = plan.info
        return {
            "input_name": name, "mask_source": info["mask_source"], "region": info["region"], "product_pixels": info["product_pixels"],
            "text_lines": info.get("text_lines"), "logos": info.get("logos"), "variants": variants,
            "seconds": round(time.perf_counter() - start, 4),
        }

    if not targets:
        raise UsageError("no colour given; for example colors=red,navy,#2e8b57")
    return await studio.limiter.run(work)
