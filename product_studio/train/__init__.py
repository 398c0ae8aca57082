"""Training: everything that trains, with one Trainer that knows no particular model.

    trainer.py            ``Trainer``: batches, steps, EMA, bf16, checkpoints and resume, history and plots
    datasets.py           Fashion-MNIST, image folders, batch augmentation, ``get_batch``
    metrics.py            accuracy, confusion matrices, PSNR, FID (Fréchet distance), defect-detection scores
    restoration_data.py   the photographs (sources, licences, the fixed split), patches, degradations
    scenes.py, defects.py, repair_data.py   synthetic product shots and defects: the repair models' data

One recipe module per model family: ``classifier.py``, ``gan.py`` (measured by ``gan_evaluation.py``:
FID, class consistency, CAS), ``denoiser.py`` and ``upscaler.py`` (what they share: ``patches.py``),
``defect_detector.py`` and ``inpainter.py`` (``repair.py`` trains either). Importing this package
loads torch; the recipe modules load when imported.
"""

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
