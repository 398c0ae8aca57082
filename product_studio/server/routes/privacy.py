"""Privacy route: an anonymized copy of an upload (faces and personal text blurred, no metadata),
stored like /v1/remove-bg's result, with counts by kind -- never the personal data itself.

Only the anonymized output is stored: the upload (faces, personal text, EXIF with GPS ...) is not
kept, so the result has no ``input`` image."""

from __future__ import annotations

import logging
import shutil
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field

from ...errors import OperationError
from ...imageio import encode_image
from ...recipe import Recipe, run_recipe
from ...store import new_id
from ...store import repository as repo
from ..deps import get_studio, read_upload, require_api_key
from ..work import Studio, result_dict
from .images import ResultOut

log = logging.getLogger("product_studio.server")

router = APIRouter(prefix="/v1", tags=["privacy"], dependencies=[Depends(require_api_key)])

# Formats kept as they are; TIFF, BMP and GIF keep their pixels exactly in PNG; HEIC becomes JPEG (as the CLI does).
OUTPUT_FORMAT = {"jpeg": "jpeg", "png": "png", "webp": "webp", "heif": "jpeg"}
OUTPUT_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}


class PrivacyCounts(BaseModel):
    faces: int | None = Field(None, description="faces blurred (null when faces=false)")
    personal_text: dict[str, int] | None = Field(None, description="personal text blurred, by kind: phone, email, address, id "
                                                                     "(null when text=false)")
    text_lines_read: int | None = None
    metadata_removed: dict[str, int] | None = Field(None, description="metadata the upload carried, by kind (counts only)")


class AnonymizeOut(ResultOut):
    privacy: PrivacyCounts


def _metadata_counts(data: bytes) -> dict[str, int] | None:
    from ...ops.privacy import inspect_metadata

    try:
        return {k: v for k, v in inspect_metadata(data).items() if v}
    except Exception:  # noqa: BLE001 - a format Pillow cannot open for inspection; the pixels were decoded already
        return None


@router.post("/anonymize", response_model=AnonymizeOut,
             summary="An anonymized copy: faces pixelated, personal text blurred, every piece of metadata dropped")
async def anonymize(
    file: UploadFile = File(..., description="the photo"),
    faces: bool = Form(True, description="find and blur faces"),
    text: bool = Form(True, description="read the text (OCR) and blur phone numbers, e-mails, addresses, ID numbers"),
    method: Literal["pixelate", "gaussian"] = Form("pixelate", description="both irreversible"),
    strength: int = Form(7, ge=1, le=10, description="1 (light) .. 10 (coarsest)"),
    scope: Literal["span", "line"] = Form("span", description="blur only the personal part of a line, or the whole line"),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)

    def work() -> dict[str, Any]:
        start = time.perf_counter()
        item = studio.decode(data, name)
        source_format = item.metadata["source_format"]
        fmt = OUTPUT_FORMAT.get(source_format, "png")
        recipe = Recipe.from_dict({
            "name": "anonymize",
            "steps": [{"op": "anonymize", "faces": faces, "text": text, "method": method, "strength": strength, "scope": scope}],
            "output": {"format": fmt},
        })
        final = run_recipe(item, recipe)
        encoded, _quality = encode_image(final, format=fmt)
        left = _metadata_counts(encoded)
        if left is None or left:  # encode_image writes none; a regression here must never ship quietly
            raise OperationError(f"metadata left in the anonymized output ({', '.join(left or ['unreadable'])}); please report this",
                                 path=name)
        report = final.metadata.get("privacy") or {}
        counts = {
            "faces": report.get("faces", 0) if faces else None,
            "personal_text": report.get("personal_text", {}) if text else None,
            "text_lines_read": report.get("text_lines_read", 0) if text else None,
            "metadata_removed": _metadata_counts(data),
        }
        rid = new_id()
        try:
            output_path = studio.blobs.put(rid, f"output{OUTPUT_EXTENSIONS[fmt]}", encoded)
            result = repo.add_result(
                studio.db,
                id=rid, kind="anonymize", status="done", input_name=name, recipe=recipe.resolved(), recipe_hash=recipe.hash,
                ops=[s.op for s in final.log], models=sorted({s.model for s in final.log if s.model}),
                steps=[s.to_dict() for s in final.log],
                input_path=None, input_format=source_format, input_width=item.width, input_height=item.height,
                output_path=str(output_path), output_format=fmt, output_width=final.width, output_height=final.height,
                output_bytes=len(encoded), seconds=round(time.perf_counter() - start, 4),
            )
        except BaseException:
            shutil.rmtree(studio.blobs.folder(rid), ignore_errors=True)
            raise
        return {**result_dict(result), "input": None, "privacy": counts}  # the upload is not kept

    return await studio.limiter.run(work)
