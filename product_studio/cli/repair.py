"""`product-studio repair`: remove scratches, stains, dust and overlaid text (the ``inpaint``, ``repair_defects``
and ``remove_text`` steps; their models train with `train defect-detector` / `train inpainter`, cli/train.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .batch_run import BatchOptions, Runs, image_command, run_op
from .common import InputsArgument, help_text, info
from .options import OptionValues

MODES = {"--mask": "inpaint", "--auto": "repair_defects", "--remove-text": "remove_text"}  # how the holes are found -> op


def register(app: typer.Typer) -> None:
    image_command(
        app, "repair", list(MODES.values()), body=repair, flags={"mask_path": ("--mask",), "match": ("--text",)},
        labels={op: mode for mode, op in MODES.items()},
        help=help_text(
            """Repair photos: fill the defects a mask marks, or find scratches, stains and dust automatically (--auto),
            or remove overlaid text and watermarks found by OCR (--remove-text). The inputs are never changed.

            Each mode is one step (inpaint, repair_defects, remove_text) run like `process`: a folder gets report.html
            and resumes. The filling is done by OpenCV's Navier-Stokes method for a mask and text (--method auto: the
            best on the held-out repair benchmark, docs/repair.md) and by the network for --auto; --method
            learned|telea|ns chooses. --show-mask writes the mask that was used (white = filled) so you can look at
            it, paint on it in any editor and run again with --mask.

            Examples:

              product-studio repair photo.jpg --auto --show-mask photo.mask.png

              product-studio repair photo.jpg --mask photo.mask.png -o fixed.png

              product-studio repair photo.jpg --remove-text --text 'SAMPLE' -o clean.jpg

              product-studio repair shots/ --auto -o repaired/ --detector classical --method telea --json
            """
        ),
    )


def repair(
    inputs: list[str] = InputsArgument,
    output: Path | None = typer.Option(
        None, "-o", "--output", help="A folder, or the repaired file for one input (default: PHOTO.repaired.<ext> beside it)."
    ),
    auto: bool = typer.Option(False, "--auto", help="Find scratches, stains and dust automatically."),
    remove_text: bool = typer.Option(False, "--remove-text", help="Find text with OCR and remove its letters (watermarks, captions)."),
    show_mask: Path | None = typer.Option(None, "--show-mask", help="Write the mask used (PNG, white = filled) here (one input)."),
    options: OptionValues = None,  # generated from the three ops' options models
    batch: BatchOptions = None,
) -> None:
    from ..errors import UsageError
    from .common import gather_inputs

    mask = options.given.get("mask_path")
    sources = [name for name, on in (("--mask", mask is not None), ("--auto", auto), ("--remove-text", remove_text)) if on]
    if len(sources) != 1:
        raise UsageError("give exactly one of --mask FILE, --auto or --remove-text" + (f" (got {', '.join(sources)})" if sources else ""))
    op = MODES[sources[0]]
    chosen = options.validate(op, where=f"with {sources[0]}")
    files = gather_inputs(inputs, output)
    for flag, given in (("--mask", mask), ("--show-mask", show_mask)):
        if given is not None and len(files) > 1:
            raise UsageError(f"{flag} is one photo's mask but {len(files)} inputs were given; run one photo at a time with {flag}")
    if output is None:
        if len(files) > 1 or not isinstance(files[0].path, Path):
            raise UsageError(f"say where the repaired images go: -o FOLDER ({len(files)} inputs)" if len(files) > 1
                             else "an s3:// input needs -o for its output")
        output = _default_output(files[0].path)
    inputs_and_mask = [f.path for f in files if isinstance(f.path, Path)] + ([Path(mask)] if mask else [])
    if mask is not None and output.resolve() == Path(mask).resolve():
        raise UsageError("-o must name a file other than the --mask")
    if show_mask is not None and show_mask.resolve() in {output.resolve(), *(p.resolve() for p in inputs_and_mask)}:
        raise UsageError("--show-mask must name a file other than the input, the --mask and the output")
    after = (lambda runs: _write_mask(runs, op, chosen, show_mask, batch.overwrite)) if show_mask is not None else None
    run_op(op, files, output, [(chosen, "", {})], batch, after=after)


def _default_output(path: Path) -> Path:
    suffix = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp") else ".png"
    return path.with_name(f"{path.stem}.repaired{suffix}")


def _write_mask(runs: Runs, op: str, options: dict[str, Any], target: Path, overwrite: bool) -> None:
    """--show-mask: the mask the step filled, found again from the input (white = filled)."""
    import cv2
    import numpy as np

    from .. import storage
    from ..errors import StudioError
    from ..imageio import load_image, save_image
    from ..ops.repair import detect_defects, load_mask, resolve_detect_method, text_mask

    ((result, extra),) = zip(runs.report.results, runs.extras)
    if result.status != "done":
        return
    try:
        pixels = load_image(storage.read_input(result.input), name=result.input).pixels
        if op == "inpaint":
            fill, size = load_mask(options["mask_path"], pixels.shape), 2 * options["dilate"] + 1
            fill = cv2.dilate(fill, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))) if options["dilate"] else fill
        elif op == "repair_defects":
            fill = detect_defects(pixels, method=resolve_detect_method(options["detector"]), threshold=options["threshold"],
                                  grow=options["grow"], min_area=options["min_area"])
        else:
            fill = text_mask(pixels, match=options["match"], min_confidence=options["min_confidence"], grow=options["grow"])[0]
        saved = save_image(np.dstack([fill] * 3), target, format="png", overwrite=overwrite, protect=(result.input,))
    except StudioError as exc:
        info(f"failed: --show-mask {target}: {exc}")
        return
    extra.update(mask_output=str(saved.path), filled_pixels=int(np.count_nonzero(fill)))
