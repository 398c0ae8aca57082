"""`product-studio generate` and `product-studio eval gan`: the product-image GAN (it trains with `train gan`, cli/train.py)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from .common import EXIT_OK, JsonOption, OverwriteOption, QuietOption, handle_errors, help_text, info, print_json

eval_app = typer.Typer(
    name="eval",
    help="Measure a trained model against its baselines (see each subcommand).",
    no_args_is_help=True,
)

WeightsOption = typer.Option(None, "--weights", "-w", help="A GAN trained with `product-studio train gan` (default: the shipped Fashion-MNIST one).")


def register(app: typer.Typer) -> None:
    app.command(
        "generate",
        help=help_text(
            """Generate new product images of a category with a trained GAN (default: the shipped Fashion-MNIST model).

            Categories are the data set's own names, matched without regard to case and punctuation ('T-shirt/top',
            't-shirt', 'ankle boot', 'ankle-boot', 'sneakers'), or an index; --list-categories shows them. One image
            file per sample at the model's resolution, or one contact sheet with --grid. --keep-best K generates -n
            candidates and keeps the K that the discriminator (and, for Fashion-MNIST, the classifier) rate best.
            --interpolate SEED walks the latent space from --seed to SEED.

            Examples:

              product-studio generate --category sneaker -n 64 -o out/

              product-studio generate --category 'ankle boot' -n 256 --keep-best 32 --grid -o out/

              product-studio generate --category dress --seed 1 --interpolate 2 --steps 10 --grid -o out/

              product-studio generate --category mug -n 16 --weights runs/my-catalogue/final.safetensors -o out/
            """
        ),
    )(generate)
    eval_app.command(
        "gan",
        help=help_text(
            """Score a Fashion-MNIST GAN: FID on the features of this project's own Fashion-MNIST classifier (NOT
            Inception FID: not comparable with published numbers) against the FID between real training and test
            images (the floor), class consistency (share of samples the classifier puts in the requested category,
            plain and with the keep-best gate) and CAS (a classifier trained only on generated samples, tested on the
            real test set).

            Examples:

              product-studio eval gan

              product-studio eval gan --weights runs/cgan/final.safetensors -n 5000 --no-cas --json
            """
        ),
    )(eval_gan_command)
    app.add_typer(eval_app, name="eval")


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-") or "category"


@handle_errors
def generate(
    output: Path = typer.Option(..., "-o", "--output", help="Folder the images are written to (created if missing)."),
    category: str | None = typer.Option(None, "--category", "-c", help="Category name (any case/punctuation) or index."),
    n: int = typer.Option(16, "-n", "--number", min=1, max=10000, help="How many images (candidates with --keep-best)."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same images."),
    truncation: float | None = typer.Option(None, "--truncation", min=0.05, help="Truncation trick: redraw latent values beyond ±T (0.5-1.0: cleaner, less varied)."),
    keep_best: int | None = typer.Option(None, "--keep-best", min=1, help="Keep the K best of the -n candidates (quality gate)."),
    grid: bool = typer.Option(False, "--grid", help="Write one contact sheet instead of one file per image."),
    interpolate_to: int | None = typer.Option(None, "--interpolate", help="Interpolate from --seed to this seed (--steps frames)."),
    interpolate_category: str | None = typer.Option(None, "--to-category", help="With --interpolate: morph into this category too."),
    steps: int = typer.Option(8, "--steps", min=2, max=256, help="Frames of an interpolation."),
    image_format: str = typer.Option("png", "--format", help="png, jpeg or webp."),
    weights: Path | None = WeightsOption,
    list_categories: bool = typer.Option(False, "--list-categories", help="Print the model's categories and exit."),
    overwrite: bool = OverwriteOption,
    json_out: bool = JsonOption,
) -> None:
    import numpy as np

    from ..errors import UsageError
    from ..generate.sample import (
        generate_images,
        generation_info,
        interpolate,
        load_generator,
        make_grid,
        resolve_category,
    )
    from ..imageio import safe_output_path, save_image

    gan = load_generator(weights)
    names = list(gan.config.class_names)
    if list_categories:
        if json_out:
            print_json({"categories": names})
        else:
            for i, name in enumerate(names):
                typer.echo(f"{i}\t{name}")
        raise typer.Exit(EXIT_OK)
    if category is None and gan.config.conditional:
        raise UsageError(f"give --category; this model knows: {', '.join(names)}")
    label = resolve_category(category, names) if gan.config.conditional else 0
    cat_name = names[label] if names else str(label)
    ext = {"jpeg": "jpg", "jpg": "jpg", "png": "png", "webp": "webp"}.get(image_format.lower())
    if ext is None:
        raise UsageError(f"--format {image_format!r}: use png, jpeg or webp")
    stem = _slug(cat_name)
    if interpolate_to is not None:
        images = interpolate(gan, label, seed_a=seed, seed_b=interpolate_to, steps=steps, truncation=truncation,
                             category_b=interpolate_category)
        stem = f"{stem}_interp_{seed}_{interpolate_to}" + (f"_to_{_slug(interpolate_category)}" if interpolate_category else "")
    else:
        images = generate_images(gan, label, n=n, seed=seed, truncation=truncation, keep_best=keep_best)
        stem = f"{stem}_seed{seed}"
    output.mkdir(parents=True, exist_ok=True)
    written = []
    if grid:
        columns = len(images) if interpolate_to is not None else int(np.ceil(np.sqrt(len(images))))
        target = safe_output_path(output, f"{stem}_grid.{ext}")
        save_image(make_grid(images, columns=columns), target, overwrite=overwrite)
        written.append(str(target))
    else:
        from tqdm import tqdm

        for i, image in enumerate(tqdm(images, desc="writing", unit="img", disable=json_out or len(images) < 64, file=__import__("sys").stderr)):
            target = safe_output_path(output, f"{stem}_{i:04d}.{ext}")
            save_image(image, target, overwrite=overwrite)
            written.append(str(target))
    document = {"model": generation_info(gan), "category": cat_name, "index": label, "seed": seed, "truncation": truncation,
                "keep_best": keep_best, "images": len(images), "size": gan.config.image_size, "files": written}
    if json_out:
        print_json(document)
    else:
        info(f"{len(images)} {cat_name} image(s) at {gan.config.image_size}×{gan.config.image_size} -> "
             f"{written[0] if len(written) == 1 else str(output) + '/'}")
    raise typer.Exit(EXIT_OK)


@handle_errors
def eval_gan_command(
    weights: Path | None = WeightsOption,
    samples: int = typer.Option(10000, "-n", "--samples", min=100, help="Generated samples (class-balanced)."),
    no_cas: bool = typer.Option(False, "--no-cas", help="Skip CAS (it trains a small classifier: the slow part)."),
    raw: bool = typer.Option(False, "--raw", help="Score the raw generator instead of its EMA."),
    test_images: int | None = typer.Option(None, "--test-images", min=100, max=10000, help="Use only this many real test images (quick checks; default all 10,000)."),
    json_out: bool = JsonOption,
    quiet: bool = QuietOption,
) -> None:
    from ..train.gan_evaluation import evaluate_gan
    from ..generate.sample import load_generator

    from .common import StageProgress

    gan = load_generator(weights)
    with StageProgress(quiet=quiet or json_out, unit="stage") as stages:
        metrics = evaluate_gan(gan, n=samples, ema=not raw, cas=not no_cas, test_images=test_images, progress=not (quiet or json_out),
                               on_stage=stages)
    metrics["weights"] = getattr(gan, "weight_path", None)
    if json_out:
        print_json(metrics)
        raise typer.Exit(EXIT_OK)
    info(f"{metrics['fid_note']}.")
    info(f"samples: {metrics['samples']:,} (class-balanced) vs {metrics['test_images']:,} real test images")
    info(f"FID (own features):          {metrics['fid_own_features']:.4f}")
    info(f"floor (real train vs test):  {metrics['fid_floor_real_train_vs_test']:.4f}  -> {metrics['fid_over_floor']:.1f}× the floor")
    if "class_consistency" in metrics:
        info(f"class consistency:           {metrics['class_consistency']:.1%}")
        info(f"  with keep-best 1 of {metrics['keep_best_factor']}:     {metrics['class_consistency_keep_best']:.1%}")
    if "cas" in metrics:
        info(f"CAS (trained on generated):  {metrics['cas']:.1%} on the real test set")
    info(f"generation: {metrics['images_per_second']:.0f} images/s")
    raise typer.Exit(EXIT_OK)
