"""Form fields made from an op's options model, so a route declares none of them by hand.

``op_form("denoise")`` is a FastAPI dependency whose parameters are the ``denoise`` step's options
as form fields -- name, type, default, choices, range and description from the pydantic model the
step registered (the same model the recipe schema and the CLI's options come from) -- and which
returns the options the client gave (the recipe step made of them is validated by that model). Options marked ``LOCAL_ONLY`` (file
paths, memory caps) are never offered.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import Form
from pydantic.fields import FieldInfo

from ..ops.registry import field_bounds, get_op, local_only_fields

KEYWORD = inspect.Parameter.KEYWORD_ONLY


def op_form(ops: str | Sequence[str], *, exclude: Sequence[str] = (), rename: Mapping[str, str] | None = None,
            labels: Mapping[str, str] | None = None) -> Callable[..., dict[str, Any]]:
    """A dependency: the form fields of ``ops``' options (one op, or the union of several ops' fields),
    less ``exclude`` and the local-only ones, returning ``{field: value}`` for the fields given (and,
    for one op, defaulted). A value out of range or not among the choices is FastAPI's 422; the
    recipe step made from them is checked by the op's model (400).

    With several ops, a field they declare differently (another default or description) has no
    default (the chosen op's own applies) and a description that names each op's. ``rename`` gives
    a field another form name (``{"match": "text"}``); the returned keys are the field names. ``labels``
    name the ops in the descriptions (``{"repair_defects": "mode=auto"}``)."""
    names = [ops] if isinstance(ops, str) else list(ops)
    rename = dict(rename or {})
    declared: dict[str, list[tuple[str, FieldInfo]]] = {}
    for op in names:
        options = get_op(op).options
        skip = set(exclude) | local_only_fields(options)
        for name, info in options.model_fields.items():
            if name not in skip:
                declared.setdefault(name, []).append((op, info))
    labelled = {name: [((labels or {}).get(op, op), info) for op, info in found] for name, found in declared.items()}
    params = [_form_parameter(rename.get(name, name), found, several=len(names) > 1) for name, found in labelled.items()]
    back = {rename.get(name, name): name for name in declared}

    def dependency(**values: Any) -> dict[str, Any]:
        return {back[k]: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}

    dependency.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    dependency.__name__ = f"{'_'.join(names)}_form"
    return dependency


def _form_parameter(name: str, declared: list[tuple[str, FieldInfo]], *, several: bool) -> inspect.Parameter:
    _, info = declared[0]
    bounds = field_bounds(info)
    annotation = info.annotation
    choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if choices and not all(isinstance(c, str) for c in choices):  # Literal[2, 4]: a form sends text; the model checks
        annotation = type(choices[0])
        bounds = {**bounds, "json_schema_extra": {"enum": list(choices)}}  # the document names the choices
    descriptions = {i.description for _, i in declared}
    description = info.description if len(descriptions) == 1 else "; ".join(f"{op}: {i.description}" for op, i in declared)
    if several and len(declared) < 2:
        description = f"{description} ({', '.join(op for op, _ in declared)} only)"
    same_default = len({repr(i.default) for _, i in declared}) == 1
    if typing.get_origin(annotation) is tuple:  # tuple[X, ...]: the field repeated
        annotation = list[typing.get_args(annotation)[0]] | None
        default = Form(None, description=f"{description} (repeat the field; default: {', '.join(info.default)})")
    elif info.is_required() or (several and not same_default):
        default = Form(None if several else ..., description=description, **bounds)
        annotation = annotation | None if several else annotation
    else:
        default = Form(info.default, description=description, **bounds)
    return inspect.Parameter(name, KEYWORD, default=default, annotation=annotation)
