"""What every command shares: exit codes, error reporting, --json output, option definitions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import typer

from ..errors import StudioError, UsageError
from ..marketplaces.presets import default_preset_name

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])

# Options shared by several commands, defined once.
JsonOption = typer.Option(False, "--json", help="Print one machine-readable JSON document on stdout; progress and logs go to stderr.")
OutputDirOption = typer.Option(..., "-o", "--output", help="Folder the outputs are written to (created if missing).")
OverwriteOption = typer.Option(False, "--overwrite", help="Replace existing outputs (never the inputs unless they are the same path and you ask).")
PresetOption = typer.Option(default_preset_name(), "--preset", "-p", help="Marketplace preset; `product-studio presets` lists them.")

# Shared by the `train ...` commands.
RunFolderOption = typer.Option(..., "-o", "--output", help="Run folder: weights, checkpoints, history, plots (rerunning with it resumes).")
LearningRateOption = typer.Option(None, "--lr", help="Peak learning rate (default: the recipe's).")
ThreadsOption = typer.Option(1, "--threads", min=1, help="torch threads (1 when other jobs share the cores).")
FreshOption = typer.Option(False, "--fresh", help="Start over even if OUTPUT holds a checkpoint.")
QuietBarOption = typer.Option(False, "--quiet", "-q", help="No progress bar.")


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print an error on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(function: F) -> F:
    """Turn the core's typed errors into a one-line message and a meaningful exit code. First
    checks the ``PRODUCT_STUDIO_*`` settings (``runtime.check_settings``): a bad one is a usage
    error before the command reads any file (``--help`` never gets here)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..runtime import check_settings

        try:
            check_settings()
            return function(*args, **kwargs)
        except UsageError as exc:
            fail(str(exc), EXIT_USAGE)
        except StudioError as exc:
            fail(str(exc), EXIT_SOME_FAILED)

    return wrapper  # type: ignore[return-value]


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    """Human-readable progress and notes: always stderr, so stdout stays clean for --json."""
    typer.echo(message, err=True)


def record_failure(results: list[dict[str, Any]], path: Any, exc: Exception) -> None:
    """One input that could not be done: its entry in a command's results, and the reason on stderr."""
    results.append({"input": str(path), "status": "failed", "error": str(exc), "error_type": type(exc).__name__})
    info(f"failed: {exc}")


def finish_files(results: list[dict[str, Any]], json_out: bool, **document: Any) -> NoReturn:
    """End a command that worked file by file: the JSON document (``document`` first, then
    ``results`` and ``failed``) with --json, and exit 1 when any input failed, else 0."""
    failed = sum(1 for r in results if r.get("status") == "failed")
    if json_out:
        print_json({**document, "results": results, "failed": failed})
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)
