"""`product-studio remove-bg`: cut the product out into an RGBA PNG (the ``remove_background`` op)."""

from __future__ import annotations

import typer

from .batch_run import image_command
from .common import help_text

OP = "remove_background"


def register(app: typer.Typer) -> None:
    image_command(
        app, "remove-bg", OP, output_format=lambda _: "png", flags={"method": ("--method", "-m"), "mask_path": ("--mask",)},
        help=help_text(
            """Cut the product out of each photo and write an RGBA PNG (transparent background).

            Uses the U2-Net-p salient-object model refined at full resolution; --method grabcut needs no model; --mask
            takes your own mask (white = product). A folder gets report.html and resumes like `process`.

            Examples:

              product-studio remove-bg photo.jpg -o cutout.png

              product-studio remove-bg photos/ -o cutouts/
            """
        ),
    )
