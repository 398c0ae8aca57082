"""Restore routes: /v1/denoise and /v1/upscale, each one upload in, one stored result out (the
same ResultOut as /v1/remove-bg). The work runs as a one-step recipe through the same ops the CLI
and the batch engine use, in a worker thread under the concurrency limit."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile

from ...errors import UsageError
from ...recipe import Recipe
from ..deps import get_studio, read_upload, require_api_key
from ..work import Studio, result_dict
from .images import ResultOut

router = APIRouter(prefix="/v1", tags=["restore"], dependencies=[Depends(require_api_key)])

FORMAT_FIELD = Form("png", description="output format: png (lossless, default), jpeg or webp")


@router.post("/denoise", response_model=ResultOut, summary="Remove sensor and JPEG noise, keeping the size")
async def denoise(
    file: UploadFile = File(...),
    strength: float = Form(0.5, ge=0.0, le=1.0, description="0 = unchanged, 0.5 = the measured noise level, 1 = twice as strong"),
    method: Literal["auto", "cnn", "nlm"] = Form("auto", description="cnn (learned), nlm (non-local means), auto = cnn when installed"),
    format: Literal["png", "jpeg", "webp"] = FORMAT_FIELD,
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)
    recipe = Recipe.from_dict({"name": "denoise", "steps": [{"op": "denoise", "strength": strength, "method": method}],
                               "output": {"format": format}})
    return await studio.limiter.run(lambda: result_dict(studio.process_bytes(data, name=name, recipe=recipe, kind="denoise")))


@router.post("/upscale", response_model=ResultOut, summary="Enlarge x2 / x4 (learned upscaler, bicubic or Lanczos)")
async def upscale(
    file: UploadFile = File(...),
    scale: int = Form(2, ge=2, le=4, description="enlargement factor, 2 or 4 (when no minimum is given)"),
    method: Literal["cnn", "bicubic", "lanczos"] = Form("cnn"),
    min_side: int | None = Form(None, ge=1, le=20000, description="upscale only until the shorter side is at least this"),
    min_long_side: int | None = Form(None, ge=1, le=20000, description="upscale only until the longer side is at least this"),
    format: Literal["png", "jpeg", "webp"] = FORMAT_FIELD,
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    if scale not in (2, 4):
        raise UsageError(f"scale must be 2 or 4; got {scale}")
    data, name = await read_upload(file)
    step: dict[str, Any] = {"op": "upscale", "scale": scale, "method": method, "min_side": min_side, "min_long_side": min_long_side}
    recipe = Recipe.from_dict({"name": "upscale", "steps": [step], "output": {"format": format}})

    # The output's size is bounded before any work by the server's limits (pipeline.process: max_output_pixels).
    return await studio.limiter.run(lambda: result_dict(studio.process_bytes(data, name=name, recipe=recipe, kind="upscale")))
