"""The one list of steps a recipe can name.

Each op module registers its steps with ``@register_op(name, options=OptionsModel)``; the
recipe schema, the CLI, the API and the batch engine all look them up here. A step is a
function ``(item: ImageItem, options: OptionsModel) -> ImageItem``; ``apply_op`` validates
the options, times the call and appends a ``StepRecord`` to the item's log. A step that runs a
model names it in the returned item's ``step_model`` (name and version), which goes into that
record.

The op modules are found, not listed: every public module of this package registers its steps
when ``_load_all`` imports it, so a new op family is a new file here and nothing else.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

from ..errors import RecipeError
from ..item import ImageItem, StepRecord, Timer

StepFunction = Callable[[ImageItem, Any], ImageItem]
# (options, (width, height) in) -> the largest (width, height) the step can make from it
SizeRule = Callable[[Any, tuple[int, int]], tuple[int, int]]


# Marks an option only the local user may set (a file path, a memory cap): ``Field(..., json_schema_extra=LOCAL_ONLY)``.
# The server neither offers it as a form field nor accepts it in a client's recipe.
LOCAL_ONLY = {"local_only": True}


def local_only_fields(options: type[BaseModel]) -> set[str]:
    """The fields of an options model marked ``LOCAL_ONLY``."""
    return {name for name, info in options.model_fields.items() if (info.json_schema_extra or {}) == LOCAL_ONLY}


def field_bounds(info: FieldInfo) -> dict[str, Any]:
    """An option's range as its model declares it (``Field(ge=..., le=...)``): ``{"ge": .., "le": ..}``, the
    keys it has. The CLI's options and the server's form fields are generated with it."""
    bounds: dict[str, Any] = {}
    for rule in info.metadata:
        if isinstance(rule, annotated_types.Ge):
            bounds["ge"] = rule.ge
        elif isinstance(rule, annotated_types.Le):
            bounds["le"] = rule.le
    return bounds


class OpOptions(BaseModel):
    """Base of every op's options: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class OpSpec:
    name: str
    function: StepFunction
    options: type[OpOptions]
    summary: str
    output_size: SizeRule | None = None  # None: the step keeps the input's size (or makes it smaller)

    def planned_size(self, options: OpOptions, size: tuple[int, int]) -> tuple[int, int]:
        """The largest (width, height) this step can make from an input of ``size``, known before it runs
        (``pipeline.plan_recipe`` bounds a recipe's output with it)."""
        return self.output_size(options, size) if self.output_size is not None else size

    def parse_options(self, raw: Mapping[str, Any] | OpOptions | None) -> OpOptions:
        if isinstance(raw, self.options):
            return raw
        try:
            return self.options.model_validate(dict(raw or {}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(options)'}: {err['msg']}" for err in exc.errors()
            )
            fields = ", ".join(self.options.model_fields) or "none"
            raise RecipeError(f"step '{self.name}' has bad options: {problems}. Options it takes: {fields}") from None


_REGISTRY: dict[str, OpSpec] = {}


def register_op(name: str, *, options: type[OpOptions], output_size: SizeRule | None = None) -> Callable[[StepFunction], StepFunction]:
    """Register a step function under ``name`` (snake_case, unique). A step that can make its image
    larger declares ``output_size(options, (width, height)) -> (width, height)``, an upper bound."""

    def decorate(function: StepFunction) -> StepFunction:
        if name in _REGISTRY and _REGISTRY[name].function is not function:
            raise RuntimeError(f"op '{name}' registered twice")
        summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        _REGISTRY[name] = OpSpec(name=name, function=function, options=options, summary=summary, output_size=output_size)
        return function

    return decorate


def get_op(name: str) -> OpSpec:
    """The registered op called ``name``; RecipeError listing the known ones otherwise."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise RecipeError(f"unknown step '{name}'. Known steps: {known}") from None


def list_ops() -> list[OpSpec]:
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def apply_op(item: ImageItem, name: str, options: Mapping[str, Any] | OpOptions | None = None) -> ImageItem:
    """Run one registered step on ``item`` and log it."""
    spec = get_op(name)
    parsed = spec.parse_options(options)
    with Timer() as timer:
        out = spec.function(item, parsed)
    model, out.step_model = out.step_model, None
    out.log.append(StepRecord(op=name, params=parsed.model_dump(mode="json"), seconds=round(timer.seconds, 4), model=model))
    return out


@functools.cache
def _load_all() -> None:
    """Import every op module of this package (not this one, not private ``_`` ones): importing
    one registers its steps. Found with pkgutil, so no list of modules is kept anywhere."""
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "registry" and not module.name.startswith("_"):
            importlib.import_module(f"{__package__}.{module.name}")
