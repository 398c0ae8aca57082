"""`product-studio recolor`: colour variants of a product, one file per colour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .batch_run import BatchOptions, Runs, image_command, run_op
from .common import InputsArgument, OutputDirOption, help_text, info
from .options import OptionValues

OP = "recolor"

GRID_HEIGHT = 480  # contact sheet: each tile's height in pixels


def register(app: typer.Typer) -> None:
    image_command(
        app, "recolor", OP, body=recolor, exclude=("color",), flags={"method": ("--method", "-m"), "mask_path": ("--mask",)},
        help=help_text(
            """Write colour variants of each product photo: the product's main coloured material takes each colour
            with its shading and texture kept; its whites, blacks, greys, metal, skin and parts of other colours stay,
            the background stays bit-identical, and so do the text (OCR) and logos on the product.

            Colours: CSS names (red, navy, seagreen), #rrggbb, rgb(46,139,87), or Chinese names (红色, 藏青, 墨绿). The
            product is found by the cut-out model or taken from the image's transparency; --mask gives exactly what
            to recolour instead. --keep COLOUR (repeatable) leaves that colour and its shades alone; --region all
            recolours the whole product. A product with no coloured material (white, black, grey, metal) is reported
            as failed, not tinted: recolour it with --region all or --mask.

            Outputs are named after the input and the colour: photo.jpg -> photo-red.jpg, photo-navy.jpg,
            photo-2e8b57.jpg; --grid adds photo-variants.jpg (the original and every variant side by side). Each
            colour is a one-step recipe with its own job manifest, so a rerun skips what is done.

            Examples:

              product-studio recolor photo.jpg --colors red,navy,#2e8b57 -o out/

              product-studio recolor shots/ --colors 藏青,墨绿 -o variants/ --grid

              product-studio recolor teddy.png --colors navy --keep red -o out/

              product-studio recolor shoe.jpg --colors white --mask upper-mask.png -o out/ --json
            """
        ),
    )


def recolor(
    inputs: list[str] = InputsArgument,
    colors: list[str] = typer.Option(..., "--colors", "-c", help="Comma-separated colours (repeatable): red,navy,'#2e8b57',藏青."),
    output: Path = OutputDirOption,
    grid: bool = typer.Option(False, "--grid", help="Also write <name>-variants.jpg: the original and the variants side by side."),
    options: OptionValues = None,  # generated from the op's options model
    batch: BatchOptions = None,
) -> None:
    from ..errors import UsageError
    from ..ops.recolor import parse_colors
    from .common import gather_inputs

    targets = parse_colors(colors)  # every colour checked before any work
    variants = [(options.validate(OP, color=t.text), f"-{t.slug}", {"color": t.to_dict()}) for t in targets]
    files = gather_inputs(inputs, output)
    mask = options.given.get("mask_path")
    if mask is not None and len(files) > 1:
        raise UsageError(f"--mask is one product's mask but {len(files)} inputs were given; run one photo at a time with --mask")
    if mask is not None and not Path(mask).is_file():
        raise UsageError(f"no such mask file: {mask}")
    run_op(OP, files, output, variants, batch, file_output=False,
           after=(lambda runs: _write_grids(runs, targets, output, batch.overwrite)) if grid else None)


def _write_grids(runs: Runs, targets, output: Path, overwrite: bool) -> None:  # noqa: ANN001 - [TargetColor]
    """<name>-variants.jpg for each input whose every variant is done: made again when a variant
    was, kept when all were skipped as done before."""
    from .. import storage
    from ..errors import StudioError
    from ..imageio import load_image

    by_input: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
    for result, extra in zip(runs.report.results, runs.extras):
        by_input.setdefault(result.input, []).append((result, extra))
    for source, made in by_input.items():
        if len(made) != len(targets) or any(r.status != "done" for r, _ in made):
            continue
        relative = Path(made[0][0].relative)
        target = storage.output_path(output, relative.with_name(f"{relative.stem}-variants.jpg"))
        remade = any(r.resumed != "skipped" for r, _ in made)
        try:
            if remade or not storage.exists(target):
                variants = [load_image(storage.read_input(r.output), name=r.output) for r, _ in made]
                original = load_image(storage.read_input(source), name=source)
                sheet = contact_sheet(original, targets, variants)
                storage.save_output(sheet, target, format="jpeg", overwrite=overwrite or remade, protect=(source,))
        except StudioError as exc:
            info(f"failed: the contact sheet of {source}: {exc}")
            continue
        for _, extra in made:
            extra["grid"] = str(target)


def contact_sheet(original, targets, variants):  # ImageItem, [TargetColor], [ImageItem] -> RGB array
    """The original and its variants side by side, each labelled, on white (an RGB array)."""
    import cv2
    import numpy as np

    tiles = []
    for label, item in [("original", original), *[(t.text if t.text.isascii() else t.hex, v) for t, v in zip(targets, variants)]]:
        pixels = item.pixels
        if item.alpha is not None:  # transparent cut-outs shown on white
            a = item.alpha[..., None].astype(np.float32) / 255.0
            pixels = np.clip(pixels * a + 255.0 * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
        h, w = pixels.shape[:2]
        height = min(GRID_HEIGHT, h)
        tile = cv2.resize(pixels, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
        band = np.full((36, tile.shape[1], 3), 255, np.uint8)
        cv2.putText(band, label[:24], (8, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (40, 40, 40), 2, cv2.LINE_AA)
        tiles.append(np.vstack([tile, band]))
    gap = np.full((tiles[0].shape[0], 12, 3), 255, np.uint8)
    row = [tiles[0]]
    for tile in tiles[1:]:
        row += [gap, tile]
    return np.hstack(row)
