"""Training the x2 / x4 upscalers (``models/upscaler.py``) on shrunk patches of the training photographs.

    summary = train_upscaler("runs/upscaler_x2", UpscalerRecipe(scale=2))

Each high-resolution patch is shrunk by ``scale`` with an antialiased bicubic filter
(``restoration_data.degrade_for_upscaling``); the network learns to bring it back. The best epoch is the
one with the best PSNR on fixed patches of the training photographs (bicubic's is logged beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import UsageError
from .metrics import psnr
from .patches import PatchRecipe, PatchStream, fit_on_patches, patch_photos


@dataclass(frozen=True)
class UpscalerRecipe(PatchRecipe):
    model: str = "upscaler_x2"
    scale: int = 2
    steps: int = 1000
    batch_size: int = 16
    patch: int = 96  # high-resolution side; the input is patch / scale
    lr: float = 2e-3
    jpeg_share: float = 0.0


def _loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    low, high = batch
    return F.l1_loss(model(low), high)


@torch.no_grad()
def _eval(model: torch.nn.Module, val: tuple[torch.Tensor, ...]) -> dict[str, float]:
    low, high = val
    out = torch.cat([model(low[i : i + 16]) for i in range(0, len(low), 16)])
    bicubic = F.interpolate(low, scale_factor=model.config.scale, mode="bicubic", align_corners=False)
    return {"val_psnr": psnr(out.clamp(0, 1), high, peak=1.0), "val_psnr_bicubic": psnr(bicubic.clamp(0, 1), high, peak=1.0)}


def train_upscaler(out_dir: str | Path, recipe: UpscalerRecipe = UpscalerRecipe(), *, resume: bool = True,
                   progress: bool = True) -> dict[str, Any]:
    """Train (or resume) an upscaler; ``recipe.scale`` must match the model's scale."""
    from ..models.registry import create_model

    model = create_model(recipe.model)
    if model.config.scale != recipe.scale:
        raise UsageError(f"model {recipe.model!r} upscales x{model.config.scale}, the recipe asks for x{recipe.scale}")
    if recipe.patch % recipe.scale:
        raise UsageError(f"the patch size {recipe.patch} must be a multiple of the scale {recipe.scale}")
    photos = patch_photos(recipe)
    stream = PatchStream(photos, kind="upscale", patch=recipe.patch, length=recipe.steps_per_eval * recipe.batch_size,
                         seed=recipe.seed, scale=recipe.scale, jpeg_share=recipe.jpeg_share)
    val = stream.make(recipe.val_patches, np.random.default_rng([recipe.seed, 999_999]))
    return fit_on_patches(model, stream, val, recipe, Path(out_dir), loss_fn=_loss, eval_fn=_eval,
                          resume=resume, progress=progress)
