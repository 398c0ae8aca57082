"""Training the repair models with the project's Trainer: the defect detector and the inpainter.

Both train on patches of the training photos with synthetic defects (``repair_data``) and choose
their best epoch on the validation photos (training split, never optimised on). The held-out
evaluation photos are not touched here. Each model's loss and validation are in its own module:
``defect_detector`` (binary cross-entropy; F1 at the best threshold, which is stored with the
weights) and ``inpainter`` (L1 and edge L1 in the hole; PSNR in the hole).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ..errors import UsageError
from .defect_detector import detector_eval, detector_loss_fn
from .inpainter import inpainter_eval, inpainter_loss, telea_validation_psnr
from .repair_data import DamagedPatches, training_photos, validation_set

# The default recipes' steps, batch size and peak learning rate (scripts/train_*.py use the same). The
# inpainter's first cycle is shipped as is; the shipped detector (five cycles) overrides steps, lr,
# collection, bf16, edge_negatives, photo_jitter, ema and seed: its manifest entry's command gives them.
# free_form: the share of patches whose hole also gets thick strokes, boxes or letters. ema: the decay
# of the weights' moving average that is evaluated and kept (0: the raw weights). ignore_band: px
# outside a defect left out of the detector's loss. bf16: bfloat16 autocast where the CPU has it
# natively (runtime.use_bf16; 2.2x faster steps on AVX512-BF16), float32 elsewhere. photo_jitter: the
# share of training photos changed in light, colour and size before they are damaged (jitter_photo).
RECIPES = {"detector": {"steps": 4000, "batch_size": 12, "lr": 2e-3, "patch_size": 128, "free_form": 0.0,
                        "model": "defect_unet_s", "collection": 1, "edge_negatives": 0.0, "ema": 0.0,
                        "ignore_band": 0, "bf16": False, "photo_jitter": 0.0},
           "inpainter": {"steps": 3000, "batch_size": 16, "lr": 2e-3, "patch_size": 64, "free_form": 0.25,
                         "model": "inpaint_gated_ns_s", "collection": 1, "edge_negatives": 0.0, "ema": 0.995,
                         "ignore_band": 0, "bf16": False, "photo_jitter": 0.0}}
# Training patch sides: below 32 px a patch holds too little around a stain; above 384 it no longer fits
# the smallest training photos (TRAIN_SIDES). The detector's first cycle may use 96-px patches: 1.5x the
# steps of 128-px ones in the same time, and a fully convolutional network carries over to 128.
MIN_PATCH, MAX_PATCH = 32, 384


def train_repair_model(
    kind: str,
    out_dir: str | Path,
    *,
    model_name: str | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    patch_size: int | None = None,
    lr: float | None = None,
    free_form: float | None = None,
    edge_negatives: float | None = None,
    photo_jitter: float | None = None,
    collection: int | None = None,
    ema: float | None = None,
    ignore_band: int | None = None,
    bf16: bool | None = None,
    init_weights: str | Path | None = None,
    eval_every: int = 250,
    seed: int = 0,
    resume: bool = True,
    progress: bool = True,
    threads: int | None = 1,
    max_train_photos: int | None = None,
    validation_seeds: tuple[int, ...] = (0, 1),
    validation_side: int = 512,
) -> dict[str, Any]:
    """Train the ``"detector"`` or the ``"inpainter"``; returns a summary and writes, in ``out_dir``,
    the Trainer's outputs and ``model.safetensors`` (the best epoch, with its validation metrics).
    Rerunning with the same ``out_dir`` resumes a stopped run (``resume``). ``init_weights``: start
    from these weights of the same preset (a second cycle at a lower ``lr``), not from scratch.
    ``ema``: evaluate and keep a moving average of the weights with this decay (0 < ema < 1; 0 = off):
    it smooths the epoch-to-epoch swings that a small validation set would otherwise pick from.
    ``ignore_band`` (detector only): px outside a defect left out of the loss (``detector_loss_fn``).
    ``bf16``: bfloat16 autocast where the CPU runs it natively (``runtime.use_bf16``), else float32."""
    from ..models.registry import create_model, load_model, save_model
    from .trainer import Trainer

    if kind not in ("detector", "inpainter"):
        raise UsageError(f"kind must be 'detector' or 'inpainter'; got {kind!r}")
    if threads:
        import cv2

        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
    recipe = RECIPES[kind]
    ema = recipe["ema"] if ema is None else ema
    if not 0.0 <= ema < 1.0:
        raise UsageError(f"ema is a decay between 0 (off) and 1 (exclusive), such as 0.998; got {ema}")
    ignore_band = recipe["ignore_band"] if ignore_band is None else ignore_band
    if ignore_band and kind != "detector":
        raise UsageError("ignore_band applies to the detector's loss only; leave it out for the inpainter")
    loss_fn = detector_loss_fn(ignore_band) if kind == "detector" else inpainter_loss
    bf16 = recipe["bf16"] if bf16 is None else bool(bf16)
    steps = steps or recipe["steps"]
    batch_size = batch_size or recipe["batch_size"]
    lr = lr or recipe["lr"]
    patch_size = patch_size or recipe["patch_size"]
    if isinstance(patch_size, bool) or not isinstance(patch_size, int) or not MIN_PATCH <= patch_size <= MAX_PATCH:
        raise UsageError(f"patch_size is a whole number of px from {MIN_PATCH} to {MAX_PATCH}; got {patch_size!r}")
    model_name = model_name or recipe["model"]
    out_dir = Path(out_dir)
    collection = recipe["collection"] if collection is None else collection
    photos = training_photos("fit", collection=collection)
    if max_train_photos:
        photos = photos[:max_train_photos]
    edge_negatives = recipe["edge_negatives"] if edge_negatives is None else edge_negatives
    photo_jitter = recipe["photo_jitter"] if photo_jitter is None else photo_jitter
    data = DamagedPatches(photos, size=patch_size, length=batch_size * eval_every, photos_per_batch=2,
                          free_form=recipe["free_form"] if free_form is None else free_form,
                          edge_negatives=edge_negatives, photo_jitter=photo_jitter, seed=seed)
    samples = validation_set(side=validation_side, seeds=validation_seeds, collection=collection)
    model = create_model(model_name, image_size=patch_size)
    if init_weights:
        model.load_state_dict(load_model(init_weights, expect_model=model_name).state_dict())
    common = {"val_data": samples, "out_dir": out_dir, "steps": steps, "lr": lr, "batch_size": batch_size, "scheduler": "cosine",
                  "warmup_fraction": 0.05, "weight_decay": 1e-4, "grad_clip": 1.0, "checkpoint_every": 100, "log_every": 10, "seed": seed,
                  "progress": progress, "resume": resume, "num_threads": threads, "ema_decay": ema or None, "autocast_bf16": bf16,
                  "extra_config": {"data": {"fit_photos": len(photos), "photo_collection": collection,
                                         "edge_negatives": edge_negatives, "photo_jitter": photo_jitter, "ignore_band": ignore_band, "validation": [f"{s.name}#{s.seed}" for s in samples],
                                         "patch_size": patch_size},
                                   "init_weights": str(init_weights) if init_weights else None}}
    started = time.perf_counter()
    if kind == "detector":
        trainer = Trainer(model, data, loss_fn=loss_fn, eval_fn=detector_eval(samples), metric="f1", metric_mode="max", **common)
    else:
        trainer = Trainer(model, data, loss_fn=loss_fn, eval_fn=inpainter_eval(samples), metric="psnr_mask",
                          metric_mode="max", **common)
    result = trainer.fit()
    best = load_model(out_dir / "best.safetensors", expect_model=model_name)
    metrics = {**(trainer.eval_fn(best, samples) if trainer.eval_fn else {}), "best_epoch": result.best_epoch,
               "steps": result.steps, "training_seconds": round(result.seconds, 1)}
    if kind == "inpainter":
        metrics["telea_validation_psnr_mask"] = telea_validation_psnr(samples)
    final = save_model(best, out_dir / "model.safetensors", metrics=metrics)
    return {"kind": kind, "model": model_name, "weights": str(final), "metrics": metrics,
            "train_seconds": round(result.seconds, 1), "wall_seconds": round(time.perf_counter() - started, 1),
            "out_dir": str(out_dir), "validation_photos": list(dict.fromkeys(s.name for s in samples))}
