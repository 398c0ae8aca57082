"""Restore routes: /v1/denoise and /v1/upscale, each one upload in, one stored result out (the
same ResultOut as /v1/remove-bg). The work runs as a one-step recipe through the same ops the CLI
and the batch engine use, in a worker thread under the concurrency limit."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile

from ...recipe import Recipe
from ..deps import get_studio, read_upload, require_api_key
from ..forms import op_form
from ..work import Studio, result_dict
from .images import ResultOut

router = APIRouter(prefix="/v1", tags=["restore"], dependencies=[Depends(require_api_key)])

FORMAT_FIELD = Form("png", description="output format: png (lossless, default), jpeg or webp")


@router.post("/denoise", response_model=ResultOut, summary="Remove sensor and JPEG noise, keeping the size")
async def denoise(
    file: UploadFile = File(...),
    options: dict[str, Any] = Depends(op_form("denoise")),
    format: Literal["png", "jpeg", "webp"] = FORMAT_FIELD,
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    return await _one_step(studio, file, "denoise", options, format)


@router.post("/upscale", response_model=ResultOut, summary="Enlarge x2 / x4 (learned upscaler, bicubic or Lanczos)")
async def upscale(
    file: UploadFile = File(...),
    options: dict[str, Any] = Depends(op_form("upscale")),
    format: Literal["png", "jpeg", "webp"] = FORMAT_FIELD,
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    # The output's size is bounded before any work by the server's limits (pipeline.process: max_output_pixels).
    return await _one_step(studio, file, "upscale", options, format)


async def _one_step(studio: Studio, file: UploadFile, op: str, options: dict[str, Any], fmt: str) -> dict[str, Any]:
    data, name = await read_upload(file)
    recipe = Recipe.from_dict({"name": op, "steps": [{"op": op, **options}], "output": {"format": fmt}})
    return await studio.limiter.run(lambda: result_dict(studio.process_bytes(data, name=name, recipe=recipe, kind=op)))
