"""Training the defect detector (``models/defect_detector.py``): its loss, its validation, its threshold.

- loss = binary cross-entropy on the defect map (a soft Dice term made the network hedge: it
  over-predicted on texture and did worse than a constant), optionally leaving out the pixels within
  ``ignore_band`` px outside a defect (``detector_loss_fn``): the measure forgives a 2-px miss there,
  so the loss need not fight over where a soft stain ends;
- validation: pixel F1 (2-px tolerance, ``metrics.detection_counts``) on the validation photos at the
  best of ``THRESHOLDS``; after training, that threshold is written into the weight file's metrics
  (``threshold``), where ``ops.repair.detect_defects`` reads it.

``repair.train_repair_model("detector", ...)`` runs it with the Trainer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import UsageError
from .metrics import detection_counts, scores_from_counts

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.2, 0.91, 0.05))


def detector_loss(model: torch.nn.Module, batch: Any) -> torch.Tensor:
    damaged, mask = batch[0], batch[1]
    return F.binary_cross_entropy_with_logits(model(damaged).float(), mask)


def detector_loss_fn(ignore_band: int = 0) -> Any:
    """The detector's loss: binary cross-entropy, averaged over the pixels that count.

    ``ignore_band`` > 0 leaves out the clean pixels within that many px of a defect (a square
    neighbourhood): the detection measure counts a mark there as right (2-px tolerance), so the
    network is not pushed either way on where a soft-edged stain or an anti-aliased scratch ends.
    """
    if isinstance(ignore_band, bool) or not isinstance(ignore_band, int) or not 0 <= ignore_band <= 4:
        raise UsageError(f"ignore_band is a whole number of px from 0 (off) to 4; got {ignore_band!r}")
    if not ignore_band:
        return detector_loss

    def loss_fn(model: torch.nn.Module, batch: Any) -> torch.Tensor:
        damaged, mask = batch[0], batch[1]
        near = F.max_pool2d(mask, 2 * ignore_band + 1, 1, ignore_band)
        weight = 1.0 - (near - mask)  # 0 on the band, 1 on defects and on the clean pixels beyond it
        loss = F.binary_cross_entropy_with_logits(model(damaged).float(), mask, weight=weight, reduction="sum")
        return loss / weight.sum().clamp_min(1.0)

    return loss_fn


@torch.no_grad()
def predict_probability(model: torch.nn.Module, pixels: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(pixels).permute(2, 0, 1).float().div(255).unsqueeze(0)
    return torch.sigmoid(model(x))[0, 0].numpy()


def best_threshold(probabilities: list[np.ndarray], truths: list[np.ndarray], *, tolerance: int = 2,
                   thresholds: tuple[float, ...] = THRESHOLDS) -> tuple[float, dict]:
    """The threshold in ``thresholds`` with the best F1 summed over the images, and its scores."""
    best: tuple[float, Any] = (0.5, None)
    for t in thresholds:
        counts = np.sum([detection_counts((p >= t).astype(np.uint8), m, tolerance=tolerance) for p, m in zip(probabilities, truths)], 0)
        scores = scores_from_counts(*[int(c) for c in counts], tolerance=tolerance)
        if best[1] is None or scores.f1 > best[1].f1:
            best = (t, scores)
    return best[0], best[1].to_dict()


def detector_eval(samples: list) -> Any:
    def eval_fn(model: torch.nn.Module, _data: Any) -> dict[str, float]:
        probs = [predict_probability(model, s.damaged) for s in samples]
        threshold, scores = best_threshold(probs, [s.mask for s in samples])
        return {"f1": scores["f1"], "precision": scores["precision"], "recall": scores["recall"], "threshold": threshold}

    return eval_fn
