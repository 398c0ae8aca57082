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
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Form

from ..ops.registry import field_bounds, get_op, local_only_fields

KEYWORD = inspect.Parameter.KEYWORD_ONLY


def op_form(op: str, *, exclude: Sequence[str] = ()) -> Callable[..., dict[str, Any]]:
    """A dependency: the form fields of ``op``'s options (less ``exclude`` and the local-only ones),
    returning ``{field: value}`` for the fields given or defaulted. A value out of range or not among
    the choices is FastAPI's 422; the recipe step made from them is checked by the op's model (400)."""
    spec = get_op(op)
    skip = set(exclude) | local_only_fields(spec.options)
    params = []
    for name, info in spec.options.model_fields.items():
        if name in skip:
            continue
        bounds = field_bounds(info)
        annotation = info.annotation
        choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
        if choices and not all(isinstance(c, str) for c in choices):  # Literal[2, 4]: a form sends text; the model checks
            annotation = type(choices[0])
        if typing.get_origin(annotation) is tuple:  # tuple[X, ...]: the field repeated
            annotation = list[typing.get_args(annotation)[0]] | None
            default = Form(None, description=f"{info.description} (repeat the field; default: {', '.join(info.default)})")
        else:
            default = Form(... if info.is_required() else info.default, description=info.description, **bounds)
        params.append(inspect.Parameter(name, KEYWORD, default=default, annotation=annotation))

    def dependency(**values: Any) -> dict[str, Any]:
        return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}

    dependency.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    dependency.__name__ = f"{op}_form"
    return dependency
