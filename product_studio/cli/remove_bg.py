"""`product-studio remove-bg`: cut the product out into an RGBA PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import JsonOption, OverwriteOption, finish_files, handle_errors, info, record_failure


def register(app: typer.Typer) -> None:
    app.command(
        "remove-bg",
        help=(
            "Cut the product out of each photo and write an RGBA PNG (transparent background).\n\n"
            "Uses the U2-Net-p salient-object model refined at full resolution; --method grabcut needs no model; "
            "--mask takes your own mask (white = product).\n\n"
            "Examples:\n\n"
            "  product-studio remove-bg photo.jpg -o cutout.png\n\n"
            "  product-studio remove-bg photos/ -o cutouts/"
        ),
    )(remove_bg)


@handle_errors
def remove_bg(
    inputs: list[str] = typer.Argument(..., help="Image files, folders or globs."),
    output: Path = typer.Option(..., "-o", "--output", help="A .png file (one input) or a folder."),
    method: str = typer.Option("u2netp", "--method", "-m", help="u2netp (model, default) | grabcut (no model) | mask (needs --mask)."),
    mask: Path | None = typer.Option(None, "--mask", help="Your own mask image (white or opaque = product); implies --method mask."),
    refine: bool = typer.Option(True, "--refine/--no-refine", help="Refine the model's edges at full resolution."),
    overwrite: bool = OverwriteOption,
    json_out: bool = JsonOption,
) -> None:
    from ..errors import StudioError, UsageError
    from ..imageio import load_image, safe_output_path, save_image
    from ..inputs import expand_inputs
    from ..ops import apply_op

    files = expand_inputs(inputs)
    options = {"method": "mask" if mask else method, "refine": refine}
    if mask:
        options["mask_path"] = str(mask)
    single_file = len(files) == 1 and output.suffix.lower() == ".png"
    if len(files) > 1 and output.suffix:
        raise UsageError(f"{len(files)} inputs need an output folder, not the file name '{output}'")
    results: list[dict[str, Any]] = []
    for f in files:
        target = output if single_file else safe_output_path(output, f.relative.with_suffix(".png"))
        try:
            item = apply_op(load_image(f.path), "remove_background", options)
            saved = save_image(item, target, format="png", overwrite=overwrite, protect=(f.path,))
            results.append({"input": str(f.path), "output": str(saved.path), "status": "done", "seconds": item.log[-1].seconds})
            if not json_out:
                info(f"{f.path} -> {saved.path}")
        except StudioError as exc:
            record_failure(results, f.path, exc)
    finish_files(results, json_out)
