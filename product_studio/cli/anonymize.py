"""`product-studio anonymize`: copies with faces and personal text blurred and no metadata."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import EXIT_OK, EXIT_SOME_FAILED, JsonOption, OverwriteOption, handle_errors, info, print_json, record_failure


def register(app: typer.Typer) -> None:
    app.command(
        "anonymize",
        help=(
            "Write anonymized copies: faces pixelated, personal text (phone numbers, e-mail addresses, street "
            "addresses, ID numbers; Chinese and English) blurred, and every piece of metadata dropped (EXIF with GPS, "
            "maker notes and thumbnails, XMP, IPTC, comments). The inputs are never changed.\n\n"
            "The report gives counts by kind, never the personal data itself.\n\n"
            "Examples:\n\n"
            "  product-studio anonymize photos/ -o public/\n\n"
            "  product-studio anonymize shot.jpg -o public/ --no-faces --json"
        ),
    )(anonymize)


@handle_errors
def anonymize(
    inputs: list[str] = typer.Argument(..., help="Image files, folders, globs or list files."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder the anonymized copies are written to (created if missing)."),
    faces: bool = typer.Option(True, "--faces/--no-faces", help="Find and pixelate faces."),
    text: bool = typer.Option(True, "--text/--no-text", help="Read the text (OCR) and blur personal data in it."),
    method: str = typer.Option("pixelate", "--method", help="pixelate | gaussian (both irreversible)."),
    strength: int = typer.Option(7, "--strength", min=1, max=10, help="1 (light) .. 10 (coarsest)."),
    overwrite: bool = OverwriteOption,
    json_out: bool = JsonOption,
) -> None:
    from ..errors import OperationError, StudioError, UsageError
    from ..imageio import INPUT_EXTENSIONS, load_image, output_format_for, read_bytes, safe_output_path, save_image
    from ..inputs import expand_inputs
    from ..ops import apply_op
    from ..metadata import inspect_metadata

    if method not in ("pixelate", "gaussian"):
        raise UsageError(f"--method must be pixelate or gaussian; got '{method}'")
    if output.suffix.lower() in INPUT_EXTENSIONS:
        raise UsageError(f"-o takes a folder, not the file name '{output}'")
    files = expand_inputs(inputs)
    options = {"faces": faces, "text": text, "method": method, "strength": strength}
    results, failed = [], 0
    for f in files:
        try:
            if not isinstance(f.path, Path):
                raise UsageError("anonymize reads local files only; copy remote objects first", path=str(f.path))
            data = read_bytes(f.path)
            item = apply_op(load_image(data, name=str(f.path)), "anonymize", options)
            relative = f.relative
            if output_format_for(relative, default="") not in ("jpeg", "png", "webp"):
                # TIFF, BMP, GIF keep their pixels exactly in PNG; HEIC becomes JPEG.
                relative = relative.with_suffix(".jpg" if item.metadata.get("source_format") == "heif" else ".png")
            saved = save_image(item, safe_output_path(output, relative), overwrite=overwrite, protect=(f.path,))
            remaining = {k: v for k, v in inspect_metadata(saved.path).items() if v}
            if remaining:  # save_image writes none; a regression here must never ship quietly
                raise OperationError(f"metadata left in the output ({', '.join(remaining)}); please report this", path=str(saved.path))
            privacy = item.metadata.get("privacy", {})
            removed = {k: v for k, v in inspect_metadata(data).items() if v}
            results.append(
                {
                    "input": str(f.path),
                    "output": str(saved.path),
                    "status": "done",
                    "faces": privacy.get("faces", 0) if faces else None,
                    "personal_text": privacy.get("personal_text", {}) if text else None,
                    "metadata_removed": removed,
                    "seconds": item.log[-1].seconds,
                }
            )
            if not json_out:
                info(f"{f.path} -> {saved.path}: {_summary(results[-1])}")
        except StudioError as exc:
            failed += 1
            record_failure(results, f.path, exc)
    summary = {
        "inputs": len(files),
        "done": len(files) - failed,
        "failed": failed,
        "faces": sum(r.get("faces") or 0 for r in results),
        "personal_text": sum(sum((r.get("personal_text") or {}).values()) for r in results),
    }
    if json_out:
        print_json({"results": results, "summary": summary})
    else:
        info(f"{summary['done']}/{summary['inputs']} anonymized, {failed} failed")
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _summary(result: dict) -> str:
    parts = []
    if result["faces"] is not None:
        parts.append(f"{result['faces']} face(s)")
    if result["personal_text"] is not None:
        found = ", ".join(f"{k} {v}" for k, v in result["personal_text"].items()) or "none"
        parts.append(f"personal text: {found}")
    removed = ", ".join(f"{k} {v}" for k, v in result["metadata_removed"].items()) or "none"
    parts.append(f"metadata removed: {removed}")
    return "; ".join(parts)
