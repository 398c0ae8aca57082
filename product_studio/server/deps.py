"""Dependencies the routes share: the app's Studio, the API key check, form parsing helpers.

The key is checked twice: first by ``ApiKeyMiddleware`` on the request's headers, before any of its body
is read or any limit counts it (an unauthenticated 20 MB upload is answered 401 at once); then by the
routes' ``require_api_key`` dependency, which also documents the scheme in OpenAPI. Keys are accepted in
headers only (``X-API-Key`` or ``Authorization: Bearer``): a key in a URL ends up in logs and histories, so
``?api_key=`` is refused, and ``RedactKeys`` keeps any such parameter out of the access log.
"""

from __future__ import annotations

import hmac
import json
import logging
import re

from fastapi import Depends, HTTPException, Request, UploadFile
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import PresetError, RecipeError
from ..limits import Limits
from ..ops.registry import get_op, local_only_fields
from ..marketplaces import list_presets
from ..pipeline import check_length, check_recipe
from ..recipe import Recipe
from .work import Studio

_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="one of the server's api_keys")
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <api key>")

UNAUTHORIZED = "missing or wrong API key: send it as X-API-Key or Authorization: Bearer"
KEY_IN_URL = "an API key in the URL is refused (URLs end up in logs): send it as X-API-Key or Authorization: Bearer"
PUBLIC_PATHS = frozenset({"/v1/health"})  # under /v1, everything else needs a key when the server has keys
_KEY_PARAM = re.compile(r"(?i)(?:^|&)(?:api[_-]?key|key|token|access_token)=")


async def get_studio(request: Request) -> Studio:
    return request.app.state.studio


def key_matches(given: str | None, keys: list[str]) -> bool:
    """True when ``given`` is one of ``keys`` (compared in constant time)."""
    return bool(given) and any(hmac.compare_digest(given.encode(), key.encode()) for key in keys)


def _header_key(headers: list[tuple[bytes, bytes]]) -> list[str]:
    found = []
    for name, value in headers:
        if name == b"x-api-key":
            found.append(value.decode("latin-1").strip())
        elif name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                found.append(credentials.strip())
    return found


class ApiKeyMiddleware:
    """Pure ASGI: with keys configured, a request to /v1 (but /v1/health) without a valid key in its
    headers is answered 401 before its body is read; the connection is then closed, so the rest of an
    upload is never received. CORS preflights (OPTIONS) pass: browsers send them without the key."""

    def __init__(self, app: ASGIApp, *, keys: list[str]) -> None:
        self.app = app
        self.keys = list(keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or not self.keys or scope.get("method") == "OPTIONS" or not path.startswith("/v1/")
                or path in PUBLIC_PATHS):
            await self.app(scope, receive, send)
            return
        if _KEY_PARAM.search(scope.get("query_string", b"").decode("latin-1")):
            await _refuse(send, KEY_IN_URL)
            return
        if not any(key_matches(given, self.keys) for given in _header_key(scope.get("headers", []))):
            await _refuse(send, UNAUTHORIZED)
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b"Bearer"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RedactKeys(logging.Filter):
    """Replaces the value of key-like query parameters (api_key, key, token, access_token) in log records
    (uvicorn's access log carries the path with its query string) by ``[redacted]``."""

    _pattern = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token)=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._pattern.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = self._pattern.sub(r"\1[redacted]", record.msg)
        return True


def redact_keys_in_access_log() -> None:
    """Install ``RedactKeys`` on uvicorn's access logger (once per process)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactKeys) for f in logger.filters):
        logger.addFilter(RedactKeys())


async def require_api_key(
    request: Request,
    header: str | None = Depends(_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> None:
    """401 unless a configured key is given in a header; a no-op when the server has no keys (loopback
    only). ``ApiKeyMiddleware`` has already answered requests without one; this documents the scheme."""
    keys = request.app.state.studio.settings.api_keys
    if not keys:
        return
    if not (key_matches(header, keys) or key_matches(bearer.credentials if bearer else None, keys)):
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


def known_preset(name: str) -> str:
    """A shipped preset's name. The server never reads preset files named by a client (paths)."""
    key = (name or "").strip().lower()
    if key not in list_presets():
        raise PresetError(f"unknown preset '{name}'. Known presets: {', '.join(list_presets())}")
    return key


def parse_recipe_field(recipe: str | None, preset: str, limits: Limits) -> Recipe | None:
    """The optional ``recipe`` form field: a JSON Recipe (same schema as the CLI's YAML). Its preset
    defaults to the ``preset`` field."""
    if recipe is None or not recipe.strip():
        return None
    try:
        data = json.loads(recipe)
    except json.JSONDecodeError as exc:
        raise RecipeError(f"recipe: not valid JSON ({exc}); send a Recipe object as a JSON string") from None
    if not isinstance(data, dict):
        raise RecipeError("recipe: a recipe is a JSON object with 'steps' (and optionally 'name', 'preset', 'output')")
    steps = data.get("steps")
    if isinstance(steps, list):
        check_length(len(steps), limits)  # a long recipe is refused before its steps are validated
    return client_recipe(Recipe.from_dict(data, source="recipe"), preset, limits)


def client_recipe(recipe: Recipe, preset: str, limits: Limits) -> Recipe:
    """A recipe from a client, made safe: within the server's limits (steps, planned output pixels: 413
    before any upload is decoded), checked against its own preset or ``preset`` (shipped presets only),
    and no option that only a local user may set (a file on the server, a memory cap: the options
    models mark them ``LOCAL_ONLY``)."""
    check_recipe(recipe, limits)
    for index, step in enumerate(recipe.steps):
        refused = sorted(set(step.model_extra or {}) & local_only_fields(get_op(step.op).options))
        if refused:
            raise RecipeError(
                f"recipe: steps.{index} ({step.op}) sets {', '.join(refused)}, which only the command line may set; "
                "leave it out (masks are uploaded to /v1/repair and /v1/recolor)"
            )
    return recipe.model_copy(update={"preset": known_preset(recipe.preset or preset)})


def display_name(filename: str | None, default: str) -> str:
    """A client's file name as we keep it (reports, errors, the database): the last path part only, no
    control or bidi-override characters (NUL breaks PostgreSQL text, CR/LF headers and logs), at most
    200 characters. It never names a file on the server: stored files are ``input.<ext>``, ``upload-N``."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    return name[:200] if name.strip(" .") else default


async def read_upload(file: UploadFile, field: str = "file") -> tuple[bytes, str]:
    data = await file.read()
    name = display_name(file.filename, field)
    if not data:
        raise HTTPException(400, f"{name}: the uploaded {field} is empty (0 bytes); choose an image file")
    return data, name
