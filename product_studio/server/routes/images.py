"""Image routes: process, check, remove-bg, repair. Uploads are multipart; the work runs in a
worker thread under the concurrency limit (429), the CPU slots and the time limit (504)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.client
import ipaddress
import shutil
import socket
import threading
import urllib.parse
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ...errors import CorruptImageError, ImageTooLargeError, UsageError
from ...imageio import image_size
from ...ops.registry import get_op
from ...marketplaces import list_presets
from ...marketplaces.presets import default_preset_name
from ...recipe import Recipe
from ...store import new_id
from ..deps import client_recipe, get_studio, known_preset, parse_recipe_field, read_upload, require_api_key
from ..forms import op_form
from ..work import Studio, result_dict

router = APIRouter(prefix="/v1", tags=["images"], dependencies=[Depends(require_api_key)])

PRESET_FIELD = Form(default_preset_name(), description="marketplace preset (GET /v1/presets); the output is checked against it",
                    json_schema_extra={"enum": list_presets()})  # the document names the shipped presets (400 for another)
RECIPE_FIELD = Form(None, description="optional Recipe as a JSON string (the schema of POST /v1/process/json's `recipe`, "
                                      "the same as the CLI's YAML); default: the preset's recipe, tuned by feedback")


class ImageRef(BaseModel):
    url: str | None = Field(description="GET it for the image bytes; null for an input the server did not keep "
                                        "(it keeps uploads only with keep_inputs on)")
    width: int | None = None
    height: int | None = None
    format: str | None = None


class OutputRef(ImageRef):
    bytes: int | None = None


class ResultOut(BaseModel):
    """A processed image: where its input and output are, its compliance report and the steps that ran."""

    id: str
    status: Literal["done", "failed"]
    kind: str | None = None
    input_name: str | None = None
    preset: str | None = None
    recipe: dict[str, Any] | None = Field(None, description="name, hash, and the tunable option values used (variant)")
    input: ImageRef | None = None
    output: OutputRef | None = None
    compliance: dict[str, Any] | None = Field(None, description="ComplianceReport.to_dict() of the output file")
    steps: list[dict[str, Any]] = Field(default_factory=list, description="the item's log: op, params, seconds, model")
    models: list[str] = Field(default_factory=list)
    seconds: float | None = None
    error: str | None = None


class ProcessJSON(BaseModel):
    """JSON variant of /v1/process: the image inline (base64) or by URL (only when the server allows URL fetching)."""

    model_config = ConfigDict(extra="forbid")
    image_base64: str | None = Field(None, description="the image file's bytes, base64")
    image_url: str | None = Field(None, description="http(s) URL to fetch; refused (403) unless allow_url_fetch is on")
    name: str = Field("image", description="a name for reports and errors")
    preset: str = Field(default_preset_name(), json_schema_extra={"enum": list_presets()})
    recipe: Recipe | None = Field(None, description="the Recipe (same schema as the CLI's YAML); default: the preset's")


@router.post("/process", response_model=ResultOut, summary="Process one uploaded image with a preset's recipe or your own")
async def process(
    file: UploadFile = File(..., description="the photo (JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC)"),
    preset: str = PRESET_FIELD,
    recipe: str | None = RECIPE_FIELD,
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)
    chosen = parse_recipe_field(recipe, preset, studio.limits)
    return await _process(studio, data, name, chosen, preset)


@router.post("/process/json", response_model=ResultOut, summary="Process one image sent as JSON (base64 or URL)")
async def process_json(body: ProcessJSON, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    if (body.image_base64 is None) == (body.image_url is None):
        raise UsageError("give exactly one of image_base64 and image_url")
    chosen = client_recipe(body.recipe, body.preset, studio.limits) if body.recipe is not None else None
    if body.image_url is not None:
        if not studio.settings.allow_url_fetch:
            raise HTTPException(403, "fetching image URLs is off on this server (allow_url_fetch); upload the file instead")
        data = await studio.limiter.run(fetch_url, body.image_url, studio.settings.max_upload_bytes,
                                        studio.settings.url_fetch_allow_private, studio.settings.url_fetch_timeout_s)
    else:
        try:
            data = base64.b64decode(body.image_base64, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError("image_base64 is not valid base64") from None
    return await _process(studio, data, body.name, chosen, body.preset)


async def _process(studio: Studio, data: bytes, name: str, recipe: Recipe | None, preset: str) -> dict[str, Any]:
    preset_name = known_preset(preset)

    def work():
        chosen = recipe if recipe is not None else studio.default_recipe(preset_name)[0]
        return result_dict(studio.process_bytes(data, name=name, recipe=chosen))

    return await studio.limiter.run(work)


@router.post("/check", summary="Check an uploaded image against a preset, rule by rule (nothing is stored)")
async def check(
    file: UploadFile = File(...), preset: str = PRESET_FIELD, studio: Studio = Depends(get_studio)
) -> dict[str, Any]:
    data, name = await read_upload(file)
    return await studio.limiter.run(studio.check_bytes, data, name, known_preset(preset))


@router.post("/remove-bg", response_model=ResultOut, summary="Cut the product out: an RGBA PNG")
async def remove_bg(
    file: UploadFile = File(...),
    options: dict[str, Any] = Depends(op_form("remove_background")),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)
    recipe = Recipe.from_dict({"name": "remove-bg", "steps": [{"op": "remove_background", **options}], "output": {"format": "png"}})
    return await studio.limiter.run(lambda: result_dict(studio.process_bytes(data, name=name, recipe=recipe, kind="remove-bg")))


REPAIR_OPS = {"mask": "inpaint", "auto": "repair_defects", "text": "remove_text"}  # mode -> the step it runs


@router.post("/repair", response_model=ResultOut,
             summary="Repair a photo: fill a mask's regions, or found defects (mode=auto), or overlaid text (mode=text)")
async def repair(
    file: UploadFile = File(...),
    mask: UploadFile | None = File(None, description="mode=mask: PNG mask of the image's size, white (or opaque) = fill"),
    mode: Literal["mask", "auto", "text"] | None = Form(
        None, description="mask: fill what the uploaded mask marks (the default when a mask is sent); auto: find scratches, "
                          "stains and dust and fill them; text: find text with OCR and remove its letters (watermarks)"),
    options: dict[str, Any] = Depends(op_form(list(REPAIR_OPS.values()), rename={"match": "text"},
                                              labels={op: f"mode={m}" for m, op in REPAIR_OPS.items()})),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)
    mode = mode or ("mask" if mask is not None else None)
    if mode is None:
        raise UsageError("send a mask file, or set mode=auto (find defects) or mode=text (remove overlaid text)")
    if mode == "mask" and mask is None:
        raise UsageError("mode=mask needs a mask file: a PNG of the image's size, white = fill")
    if mode != "mask" and mask is not None:
        raise UsageError(f"mode={mode} finds its own mask; leave the mask file out or use mode=mask")
    op = REPAIR_OPS[mode]
    taken = get_op(op).options.model_fields
    step = {"op": op, **{k: v for k, v in options.items() if k in taken}}  # another mode's options do not apply
    if mode != "mask":
        return await studio.limiter.run(lambda: _repair_with(studio, data, name, step))
    mask_data, mask_name = await read_upload(mask, "mask")  # type: ignore[arg-type]

    def work():
        image_size, mask_size = _header_size(data, name), _header_size(mask_data, mask_name)
        if image_size != mask_size:
            raise UsageError(f"the mask is {mask_size[0]}x{mask_size[1]} but the image is {image_size[0]}x{image_size[1]}; "
                             "export the mask at the image's size", path=mask_name)
        studio.decode(mask_data, mask_name)  # a clear error for a bad mask file
        rid = new_id()
        stored = studio.blobs.put(rid, "mask.png", mask_data)
        try:
            with studio.blobs.readable(stored) as mask_path:  # a 0600 plain copy while encryption is on
                recipe = Recipe.from_dict({
                    "name": "repair",
                    "steps": [{**step, "mask_path": str(mask_path)}],
                    "output": {"format": "png"},
                })
                answer = result_dict(studio.process_bytes(data, name=name, recipe=recipe, kind="repair", result_id=rid))
        except BaseException:
            shutil.rmtree(studio.blobs.folder(rid), ignore_errors=True)
            raise
        if not studio.settings.keep_inputs:  # the mask is an upload too: kept only when uploads are
            stored.unlink(missing_ok=True)
        return answer

    return await studio.limiter.run(work)


def _repair_with(studio: Studio, data: bytes, name: str, step: dict[str, Any]) -> dict[str, Any]:
    recipe = Recipe.from_dict({"name": "repair", "steps": [step], "output": {"format": "png"}})
    return result_dict(studio.process_bytes(data, name=name, recipe=recipe, kind="repair"))


@router.post("/repair/mask", summary="The mask /v1/repair would fill (PNG, white = fill): found defects or text, to look at and edit",
             response_class=Response, responses={200: {"content": {"image/png": {}}, "description": "the mask, at the image's size"}})
async def repair_mask(
    file: UploadFile = File(...),
    mode: Literal["auto", "text"] = Form("auto", description="auto: scratches, stains and dust; text: the letters of overlaid text"),
    options: dict[str, Any] = Depends(op_form(["repair_defects", "remove_text"], exclude=("method", "radius"), rename={"match": "text"},
                                              labels={"repair_defects": "mode=auto", "remove_text": "mode=text"})),
    studio: Studio = Depends(get_studio),
) -> Response:
    data, name = await read_upload(file)
    op = get_op(REPAIR_OPS[mode])
    chosen = op.parse_options({k: v for k, v in options.items() if k in op.options.model_fields})  # the step's own check

    def work() -> bytes:
        import numpy as np

        from ...imageio import encode_image
        from ...ops.repair import detect_defects, text_mask

        item = studio.decode(data, name)
        if mode == "auto":
            found = detect_defects(item.pixels, method=chosen.detector, threshold=chosen.threshold, grow=chosen.grow,
                                   min_area=chosen.min_area)
        else:
            found, _lines = text_mask(item.pixels, match=chosen.match, grow=chosen.grow, min_confidence=chosen.min_confidence)
        encoded, _ = encode_image(np.dstack([found] * 3), format="png")
        return encoded

    return Response(await studio.limiter.run(work), media_type="image/png")


def _header_size(data: bytes, name: str) -> tuple[int, int]:
    try:
        return image_size(data, name=name)  # judged by magic bytes: no Pillow parser of another format runs
    except CorruptImageError:  # not an image (415) and too large (413) keep their own status
        raise UsageError("not a readable image", path=name) from None


def fetch_url(url: str, max_bytes: int, allow_private: bool, timeout: float = 15.0) -> bytes:
    """GET an http(s) URL with a byte cap and a **total** deadline of ``timeout`` seconds (connect, headers
    and body together: a server that trickles one byte a second is cut off at the deadline, not kept for
    as long as it keeps each read under a per-read timeout). Private, loopback and link-local addresses
    are refused unless allowed; redirects are refused (one could point inside the network)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("image_url must be an http:// or https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UsageError("image_url has a bad port") from None
    if not allow_private:
        try:
            infos = socket.getaddrinfo(parts.hostname, port)
        except socket.gaierror:
            raise UsageError(f"cannot resolve {parts.hostname}") from None
        for info in infos:
            if not ipaddress.ip_address(info[4][0]).is_global:
                raise HTTPException(403, f"{parts.hostname} resolves to a non-public address; refused")
    too_slow = f"fetching the image URL took longer than {timeout:g} s (the server's url_fetch_timeout_s); upload the file instead"
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, port, timeout=timeout)
    expired = threading.Event()
    opened: list[socket.socket] = []  # the connection forgets its socket once the response will close it

    def cut_off() -> None:  # at the deadline, whatever the connection is doing: a blocked read returns at once
        expired.set()
        for sock in [*opened, connection.sock]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.connect()  # bounded by the socket timeout; the watchdog covers everything after
        opened.append(connection.sock)
        if expired.is_set():
            raise UsageError(too_slow)
        connection.request("GET", target, headers={"User-Agent": "product-studio"})
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise UsageError("the image URL redirects; give the final URL")
        if response.status >= 400:
            raise UsageError(f"fetching the image URL failed: HTTP {response.status}")
        chunks, received = [], 0
        while chunk := response.read1(65536):
            received += len(chunk)
            if received > max_bytes:
                raise ImageTooLargeError(f"the image at the URL is over the limit of {max_bytes:,} bytes")
            chunks.append(chunk)
        if expired.is_set():  # a shut-down socket reads as a clean end: the body is cut short
            raise UsageError(too_slow)
        return b"".join(chunks)
    except (http.client.HTTPException, OSError) as exc:
        raise UsageError(too_slow if expired.is_set() else f"fetching the image URL failed: {exc}") from None
    finally:
        watchdog.cancel()
        connection.close()
