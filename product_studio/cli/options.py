"""Typer options made from declarations held elsewhere, so each option is declared once.

- ``op_options(op)``: the options of a registered op, generated from its pydantic model (the
  ``OpOptions`` subclass given to ``register_op``): ``--foo-bar`` from the field ``foo_bar``, its
  type, default, choices (``Literal``), range (``ge``/``le``) and help (the field's description).
- ``compose(function, name=group, ...)``: a typer command from ``function`` in which each parameter
  named after a group (``options=op_options(...)``, ``batch=batch_options``) is replaced by that
  group's own options; the function receives what the group makes of their values.

Typer reads a command's signature, so a composed command carries an ``inspect.Signature`` built
from the pieces.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any

import typer

KEYWORD = inspect.Parameter.KEYWORD_ONLY


def parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters ``function`` declares (annotations evaluated), as keyword-only ones."""
    return [p.replace(kind=KEYWORD) for p in inspect.signature(function, eval_str=True).parameters.values()]


def compose(function: Callable[..., Any], **groups: Callable[..., Any]) -> Callable[..., Any]:
    """A command with ``function``'s parameters, where a parameter named like a group is replaced by
    the group's parameters; calling it calls each group with its own values and ``function`` with
    the results. A group is any function whose signature declares typer options."""
    own = parameters(function)
    names = {p.name for p in own}
    if missing := set(groups) - names:
        raise TypeError(f"{function.__name__} has no parameter for the group(s) {', '.join(sorted(missing))}")
    members = {name: parameters(group) for name, group in groups.items()}
    signature: list[inspect.Parameter] = []
    for p in own:
        signature.extend(members[p.name] if p.name in groups else [p])
    seen: set[str] = set()
    for p in signature:
        if p.name in seen:
            raise TypeError(f"{function.__name__}: the option {p.name!r} is declared twice")
        seen.add(p.name)

    @wraps(function)
    def command(**values: Any) -> Any:
        for name, group in groups.items():
            values[name] = group(**{p.name: values.pop(p.name) for p in members[name]})
        return function(**values)

    del command.__wrapped__  # typer must read the composed signature, not the function's
    command.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature}
    return command


class OptionValues:
    """The op options a user gave on the command line (those left at their default are not kept),
    and the flags they were given with, so a bad value is reported under the flag's name."""

    def __init__(self, given: Mapping[str, Any], flags: Mapping[str, str]) -> None:
        self.given = dict(given)
        self.flags = dict(flags)

    def flag(self, field: str) -> str:
        return self.flags.get(field, f"--{field.replace('_', '-')}")

    def validate(self, op: str, *, where: str = "here", **fixed: Any) -> dict[str, Any]:
        """The options of ``op`` (the given ones plus ``fixed``), checked by its model: a dict of
        every field, defaults filled in. A given option ``op`` does not take, or a bad value, is a
        usage error (exit 2) that names the flag; ``where`` says when an option does not apply."""
        from pydantic import ValidationError

        from ..errors import UsageError
        from ..ops.registry import get_op

        model = get_op(op).options
        if stray := [self.flag(k) for k in self.given if k not in model.model_fields]:
            raise UsageError(f"{', '.join(stray)} {'does' if len(stray) == 1 else 'do'} not apply {where}")
        try:
            return model.model_validate({**self.given, **fixed}).model_dump()
        except ValidationError as exc:
            error = exc.errors()[0]
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:
                raise typer.BadParameter(message, param_hint=f"'{self.flag(str(error['loc'][0]))}'") from None
            for field in self.flags:  # a check across fields: name the flags, not the fields
                message = re.sub(rf"\b{field}\b", self.flag(field), message)
            raise typer.BadParameter(message) from None


def op_options(
    ops: str | Sequence[str],
    *,
    flags: Mapping[str, Sequence[str]] | None = None,
    exclude: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> Callable[..., OptionValues]:
    """A group (see ``compose``) of typer options generated from the options model of the op
    ``ops`` (or the union of several ops' models), returning the ``OptionValues`` given.

    flags: the option names of a field when they are not ``--field-name`` (a short alias, an older
        name: ``{"method": ("--method", "-m"), "mask_path": ("--mask",)}``).
    exclude: fields that are not command-line options.
    labels: with several ops, how the help names each one (``{"remove_text": "--remove-text"}``)
        where their descriptions of a shared field differ.
    """
    from ..ops.registry import get_op

    names = [ops] if isinstance(ops, str) else list(ops)
    flags = flags or {}
    fields: dict[str, list[tuple[str, Any]]] = {}
    for op in names:
        for field, info in get_op(op).options.model_fields.items():
            if field not in exclude:
                fields.setdefault(field, []).append((op, info))
    params, defaults, decls = [], {}, {}
    for field, declared in fields.items():
        param, default = _parameter(field, declared, flags.get(field), labels or {})
        params.append(param)
        defaults[field] = default
        decls[field] = param.default.param_decls[0].split("/")[0]
    for param in params:  # the help names a renamed field by its flag
        for field, flag in decls.items():
            if flag != f"--{field.replace('_', '-')}":
                param.default.help = re.sub(rf"\b{field}\b", flag, param.default.help)

    def collect(**values: Any) -> OptionValues:
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v != defaults[k]}
        return OptionValues(given, decls)

    collect.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    collect.__annotations__ = {p.name: p.annotation for p in params}
    return collect


def _parameter(field: str, declared: list[tuple[str, Any]], names: Sequence[str] | None, labels: Mapping[str, str]) -> tuple[inspect.Parameter, Any]:
    """One typer option for ``field`` as the ops in ``declared`` (op name, pydantic FieldInfo) declare it."""
    _, info = declared[0]
    annotation = info.annotation
    defaults = {repr(i.default) for _, i in declared}
    # A required field, or one the ops default differently, defaults to None: not given.
    default = info.default if len(defaults) == 1 and not info.is_required() else None
    if typing.get_origin(annotation) is tuple:  # tuple[X, ...]: a repeatable option
        annotation = list[str]
        default = list(default) if default is not None else None
    elif default is None:
        annotation = annotation | None
    by_description: dict[str, list[str]] = {}
    for op, i in declared:
        by_description.setdefault(i.description or "", []).append(labels.get(op, op))
    if len(by_description) == 1:
        help_text = info.description or ""
    else:
        help_text = "; ".join(f"{', '.join(ops)}: {text}" for text, ops in by_description.items())
    if labels and len(declared) < len(labels):  # an option of some of the ops only
        help_text += f" (with {' or '.join(labels.get(op, op) for op, _ in declared)})"
    if len(defaults) > 1:
        help_text += " (default: " + ", ".join(f"{i.default} with {labels.get(op, op)}" for op, i in declared) + ")"
    decls = list(names or [f"--{field.replace('_', '-')}"])
    if annotation is bool:
        decls[0] = f"{decls[0]}/--no-{decls[0].removeprefix('--')}"
    from ..ops.registry import field_bounds

    bounds = {{"ge": "min", "le": "max"}[k]: v for k, v in field_bounds(info).items()}
    option = typer.Option(default, *decls, help=help_text, show_default=default is not None, **bounds)
    return inspect.Parameter(field, KEYWORD, default=option, annotation=annotation), default
