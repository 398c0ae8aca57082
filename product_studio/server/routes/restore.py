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


def one_step_route(op: str, summary: str) -> None:
    """``POST /v1/<op>``: one upload through a one-step recipe of ``op``, its options as form fields
    generated from the op's model; the output's size is bounded before any work by the server's
    limits (pipeline.process: max_output_pixels)."""

    async def route(
        file: UploadFile = File(...),
        options: dict[str, Any] = Depends(op_form(op)),
        format: Literal["png", "jpeg", "webp"] = FORMAT_FIELD,  # noqa: A002 - the form field's name
        studio: Studio = Depends(get_studio),
    ) -> dict[str, Any]:
        data, name = await read_upload(file)
        recipe = Recipe.from_dict({"name": op, "steps": [{"op": op, **options}], "output": {"format": format}})
        return await studio.limiter.run(lambda: result_dict(studio.process_bytes(data, name=name, recipe=recipe, kind=op)))

    route.__name__ = op
    router.post(f"/{op}", response_model=ResultOut, summary=summary)(route)


one_step_route("denoise", "Remove sensor and JPEG noise, keeping the size")
one_step_route("upscale", "Enlarge x2 / x4 (learned upscaler, bicubic or Lanczos)")
