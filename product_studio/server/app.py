"""The app factory: ``create_app(Settings())``. Routers per area under /v1, the web page at /.

    uvicorn --factory product_studio.server.app:create_app_from_env

Errors are JSON ``{"detail": message}``: a StudioError answers its ``http_status`` (400 usage,
413 too large, 415 not an image, 422 unreadable ...), validation errors 422 with one line per field.
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..version import __version__
from ..errors import StudioError
from ..runtime import check_settings
from ..store import BlobStore, open_database
from .deps import ApiKeyMiddleware, redact_keys_in_access_log
from .limits import BodySizeLimitMiddleware, CpuLimiter
from .routes import feedback, generate, images, jobs, meta, privacy, recolor, restore, results, understand, web
from .settings import Settings, load_settings
from .work import JobRunner, Studio

log = logging.getLogger("product_studio.server")

DESCRIPTION = """Marketplace-ready product photos as a service.

Upload with multipart (`file`, `preset`, optional `recipe` as a JSON string of the Recipe schema — the
same schema the CLI reads from YAML), or POST JSON to `/v1/process/json`. Results are stored and served
at `/v1/results/{id}/output` (and `/input` only when the server keeps uploads: `keep_inputs`); rate them
with `POST /v1/feedback`; delete one with `DELETE /v1/results/{id}`, or let it expire after
`retention_days` (7 by default).

Limits: request bodies over `max_upload_bytes` → 413 (counted on the stream), images over `max_pixels`
→ 413 (checked before decoding), more than `max_concurrency` image requests at once → 429 with
Retry-After, work over `request_timeout_s` → 504. With API keys set, send `X-API-Key: <key>` or
`Authorization: Bearer <key>` (headers only: a key in the URL is refused)."""


class ErrorOut(BaseModel):
    """Every error answer: one line that says what went wrong and what to do (validation errors: one
    ``field: problem`` per field, joined with ``; ``)."""

    detail: str


# What each error status means here; which operation may answer which is decided in ``_error_statuses``.
ERROR_STATUSES = {
    400: "bad usage: an unknown preset, a recipe that is not valid, options that do not fit together",
    401: "missing or wrong API key (send it in the X-API-Key or Authorization: Bearer header)",
    403: "not allowed on this server (URL fetching is off, or the URL points at a non-public address)",
    404: "no such result, job, preset or index",
    413: "too large: the request body, the image's pixels, the recipe's output or steps, the job's files",
    415: "not a supported image format (judged by its bytes)",
    422: "a field is missing or invalid, or the image is damaged",
    429: "busy: too many requests or jobs at once; retry after the Retry-After header's seconds",
    500: "internal error; the server log has the details",
    503: "a service the route needs is unusable (the search index)",
    504: "the work took longer than the server's request_timeout_s",
}


# The media types of an uploaded image part (the server judges the format by the bytes, not by this header).
IMAGE_MEDIA_TYPES = "image/jpeg, image/png, image/webp, image/tiff, image/bmp, image/gif"


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from what it takes: a key (401), a body (400, 413, 422),
    an uploaded image (415), a path id (404), image work in a CPU slot (413, 415, 429, 504)."""
    statuses = {500}
    if path.startswith("/v1/") and path != "/v1/health":
        statuses.add(401)
    if operation.get("parameters") or operation.get("requestBody"):
        statuses |= {400, 422}
    if operation.get("requestBody"):
        statuses.add(413)
    if "{" in path or path in ("/v1/search", "/v1/feedback"):
        statuses.add(404)
    if method == "post" and path.startswith("/v1/") and path != "/v1/feedback":
        statuses |= {413, 415, 429, 504}
    if path == "/v1/jobs" and method == "post":
        statuses.discard(504)  # queued, not run in the request
    if path == "/v1/generate":
        statuses.discard(415)  # makes images, takes none
    if path == "/v1/process/json":
        statuses.add(403)
    if path == "/v1/search":
        statuses.add(503)
    return statuses


