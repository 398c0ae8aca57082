"""`product-studio train`: train a model with the project's Trainer (one subcommand per family)."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import (
    EXIT_OK, FreshOption, JsonOption, LearningRateOption, QuietOption, RunFolderOption, handle_errors, info,
    print_json,
)

train_app = typer.Typer(
    name="train",
    help="Train a model with the same Trainer every model uses (checkpoints, resume, history, plots).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")


@train_app.command(
    "classifier",
    help=(
        "Train an image classifier on Fashion-MNIST or on your own categories.\n\n"
        "--data fashion-mnist trains the shipped model's recipe (validation = the last 5,000 training images; "
        "the test set is scored once at the end). --data FOLDER takes one subfolder per category (any number, "
        "colour images, any format), resized and centre-cropped to the model's size; a share of each category "
        "is held out for validation. The validation accuracy is printed after every epoch and the best "
        "weights are kept in OUTPUT/best.safetensors; rerunning with the same -o resumes a stopped run.\n\n"
        "Examples:\n\n"
        "  product-studio train classifier --data fashion-mnist -o runs/fmnist\n\n"
        "  product-studio train classifier --data catalog/ --model catalog_cnn_64 --epochs 20 -o runs/catalog"
    ),
)
@handle_errors
def classifier(
    data: str = typer.Option(..., "--data", help="fashion-mnist, or a folder with one subfolder per category."),
    output: Path = RunFolderOption,
    model: str | None = typer.Option(None, "--model", "-m", help="Model preset (default: fmnist_resnet for fashion-mnist, catalog_cnn_64 for a folder; fmnist_cnn is 4x cheaper)."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Epochs (default: the recipe's)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1),
    lr: float | None = LearningRateOption,
    val_fraction: float = typer.Option(0.15, "--val-fraction", min=0.01, max=0.5, help="Share of each category held out (folders)."),
    init: Path | None = typer.Option(None, "--init", help="Start from these weights (same model and categories), e.g. a second cycle at a lower --lr."),
    fresh: bool = FreshOption,
    quiet: bool = QuietOption,
    json_out: bool = JsonOption,
) -> None:
    import dataclasses

    from ..errors import UsageError
    from ..train.classifier import ClassifierRecipe, train_classifier

    is_fmnist = data.lower() in {"fashion-mnist", "fashion_mnist", "fmnist"}
    if not is_fmnist and not Path(data).is_dir():
        raise UsageError(f"--data must be 'fashion-mnist' or a folder of category subfolders; {data!r} is neither")
    recipe = ClassifierRecipe()
    changes: dict = {"model": model or ("fmnist_resnet" if is_fmnist else "catalog_cnn_64"), "val_fraction": val_fraction}
    if not is_fmnist:  # small user data sets: a gentler recipe than the Fashion-MNIST one
        changes.update(epochs=30, lr=0.05, erase_p=0.25, crop_padding=4, checkpoint_every=200)
    if epochs is not None:
        changes["epochs"] = epochs
    if batch_size is not None:
        changes["batch_size"] = batch_size
    if lr is not None:
        changes["lr"] = lr
    if init is not None:
        changes["init_weights"] = str(init)
    recipe = dataclasses.replace(recipe, **changes)
    summary = train_classifier(data, output, recipe=recipe, resume=not fresh, progress=not (quiet or json_out))
    if json_out:
        print_json(summary)
    else:
        info(f"best validation accuracy {summary['best_val_accuracy']:.4f} (epoch {summary['best_epoch']}), "
             f"{summary['train_seconds']:.0f} s; weights: {summary['best_weights']}")
        if "test_accuracy" in summary:
            info(f"test accuracy {summary['test_accuracy']:.4f} (flip TTA {summary['test_accuracy_flip_tta']:.4f})")
    raise typer.Exit(EXIT_OK)
