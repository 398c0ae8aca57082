"""Training the denoiser (``models/denoiser.py``) on noisy patches of the training photographs.

    summary = train_denoiser("runs/denoiser", DenoiserRecipe())

Each patch gets Gaussian or Poisson noise of a random level, sometimes baked into JPEG
(``restoration_data.degrade_for_denoising``); the network is told the level and learns to remove it.
The best epoch is the one with the best PSNR on fixed noisy patches of the training photographs.
"""

from __future__ import annotations

import functools
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
class DenoiserRecipe(PatchRecipe):
    model: str = "denoiser_unet"
    steps: int = 13000  # the shipped recipe: one cosine cycle, about an hour on 2 cores with AVX512-BF16
    batch_size: int = 8
    patch: int = 96
    lr: float = 1e-3
    loss: str = "mse"  # mse | l1
    init_weights: str | None = None  # start from these weights (a second training cycle), not from scratch
    max_sigma: float = 55.0
    jpeg_share: float = 0.2
    poisson_share: float = 0.2


def _loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], loss: str = "mse") -> torch.Tensor:
    noisy, sigma, clean = batch
    out = model(noisy, sigma)
    return F.mse_loss(out, clean) if loss == "mse" else F.l1_loss(out, clean)


@torch.no_grad()
def _eval(model: torch.nn.Module, val: tuple[torch.Tensor, ...]) -> dict[str, float]:
    noisy, sigma, clean = val
    out = torch.cat([model(noisy[i : i + 16], sigma[i : i + 16]) for i in range(0, len(noisy), 16)])
    return {"val_psnr": psnr(out.clamp(0, 1), clean, peak=1.0), "val_psnr_noisy": psnr(noisy.clamp(0, 1), clean, peak=1.0)}


def train_denoiser(out_dir: str | Path, recipe: DenoiserRecipe = DenoiserRecipe(), *, resume: bool = True,
                   progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a denoiser; returns a summary. ``best.safetensors`` holds the EMA weights
    with the best validation PSNR (validation = fixed noisy patches of the training photographs)."""
    from ..models.registry import create_model

    photos = patch_photos(recipe)
    stream = PatchStream(photos, kind="denoise", patch=recipe.patch, length=recipe.steps_per_eval * recipe.batch_size,
                         seed=recipe.seed, max_sigma=recipe.max_sigma, jpeg_share=recipe.jpeg_share,
                         poisson_share=recipe.poisson_share)
    val = stream.make(recipe.val_patches, np.random.default_rng([recipe.seed, 999_999]))
    model = create_model(recipe.model)
    if recipe.loss not in {"mse", "l1"}:
        raise UsageError(f"unknown loss {recipe.loss!r}; use mse or l1")
    loss_fn = functools.partial(_loss, loss=recipe.loss)
    if recipe.init_weights:
        from ..models.registry import load_model

        model.load_state_dict(load_model(recipe.init_weights, expect_model=recipe.model).state_dict())
    return fit_on_patches(model, stream, val, recipe, Path(out_dir), loss_fn=loss_fn, eval_fn=_eval,
                          resume=resume, progress=progress)
