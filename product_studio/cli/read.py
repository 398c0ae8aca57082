"""`product-studio read`: the text on product photos, and the prices, brand and model in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import InputsArgument, JsonOption, QuietOption, handle_errors, help_text
from .each_file import for_each_file

HELP = help_text(
    """Read the text on product photos (OCR, Chinese and English) and find prices, brands and model numbers.

    Each text line comes with its box (four corners, in pixels) and confidence. Brands are matched against the bundled
    list of common brands plus your own file (one brand a line, aliases separated by '|', e.g. 'Acme|艾克米'), tolerating
    OCR errors.

    Examples:

      product-studio read photo.jpg

      product-studio read shots/ --brands my_brands.txt --json > text.json

    Exit codes: 0 every image was read, 1 some could not be read, 2 bad usage.
    """
)


def register(app: typer.Typer) -> None:
    app.command("read", help=HELP, no_args_is_help=True)(read)


@handle_errors
def read(
    inputs: list[str] = InputsArgument,
    brands: Path | None = typer.Option(None, "--brands", help="Your own brand list, added to the bundled one: one brand a line, aliases separated by '|'.", show_default=False),
    min_confidence: float = typer.Option(0.5, "--min-confidence", min=0.0, max=1.0, help="Drop text lines read with a lower confidence (0..1)."),
    json_output: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    from .. import storage
    from ..imageio import load_image
    from ..understand.entities import extract_entities, load_brands
    from ..vision.ocr import read_text
    from .common import gather_inputs

    index = load_brands(brands)  # a bad brand file is a usage error before any work

    def work(f: Any) -> dict[str, Any]:
        item = load_image(storage.read_input(f.path), name=str(f.path))
        lines = read_text(item.pixels, min_confidence=min_confidence)
        return {"width": item.width, "height": item.height, "lines": [line.to_dict() for line in lines],
                "entities": extract_entities(lines, brands=index).to_dict()}

    for_each_file(
        gather_inputs(inputs), work, json_out=json_output, quiet=quiet, show=_print_entry, failed_fields={"lines": [], "entities": None},
        footer=lambda s: f"{s['inputs']} file(s) read" + (f", {s['failed']} could not be read" if s["failed"] else ""),
    )


def _print_entry(entry: dict[str, Any]) -> None:
    if entry["status"] != "done":
        return
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
