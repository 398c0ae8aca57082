"""Training an image classifier (``models/classifier.py``) on Fashion-MNIST or a folder of categories.

    summary = train_classifier("fashion-mnist", "runs/fmnist", recipe=ClassifierRecipe())

The one code path behind ``scripts/train_classifier.py`` and ``product-studio train classifier``: the
Trainer with batch augmentation (random crop, flip, random erasing), one-cycle SGD and label smoothing,
the best epoch kept on the validation split; for Fashion-MNIST the best weights are then scored once on
the test set (plain and with flip test-time augmentation).

With ``outlier_weight > 0`` (the default) each batch also carries non-category images
(``train/outliers.py``: photographs and Tux Paint stamps, converted as ``classify`` converts a photo) and
the loss adds outlier exposure; after training the threshold that keeps ``ood_keep`` (98%) of the
validation images known is written into best.safetensors (``"ood"`` metadata), so ``classify`` answers
"unknown" below it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import UsageError
from .datasets import BatchAugment, fashion_mnist_datasets, image_folder_dataset
from .metrics import accuracy, predict_logits
from .outliers import CLOTHING_FOLDERS, CLOTHING_WORDS, OutlierMix, load_or_build_outliers, ood_threshold, outlier_exposure_loss, words_of
from .trainer import Trainer


@dataclass
class ClassifierRecipe:
    """How ``train_classifier`` trains; the defaults are the first cycle of the shipped Fashion-MNIST
    classifier (the manifest entry of fmnist_resnet.safetensors has both cycles' commands)."""

    model: str = "fmnist_resnet"
    epochs: int = 36
    lr: float = 0.1
    batch_size: int = 128
    optimizer: str = "sgd"
    weight_decay: float = 5e-4
    scheduler: str = "onecycle"
    warmup_fraction: float = 0.15
    label_smoothing: float = 0.1
    ema_decay: float | None = 0.999
    crop_padding: int = 2
    flip: bool = True
    erase_p: float = 0.5
    seed: int = 0
    num_threads: int = 1  # 2 threads were 5x slower while other jobs shared the 2 cores (OpenMP barriers)
    autocast_bf16: bool = True
    channels_last: bool = False
    val_size: int = 5000
    val_fraction: float = 0.15
    limit: int | None = None
    checkpoint_every: int = 500
    init_weights: str | None = None  # start from these weights (a second, gentler cycle), not from scratch
    outlier_weight: float = 0.5  # outlier exposure (train/outliers.py): weight of the uniform-softmax term; 0: off
    outlier_ratio: float = 0.5  # outliers per in-category image in a batch
    ood_keep: float = 0.98  # the "unknown" threshold keeps this share of the validation images known
    outlier_limit: int | None = None  # only this many photographs and stamps as outliers (quick runs, tests)


def train_classifier(
    data: str | Path,
    out_dir: str | Path,
    *,
    recipe: ClassifierRecipe | None = None,
    resume: bool = True,
    progress: bool = True,
    evaluate_test: bool = True,
) -> dict[str, Any]:
    """Train a classifier on ``data``: ``"fashion-mnist"`` or a folder with one subfolder per category.

    Writes the Trainer's outputs into ``out_dir`` (best.safetensors, final.safetensors, history,
    loss.png, config.json) and ``summary.json``; a rerun with the same ``out_dir`` resumes. For
    Fashion-MNIST the best-on-validation weights are then scored once on the test set.
    """
    from ..models.registry import create_model, load_model

    recipe = recipe or ClassifierRecipe()
    torch.set_num_threads(recipe.num_threads)
    out_dir = Path(out_dir)
    is_fmnist = str(data).lower() in {"fashion-mnist", "fashion_mnist", "fmnist"}
    if is_fmnist:
        splits = fashion_mnist_datasets(val_size=recipe.val_size, limit=recipe.limit)
        model = create_model(recipe.model)
        if model.config.in_channels != 1 or model.config.image_size != 28:
            raise UsageError(f"Fashion-MNIST is 28×28 grayscale; model {recipe.model!r} takes "
                             f"{model.config.image_size}px with {model.config.in_channels} channel(s)")
    else:
        from ..models.registry import model_config

        base = model_config(recipe.model)
        splits = image_folder_dataset(data, size=base.image_size, channels=base.in_channels,
                                      val_fraction=recipe.val_fraction, seed=recipe.seed)
        model = create_model(recipe.model, class_names=splits["train"].class_names)
    if recipe.init_weights:
        start = load_model(recipe.init_weights, expect_model=recipe.model)
        if start.config != model.config:
            raise UsageError(f"{recipe.init_weights} holds a {recipe.model} with another configuration "
                             f"({start.config}); start from weights of the same model and categories")
        model.load_state_dict(start.state_dict())
    augment = BatchAugment(crop_padding=recipe.crop_padding, flip=recipe.flip, erase_p=recipe.erase_p)
    batch_size = min(recipe.batch_size, len(splits["train"]))
    train_data, loss_fn, outliers_info = splits["train"], None, None
    if recipe.outlier_weight > 0:
        # Outlier exposure: the same sources for every model; never the user's own categories as outliers.
        if is_fmnist:
            exclude_words, exclude_folders = set(CLOTHING_WORDS), CLOTHING_FOLDERS
        else:
            exclude_words, exclude_folders = {w for name in splits["train"].class_names for w in words_of(name)}, ()
        outliers, outliers_info = load_or_build_outliers(
            out_dir / "outliers.npz", channels=model.config.in_channels, size=model.config.image_size,
            exclude_words=exclude_words, exclude_folders=exclude_folders, seed=recipe.seed, limit=recipe.outlier_limit,
            progress=progress)
        train_data = OutlierMix(splits["train"], outliers, ratio=recipe.outlier_ratio)
        loss_fn = outlier_exposure_loss(recipe.outlier_weight, label_smoothing=recipe.label_smoothing)
    trainer = Trainer(
        model, train_data, val_data=splits["val"], out_dir=out_dir, epochs=recipe.epochs, lr=recipe.lr, loss_fn=loss_fn,
        batch_size=batch_size, augment=augment, optimizer=recipe.optimizer, weight_decay=recipe.weight_decay,
        scheduler=recipe.scheduler, warmup_fraction=recipe.warmup_fraction, label_smoothing=recipe.label_smoothing,
        ema_decay=recipe.ema_decay, seed=recipe.seed, num_threads=recipe.num_threads,
        autocast_bf16=recipe.autocast_bf16, channels_last=recipe.channels_last,
        checkpoint_every=recipe.checkpoint_every, progress=progress, resume=resume,
        extra_config={"data": str(data), "recipe": recipe.__dict__, "augment": augment.__dict__},
    )
    started = time.perf_counter()
    result = trainer.fit()
    summary: dict[str, Any] = {
        "data": str(data),
        "model": recipe.model,
        "epochs": recipe.epochs,
        "steps": result.steps,
        "train_seconds": round(result.seconds, 1),
        "this_session_seconds": round(time.perf_counter() - started, 1),
        "best_val_accuracy": result.best_metric,
        "best_epoch": result.best_epoch,
        "train_size": len(splits["train"]),
        "val_size": len(splits["val"]),
        "class_names": list(splits["train"].class_names),
        "best_weights": str(out_dir / "best.safetensors"),
    }
    if outliers_info is not None:
        # The "unknown" threshold goes into the weights, where classify reads it.
        from ..models.registry import update_metadata

        ood = {**ood_threshold(load_model(out_dir / "best.safetensors"), splits["val"], keep=recipe.ood_keep),
               "outlier_weight": recipe.outlier_weight, "outliers": outliers_info}
        update_metadata(out_dir / "best.safetensors", {"ood": json.dumps(ood)})
        summary["ood"] = ood
    if is_fmnist and evaluate_test:
        best = load_model(out_dir / "best.safetensors")
        labels = splits["test"].labels
        plain = predict_logits(best, splits["test"])
        tta = predict_logits(best, splits["test"], flip_tta=True)
        summary["test_accuracy"] = accuracy(plain, labels)
        summary["test_accuracy_flip_tta"] = accuracy(tta, labels)
        summary["test_size"] = len(splits["test"])
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
