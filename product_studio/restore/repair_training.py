"""Training the repair models with the project's Trainer: the defect detector and the inpainter.

Both train on patches of the training photos with synthetic defects (``repair_data``) and choose
their best epoch on the validation photos (training split, never optimised on). The held-out
evaluation photos are not touched here.

- detector: loss = binary cross-entropy on the defect map (a soft Dice term made the network
  hedge: it over-predicted on texture and did worse than a constant), optionally leaving out the
  pixels within ``ignore_band`` px outside a defect (``detector_loss_fn``): the measure forgives a
  2-px miss there, so the loss need not fight over where a soft stain ends; after training, the
  probability threshold that maximises F1 (2-px tolerance) on the validation photos is written
  into the weight file's metrics (``threshold``), where ``ops.repair.detect_defects`` reads it.
- inpainter: the hole is the defect mask grown by 1 px, plus (for a quarter of the patches) thick
  strokes, boxes or letters; loss = L1 inside the hole + 0.5 × L1 of the horizontal and vertical
  differences inside it (sharper edges), each normalised by the hole's area.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import UsageError
from .defects import detection_counts, psnr_in_mask, scores_from_counts
from .repair_data import DamagedPatches, grow, training_photos, validation_set

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
        values = [psnr_in_mask(run_inpainter(model, s.damaged, h), s.clean, h) for s, h in zip(samples, holes)]
        metrics = {"psnr_mask": float(np.mean(values))}
        if getattr(model.config, "content_input", False):
            # The selection metric of a content model: repairing defects whose pixels it may see.
            metrics["psnr_mask_hole_only"] = metrics["psnr_mask"]
            metrics["psnr_mask"] = float(np.mean([psnr_in_mask(run_inpainter(model, s.damaged, h, trusted=True), s.clean, h)
                                                  for s, h in zip(samples, holes)]))
        return metrics

    return eval_fn


def telea_validation_psnr(samples: list) -> float:
    import cv2

    values = []
    for s in samples:
        hole = grow(s.mask)
        values.append(psnr_in_mask(cv2.inpaint(s.damaged, (hole > 0).astype(np.uint8), 3, cv2.INPAINT_TELEA), s.clean, hole))
    return float(np.mean(values))


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
    from ..train.trainer import Trainer

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
