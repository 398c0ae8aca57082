"""`product-studio denoise`, `product-studio upscale`, and `train denoiser` / `train upscaler`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .common import (
    EXIT_OK, FreshOption, JsonOption, LearningRateOption, OverwriteOption, QuietBarOption, RunFolderOption,
    ThreadsOption, finish_files, handle_errors, info, print_json, record_failure,
)
from .train import train_app

MaxTileOption = typer.Option(
    None, "--max-tile-pixels", min=4096,
    help="Memory cap: the largest tile (pixels) the network sees at once; big images go through in tiles. "
    "Default 262144 (512x512) for denoise, 65536 (256x256 input pixels) for upscale.",
)


def register(app: typer.Typer) -> None:
    app.command(
        "denoise",
        help=(
            "Remove sensor and JPEG noise from photos, keeping their size.\n\n"
            "The noise level is measured in each image and fed to the learned denoiser (a U-Net told the noise level, "
            "run in tiles at any resolution); --strength 0.5 uses the measured level, 1 smooths as if the noise "
            "were twice as strong, 0 leaves the image alone. --method nlm uses OpenCV's non-local means instead. "
            "Outputs keep the input's format and never overwrite an input.\n\n"
            "Examples:\n\n"
            "  product-studio denoise photo.jpg -o clean.jpg\n\n"
            "  product-studio denoise photos/ -o clean/ --strength 0.7\n\n"
            "  product-studio denoise scan.png -o out.png --sigma 25 --json"
        ),
    )(denoise)
    app.command(
        "upscale",
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
    )(upscale)
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


def _outputs(files: list[Any], output: Path) -> tuple[bool, Any]:
    from ..errors import UsageError
    from ..imageio import safe_output_path

    single_file = len(files) == 1 and bool(output.suffix) and not output.is_dir()
    if len(files) > 1 and output.suffix and not output.is_dir():
        raise UsageError(f"{len(files)} inputs need an output folder, not the file name '{output}'")

    def target(f: Any) -> Path:
        return output if single_file else safe_output_path(output, f.relative)

    return single_file, target


def _tile_bar(label: str, quiet: bool) -> tuple[Any, Any]:
    """A tqdm bar over the tiles of one image (shown only when it has several tiles)."""
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if quiet or total < 2:
            return
        if "bar" not in state:
            state["bar"] = tqdm(total=total, desc=label, unit="tile", leave=False, dynamic_ncols=True)
        state["bar"].update(done - state["bar"].n)

    def close() -> None:
        if "bar" in state:
            state["bar"].close()

    return progress, close


def _run(files: list[Any], output: Path, overwrite: bool, json_out: bool, quiet: bool, work: Any) -> None:
    import time

    from ..errors import StudioError
    from ..imageio import load_image, save_image

    _, target = _outputs(files, output)
    results: list[dict[str, Any]] = []
    for f in files:
        try:
            item = load_image(f.path)
            progress, close = _tile_bar(str(getattr(f.path, "name", f.path)), quiet or json_out)
            started = time.perf_counter()
            try:
                out, facts = work(item, progress)
            finally:
                close()
            seconds = round(time.perf_counter() - started, 3)
            saved = save_image(out, target(f), overwrite=overwrite, protect=(f.path,))
            results.append({"input": str(f.path), "output": str(saved.path), "status": "done", "seconds": seconds,
                            "size": [out.width, out.height], **facts})
            if not json_out:
                extra = " ".join(f"{k}={v}" for k, v in facts.items())
                info(f"{f.path} -> {saved.path} ({out.width}x{out.height}, {seconds:.2f} s{', ' + extra if extra else ''})")
        except StudioError as exc:
            record_failure(results, f.path, exc)
    finish_files(results, json_out)


@handle_errors
def denoise(
    inputs: list[str] = typer.Argument(..., help="Image files, folders or globs."),
    output: Path = typer.Option(..., "-o", "--output", help="An image file (one input) or a folder."),
    strength: float = typer.Option(0.5, "--strength", "-s", min=0.0, max=1.0, help="0 = unchanged, 0.5 = the measured noise level (best PSNR), 1 = twice as strong."),
    method: str = typer.Option("auto", "--method", "-m", help="cnn (learned) | nlm (non-local means) | auto (cnn when its weights are installed)."),
    sigma: float | None = typer.Option(None, "--sigma", min=0.0, max=100.0, help="The noise std in 0..255 levels, when known (default: measured per image)."),
    max_tile_pixels: int | None = MaxTileOption,
    overwrite: bool = OverwriteOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    json_out: bool = JsonOption,
) -> None:
    from ..errors import UsageError
    from ..inputs import expand_inputs
    from ..ops.denoise import DEFAULT_MAX_TILE_PIXELS, check_tile_cap, denoise_cnn, denoise_nlm, load_denoiser, resolve_denoise_method
    from ..vision.noise import estimate_noise_sigma

    if method not in {"auto", "cnn", "nlm"}:
        raise UsageError(f"unknown --method {method!r}; use cnn, nlm or auto")
    cap = check_tile_cap(max_tile_pixels or DEFAULT_MAX_TILE_PIXELS)
    files = expand_inputs(inputs)
    chosen = resolve_denoise_method(method)
    model = load_denoiser() if chosen == "cnn" else None

    def work(item: Any, progress: Any) -> tuple[Any, dict[str, Any]]:
        level = sigma if sigma is not None else estimate_noise_sigma(item.pixels)
        if chosen == "cnn":
            pixels = denoise_cnn(item.pixels, strength=strength, sigma=level, model=model, max_tile_pixels=cap, progress=progress)
        else:
            pixels = denoise_nlm(item.pixels, strength=strength, sigma=level)
        return item.replace(pixels=pixels), {"method": chosen, "noise_sigma": round(float(level), 2)}

    _run(files, output, overwrite, json_out, quiet, work)


@handle_errors
def upscale(
    inputs: list[str] = typer.Argument(..., help="Image files, folders or globs."),
    output: Path = typer.Option(..., "-o", "--output", help="An image file (one input) or a folder."),
    scale: int = typer.Option(2, "--scale", "-x", help="2 or 4 (ignored with --min-side / --min-long-side)."),
    method: str = typer.Option("cnn", "--method", "-m", help="cnn (learned) | bicubic | lanczos."),
    min_side: int | None = typer.Option(None, "--min-side", min=1, help="Upscale only until the shorter side is at least this."),
    min_long_side: int | None = typer.Option(None, "--min-long-side", min=1, help="Upscale only until the longer side is at least this."),
    max_tile_pixels: int | None = MaxTileOption,
    overwrite: bool = OverwriteOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    json_out: bool = JsonOption,
) -> None:
    import math

    from ..errors import UsageError
    from ..inputs import expand_inputs
    from ..ops.denoise import check_tile_cap
    from ..ops.upscale import DEFAULT_MAX_TILE_PIXELS, factors_to_reach, upscale_alpha, upscale_image

    if scale not in (2, 4):
        raise UsageError(f"--scale must be 2 or 4; got {scale}")
    if method not in {"cnn", "bicubic", "lanczos"}:
        raise UsageError(f"unknown --method {method!r}; use cnn, bicubic or lanczos")
    cap = check_tile_cap(max_tile_pixels or DEFAULT_MAX_TILE_PIXELS)
    files = expand_inputs(inputs)

    def work(item: Any, progress: Any) -> tuple[Any, dict[str, Any]]:
        if min_side is None and min_long_side is None:
            passes = [scale]
        else:
            short, long = min(item.height, item.width), max(item.height, item.width)
            passes = max(
                [factors_to_reach(short, min_side) if min_side else [], factors_to_reach(long, min_long_side) if min_long_side else []],
                key=math.prod,
            )
        pixels, alpha = item.pixels, item.alpha
        for s in passes:
            pixels = upscale_image(pixels, scale=s, method=method, max_tile_pixels=cap, progress=progress)
            alpha = upscale_alpha(alpha, s) if alpha is not None else None
        return item.replace(pixels=pixels, alpha=alpha), {"method": method, "factor": math.prod(passes)}

    _run(files, output, overwrite, json_out, quiet, work)


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
    quiet: bool = QuietBarOption,
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
    quiet: bool = QuietBarOption,
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
