"""Privacy route: an anonymized copy of an upload (faces and personal text blurred, no metadata),
stored like /v1/remove-bg's result, with counts by kind -- never the personal data itself.

Only the anonymized output is stored: the upload (faces, personal text, EXIF with GPS ...) is not
kept, so the result has no ``input`` image."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field

from ...errors import OperationError
from ...recipe import Recipe
from ..deps import get_studio, read_upload, require_api_key
from ..forms import op_form
from ..work import Studio, output_format_like, result_dict
from .images import ResultOut

log = logging.getLogger("product_studio.server")

router = APIRouter(prefix="/v1", tags=["privacy"], dependencies=[Depends(require_api_key)])


class PrivacyCounts(BaseModel):
    faces: int | None = Field(None, description="faces blurred (null when faces=false)")
    personal_text: dict[str, int] | None = Field(None, description="personal text blurred, by kind: phone, email, address, id "
                                                                     "(null when text=false)")
    text_lines_read: int | None = None
    metadata_removed: dict[str, int] | None = Field(None, description="metadata the upload carried, by kind (counts only)")


class AnonymizeOut(ResultOut):
    privacy: PrivacyCounts


def _metadata_counts(data: bytes) -> dict[str, int] | None:
    from ...metadata import inspect_metadata

    try:
        return {k: v for k, v in inspect_metadata(data).items() if v}
    except Exception:  # noqa: BLE001 - a format Pillow cannot open for inspection; the pixels were decoded already
        return None


@router.post("/anonymize", response_model=AnonymizeOut,
             summary="An anonymized copy: faces pixelated, personal text blurred, every piece of metadata dropped")
async def anonymize(
    file: UploadFile = File(..., description="the photo"),
    options: dict[str, Any] = Depends(op_form("anonymize")),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)

    def work() -> dict[str, Any]:
        recipe = Recipe.from_dict({
            "name": "anonymize",
            "steps": [{"op": "anonymize", **options}],
            "output": {"format": output_format_like(data)},
        })
        outcome = studio.run(data, name=name, recipe=recipe)
        left = _metadata_counts(outcome.data)
        if left is None or left:  # encode_image writes none; a regression here must never ship quietly
            raise OperationError(f"metadata left in the anonymized output ({', '.join(left or ['unreadable'])}); please report this",
                                 path=name)
        report = outcome.item.metadata.get("privacy") or {}
        counts = {
            "faces": report.get("faces", 0) if options["faces"] else None,
            "personal_text": report.get("personal_text", {}) if options["text"] else None,
            "text_lines_read": report.get("text_lines_read", 0) if options["text"] else None,
            "metadata_removed": _metadata_counts(data),
        }
        result = studio.store(outcome, name=name, recipe=recipe, kind="anonymize")  # the upload is not kept
        return {**result_dict(result), "input": None, "privacy": counts}

    return await studio.limiter.run(work)
