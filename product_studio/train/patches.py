"""What the denoiser's and the upscalers' trainings share: a stream of degraded patches, the recipe, the fit.

Both use the project's generic ``Trainer``: the data is an endless stream of freshly degraded
patches (``PatchStream``) of the training photographs (``restoration_data``), made
deterministically from the batch's indices, so a run is reproducible and a killed run resumes where
it stopped. "Epochs" are just blocks of ``steps_per_eval`` steps after which the model is scored on
fixed validation patches cut from the *training* photographs (the held-out photographs are never seen
here; they are scored by ``benchmarks/restoration.py``). The recipes are ``denoiser.DenoiserRecipe``
and ``upscaler.UpscalerRecipe``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UsageError
from .restoration_data import (
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
class PatchRecipe:
    """What the denoiser's and the upscalers' recipes share: schedule, EMA, validation, threads, photos."""

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


def patch_photos(recipe: PatchRecipe) -> list[np.ndarray]:
    """The training photographs ``recipe`` cuts its patches from."""
    photos = load_photos("train", max_side=recipe.max_side)
    return photos[: recipe.limit_photos] if recipe.limit_photos else photos


def fit_on_patches(model: torch.nn.Module, stream: PatchStream, val: Any, recipe: Any, out_dir: Path, *, loss_fn: Any,
                   eval_fn: Any, resume: bool, progress: bool) -> dict[str, Any]:
    """Train ``model`` on ``stream`` with the Trainer, keeping the EMA weights of the best ``val_psnr``; a summary."""
    from .trainer import Trainer

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
