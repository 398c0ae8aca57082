"""`product-studio denoise` and `product-studio upscale`: the ``denoise`` and ``upscale`` steps as commands
(their training: `train denoiser` / `train upscaler`, cli/train.py)."""

from __future__ import annotations

import typer

from .batch_run import Runs, image_command
from .common import help_text


def register(app: typer.Typer) -> None:
    image_command(
        app, "denoise", "denoise", flags={"strength": ("--strength", "-s"), "method": ("--method", "-m")},
        help=help_text(
            """Remove sensor and JPEG noise from photos, keeping their size.

            The noise level is measured in each image and fed to the learned denoiser (a U-Net told the noise level,
            run in tiles at any resolution); --strength 0.5 uses the measured level, 1 smooths as if the noise were
            twice as strong, 0 leaves the image alone. --method nlm uses OpenCV's non-local means instead. Outputs
            keep the input's format (JPEG, PNG, WebP; others become PNG) and never overwrite an input.

            Examples:

              product-studio denoise photo.jpg -o clean.jpg

              product-studio denoise photos/ -o clean/ --strength 0.7

              product-studio denoise scan.png -o out.png --sigma 25 --json
            """
        ),
    )
    image_command(
        app, "upscale", "upscale", after=_factors, flags={"scale": ("--scale", "-x"), "method": ("--method", "-m")},
        help=help_text(
            """Enlarge photos x2 or x4 with the learned upscaler (an ESPCN-style CNN on top of bicubic, run in tiles at
            any resolution), or with bicubic / Lanczos interpolation.

            --min-side / --min-long-side upscale only the images below that size, by x2 when that is enough and x4
            otherwise (an image already large enough is copied as it is). Outputs never overwrite an input.

            Examples:

              product-studio upscale small.jpg -o big.jpg

              product-studio upscale photos/ -o big/ --scale 4

              product-studio upscale photos/ -o ready/ --min-side 800     # a marketplace minimum
            """
        ),
    )


def _factors(runs: Runs) -> None:
    """Each result says by how much its image was enlarged (1: already large enough)."""
    for result, extra in zip(runs.report.results, runs.extras):
        if result.status == "done" and result.input_size and result.output_size:
            extra["factor"] = round(result.output_size[0] / result.input_size[0])
