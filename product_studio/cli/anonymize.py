"""`product-studio anonymize`: copies with faces and personal text blurred and no metadata (the ``anonymize`` op)."""

from __future__ import annotations

from pathlib import Path

import typer

from .batch_run import Runs, image_command, keep_format
from .common import help_text

OP = "anonymize"


def register(app: typer.Typer) -> None:
    image_command(
        app, "anonymize", OP, output_format=_format, file_output=False, after=_check_metadata,
        help=help_text(
            """Write anonymized copies: faces pixelated, personal text (phone numbers, e-mail addresses, street
            addresses, ID numbers; Chinese and English) blurred, and every piece of metadata dropped (EXIF with GPS,
            maker notes and thumbnails, XMP, IPTC, comments). The inputs are never changed.

            The report gives counts by kind, never the personal data itself. JPEG, PNG and WebP keep their format;
            HEIC becomes JPEG, other formats PNG.

            Examples:

              product-studio anonymize photos/ -o public/

              product-studio anonymize shot.jpg -o public/ --no-faces --json
            """
        ),
    )


def _format(relative: Path) -> str:
    """HEIC becomes JPEG (a photo), TIFF, BMP and GIF keep their pixels exactly in PNG."""
    return "jpeg" if relative.suffix.lower() in (".heic", ".heif") else keep_format(relative)


def _check_metadata(runs: Runs) -> None:
    """Each result gets the counts of the metadata its input carried (never the values); an output
    that still carries any is a failure (the encoder writes none: a regression must never ship quietly)."""
    from .. import storage
    from ..metadata import inspect_metadata

    for result, extra in zip(runs.report.results, runs.extras):
        if result.status != "done":
            continue
        if remaining := [k for k, v in inspect_metadata(storage.read_input(result.output)).items() if v]:
            result.status, result.error_type = "failed", "OperationError"
            result.error = f"{result.output}: metadata left in the output ({', '.join(remaining)}); please report this"
        extra["metadata_removed"] = {k: v for k, v in inspect_metadata(storage.read_input(result.input)).items() if v}
