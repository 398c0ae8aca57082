"""`product-studio train ...`: every model trains with the project's Trainer; one subcommand per model
(classifier, gan, denoiser, upscaler, defect-detector, inpainter). What every one of them takes (--fresh,
--quiet, --json) is declared once (``run_options``) and so is its ending (``finish``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer

from .common import (
    EXIT_OK, FreshOption, JsonOption, LearningRateOption, QuietOption, RunFolderOption, ThreadsOption, handle_errors,
    help_text, info, print_json,
)
from .options import compose

train_app = typer.Typer(
    name="train",
    help="Train a model with the same Trainer every model uses (checkpoints, resume, history, plots).",
    no_args_is_help=True,
)

InitOption = typer.Option(None, "--init", help="Start from these weights (the same preset), e.g. a second cycle at a lower --lr.")
StepsOption = typer.Option(None, "--steps", min=1, help="Optimizer steps (default: the recipe's).")
BatchSizeOption = typer.Option(None, "--batch-size", min=1)

# The repair detector's data options: their help, long, in one place.
DETECTOR_HELP = {
    "patch": """Training patch side in px (default 128). 96-px patches take 1.5x the steps in the same time: a
        first cycle may use them, later cycles (--init) the default.""",
    "collection": """Train on the photo collections up to this one (default 1; 2 adds the MATE photographs:
        apt-get install mate-backgrounds; 3 adds five Palapeli photographs and synthetic product shots: apt-get
        install palapeli-data tuxpaint-stamps-default).""",
    "edge_negatives": """Share of the patches not centred on a defect that are centred on a strong edge of the
        clean photo (rims, outlines, texture: what the detector must learn to leave alone). Default 0.""",
    "photo_jitter": """Share of the training photos shown in other light, colour and size (white balance,
        exposure, contrast, saturation, shrunk up to 40%) before they are damaged: fewer clean structures learnt
        by heart. Default 0.""",
    "ema": """Keep a moving average of the weights with this decay (e.g. 0.998) and evaluate that instead of the
        raw weights: steadier from one evaluation to the next. Default 0 (off).""",
    "ignore_band": """Leave the clean pixels within this many px of a defect out of the loss: the F1 measure
        forgives a 2-px miss, so the network need not fight over where a soft stain ends. Default 0 (off).""",
    "bf16": """bfloat16 autocast where the CPU has it natively (AVX512-BF16 or AMX: about 2x faster steps);
        float32 elsewhere, and a note says so. Default off.""",
}


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")


@dataclass(frozen=True)
class Run:
    """How a training run starts (again) and reports."""

    fresh: bool
    quiet: bool
    json_out: bool


def run_options(fresh: bool = FreshOption, quiet: bool = QuietOption, json_out: bool = JsonOption) -> Run:
    return Run(fresh, quiet, json_out)


def finish(summary: dict[str, Any], run: Run, *lines: str) -> NoReturn:
    """End a training command: the summary as JSON with --json, else ``lines`` on stderr."""
    if run.json_out:
        print_json(summary)
    else:
        for line in lines:
            info(line)
    raise typer.Exit(EXIT_OK)


def given(**values: Any) -> dict[str, Any]:
    """The options given on the command line (None: the recipe's default)."""
    return {k: v for k, v in values.items() if v is not None}


def command(name: str, help: str, **groups: Callable[..., Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:  # noqa: A002
    """Register a `train` subcommand whose ``run`` parameter takes ``run_options`` (and others ``groups``)."""

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        train_app.command(name, help=help_text(help))(handle_errors(compose(function, run=run_options, **groups)))
        return function

    return decorate


@command("classifier", """
    Train an image classifier on Fashion-MNIST or on your own categories.

    --data fashion-mnist trains the shipped model's recipe (validation = the last 5,000 training images; the test set
    is scored once at the end). --data FOLDER takes one subfolder per category (any number, colour images, any
    format), resized and centre-cropped to the model's size; a share of each category is held out for validation.
    The validation accuracy is printed after every epoch and the best weights are kept in OUTPUT/best.safetensors;
    rerunning with the same -o resumes a stopped run. Every batch also shows the model images of none of your
    categories (outlier exposure, --outlier-weight), and the weights store the score below which `classify`
    answers "unknown" (set to keep 98% of the validation images).

    Examples:

      product-studio train classifier --data fashion-mnist -o runs/fmnist

      product-studio train classifier --data catalog/ --model catalog_cnn_64 --epochs 20 -o runs/catalog
    """)
def classifier(
    data: str = typer.Option(..., "--data", help="fashion-mnist, or a folder with one subfolder per category."),
    output: Path = RunFolderOption,
    model: str | None = typer.Option(None, "--model", "-m", help="Model preset (default: fmnist_resnet for fashion-mnist, catalog_cnn_64 for a folder; fmnist_cnn is 4x cheaper)."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Epochs (default: the recipe's)."),
    batch_size: int | None = BatchSizeOption,
    lr: float | None = LearningRateOption,
    val_fraction: float = typer.Option(0.15, "--val-fraction", min=0.01, max=0.5, help="Share of each category held out (folders)."),
    init: Path | None = typer.Option(None, "--init", help="Start from these weights (same model and categories), e.g. a second cycle at a lower --lr."),
    outlier_weight: float | None = typer.Option(None, "--outlier-weight", min=0.0, help=help_text("""
        Outlier exposure: weight of the term that teaches the model to answer "unknown" on images of none of its
        categories (photographs and Tux Paint stamps from Debian packages; never ones named like your categories).
        Default 0.5; 0 turns it off (then classify never says unknown).""")),
    run: Run = None,  # --fresh, --quiet, --json (run_options)
) -> None:
    import dataclasses

    from ..errors import UsageError
    from ..train.classifier import ClassifierRecipe, train_classifier

    is_fmnist = data.lower() in {"fashion-mnist", "fashion_mnist", "fmnist"}
    if not is_fmnist and not Path(data).is_dir():
        raise UsageError(f"--data must be 'fashion-mnist' or a folder of category subfolders; {data!r} is neither")
    changes: dict = {"model": model or ("fmnist_resnet" if is_fmnist else "catalog_cnn_64"), "val_fraction": val_fraction}
    if not is_fmnist:  # small user data sets: a gentler recipe than the Fashion-MNIST one
        changes.update(epochs=30, lr=0.05, erase_p=0.25, crop_padding=4, checkpoint_every=200)
    changes.update(given(epochs=epochs, batch_size=batch_size, lr=lr, init_weights=str(init) if init is not None else None,
                         outlier_weight=outlier_weight))
    recipe = dataclasses.replace(ClassifierRecipe(), **changes)
    summary = train_classifier(data, output, recipe=recipe, resume=not run.fresh, progress=not (run.quiet or run.json_out))
    lines = [f"best validation accuracy {summary['best_val_accuracy']:.4f} (epoch {summary['best_epoch']}), "
             f"{summary['train_seconds']:.0f} s; weights: {summary['best_weights']}"]
    if "test_accuracy" in summary:
        lines.append(f"test accuracy {summary['test_accuracy']:.4f} (flip TTA {summary['test_accuracy_flip_tta']:.4f})")
    if "ood" in summary:
        ood = summary["ood"]
        lines.append(f"'unknown' below a score of {ood['threshold']:.3f} (keeps {ood['val_kept']:.1%} of the validation images; "
                     f"trained against {ood['outliers']['count']} outlier images), stored in the weights")
    finish(summary, run, *lines)


@command("gan", """
    Train a class-conditional GAN on Fashion-MNIST or on your own catalogue.

    --data fashion-mnist trains the CPU recipe (28×28 grayscale; the shipped model is its wider sibling, --model
    cgan_fmnist_28_wide --batch-size 256 --device cuda). --data FOLDER takes one subfolder per category (any image
    files; a few hundred per category is enough), resized and centre-cropped to the model's size (default model
    cgan_64: 64×64 colour); DiffAugment (translation, cutout, colour) keeps the discriminator from memorising a small
    catalogue. OUTPUT gets a checkpoint and a sample grid every --checkpoint-every steps (samples/), loss.png,
    history.csv, config.json and final.safetensors; rerunning the same command resumes a killed run.

    Examples:

      product-studio train gan --data fashion-mnist -o runs/cgan

      product-studio train gan --data catalogue/ --steps 4000 -o runs/my-catalogue

      product-studio train gan --data catalogue/ --model cgan_fmnist_28 --diffaugment translation -o runs/gray
    """)
def gan(
    data: str = typer.Option(..., "--data", help="fashion-mnist, or a folder with one subfolder per category."),
    output: Path = RunFolderOption,
    model: str | None = typer.Option(None, "--model", "-m", help="GAN preset (default: cgan_fmnist_28 for fashion-mnist, cgan_64 for a folder)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Training steps (default: 24000, the CPU recipe's: about 40 min on 2 cores with bf16 at 28x28, longer for the 64x64 colour model; a longer run continues a shorter one in the same -o)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=2),
    lr_g: float | None = typer.Option(None, "--lr-g", help="Generator learning rate (default 2e-4)."),
    lr_d: float | None = typer.Option(None, "--lr-d", help="Discriminator learning rate (default 4e-4)."),
    diffaugment: str | None = typer.Option(None, "--diffaugment", help=help_text("""
        DiffAugment policy: comma-separated translation,cutout,color or 'none' (default: none for fashion-mnist,
        translation,cutout(,color for RGB) for a folder).""")),
    checkpoint_every: int | None = typer.Option(None, "--checkpoint-every", min=1, help="Checkpoint + sample grid every N steps (default 250)."),
    ema_bn_samples: int | None = typer.Option(None, "--ema-bn-samples", min=0, help=help_text("""
        After the last step, recompute the EMA generator's batch-norm statistics from this many of its own samples
        (default 4096; 0 keeps the raw generator's, which belong to other weights and give a worse FID).""")),
    threads: int = ThreadsOption,
    device: str = typer.Option("cpu", "--device", help=help_text("""
        cpu, or cuda / cuda:N to train on a CUDA GPU where torch sees one (the weights load and generate on any
        CPU).""")),
    run: Run = None,  # --fresh, --quiet, --json (run_options)
) -> None:
    import dataclasses

    from ..models.registry import model_config
    from ..train.gan import FASHION_MNIST_NAMES, GANRecipe, train_gan

    is_fmnist = data.lower() in FASHION_MNIST_NAMES
    model = model or ("cgan_fmnist_28" if is_fmnist else "cgan_64")
    if diffaugment is None and not is_fmnist:
        diffaugment = "translation,cutout" + (",color" if model_config(model).channels == 3 else "")
    changes = given(steps=steps, batch_size=batch_size, lr_g=lr_g, lr_d=lr_d, diffaugment=diffaugment,
                    checkpoint_every=checkpoint_every, ema_bn_samples=ema_bn_samples)
    recipe = dataclasses.replace(GANRecipe(), model=model, num_threads=threads, device=device, **changes)
    summary = train_gan(data, output, recipe=recipe, resume=not run.fresh, progress=not (run.quiet or run.json_out))
    finish(summary, run,
           f"{summary['steps']} steps in {summary['train_seconds']:.0f} s; weights: {summary['weights']}; "
           f"samples: {output / 'samples'}; loss plot: {summary['loss_plot']}",
           f"generate with: product-studio generate --weights {summary['weights']} --category {summary['class_names'][0]!r} -o out/")


def restoration_options(steps: int | None = StepsOption, batch_size: int | None = BatchSizeOption,
                        lr: float | None = LearningRateOption, threads: int = ThreadsOption) -> dict[str, Any]:
    """The denoiser's and the upscalers' recipe settings given on the command line."""
    return {"num_threads": threads, **given(steps=steps, batch_size=batch_size, lr=lr)}


def _restoration(kind: str, recipe: Any, output: Path, run: Run) -> NoReturn:
    """Train the denoiser or an upscaler with ``recipe`` and end the command."""
    from ..train import denoiser, upscaler

    train = denoiser.train_denoiser if kind == "denoiser" else upscaler.train_upscaler
    summary = train(output, recipe, resume=not run.fresh, progress=not run.quiet)
    finish(summary, run, f"trained {summary['model']} for {summary['steps']} steps in {summary['train_seconds']:.0f} s; "
                         f"best validation PSNR {summary['best_val_psnr']:.2f} dB -> {summary['best_weights']}")


@command("denoiser", """
    Train the denoiser on random patches of the training photographs (product_studio/train/restoration_data.py:
    scikit-image, scikit-learn and Debian plasma-workspace-wallpapers photos; the held-out photos are never used) with
    Gaussian/Poisson noise of sigma 0..55 and some JPEG re-compression. The validation PSNR is printed every 250
    steps and the best weights are kept in OUTPUT/best.safetensors; rerunning with the same -o resumes a stopped
    run. The defaults are the shipped recipe (13,000 steps of 8 patches: about an hour on 2 cores with bf16
    instructions, two or more without).

    Examples:

      product-studio train denoiser -o runs/denoiser --threads 2

      product-studio train denoiser -o runs/quick --model denoiser_tiny --steps 200
    """, settings=restoration_options)
def denoiser(
    output: Path = RunFolderOption,
    model: str = typer.Option("denoiser_unet", "--model", "-m", help="Model preset (denoiser_unet, denoiser_cnn, denoiser_ffd, denoiser_tiny)."),
    settings: dict = None,  # --steps, --batch-size, --lr, --threads (restoration_options)
    patch: int | None = typer.Option(None, "--patch", min=16, help="Training patch side in pixels (even)."),
    run: Run = None,  # --fresh, --quiet, --json (run_options)
) -> None:
    import dataclasses

    from ..train.denoiser import DenoiserRecipe

    _restoration("denoiser", dataclasses.replace(DenoiserRecipe(), model=model, **settings, **given(patch=patch)), output, run)


@command("upscaler", """
    Train a x2 or x4 upscaler on random patches of the training photographs, the input being each patch shrunk with
    an antialiased bicubic filter. Same data, outputs and resume as `train denoiser`.

    Examples:

      product-studio train upscaler --scale 2 -o runs/upscaler_x2

      product-studio train upscaler --scale 4 -o runs/upscaler_x4 --steps 1000
    """, settings=restoration_options)
def upscaler(
    output: Path = RunFolderOption,
    scale: int = typer.Option(2, "--scale", "-x", help="2 or 4."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model preset (default upscaler_x{scale})."),
    settings: dict = None,  # --steps, --batch-size, --lr, --threads (restoration_options)
    patch: int | None = typer.Option(None, "--patch", min=16, help="High-resolution patch side (a multiple of the scale)."),
    run: Run = None,  # --fresh, --quiet, --json (run_options)
) -> None:
    import dataclasses

    from ..errors import UsageError
    from ..train.upscaler import UpscalerRecipe

    if scale not in (2, 4):
        raise UsageError(f"--scale must be 2 or 4; got {scale}")
    recipe = dataclasses.replace(UpscalerRecipe(), model=model or f"upscaler_x{scale}", scale=scale, **settings, **given(patch=patch))
    _restoration("upscaler", recipe, output, run)


def _repair(kind: str, output: Path, run: Run, model: str | None, threads: int, init: Path | None, seed: int = 0, **options: Any) -> NoReturn:
    """Train the defect detector or the inpainter (``train.repair``) and end the command."""
    from ..train.repair import train_repair_model

    if options.get("bf16"):
        import torch

        from ..runtime import BF16_ENV
        from ..train.trainer import bf16_autocast_pays

        if not bf16_autocast_pays(torch.device("cpu")):  # the repair models train on the CPU
            info(f"--bf16: bfloat16 is off here (this CPU has no AVX512-BF16 or AMX instructions, or {BF16_ENV}=0), so the "
                 "training runs in float32: on a CPU with AVX2 only, about 4x the time per step of docs/repair.md's timings")
    summary = train_repair_model(kind, output, model_name=model, resume=not run.fresh, progress=not (run.quiet or run.json_out),
                                 threads=threads, init_weights=init, seed=seed, **given(**options))
    m = summary["metrics"]
    score = f"F1 {m['f1']:.3f} at threshold {m['threshold']}" if kind == "detector" else f"PSNR in the holes {m['psnr_mask']:.2f} dB"
    finish(summary, run, f"validation {score} (epoch {m['best_epoch']}), {summary['train_seconds']:.0f} s; weights: {summary['weights']}")


@command("defect-detector", """
    Train the scratch/stain/dust detector (a small U-Net) on the training photos with synthetic defects. The threshold
    is chosen for the best F1 on the validation photos and stored in OUTPUT/model.safetensors; rerunning with the
    same -o resumes a stopped run.

    Examples:

      product-studio train defect-detector -o runs/defect_detector

      product-studio train defect-detector -o runs/quick --model defect_unet_tiny --steps 200
    """)
def defect_detector(
    output: Path = RunFolderOption,
    model: str | None = typer.Option(None, "--model", "-m", help="Preset (default defect_unet_s; defect_unet_tiny for quick runs)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimiser steps (default 4000; the shipped detector: five cycles with --bf16, 42000 steps in all; docs/repair.md gives the commands)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Patches per step (default 12)."),
    patch: int | None = typer.Option(None, "--patch", min=32, max=384, help=help_text(DETECTOR_HELP["patch"])),
    lr: float | None = LearningRateOption,
    init: Path | None = InitOption,
    collection: int | None = typer.Option(None, "--collection", min=1, max=3, help=help_text(DETECTOR_HELP["collection"])),
    edge_negatives: float | None = typer.Option(None, "--edge-negatives", min=0.0, max=1.0, help=help_text(DETECTOR_HELP["edge_negatives"])),
    photo_jitter: float | None = typer.Option(None, "--photo-jitter", min=0.0, max=1.0, help=help_text(DETECTOR_HELP["photo_jitter"])),
    ema: float | None = typer.Option(None, "--ema", min=0.0, max=0.9999, help=help_text(DETECTOR_HELP["ema"])),
    ignore_band: int | None = typer.Option(None, "--ignore-band", min=0, max=4, help=help_text(DETECTOR_HELP["ignore_band"])),
    bf16: bool | None = typer.Option(None, "--bf16/--no-bf16", help=help_text(DETECTOR_HELP["bf16"])),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the training patches: a later cycle (--init) with another seed sees new patches."),
    threads: int = ThreadsOption,
    run: Run = None,  # --fresh, --quiet, --json (run_options)
) -> None:
    _repair("detector", output, run, model, threads, init, seed, steps=steps, batch_size=batch_size, lr=lr, collection=collection,
            edge_negatives=edge_negatives, ema=ema, ignore_band=ignore_band, bf16=bf16, photo_jitter=photo_jitter, patch_size=patch)


@command("inpainter", """
    Train the inpainter (a gated-convolution U-Net) to fill synthetic scratch, stain and dust holes, strokes, boxes
    and letters in the training photos; the best epoch on the validation photos is kept in OUTPUT/model.safetensors.
    Rerunning with the same -o resumes a stopped run.

    Examples:

      product-studio train inpainter -o runs/inpainter

      product-studio train inpainter -o runs/quick --model inpaint_gated_tiny --steps 200
    """)
def inpainter(
    output: Path = RunFolderOption,
    model: str | None = typer.Option(None, "--model", "-m", help="Preset (default inpaint_gated_ns_s; inpaint_gated_tiny for quick runs)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimiser steps (default 3000; the shipped inpainter is two cycles of 3000, the second with --init and --lr 1e-3)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Patches per step (default 16)."),
    lr: float | None = LearningRateOption,
    init: Path | None = InitOption,
    threads: int = ThreadsOption,
    run: Run = None,  # --fresh, --quiet, --json (run_options)
) -> None:
    _repair("inpainter", output, run, model, threads, init, steps=steps, batch_size=batch_size, lr=lr)
