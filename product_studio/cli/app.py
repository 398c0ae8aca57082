"""The `product-studio` command. Each command group lives in its own module with a
``register(app)`` function; heavy imports happen inside the commands."""

from __future__ import annotations

import importlib

import typer

from ..version import __version__

app = typer.Typer(
    name="product-studio",
    help=(
        "Turn raw product photos into marketplace-ready images, offline.\n\n"
        "Examples:\n\n"
        "  product-studio process photos/ -o ready/ --preset amazon-main\n\n"
        "  product-studio check ready/ --preset taobao-main\n\n"
        "  product-studio remove-bg photo.jpg -o cutout.png\n\n"
        "Exit codes: 0 all good, 1 some inputs failed (the report says which), 2 bad usage."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("process", "check", "remove_bg", "presets", "serve", "feedback", "jobs", "read", "describe", "search", "anonymize", "classify", "train", "keys", "gan", "restore", "repair", "recolor")


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Product Studio."""


for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"{__package__}.{_name}").register(app)
    except ModuleNotFoundError as exc:  # a command group not written yet
        if exc.name != f"{__package__}.{_name}":
            raise


def main() -> None:
    app()
