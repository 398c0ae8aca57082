"""Dependencies the routes share: the app's Studio, the API key check, form parsing helpers."""

from __future__ import annotations

import hmac
import json

from fastapi import Depends, HTTPException, Request, UploadFile
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from ..errors import PresetError, RecipeError
from ..limits import Limits
from ..ops.registry import get_op, local_only_fields
from ..marketplaces import list_presets
from ..pipeline import check_length, check_recipe
from ..recipe import Recipe
from .work import Studio

_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="one of the server's api_keys")
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <api key>")
_query = APIKeyQuery(name="api_key", auto_error=False, description="for GET only (e.g. <img src>): ?api_key=<key>")


async def get_studio(request: Request) -> Studio:
    return request.app.state.studio


async def require_api_key(
    request: Request,
    header: str | None = Depends(_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    query: str | None = Depends(_query),
) -> None:
    """401 unless a configured key is given; a no-op when the server has no keys (loopback only)."""
    keys = request.app.state.studio.settings.api_keys
    if not keys:
        return
    candidates = [header, bearer.credentials if bearer else None]
    if request.method == "GET":
        candidates.append(query)
    for given in candidates:
        if given and any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):
            return
    raise HTTPException(401, "missing or wrong API key: send it as X-API-Key or Authorization: Bearer",
                        headers={"WWW-Authenticate": "Bearer"})


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
