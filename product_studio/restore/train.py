"""Training the denoiser and the upscalers on random patches of the training photographs.

    summary = train_denoiser("runs/denoiser", DenoiserRecipe())
    summary = train_upscaler("runs/upscaler_x2", UpscalerRecipe(scale=2))

Both use the project's generic ``Trainer``: the data is an endless stream of freshly degraded
patches (``PatchStream``), made deterministically from the batch's indices, so a run is
reproducible and a killed run resumes where it stopped. "Epochs" are just blocks of
``steps_per_eval`` steps after which the model is scored on fixed validation patches cut from
the *training* photographs (the held-out photographs are never seen here; they are scored by
``benchmarks/restoration.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import UsageError
from .data import (
    degrade_for_denoising,
    degrade_for_upscaling,
    load_photos,
    random_patches,
    restoration_photos,
    to_float,
)

TRAIN_MAX_SIDE = 1024


def _nchw(batch: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) float/uint8 -> N×3×H×W float32 0..1."""
    if batch.dtype == np.uint8:
        batch = to_float(batch)
    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two tensors in 0..1 (after clipping ``a``)."""
    mse = F.mse_loss(a.clamp(0, 1), b).item()
    return 10 * math.log10(1.0 / max(mse, 1e-12))


class PatchStream:
    """An endless training set: item ``i`` of a batch is a random patch degraded on the fly.

    ``len()`` is ``steps_per_eval * batch_size`` (the trainer's "epoch"); ``get_batch(indices)``
    seeds its generator from ``seed`` and the indices, so the same step gives the same batch.
    ``kind`` is ``"denoise"`` (returns noisy, sigma, clean) or ``"upscale"`` (low, high).
    """

    def __init__(self, photos: list[np.ndarray], *, kind: str, patch: int, length: int, seed: int = 0,
                 scale: int = 2, max_sigma: float = 55.0, jpeg_share: float = 0.2, poisson_share: float = 0.2) -> None:
        if kind not in {"denoise", "upscale"}:
            raise UsageError(f"unknown patch stream kind {kind!r}")
        self.photos, self.kind, self.patch, self.length, self.seed = photos, kind, patch, length, seed
        self.scale, self.max_sigma, self.jpeg_share, self.poisson_share = scale, max_sigma, jpeg_share, poisson_share

    def __len__(self) -> int:
        return self.length

    def get_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        key = [self.seed, *[int(i) for i in indices[:4]], len(indices)]
        rng = np.random.default_rng(key)
        return self.make(len(indices), rng)

    def make(self, count: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        clean = random_patches(self.photos, self.patch, count, rng)
        if self.kind == "denoise":
            noisy, sigma = degrade_for_denoising(clean, rng, max_sigma=self.max_sigma, jpeg_share=self.jpeg_share,
                                                 poisson_share=self.poisson_share)
            return _nchw(noisy), torch.from_numpy(sigma), _nchw(clean)
        low = degrade_for_upscaling(clean, self.scale, rng, jpeg_share=self.jpeg_share)
        return _nchw(low), _nchw(clean)


@dataclass(frozen=True)
class _PatchRecipe:
    """What the denoiser's and the upscalers' trainings share: schedule, EMA, validation, threads, photos."""

    warmup_fraction: float = 0.03
    ema_decay: float = 0.999
    steps_per_eval: int = 250
    val_patches: int = 48
    seed: int = 0
    num_threads: int = 1
    autocast_bf16: bool = True  # bf16 convolutions where native (2.4x faster on AVX512-BF16 CPUs), else float32
    channels_last: bool = True  # NHWC tensors: about 10% faster convolutions with oneDNN
    max_side: int = TRAIN_MAX_SIDE
    limit_photos: int | None = None  # use only the first N training photos (tests)


@dataclass(frozen=True)
class DenoiserRecipe(_PatchRecipe):
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


@dataclass(frozen=True)
class UpscalerRecipe(_PatchRecipe):
    model: str = "upscaler_x2"
    scale: int = 2
    steps: int = 1000
    batch_size: int = 16
    patch: int = 96  # high-resolution side; the input is patch / scale
    lr: float = 2e-3
    jpeg_share: float = 0.0


def _training_photos(recipe: Any) -> list[np.ndarray]:
    photos = load_photos("train", max_side=recipe.max_side)
    return photos[: recipe.limit_photos] if recipe.limit_photos else photos


def _denoise_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], loss: str = "mse") -> torch.Tensor:
    noisy, sigma, clean = batch
    out = model(noisy, sigma)
    return F.mse_loss(out, clean) if loss == "mse" else F.l1_loss(out, clean)


def _upscale_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    low, high = batch
    return F.l1_loss(model(low), high)


@torch.no_grad()
def _denoise_eval(model: torch.nn.Module, val: tuple[torch.Tensor, ...]) -> dict[str, float]:
    noisy, sigma, clean = val
    out = torch.cat([model(noisy[i : i + 16], sigma[i : i + 16]) for i in range(0, len(noisy), 16)])
    return {"val_psnr": psnr(out, clean), "val_psnr_noisy": psnr(noisy, clean)}


@torch.no_grad()
def _upscale_eval(model: torch.nn.Module, val: tuple[torch.Tensor, ...]) -> dict[str, float]:
    low, high = val
    out = torch.cat([model(low[i : i + 16]) for i in range(0, len(low), 16)])
    bicubic = F.interpolate(low, scale_factor=model.config.scale, mode="bicubic", align_corners=False)
    return {"val_psnr": psnr(out, high), "val_psnr_bicubic": psnr(bicubic, high)}


def _fit(model: torch.nn.Module, stream: PatchStream, val: Any, recipe: Any, out_dir: Path, *, loss_fn: Any,
         eval_fn: Any, resume: bool, progress: bool) -> dict[str, Any]:
    from ..train.trainer import Trainer

    torch.set_num_threads(recipe.num_threads)
    torch.manual_seed(recipe.seed)
    trainer = Trainer(
        model, stream, val_data=val, out_dir=out_dir, steps=recipe.steps, lr=recipe.lr, batch_size=recipe.batch_size,
        loss_fn=loss_fn, eval_fn=eval_fn, scheduler="cosine", warmup_fraction=recipe.warmup_fraction,
        ema_decay=recipe.ema_decay, metric="val_psnr", metric_mode="max", seed=recipe.seed,
        num_threads=recipe.num_threads, autocast_bf16=recipe.autocast_bf16, channels_last=recipe.channels_last,
        checkpoint_every=recipe.steps_per_eval, progress=progress,
        extra_config={"recipe": dataclasses.asdict(recipe),
                      "train_photos": [p.name for p in restoration_photos("train")][: recipe.limit_photos or None]},
    )
    if resume:
        trainer.load_checkpoint()
    started = time.perf_counter()
    result = trainer.fit()
    last_val = result.val_history[-1] if result.val_history else {}
    return {
        "out_dir": str(out_dir),
        "model": recipe.model,
        "steps": result.steps,
        "train_seconds": round(result.seconds, 1),
        "wall_seconds_this_run": round(time.perf_counter() - started, 1),
        "best_val_psnr": result.best_metric,
        "best_step": result.best_epoch * recipe.steps_per_eval if result.best_epoch else None,
        "final_loss": result.final_loss,
        "last_val": last_val,
        "best_weights": str(out_dir / "best.safetensors"),
    }


def train_denoiser(out_dir: str | Path, recipe: DenoiserRecipe = DenoiserRecipe(), *, resume: bool = True,
                   progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a denoiser; returns a summary. ``best.safetensors`` holds the EMA weights
    with the best validation PSNR (validation = fixed noisy patches of the training photographs)."""
    from ..models.registry import create_model

    photos = _training_photos(recipe)
    stream = PatchStream(photos, kind="denoise", patch=recipe.patch, length=recipe.steps_per_eval * recipe.batch_size,
                         seed=recipe.seed, max_sigma=recipe.max_sigma, jpeg_share=recipe.jpeg_share,
                         poisson_share=recipe.poisson_share)
    val = stream.make(recipe.val_patches, np.random.default_rng([recipe.seed, 999_999]))
    model = create_model(recipe.model)
    if recipe.loss not in {"mse", "l1"}:
        raise UsageError(f"unknown loss {recipe.loss!r}; use mse or l1")
    loss_fn = functools.partial(_denoise_loss, loss=recipe.loss)
    if recipe.init_weights:
        from ..models.registry import load_model

        model.load_state_dict(load_model(recipe.init_weights, expect_model=recipe.model).state_dict())
    return _fit(model, stream, val, recipe, Path(out_dir), loss_fn=loss_fn, eval_fn=_denoise_eval,
                resume=resume, progress=progress)


def train_upscaler(out_dir: str | Path, recipe: UpscalerRecipe = UpscalerRecipe(), *, resume: bool = True,
                   progress: bool = True) -> dict[str, Any]:
    """Train (or resume) an upscaler; ``recipe.scale`` must match the model's scale."""
    from ..models.registry import create_model

    model = create_model(recipe.model)
    if model.config.scale != recipe.scale:
        raise UsageError(f"model {recipe.model!r} upscales x{model.config.scale}, the recipe asks for x{recipe.scale}")
    if recipe.patch % recipe.scale:
        raise UsageError(f"the patch size {recipe.patch} must be a multiple of the scale {recipe.scale}")
    photos = _training_photos(recipe)
    stream = PatchStream(photos, kind="upscale", patch=recipe.patch, length=recipe.steps_per_eval * recipe.batch_size,
                         seed=recipe.seed, scale=recipe.scale, jpeg_share=recipe.jpeg_share)
    val = stream.make(recipe.val_patches, np.random.default_rng([recipe.seed, 999_999]))
    return _fit(model, stream, val, recipe, Path(out_dir), loss_fn=_upscale_loss, eval_fn=_upscale_eval,
                resume=resume, progress=progress)
