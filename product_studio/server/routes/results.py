"""Stored results: the record and the image bytes."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, Response

from ...store import repository as repo
from ..deps import get_studio, require_api_key
from ..work import CONTENT_TYPES, Studio, result_dict
from .images import ResultOut

_ID = re.compile(r"^[0-9a-f]{32}$")

router = APIRouter(prefix="/v1/results", tags=["results"], dependencies=[Depends(require_api_key)])


def _result(studio: Studio, result_id: str):
    result = repo.get_result(studio.db, result_id)
    if result is None:
        raise HTTPException(404, f"no result {result_id}; results come from POST /v1/process, /v1/remove-bg, /v1/repair or a job")
    return result


@router.get("/{result_id}", response_model=ResultOut, summary="A result's record")
def get_result(result_id: str, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    return result_dict(_result(studio, result_id))


# The stored input is the upload as sent, so it may be a polyglot (a JPEG that is also HTML or a ZIP):
# its Content-Type comes from the sniffed format it was decoded as, and browsers must not second-guess it.
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}


def _file(studio: Studio, result_id: str, which: str) -> Response:
    result = _result(studio, result_id)
    stored = getattr(result, f"{which}_path")
    path = studio.blobs.path(stored) if stored else None
    if path is None:
        reason = ("the server keeps uploads only with keep_inputs on" if which == "input" and result.status == "done"
                  else "it failed, or its files were cleaned up")
        raise HTTPException(404, f"result {result_id} has no {which} image ({reason})")
    media_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    headers = {"Cache-Control": "private, max-age=86400, immutable", **SAFE_HEADERS}
    if studio.blobs.encrypted or studio.blobs.is_sealed(path):  # decrypted in memory (or a clear error: no key)
        return Response(studio.blobs.read(path), media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


@router.delete("/{result_id}", status_code=204, response_class=Response,
               summary="Delete a result: its input (if kept), output, mask and record (its rating stays as an anonymous vote)",
               responses={404: {"description": "no such result"}})
def delete_result(result_id: str, studio: Studio = Depends(get_studio)) -> Response:
    if not _ID.match(result_id) or not studio.delete_result(result_id):
        raise HTTPException(404, f"no result {result_id}")
    return Response(status_code=204)


@router.get("/{result_id}/input", response_class=FileResponse,
            summary="The uploaded image, as sent (only when the server keeps uploads: keep_inputs; 404 otherwise)",
            responses={200: {"content": {"image/*": {}}}})
def get_input(result_id: str, studio: Studio = Depends(get_studio)) -> Response:
    return _file(studio, result_id, "input")


@router.get("/{result_id}/output", response_class=FileResponse, summary="The processed image",
            responses={200: {"content": {"image/*": {}}}})
def get_output(result_id: str, studio: Studio = Depends(get_studio)) -> Response:
    return _file(studio, result_id, "output")
