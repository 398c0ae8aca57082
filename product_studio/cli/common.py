"""What every command shares: exit codes, error reporting, --json output, option definitions."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from ..errors import StudioError, UsageError
from ..limits import DEFAULT_MAX_INPUT_PIXELS, MEGAPIXEL
from ..marketplaces.presets import default_preset_name

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

F = TypeVar("F", bound=Callable[..., Any])

# Options shared by several commands, defined once.
InputsArgument = typer.Argument(
    ..., help="Image files, folders (searched recursively), globs ('shots/**/*.jpg'), list files (@list.csv, "
    ".jsonl, .txt) or s3:// URLs.", show_default=False,
)
JsonOption = typer.Option(False, "--json", help="Print one machine-readable JSON document on stdout; progress and logs go to stderr.")
OutputDirOption = typer.Option(..., "-o", "--output", help="Folder the outputs are written to (created if missing).")
ImageOutputOption = typer.Option(
    ..., "-o", "--output", help="A folder (created if missing), or an output file name for one input (.png, .jpg, .webp: its format)."
)
OverwriteOption = typer.Option(False, "--overwrite", help="Replace existing outputs (never the inputs unless they are the same path and you ask).")
PresetOption = typer.Option(default_preset_name(), "--preset", "-p", help="Marketplace preset; `product-studio presets` lists them.")
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress bar.")
WorkersOption = typer.Option(None, "--workers", "-j", min=1, help="Worker processes (default: the number of cores).")
MaxMegapixelsOption = typer.Option(
    DEFAULT_MAX_INPUT_PIXELS / MEGAPIXEL, "--max-megapixels", min=0.01,
    help="Refuse inputs above this many megapixels (checked before decoding).",
)
ManifestOption = typer.Option(
    None, "--manifest", help="Job manifest (SQLite) that makes reruns resume; default: <output>/.product-studio/manifest.sqlite."
)
RetryFailedOption = typer.Option(False, "--retry-failed", help="Process again the inputs that failed in an earlier run (default: report the old failure).")
NoResumeOption = typer.Option(False, "--no-resume", help="Ignore earlier runs and process every input again (still recorded in the manifest).")

# Shared by the `train ...` commands.
RunFolderOption = typer.Option(..., "-o", "--output", help="Run folder: weights, checkpoints, history, plots (rerunning with it resumes).")
LearningRateOption = typer.Option(None, "--lr", help="Peak learning rate (default: the recipe's).")
ThreadsOption = typer.Option(1, "--threads", min=1, help="torch threads (1 when other jobs share the cores).")
FreshOption = typer.Option(False, "--fresh", help="Start over even if OUTPUT holds a checkpoint.")


def help_text(text: str) -> str:
    """A command's help written as a triple-quoted block, as typer shows it best: paragraphs are
    separated by blank lines and each becomes one line (the terminal wraps it); an indented one (an
    example command) keeps its indent."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p.rstrip() if p.startswith(" ") else " ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


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
            fail(str(exc), getattr(exc, "exit_code", EXIT_SOME_FAILED))  # TrainingInterrupted: 130
        except KeyboardInterrupt:  # Ctrl-C outside a loop that stops cleanly: one line, the shell's code
            fail("interrupted", EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


def gather_inputs(inputs: list[str], output: Any = None) -> list[Any]:
    """The commands' input expansion (``inputs.find_inputs``): never the tool's own outputs, never
    ``output`` (a folder, or a file name whose folder is then not checked), refused when ``output`` is
    an input's folder; what was skipped is said on stderr, one line a reason."""
    from pathlib import Path

    from ..imageio import INPUT_EXTENSIONS
    from ..inputs import find_inputs

    folder = output
    if isinstance(output, Path) and output.suffix.lower() in INPUT_EXTENSIONS and not output.is_dir():
        folder = None  # one output file named: the user chose its place
    found = find_inputs(inputs, output=folder)
    for s in found.skipped:
        if Path(s.path).is_dir():
            info(f"skipped {s.path}/ ({s.reason}; {s.images} image(s) there)")
        else:
            info(f"skipped {s.path}: {s.reason}")
    return found.files


def progress_bar(total: int | None = None, *, quiet: bool = False, unit: str = "img", desc: str | None = None) -> Any:
    """Every command's progress bar: tqdm on stderr, off with --quiet (and --json, which passes quiet) and
    when stderr is not a terminal (a log file gets the summary, not bar redraws). ``bar.write`` lines
    (failures) are printed either way."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=True if quiet else None, file=sys.stderr, dynamic_ncols=True)


class StageProgress:
    """A progress bar for work in stages, as a callback ``(stage, done, total)`` for the core (which never
    prints): each new stage restarts the bar with its name and total. Use as a context manager."""

    def __init__(self, *, quiet: bool = False, unit: str = "step") -> None:
        self.bar = progress_bar(quiet=quiet, unit=unit)
        self.stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stage = stage
            self.bar.reset(total=total)
            self.bar.set_description(stage)
        self.bar.n = done
        self.bar.refresh()

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    """Human-readable progress and notes: always stderr, so stdout stays clean for --json."""
    typer.echo(message, err=True)
