"""Training the inpainter (``models/inpainter.py``): its loss and its validation.

- the hole is the defect mask grown by 1 px, plus (for a quarter of the patches) thick strokes,
  boxes or letters (``repair_data.DamagedPatches``); loss = L1 inside the hole + 0.5 × L1 of the
  horizontal and vertical differences inside it (sharper edges), each normalised by the hole's area;
- validation: PSNR in the hole (``metrics.psnr`` with the mask) on the validation photos; OpenCV's
  Telea fill on the same holes is the baseline written beside it.

``repair.train_repair_model("inpainter", ...)`` runs it with the Trainer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from .metrics import psnr
from .repair_data import grow


def inpainter_loss(model: torch.nn.Module, batch: Any) -> torch.Tensor:
    damaged, mask, clean = batch[:3]
    hole = F.max_pool2d(mask, 3, 1, 1)  # the defect grown by 1 px, as at inference
    trusted = None
    if getattr(model.config, "content_input", False) and len(batch) > 3:
        # What lies under a synthetic defect is the damaged photo's: trust it (grown like the hole),
        # except in a third of the patches, so the network also learns to fill without it.
        keep = (torch.rand(mask.shape[0], 1, 1, 1, generator=torch.Generator().manual_seed(int(mask.sum().item()))) > 0.33).float()
        trusted = F.max_pool2d(batch[3], 3, 1, 1) * keep
    out = model(damaged, hole, trusted)
    area = hole.sum().clamp_min(1.0) * 3
    l1 = ((out - clean).abs() * hole).sum() / area
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]
    hx = torch.maximum(hole[..., :, 1:], hole[..., :, :-1])
    hy = torch.maximum(hole[..., 1:, :], hole[..., :-1, :])
    grad = (((dx(out) - dx(clean)).abs() * hx).sum() + ((dy(out) - dy(clean)).abs() * hy).sum()) / area
    return l1 + 0.5 * grad


@torch.no_grad()
def run_inpainter(model: torch.nn.Module, pixels: np.ndarray, hole: np.ndarray, *, trusted: bool = False) -> np.ndarray:
    x = torch.from_numpy(pixels).permute(2, 0, 1).float().div(255).unsqueeze(0)
    m = torch.from_numpy(hole > 0).float()[None, None]
    out = model(x, m, m if trusted else None)[0].permute(1, 2, 0).numpy()
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


def inpainter_eval(samples: list) -> Any:
    holes = [grow(s.mask) for s in samples]

    def eval_fn(model: torch.nn.Module, _data: Any) -> dict[str, float]:
        values = [psnr(run_inpainter(model, s.damaged, h), s.clean, mask=h) for s, h in zip(samples, holes)]
        metrics = {"psnr_mask": float(np.mean(values))}
        if getattr(model.config, "content_input", False):
            # The selection metric of a content model: repairing defects whose pixels it may see.
            metrics["psnr_mask_hole_only"] = metrics["psnr_mask"]
            metrics["psnr_mask"] = float(np.mean([psnr(run_inpainter(model, s.damaged, h, trusted=True), s.clean, mask=h)
                                                  for s, h in zip(samples, holes)]))
        return metrics

    return eval_fn


def telea_validation_psnr(samples: list) -> float:
    import cv2

    values = []
    for s in samples:
        hole = grow(s.mask)
        values.append(psnr(cv2.inpaint(s.damaged, (hole > 0).astype(np.uint8), 3, cv2.INPAINT_TELEA), s.clean, mask=hole))
    return float(np.mean(values))
