"""Health, presets and ops: what the service can do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from ...version import __version__
from ...errors import PresetError
from ...marketplaces import list_presets, load_preset
from ...ops import list_ops
from ..deps import get_studio, known_preset, require_api_key
from ..work import Studio

public = APIRouter(prefix="/v1", tags=["meta"])
router = APIRouter(prefix="/v1", tags=["meta"], dependencies=[Depends(require_api_key)])


@public.get("/health", summary="Liveness and version (no key needed)")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def _preset_dict(name: str, studio: Studio) -> dict[str, Any]:
    preset = load_preset(name)
    recipe, tuning = studio.default_recipe(preset.name)
    return {
        "name": preset.name,
        "title": preset.title,
        "marketplace": preset.marketplace,
        "description": preset.description,
        "default": preset.default,
        "rules": preset.rules_summary(),
        "limits": preset.model_dump(mode="json", exclude={"sources", "default_recipe", "name", "title", "marketplace", "description",
                                                          "default", "listing_title"}),
        "sources": {k: list(v) for k, v in preset.sources.items()},
        "recipe": recipe.resolved(),
        "recipe_hash": recipe.hash,
        "tuning": tuning,
    }


@router.get("/presets", summary="Every marketplace preset with its rules and the default recipe the server runs")
def presets(studio: Studio = Depends(get_studio)) -> list[dict[str, Any]]:
    return [_preset_dict(name, studio) for name in list_presets()]


@router.get("/presets/{name}", summary="One preset (404 if unknown)")
def preset(name: str, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    try:
        return _preset_dict(known_preset(name), studio)
    except PresetError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/ops", summary="Registered steps a recipe can name, with their option JSON schemas")
def ops() -> list[dict[str, Any]]:
    return [{"name": spec.name, "summary": spec.summary, "options": spec.options.model_json_schema()} for spec in list_ops()]
