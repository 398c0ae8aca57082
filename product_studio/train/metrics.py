"""Metrics for trained models, each implemented once.

- classifiers: logits over a dataset, accuracy (with flip TTA), top-k accuracy, confusion matrices;
- restoration: ``psnr`` (dB; over a mask, or with a border left out);
- generators: ``frechet_distance`` (the FID formula; the features are the caller's);
- defect detectors: pixel-level precision, recall and F1 with a tolerance (``detection_counts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from ..errors import UsageError
from .datasets import get_batch


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    data: Any,
    *,
    batch_size: int = 500,
    flip_tta: bool = False,
    channels_last: bool = False,
) -> torch.Tensor:
    """Logits (float32, N×classes) of ``model`` over every image of ``data``, in order.

    ``flip_tta`` averages the softmax of the image and its horizontal mirror and returns its log
    (test-time augmentation; the argmax is what matters).
    """
    model.eval()
    device = next(model.parameters()).device
    outputs = []
    for start in range(0, len(data), batch_size):
        indices = torch.arange(start, min(start + batch_size, len(data)))
        x = get_batch(data, indices)[0].to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        logits = model(x).float()
        if flip_tta:
            probs = (logits.softmax(1) + model(x.flip(3)).float().softmax(1)) / 2
            logits = probs.clamp_min(1e-12).log()
        outputs.append(logits.cpu())
    return torch.cat(outputs)


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, data: Any, *, batch_size: int = 500, channels_last: bool = False) -> dict[str, float]:
    """Top-1 accuracy and mean cross-entropy of ``model`` on a classification dataset."""
    logits = predict_logits(model, data, batch_size=batch_size, channels_last=channels_last)
    labels = _all_labels(data)
    loss = nn.functional.cross_entropy(logits, labels).item()
    return {"accuracy": (logits.argmax(1) == labels).float().mean().item(), "val_loss": loss}


def _all_labels(data: Any) -> torch.Tensor:
    if hasattr(data, "labels"):
        return torch.as_tensor(data.labels).long()
    return torch.stack([torch.as_tensor(data[i][1]) for i in range(len(data))]).long()


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels).float().mean().item()


def top_k_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int = 3) -> float:
    top = logits.topk(min(k, logits.shape[1]), dim=1).indices
    return (top == labels[:, None]).any(1).float().mean().item()


def confusion_matrix(predictions: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, num_classes: int) -> np.ndarray:
    """C×C counts: row = true class, column = predicted class."""
    p = np.asarray(predictions, dtype=np.int64)
    t = np.asarray(labels, dtype=np.int64)
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def plot_confusion_matrix(matrix: np.ndarray, class_names: list[str] | tuple[str, ...], path: str | Path, *, title: str = "") -> Path:
    """Write a confusion-matrix PNG: row-normalised colours, counts printed in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.5 else "black")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---- restoration --------------------------------------------------------------------------------------


def psnr(restored: Any, reference: Any, *, peak: float = 255.0, mask: np.ndarray | None = None, border: int = 0) -> float:
    """PSNR in dB of ``restored`` against ``reference``: ``10 log10(peak² / MSE)``; inf when they are equal.

    Arrays (or CPU tensors) of the same shape, HxW[xC] or a batch: ``peak`` is 255 for uint8 pixels and 1
    for floats in 0..1. ``mask`` (HxW): measure only where it is non-zero, every channel. Or ``border``:
    leave out that many px at each image edge (the super-resolution convention: ``scale`` px). The error
    is summed in float64.

    >>> psnr(np.full((2, 2), 10, np.uint8), np.full((2, 2), 20, np.uint8))
    28.130803608679106
    """
    a = np.asarray(restored.detach().cpu() if isinstance(restored, torch.Tensor) else restored, np.float64)
    b = np.asarray(reference.detach().cpu() if isinstance(reference, torch.Tensor) else reference, np.float64)
    if mask is not None and border:
        raise UsageError("give a mask or a border to leave out, not both")
    if mask is not None:
        if a.shape != b.shape or mask.shape != b.shape[:2]:
            raise UsageError(f"restored {a.shape}, clean {b.shape} and mask {mask.shape} must have the same size")
        inside = mask > 0
        if not inside.any():
            raise UsageError("the mask is empty: there are no pixels to measure")
        a, b = a[inside], b[inside]
    elif a.shape != b.shape:
        raise UsageError(f"restored {a.shape} and reference {b.shape} must have the same shape")
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(peak**2 / mse))


# ---- generators ---------------------------------------------------------------------------------------


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½) between Gaussians fitted to feature sets a and b (N×D).

    Tr((ΣaΣb)^½) is computed as the sum of the square roots of the eigenvalues of the symmetric
    Σa^½ Σb Σa^½ (same eigenvalues as ΣaΣb), which needs numpy only and stays real.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise UsageError(f"frechet_distance needs two N×D feature arrays with N ≥ 2; got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


# ---- defect detectors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectionScores:
    """Pixel-level precision, recall and F1 of a predicted defect mask, with a tolerance in px."""

    precision: float
    recall: float
    f1: float
    tolerance: int
    predicted_pixels: int
    true_pixels: int

    def to_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def detection_counts(predicted: np.ndarray, truth: np.ndarray, *, tolerance: int = 2) -> tuple[int, int, int, int]:
    """(true positives among predicted, predicted, true positives among truth, truth) pixel counts.

    A predicted pixel is right when a true defect pixel lies within ``tolerance`` px of it (a disk);
    a true pixel is found when a predicted pixel lies within ``tolerance`` px. Sum the counts over a
    set of images before dividing to get the set's precision and recall.
    """
    if predicted.shape != truth.shape or predicted.ndim != 2:
        raise UsageError(f"predicted and true masks must be HxW of the same size; got {predicted.shape} and {truth.shape}")
    if tolerance < 0:
        raise UsageError(f"tolerance must be >= 0 px; got {tolerance}")
    pred = (predicted > 0).astype(np.uint8)
    true = (truth > 0).astype(np.uint8)
    if tolerance:
        true_near = cv2.dilate(true, _disk(tolerance))
        pred_near = cv2.dilate(pred, _disk(tolerance))
    else:
        true_near, pred_near = true, pred
    return (int(np.count_nonzero(pred & true_near)), int(pred.sum()), int(np.count_nonzero(true & pred_near)), int(true.sum()))


def scores_from_counts(tp_pred: int, n_pred: int, tp_true: int, n_true: int, *, tolerance: int = 2) -> DetectionScores:
    """Precision, recall and F1 from summed ``detection_counts`` (an empty prediction has precision 1)."""
    precision = tp_pred / n_pred if n_pred else 1.0
    recall = tp_true / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return DetectionScores(precision, recall, f1, tolerance, n_pred, n_true)


def detection_scores(predicted: np.ndarray, truth: np.ndarray, *, tolerance: int = 2) -> DetectionScores:
    """Pixel-level precision, recall and F1 of one predicted mask (see ``detection_counts``)."""
    return scores_from_counts(*detection_counts(predicted, truth, tolerance=tolerance), tolerance=tolerance)
