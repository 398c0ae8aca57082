"""`product-studio denoise`, `product-studio upscale`, and `train denoiser` / `train upscaler`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .batch_run import Runs, image_command
from .common import (
    EXIT_OK, FreshOption, JsonOption, LearningRateOption, QuietOption, RunFolderOption, ThreadsOption, handle_errors, info,
    print_json,
)
from .train import train_app


def register(app: typer.Typer) -> None:
    image_command(
        app, "denoise", "denoise", flags={"strength": ("--strength", "-s"), "method": ("--method", "-m")},
        help=(
            "Remove sensor and JPEG noise from photos, keeping their size.\n\n"
            "The noise level is measured in each image and fed to the learned denoiser (a U-Net told the noise level, "
            "run in tiles at any resolution); --strength 0.5 uses the measured level, 1 smooths as if the noise "
            "were twice as strong, 0 leaves the image alone. --method nlm uses OpenCV's non-local means instead. "
            "Outputs keep the input's format (JPEG, PNG, WebP; others become PNG) and never overwrite an input.\n\n"
            "Examples:\n\n"
            "  product-studio denoise photo.jpg -o clean.jpg\n\n"
            "  product-studio denoise photos/ -o clean/ --strength 0.7\n\n"
            "  product-studio denoise scan.png -o out.png --sigma 25 --json"
        ),
    )
    image_command(
        app, "upscale", "upscale", after=_factors, flags={"scale": ("--scale", "-x"), "method": ("--method", "-m")},
        help=(
            "Enlarge photos x2 or x4 with the learned upscaler (an ESPCN-style CNN on top of bicubic, run in "
            "tiles at any resolution), or with bicubic / Lanczos interpolation.\n\n"
            "--min-side / --min-long-side upscale only the images below that size, by x2 when that is enough and "
            "x4 otherwise (an image already large enough is copied as it is). Outputs never overwrite an input.\n\n"
            "Examples:\n\n"
            "  product-studio upscale small.jpg -o big.jpg\n\n"
            "  product-studio upscale photos/ -o big/ --scale 4\n\n"
            "  product-studio upscale photos/ -o ready/ --min-side 800     # a marketplace minimum"
        ),
    )
    train_app.command(
        "denoiser",
        help=(
            "Train the denoiser on random patches of the training photographs (product_studio/train/restoration_data.py: "
            "scikit-image, scikit-learn and Debian plasma-workspace-wallpapers photos; the held-out photos are "
            "never used) with Gaussian/Poisson noise of sigma 0..55 and some JPEG re-compression. The validation "
            "PSNR is printed every 250 steps and the best weights are kept in OUTPUT/best.safetensors; rerunning "
            "with the same -o resumes a stopped run. The defaults are the shipped recipe (13,000 steps of 8 patches: "
            "about an hour on 2 cores with bf16 instructions, two or more without).\n\n"
            "Examples:\n\n"
            "  product-studio train denoiser -o runs/denoiser --threads 2\n\n"
            "  product-studio train denoiser -o runs/quick --model denoiser_tiny --steps 200"
        ),
    )(train_denoiser_command)
    train_app.command(
        "upscaler",
        help=(
            "Train a x2 or x4 upscaler on random patches of the training photographs, the input being each patch "
            "shrunk with an antialiased bicubic filter. Same data, outputs and resume as `train denoiser`.\n\n"
            "Examples:\n\n"
            "  product-studio train upscaler --scale 2 -o runs/upscaler_x2\n\n"
            "  product-studio train upscaler --scale 4 -o runs/upscaler_x4 --steps 1000"
        ),
    )(train_upscaler_command)


def _factors(runs: Runs) -> None:
    """Each result says by how much its image was enlarged (1: already large enough)."""
    for result, extra in zip(runs.report.results, runs.extras):
        if result.status == "done" and result.input_size and result.output_size:
            extra["factor"] = round(result.output_size[0] / result.input_size[0])


@handle_errors
def train_denoiser_command(
    output: Path = RunFolderOption,
    model: str = typer.Option("denoiser_unet", "--model", "-m", help="Model preset (denoiser_unet, denoiser_cnn, denoiser_ffd, denoiser_tiny)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimizer steps (default: the recipe's)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1),
    patch: int | None = typer.Option(None, "--patch", min=16, help="Training patch side in pixels (even)."),
    lr: float | None = LearningRateOption,
    threads: int = ThreadsOption,
    fresh: bool = FreshOption,
    quiet: bool = QuietOption,
    json_out: bool = JsonOption,
) -> None:
    import dataclasses

    from ..train.denoiser import DenoiserRecipe, train_denoiser

    changes = {k: v for k, v in {"steps": steps, "batch_size": batch_size, "patch": patch, "lr": lr}.items() if v is not None}
    recipe = dataclasses.replace(DenoiserRecipe(), model=model, num_threads=threads, **changes)
    summary = train_denoiser(output, recipe, resume=not fresh, progress=not quiet)
    _report_training(summary, json_out)


@handle_errors
def train_upscaler_command(
    output: Path = RunFolderOption,
    scale: int = typer.Option(2, "--scale", "-x", help="2 or 4."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model preset (default upscaler_x{scale})."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimizer steps (default: the recipe's)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1),
    patch: int | None = typer.Option(None, "--patch", min=16, help="High-resolution patch side (a multiple of the scale)."),
    lr: float | None = LearningRateOption,
    threads: int = ThreadsOption,
    fresh: bool = FreshOption,
    quiet: bool = QuietOption,
    json_out: bool = JsonOption,
) -> None:
    import dataclasses

    from ..errors import UsageError
    from ..train.upscaler import UpscalerRecipe, train_upscaler

    if scale not in (2, 4):
        raise UsageError(f"--scale must be 2 or 4; got {scale}")
    changes = {k: v for k, v in {"steps": steps, "batch_size": batch_size, "patch": patch, "lr": lr}.items() if v is not None}
    recipe = dataclasses.replace(UpscalerRecipe(), model=model or f"upscaler_x{scale}", scale=scale, num_threads=threads, **changes)
    summary = train_upscaler(output, recipe, resume=not fresh, progress=not quiet)
    _report_training(summary, json_out)


def _report_training(summary: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(summary)
    else:
        info(
            f"trained {summary['model']} for {summary['steps']} steps in {summary['train_seconds']:.0f} s; "
            f"best validation PSNR {summary['best_val_psnr']:.2f} dB -> {summary['best_weights']}"
        )
    raise typer.Exit(EXIT_OK)
