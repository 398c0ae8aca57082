"""`product-studio classify`: the product category of each photo, with probabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import InputsArgument, JsonOption, QuietOption, handle_errors, help_text
from .each_file import for_each_file


def register(app: typer.Typer) -> None:
    app.command(
        "classify",
        help=help_text(
            """Name the product category of each photo (the 10 Fashion-MNIST categories by default), top-k with
            probabilities.

            The photo is mapped into the Fashion-MNIST domain the way Zalando built it: the product is cut out, turned
            grayscale, trimmed, fitted into 28×28 and inverted (light on black). --explain writes a Grad-CAM heat map
            of the pixels that drove the decision.

            A product that is none of the categories (a laptop, a cup) is "unknown" (JSON: "label": "unknown",
            "in_taxonomy": false, with its score and the model's threshold; top_k still lists the nearest categories).

            Examples:

              product-studio classify photo.jpg

              product-studio classify photo.jpg --top-k 5 --explain heat.png --json

              product-studio classify photos/ --weights runs/shoes/best.safetensors
            """
        ),
    )(classify)


@handle_errors
def classify(
    inputs: list[str] = InputsArgument,
    top_k: int = typer.Option(3, "--top-k", "-k", min=1, help="How many categories to list."),
    explain: Path | None = typer.Option(
        None, "--explain", help="Write a Grad-CAM heat map PNG (a .png file for one input, else a folder)."
    ),
    weights: Path | None = typer.Option(
        None, "--weights", help="A classifier trained with `product-studio train classifier` (default: the shipped one)."
    ),
    no_cut_out: bool = typer.Option(False, "--no-cut-out", help="Use the whole frame; skip the background removal."),
    json_out: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    from .. import storage
    from ..errors import UsageError
    from ..imageio import load_image, safe_output_path
    from ..understand.classify import classifier_info, classify_product, explain_item, load_default_classifier
    from .common import gather_inputs

    files = gather_inputs(inputs)
    if explain is not None and len(files) > 1 and explain.suffix:
        raise UsageError(f"{len(files)} inputs need an --explain folder, not the file name '{explain}'")
    if weights is not None:
        from ..models.registry import load_model

        model = load_model(weights, expect_family="classifier")
    else:
        model = load_default_classifier()
    def work(f: Any) -> dict[str, Any]:
        item = load_image(storage.read_input(f.path), name=str(f.path))
        if not no_cut_out and item.alpha is None:
            from ..vision.segmentation import segment_product

            item = item.replace(alpha=segment_product(item.pixels))
        record: dict[str, Any] = classify_product(item, top_k=top_k, model=model, cut_out=not no_cut_out).to_dict()
        if explain is not None:
            target = explain if (len(files) == 1 and explain.suffix) else safe_output_path(explain, f.relative.with_suffix(".heat.png"))
            record["explain"] = explain_item(item, target, model=model, cut_out=not no_cut_out)["path"]
        return record

    def show(entry: dict[str, Any]) -> None:
        if entry["status"] == "done":
            shown = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in entry["top_k"])
            if not entry["in_taxonomy"]:
                shown = f"unknown: {entry['note']} ({shown})"
            typer.echo(f"{entry['input']}: {shown}" + (f"  (heat map: {entry['explain']})" if "explain" in entry else ""))

    for_each_file(files, work, json_out=json_out, quiet=quiet, show=show, document=lambda _: {"model": classifier_info(model)})