# Rules between fields, and choices the API narrows, in the request bodies (the routes check them: 400).
_ONLY = {"type": "null"}  # in `properties`: absent or null
_THRESHOLD = {"exclusiveMinimum": 0, "exclusiveMaximum": 256}  # ops/repair.py's RepairDefectsOptions.threshold
# grey levels for the classical detector, a probability for the learned one (auto: the learned one, shipped)
_LEARNED_THRESHOLD = {"anyOf": [{"required": ["detector"], "properties": {"detector": {"enum": ["classical"]}}},
                                {"properties": {"threshold": {"exclusiveMaximum": 1}}}]}
_RECIPE_TEXT = {"type": "string", "format": "recipe-json", "contentMediaType": "application/json",
                "contentSchema": {"$ref": "#/components/schemas/Recipe"}}
BODY_RULES: dict[str, dict[str, Any]] = {
    # a mask file (mode absent or mask), or mode auto/text without one; repair_defects' threshold range
    "Body_repair_v1_repair_post": {"properties": {"threshold": _THRESHOLD}, **_LEARNED_THRESHOLD, "oneOf": [
        {"required": ["mask"], "properties": {"mode": {"enum": ["mask"]}}},
        {"required": ["mode"], "properties": {"mode": {"enum": ["auto", "text"]}}, "not": {"required": ["mask"]}}]},
    # the multipart recipe: a Recipe as JSON text (format recipe-json names that; the API fuzzer's hooks draw them)
    "Body_process_v1_process_post": {"properties": {"recipe": _RECIPE_TEXT}},
    "Body_create_job_v1_jobs_post": {"properties": {"recipe": _RECIPE_TEXT}},
    "Body_repair_mask_v1_repair_mask_post": {"properties": {"threshold": _THRESHOLD}, **_LEARNED_THRESHOLD},
    # method=mask reads a local mask file (mask_path), which the API does not take
    "Body_remove_bg_v1_remove_bg_post": {"properties": {"method": {"enum": ["u2netp", "grabcut"]}}},
    # exactly one of image_base64 (a non-empty base64 image file) and image_url
    "ProcessJSON": {
        "properties": {"image_base64": {"anyOf": [{"type": "string", "format": "byte", "minLength": 1}, _ONLY]}},
        "oneOf": [{"required": ["image_base64"], "properties": {"image_base64": {"type": "string"}, "image_url": _ONLY}},
                  {"required": ["image_url"], "properties": {"image_url": {"type": "string"}, "image_base64": _ONLY}}]},
}


def _allowed_methods(document: dict[str, Any], path: str) -> str:
    """The methods the document gives ``path`` (HEAD with GET), for a 405's Allow header."""
    methods: set[str] = set()
    for template, operations in document.get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _drop_null(field: dict[str, Any]) -> None:
    """``anyOf: [X, {type: null}]`` becomes X (title, description and default kept) in place."""
    branches = [b for b in field.get("anyOf", ()) if b.get("type") != "null"]
    if "anyOf" in field and len(branches) == 1:
        del field["anyOf"]
        field.update(branches[0])


