"""`product-studio read`: the text on product photos, and the prices, brand and model in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import EXIT_OK, EXIT_SOME_FAILED, JsonOption, handle_errors, info, print_json

HELP = (
    "Read the text on product photos (OCR, Chinese and English) and find prices, brands and model numbers.\n\n"
    "Each text line comes with its box (four corners, in pixels) and confidence. Brands are matched "
    "against the bundled list of common brands plus your own file (one brand a line, aliases separated "
    "by '|', e.g. 'Acme|艾克米'), tolerating OCR errors.\n\n"
    "Examples:\n\n"
    "  product-studio read photo.jpg\n\n"
    "  product-studio read shots/ --brands my_brands.txt --json > text.json\n\n"
    "Exit codes: 0 every image was read, 1 some could not be read, 2 bad usage."
)


def register(app: typer.Typer) -> None:
    app.command("read", help=HELP, no_args_is_help=True)(read)


@handle_errors
def read(
    inputs: list[str] = typer.Argument(..., help="Image files, folders (searched recursively) or glob patterns.", show_default=False),
    brands: Path | None = typer.Option(None, "--brands", help="Your own brand list, added to the bundled one: one brand a line, aliases separated by '|'.", show_default=False),
    min_confidence: float = typer.Option(0.5, "--min-confidence", min=0.0, max=1.0, help="Drop text lines read with a lower confidence (0..1)."),
    json_output: bool = JsonOption,
) -> None:
    from ..errors import StudioError
    from ..imageio import load_image, read_bytes
    from ..inputs import expand_inputs
    from ..understand.entities import extract_entities, load_brands
    from ..vision.ocr import read_text

    index = load_brands(brands)  # a bad brand file is a usage error before any work
    files = expand_inputs(inputs)
    results: list[dict[str, Any]] = []
    for f in files:
        entry: dict[str, Any] = {"input": str(f.path), "error": None, "lines": [], "entities": None}
        results.append(entry)
        try:
            item = load_image(read_bytes(f.path), name=str(f.path))
            lines = read_text(item.pixels, min_confidence=min_confidence)
        except StudioError as exc:
            entry["error"] = str(exc)
            info(f"error: {exc}")
            continue
        entry["width"], entry["height"] = item.width, item.height
        entry["lines"] = [line.to_dict() for line in lines]
        entry["entities"] = extract_entities(lines, brands=index).to_dict()
        if not json_output:
            _print_entry(entry)

    failed = sum(1 for r in results if r["error"])
    if json_output:
        print_json({"files": len(results), "errors": failed, "results": results})
    else:
        typer.echo(f"{len(results)} file(s) read" + (f", {failed} could not be read" if failed else ""))
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _print_entry(entry: dict[str, Any]) -> None:
    typer.echo(f"{entry['input']}  ({entry['width']}x{entry['height']}, {len(entry['lines'])} line(s))")
    for line in entry["lines"]:
        corners = " ".join(f"{x:.0f},{y:.0f}" for x, y in line["box"])
        typer.echo(f"  {line['confidence']:.2f}  {line['text']}    [{corners}]")
    ent = entry["entities"]
    prices = ", ".join(f"{p['amount']:g} {p['currency'] or '?'} ({p['text']})" for p in ent["prices"]) or "-"
    brands = ", ".join(f"{b['brand']} ({b['text']}, {b['confidence']:.2f})" for b in ent["brands"]) or "-"
    models = ", ".join(f"{m['value']} ({m['confidence']:.2f})" for m in ent["models"]) or "-"
    typer.echo(f"  prices: {prices}")
    typer.echo(f"  brand:  {brands}")
    typer.echo(f"  model:  {models}")
