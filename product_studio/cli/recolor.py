"""`product-studio recolor`: colour variants of a product, one file per colour."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .common import EXIT_OK, EXIT_SOME_FAILED, JsonOption, OverwriteOption, handle_errors, info, print_json

GRID_HEIGHT = 480  # contact sheet: each tile's height in pixels


def register(app: typer.Typer) -> None:
    app.command(
        "recolor",
        help=(
            "Write colour variants of each product photo: the product takes each colour with its shading and "
            "texture kept; the background stays bit-identical, and so do the text (OCR) and logos on the product.\n\n"
            "Colours: CSS names (red, navy, seagreen), #rrggbb, rgb(46,139,87), or Chinese names (红色, 藏青, 墨绿). "
            "The product is found by the cut-out model, taken from the image's transparency, or from --mask.\n\n"
            "Outputs are named after the input and the colour: photo.jpg -> photo-red.jpg, photo-navy.jpg, "
            "photo-2e8b57.jpg; --grid adds photo-variants.jpg (the original and every variant side by side).\n\n"
            "Examples:\n\n"
            "  product-studio recolor photo.jpg --colors red,navy,#2e8b57 -o out/\n\n"
            "  product-studio recolor shots/ --colors 藏青,墨绿 -o variants/ --grid\n\n"
            "  product-studio recolor shoe.jpg --colors white --region dominant --mask shoe-mask.png -o out/ --json"
        ),
    )(recolor)


@handle_errors
def recolor(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (searched recursively), globs or list files."),
    colors: list[str] = typer.Option(..., "--colors", "-c", help="Comma-separated colours (repeatable): red,navy,'#2e8b57',藏青."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder the variants are written to (created if missing)."),
    mask: Path | None = typer.Option(None, "--mask", help="Your own mask of the product (white or opaque = product); one input only."),
    method: str = typer.Option("u2netp", "--method", "-m", help="How to find the product without --mask or transparency: u2netp | grabcut."),
    region: str = typer.Option("all", "--region", help="all: the whole product; dominant: only its largest colour."),
    text: bool = typer.Option(True, "--text/--no-text", help="Leave the text on the product (read by OCR) unchanged."),
    logos: bool = typer.Option(True, "--logos/--no-logos", help="Leave small high-contrast marks (logos) on the product unchanged."),
    strength: float = typer.Option(1.0, "--strength", min=0.0, max=1.0, help="0 = unchanged .. 1 = the full new colour."),
    grid: bool = typer.Option(False, "--grid", help="Also write <name>-variants.jpg: the original and the variants side by side."),
    overwrite: bool = OverwriteOption,
    json_out: bool = JsonOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    from tqdm import tqdm

    from ..errors import StudioError, UsageError
    from ..imageio import INPUT_EXTENSIONS, load_image, output_format_for, safe_output_path, save_image
    from ..inputs import expand_inputs
    from ..vision.segmentation import load_mask
    from ..ops.recolor import parse_colors, prepare_recolor, recolor_item

    targets = parse_colors(colors)  # every colour checked before any work
    if method not in ("u2netp", "grabcut"):
        raise UsageError(f"--method must be u2netp or grabcut; got '{method}'")
    if region not in ("all", "dominant"):
        raise UsageError(f"--region must be all or dominant; got '{region}'")
    if output.suffix.lower() in INPUT_EXTENSIONS:
        raise UsageError(f"-o takes a folder, not the file name '{output}'")
    files = expand_inputs(inputs)
    if mask is not None and len(files) > 1:
        raise UsageError(f"--mask is one product's mask but {len(files)} inputs were given; run one photo at a time with --mask")
    if mask is not None and not mask.is_file():
        raise UsageError(f"no such mask file: {mask}")

    results, failed = [], 0
    bar = tqdm(total=len(files) * len(targets), unit="variant", disable=quiet or json_out, file=sys.stderr, dynamic_ncols=True)
    for f in files:
        try:
            item = load_image(f.path)
            user_mask = load_mask(mask, (item.height, item.width)) if mask is not None else None
            plan = prepare_recolor(item.pixels, alpha=item.alpha, mask=user_mask, method=method, region=region, text=text, logos=logos)
            relative = f.relative
            ext = relative.suffix.lower() if output_format_for(relative, default="") else ".png"
            variants, made = [], recolor_item(item, targets, plan, strength=strength)
            for target, variant in zip(targets, made):
                name = relative.with_name(f"{relative.stem}-{target.slug}{ext}")
                saved = save_image(variant, safe_output_path(output, name), overwrite=overwrite, protect=(f.path,))
                variants.append({**target.to_dict(), "output": str(saved.path), "seconds": variant.log[-1].seconds})
                bar.update(1)
                if not json_out:
                    bar.write(f"{f.path} -> {saved.path}", file=sys.stderr)
            report = {"input": str(f.path), "status": "done", "variants": variants, **plan.info}
            if grid:
                sheet = contact_sheet(item, targets, made)
                saved = save_image(sheet, safe_output_path(output, relative.with_name(f"{relative.stem}-variants.jpg")),
                                   overwrite=overwrite, protect=(f.path,))
                report["grid"] = str(saved.path)
            results.append(report)
        except StudioError as exc:
            failed += 1
            results.append({"input": str(f.path), "status": "failed", "error": str(exc), "error_type": type(exc).__name__})
            bar.write(f"failed: {exc}", file=sys.stderr)
    bar.close()
    summary = {"inputs": len(files), "done": len(files) - failed, "failed": failed, "colors": [t.to_dict() for t in targets]}
    if json_out:
        print_json({"results": results, "summary": summary})
    else:
        info(f"{summary['done']}/{len(files)} photo(s) recoloured in {len(targets)} colour(s), {failed} failed")
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)


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