def _openapi_with_errors(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, made true about errors: every operation lists the error statuses it can answer,
    each with the one error body the server sends (``ErrorOut``), 422 included (FastAPI would promise a
    list of ValidationError objects; the server answers one line)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = ErrorOut.model_json_schema()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(_error_statuses(path, method, operation)):
                responses[str(status)] = {"description": ERROR_STATUSES[status], "content": error}
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    uploads: dict[str, list[str]] = {}  # Body_ component -> its file fields
    for name, body in components.items():  # a single uploaded file is never empty (400 "the uploaded file is empty")
        if name.startswith("Body_"):  # (a job's files may be: an empty one is reported as that file's failure)
            for field_name, field in body.get("properties", {}).items():
                _drop_null(field)  # a form field is absent or text: multipart has no null
                if field.get("type") == "string" and field_name in body.get("required", ()):
                    field.setdefault("minLength", 1)  # an empty value is a missing field (422) in a form
                if field.get("type") == "array" and field_name in body.get("required", ()):
                    field["minItems"] = 1  # (FastAPI answers 422 "Field required" for no part at all)
                for part in (field, *field.get("anyOf", ()), field.get("items") or {}):
                    if part.get("format") == "binary" or part.get("contentMediaType") == "application/octet-stream":
                        uploads.setdefault(name, []).append(field_name)
                        if part is not field.get("items"):
                            part["minLength"] = 1
    for operations in schema.get("paths", {}).values():  # each file part is an image: say which media types
        for operation in operations.values():
            form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            ref = (form or {}).get("schema", {}).get("$ref", "")
            for field_name in uploads.get(ref.rsplit("/", 1)[-1], ()):
                form.setdefault("encoding", {})[field_name] = {"contentType": IMAGE_MEDIA_TYPES}
    for name, rules in BODY_RULES.items():  # what one field's schema cannot say
        if name in components:
            for key, value in rules.items():
                if key == "properties":
                    for field, patch in value.items():
                        components[name]["properties"][field].update(patch)
                else:
                    components[name][key] = value
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app with its own database engine, blob store, limits and job runner.

    Raises UsageError when the settings would expose the service (non-loopback host, no API keys)."""
    settings = settings or Settings()
    settings.check_safe()
    check_settings()  # the core's own PRODUCT_STUDIO_* values (bf16, threads, per-file limits)
    data_dir = Path(settings.data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    studio = Studio(
        settings=settings,
        db=db,
        blobs=BlobStore(data_dir / "blobs", keyring=settings.keyring()),
        limiter=CpuLimiter(max_concurrency=settings.max_concurrency, cpu_slots=settings.cpu_slots,
                           timeout_s=settings.request_timeout_s, retry_after_s=settings.retry_after_s),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        studio.jobs = JobRunner(studio, workers=settings.job_workers, lease_s=settings.job_lease_s)
        studio.jobs.expire()  # jobs of a server that stopped (leases run out); the heartbeat repeats this
        studio.sweep()  # results past their retention, at start-up and every retention_sweep_s
        sweeper = asyncio.create_task(_sweep_periodically(studio))
        try:
            yield
        finally:
            sweeper.cancel()
            studio.jobs.shutdown()
            studio.limiter.shutdown()
            db.dispose()

    # /docs and /redoc are ours (routes/web.py): their assets come from the package, not from a CDN
    app = FastAPI(title="Product Studio", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.studio = studio
    app.state.settings = settings
    app.openapi = lambda: _openapi_with_errors(app)  # type: ignore[method-assign]

    @app.exception_handler(StudioError)
    async def studio_error(_request: Request, exc: StudioError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body') or 'body'}: {err.get('msg')}" for err in exc.errors()
        )
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:  # Starlette names the first route's methods; a path may have several routes
            allowed = _allowed_methods(app.openapi(), request.url.path)
            exc = StarletteHTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allowed})
        return await http_exception_handler(request, exc)

    @app.exception_handler(RecursionError)
    async def too_deep(_request: Request, _exc: RecursionError) -> JSONResponse:
        # json.loads of a body or recipe field like [[[[...]]]] (found by fuzzing); was a 500
        return JSONResponse({"detail": "the request's JSON nests too deeply; send a flat Recipe object"}, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); the server log has the details"}, status_code=500)

    for router in (meta.public, meta.router, images.router, understand.router, privacy.router, results.router, jobs.router,
                   feedback.router, generate.router, restore.router, recolor.router, web.router, web.docs):
        app.include_router(router)
    if web.STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount(web.DOCS_ASSETS_URL, StaticFiles(directory=web.DOCS_ASSETS_DIR), name="docs-assets")

    # The last added runs first: CORS (answers preflights, labels every answer), then the key check on the
    # headers (401 before any of the body is read), then the body cap counted on the stream.
    # Starlette spools a multipart file over 1 MB to a plain temporary file (in /tmp, outside the data dir and
    # its encryption): keep uploads in memory instead, up to the body cap the middleware counts.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_upload_bytes)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(ApiKeyMiddleware, keys=settings.api_keys)
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type"])
    redact_keys_in_access_log()
    return app


async def _sweep_periodically(studio: Studio) -> None:
    while True:
        await asyncio.sleep(studio.settings.retention_sweep_s)
        try:
            await run_in_threadpool(studio.sweep)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            log.exception("the retention sweep failed")


def create_app_from_env() -> FastAPI:
    """The factory uvicorn calls (``--factory``): settings from PRODUCT_STUDIO_* variables."""
    return create_app(load_settings())
