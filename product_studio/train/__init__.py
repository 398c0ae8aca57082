"""Training: one Trainer for every model, datasets (Fashion-MNIST, image folders), metrics."""

from .datasets import (
    ArrayDataset,
    BatchAugment,
    fashion_mnist_datasets,
    image_folder_dataset,
    load_fashion_mnist,
    read_idx,
)
from .metrics import accuracy, confusion_matrix, evaluate_accuracy, plot_confusion_matrix, predict_logits
from .trainer import TrainConfig, Trainer, TrainResult, classification_loss

__all__ = [
    "ArrayDataset",
    "BatchAugment",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "accuracy",
    "classification_loss",
    "confusion_matrix",
    "evaluate_accuracy",
    "fashion_mnist_datasets",
    "image_folder_dataset",
    "load_fashion_mnist",
    "plot_confusion_matrix",
    "predict_logits",
    "read_idx",
]
