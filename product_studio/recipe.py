"""Recipes: one pydantic schema for an ordered list of steps, shared by the CLI (YAML), the HTTP
API (JSON body) and the batch engines.

A recipe::

    name: my-amazon
    steps:
      - op: enhance
        strength: 0.5
      - op: remove_background
      - op: fit_to_canvas
        size: 2000
        fill: 0.88
      - op: white_background
        shadow: contact
    output:
      format: jpeg
      max_bytes: 10000000

``Recipe.hash`` is stable across runs and machines: the batch manifest uses it with the input's
content hash to skip finished work.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .version import __version__
from .errors import RecipeError
from .item import ImageItem
from .ops.registry import OpOptions, apply_op, get_op


class Step(BaseModel):
    """One step: ``op`` names a registered operation; the other keys are its options."""

    model_config = ConfigDict(extra="allow", frozen=True)
    op: str = Field(description="name of a registered step, e.g. remove_background, fit_to_canvas")

    @model_validator(mode="after")
    def _check_options(self) -> Step:
        get_op(self.op).parse_options(self.model_extra or {})
        return self

    @property
    def options(self) -> OpOptions:
        return get_op(self.op).parse_options(self.model_extra or {})

    def resolved(self) -> dict[str, Any]:
        """The op name and every option with its default filled in (what the hash covers)."""
        return {"op": self.op, **self.options.model_dump(mode="json")}


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal["jpeg", "png", "webp"] = "jpeg"
    quality: int | None = Field(None, ge=1, le=100, description="fixed quality; default: highest that meets max_bytes")
    max_bytes: int | None = Field(None, gt=0, description="byte cap; JPEG/WebP quality is lowered to meet it")


class Recipe(BaseModel):
    """An ordered list of steps and how to write the result."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "custom"
    preset: str | None = Field(None, description="marketplace preset the output is checked against")
    steps: list[Step] = Field(default_factory=list)
    output: OutputSpec = Field(default_factory=OutputSpec)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "recipe") -> Recipe:
        try:
            return cls.model_validate(data)
        except RecipeError:
            raise
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors()
            )
            raise RecipeError(f"{source}: {problems}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> Recipe:
        p = Path(path)
        if not p.is_file():
            raise RecipeError(f"recipe file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise RecipeError(f"{p}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise RecipeError(f"{p}: a recipe is a mapping with 'steps:' (and optionally 'name:', 'output:')")
        return cls.from_dict(data, source=str(p))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.resolved(), sort_keys=False, allow_unicode=True)

    def resolved(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "preset": self.preset,
            "steps": [s.resolved() for s in self.steps],
            "output": self.output.model_dump(mode="json"),
        }

    @property
    def hash(self) -> str:
        """sha256 (first 16 hex) of the resolved recipe and the package's major.minor version."""
        major_minor = ".".join(__version__.split(".")[:2])
        blob = json.dumps({"recipe": self.resolved(), "version": major_minor}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_recipe(item: ImageItem, recipe: Recipe) -> ImageItem:
    """Apply every step of ``recipe`` to ``item`` in order; returns the new item (with its log)."""
    for step in recipe.steps:
        item = apply_op(item, step.op, step.options)
    return item
