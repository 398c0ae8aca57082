"""Metrics for trained models: logits over a dataset, accuracy (with flip TTA), confusion matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn


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
    from .trainer import get_batch

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
