"""A trainer that knows no particular model (learned from nanoGPT and lucidrains' trainers).

    trainer = Trainer(create_model("fmnist_cnn"), data["train"], val_data=data["val"],
                      epochs=20, lr=0.1, out_dir="runs/fmnist")
    result = trainer.fit()

What it does for every model:

- batches from any dataset (``get_batch(indices)`` when the dataset has it, else ``dataset[i]``
  stacked), shuffled by a seeded generator: epoch ``e`` always sees the same order;
- one optimizer step per batch through ``step_fn`` — by default forward, ``loss_fn``, backward,
  optimizer and scheduler step; a GAN passes its own ``step_fn`` and a dict of ``optimizers``;
- a tqdm progress bar on stderr, with each epoch's validation metrics written above it (the core
  prints nothing else; with ``progress=False`` it is silent and history.json has them);
- a checkpoint every ``checkpoint_every`` steps and at the end: ``checkpoints/last.safetensors``
  (every tensor: model, EMA, optimizer state, RNG states) + ``checkpoints/last.json`` (everything
  else: step, scheduler state, history) — no pickle; ``resume=True`` continues from it with
  identical state, so a killed run picks up where it stopped;
- the loss history (``history.csv``, ``history.json``) and a plot (``loss.png``);
- the validation metric after every epoch (``eval_fn``; accuracy by default) and the best model kept
  (``best.safetensors``, written by ``save_model`` so ``load_model`` reads it);
- ``config.json``: the resolved trainer options, the model name and config, the data sizes;
- ``device="cuda"`` trains on a CUDA GPU where torch sees one (``training_device`` checks it first):
  the model and each batch move there, checkpoints and weights are always written from CPU copies,
  so a GPU run resumes on a CPU and its weights load anywhere;
- an optional ``sample_fn(trainer, step)`` called at each epoch end (e.g. a GAN's sample grid).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import TrainingInterrupted, UsageError
from ..models.registry import config_to_json, save_model
from ..runtime import use_bf16
from .datasets import get_batch
from .metrics import evaluate_accuracy

StepFn = Callable[["Trainer", Any], dict[str, float]]
LossFn = Callable[[nn.Module, Any], torch.Tensor]
EvalFn = Callable[[nn.Module, Any], dict[str, float]]


@dataclass
class TrainConfig:
    """The trainer's options, resolved and written to ``config.json``."""

    steps: int | None = None
    epochs: int | None = None
    lr: float = 1e-3
    batch_size: int = 128
    optimizer: str = "adamw"  # adamw | sgd
    momentum: float = 0.9
    weight_decay: float = 0.0
    scheduler: str = "constant"  # constant | cosine | onecycle
    warmup_fraction: float = 0.15
    grad_clip: float | None = None
    label_smoothing: float = 0.0
    ema_decay: float | None = None
    checkpoint_every: int = 500
    log_every: int = 20
    eval_every_epoch: bool = True
    metric: str = "accuracy"
    metric_mode: str = "max"
    seed: int = 0
    num_threads: int | None = None
    channels_last: bool = False
    autocast_bf16: bool = False  # bf16 autocast where the CPU has bf16 (runtime.use_bf16) or on a bf16 GPU
    device: str = "cpu"  # cpu | cuda | cuda:N
    drop_last: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.epochs is None):
            raise UsageError("give exactly one of steps= or epochs=")
        if (self.steps is not None and self.steps < 1) or (self.epochs is not None and self.epochs < 1):
            raise UsageError("steps and epochs must be at least 1")
        if self.optimizer not in {"adamw", "sgd"}:
            raise UsageError(f"unknown optimizer {self.optimizer!r}; use adamw or sgd")
        if self.scheduler not in {"constant", "cosine", "onecycle"}:
            raise UsageError(f"unknown scheduler {self.scheduler!r}; use constant, cosine or onecycle")
        if self.metric_mode not in {"max", "min"}:
            raise UsageError("metric_mode must be 'max' or 'min'")
        if self.batch_size < 1:
            raise UsageError("batch_size must be at least 1")
        training_device(self.device)


def training_device(name: str) -> torch.device:
    """``name`` ("cpu", "cuda", "cuda:N") as a torch device, checked: UsageError where this machine has no such device."""
    try:
        device = torch.device(str(name).strip().lower())
    except (RuntimeError, ValueError):
        raise UsageError(f"unknown device {name!r}; use cpu, cuda or cuda:N") from None
    if device.type not in {"cpu", "cuda"}:
        raise UsageError(f"unknown device {name!r}; use cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {name!r}: torch sees no CUDA GPU on this machine (torch {torch.__version__}); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0")
    return device


def bf16_autocast_pays(device: torch.device) -> bool:
    """Whether ``autocast_bf16`` really runs in bfloat16 on ``device``: a GPU that supports it, or a CPU
    with bf16 instructions (or where PRODUCT_STUDIO_BF16 says so). Emulated bf16 is slower than float32,
    so elsewhere the Trainer runs float32."""
    return torch.cuda.is_bf16_supported() if device.type == "cuda" else use_bf16()


def to_device(value: Any, device: torch.device) -> Any:
    """Every tensor in ``value`` (a tensor, or tuples, lists and dicts of them) moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, (tuple, list)):
        return type(value)(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    epochs_done: float
    seconds: float
    best_metric: float | None
    best_epoch: int | None
    final_loss: float | None
    history: list[dict[str, Any]]
    val_history: list[dict[str, Any]]


def classification_loss(label_smoothing: float = 0.0) -> LossFn:
    """Cross-entropy on ``(images, labels)`` batches."""

    def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(model(x), y, label_smoothing=label_smoothing)

    return loss_fn


# ---- checkpoint (de)serialisation: tensors into safetensors, everything else into JSON ----------------


def _split_tensors(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(value, dict):
        return {"__dict__": [[_key(k), _split_tensors(v, f"{prefix}.{k}", tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        items = [_split_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise UsageError(f"cannot checkpoint a value of type {type(value).__name__} at {prefix}")


def _key(k: Any) -> Any:
    if isinstance(k, (int, str)):
        return k
    raise UsageError(f"cannot checkpoint a dict key of type {type(k).__name__}")


def _join_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__dict__" in value:
            return {k: _join_tensors(v, tensors) for k, v in value["__dict__"]}
        if "__tuple__" in value:
            return tuple(_join_tensors(v, tensors) for v in value["__tuple__"])
        if "__float__" in value:
            return float(value["__float__"])
    if isinstance(value, list):
        return [_join_tensors(v, tensors) for v in value]
    return value


class Trainer:
    """Train any ``nn.Module``; see the module docstring.

    ``loss_fn(model, batch) -> loss`` replaces the default cross-entropy; ``step_fn(trainer, batch)
    -> {"loss": ..., ...}`` replaces the whole step (it must call ``trainer.optimizers[...]`` and
    ``trainer.schedulers`` itself); ``optimizers`` gives named optimizers (default: one ``"main"``
    over every parameter); ``augment(batch_x, generator)`` transforms input batches;
    ``eval_fn(model, val_data) -> {metric: value}`` runs after every epoch on ``val_data``.
    """

    def __init__(
        self,
        model: nn.Module,
        train_data: Any,
        *,
        val_data: Any = None,
        out_dir: str | os.PathLike,
        steps: int | None = None,
        epochs: int | None = None,
        lr: float = 1e-3,
        batch_size: int = 128,
        loss_fn: LossFn | None = None,
        step_fn: StepFn | None = None,
        eval_fn: EvalFn | None = None,
        sample_fn: Callable[[Trainer, int], None] | None = None,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        optimizers: dict[str, torch.optim.Optimizer] | None = None,
        resume: bool = False,
        extra_config: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.config = TrainConfig(steps=steps, epochs=epochs, lr=lr, batch_size=batch_size, **options)
        if len(train_data) < 1:
            raise UsageError("the training data is empty")
        self.model = model
        self.train_data = train_data
        self.val_data = val_data
        self.out_dir = Path(out_dir)
        self.loss_fn = loss_fn or classification_loss(self.config.label_smoothing)
        self.step_fn = step_fn or Trainer.default_step
        self.eval_fn = eval_fn
        self.sample_fn = sample_fn
        self.augment = augment
        self.extra_config = extra_config or {}
        cfg = self.config
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.device = training_device(cfg.device)
        self.bf16 = cfg.autocast_bf16 and bf16_autocast_pays(self.device)  # config.json records which ran
        self.model.to(self.device)  # keeps the Parameter objects: optimizers made before still hold them
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed batch shapes: pick the fastest kernels once
        n = len(train_data)
        self.steps_per_epoch = n // cfg.batch_size if cfg.drop_last and n >= cfg.batch_size else math.ceil(n / cfg.batch_size)
        self.total_steps = cfg.steps if cfg.steps is not None else cfg.epochs * self.steps_per_epoch  # type: ignore[operator]
        if cfg.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.optimizers = optimizers or {"main": self._make_optimizer()}
        self.schedulers = {name: self._make_scheduler(opt) for name, opt in self.optimizers.items()}
        self.ema: nn.Module | None = None
        if cfg.ema_decay:
            self.ema = copy.deepcopy(model).eval()
            for p in self.ema.parameters():
                p.requires_grad_(False)
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.val_history: list[dict[str, Any]] = []
        self.best_metric: float | None = None
        self._bar: Any = None  # the progress bar while fit() runs
        self.best_epoch: int | None = None
        self.seconds = 0.0
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        self.generator = torch.Generator().manual_seed(cfg.seed + 1)  # augmentation and other draws
        self._running: list[float] = []
        if resume:
            self.load_checkpoint()

    # ---- building blocks -------------------------------------------------------------------------

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        decay, no_decay = [], []
        for p in self.model.parameters():
            if p.requires_grad:
                (decay if p.ndim > 1 else no_decay).append(p)  # no weight decay on BN and biases
        groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
        return torch.optim.AdamW(groups, lr=cfg.lr)

    def _make_scheduler(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        cfg = self.config
        if cfg.scheduler == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=cfg.lr, total_steps=self.total_steps, pct_start=cfg.warmup_fraction,
                div_factor=25.0, final_div_factor=1e3, cycle_momentum=False,
            )
        if cfg.scheduler == "cosine":
            warmup = max(1, int(cfg.warmup_fraction * self.total_steps))

            def factor(step: int) -> float:
                if step < warmup:
                    return (step + 1) / warmup
                progress = (step - warmup) / max(1, self.total_steps - warmup)
                return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

            return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffled sample order of ``epoch`` (a function of the seed and the epoch only)."""
        g = torch.Generator().manual_seed(self.config.seed * 100_003 + epoch)
        return torch.randperm(len(self.train_data), generator=g)

    def batch_at(self, step: int) -> Any:
        epoch, position = divmod(step, self.steps_per_epoch)
        bs = self.config.batch_size
        indices = self.epoch_order(epoch)[position * bs : (position + 1) * bs]
        batch = get_batch(self.train_data, indices)
        if self.augment is not None and isinstance(batch, (tuple, list)):
            batch = (self.augment(batch[0], self.generator), *batch[1:])
        if self.config.channels_last and isinstance(batch, (tuple, list)) and batch[0].ndim == 4:
            batch = (batch[0].contiguous(memory_format=torch.channels_last), *batch[1:])
        return to_device(batch, self.device)

    def autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @staticmethod
    def default_step(trainer: Trainer, batch: Any) -> dict[str, float]:
        """Forward, loss, backward, (clip), optimizer and scheduler step, EMA update."""
        optimizer = trainer.optimizers["main"]
        trainer.model.train()
        with trainer.autocast():
            loss = trainer.loss_fn(trainer.model, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} at step {trainer.step}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if trainer.config.grad_clip:
            nn.utils.clip_grad_norm_(trainer.model.parameters(), trainer.config.grad_clip)
        optimizer.step()
        trainer.schedulers["main"].step()
        trainer.update_ema()
        return {"loss": loss.item(), "lr": optimizer.param_groups[0]["lr"]}

    @torch.no_grad()
    def update_ema(self) -> None:
        if self.ema is None:
            return
        decay = min(self.config.ema_decay or 0.0, (1 + self.step) / (10 + self.step))  # warm start
        for e, p in zip(self.ema.parameters(), self.model.parameters()):
            e.lerp_(p.detach(), 1 - decay)
        for e, b in zip(self.ema.buffers(), self.model.buffers()):
            e.copy_(b)

    @property
    def eval_model(self) -> nn.Module:
        """The model to evaluate and keep: the EMA copy when EMA is on."""
        return self.ema if self.ema is not None else self.model

    # ---- the loop ----------------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        from tqdm import tqdm

        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        bar = tqdm(total=self.total_steps, initial=self.step, file=sys.stderr, disable=not cfg.progress,
                   desc=getattr(self.model, "model_name", type(self.model).__name__), dynamic_ncols=True)
        self._bar = bar
        started = time.perf_counter() - self.seconds
        stop = _StopRequest()
        try:
            with stop:
                self._loop(bar, started, stop)
        finally:
            bar.close()
            self._bar = None
        self.write_history()
        final_path = self.out_dir / "final.safetensors"
        self.save_weights(final_path, {"step": self.step})
        return TrainResult(
            out_dir=self.out_dir, steps=self.step, epochs_done=self.step / self.steps_per_epoch, seconds=self.seconds,
            best_metric=self.best_metric, best_epoch=self.best_epoch,
            final_loss=self.history[-1]["loss"] if self.history else None,
            history=self.history, val_history=self.val_history,
        )

    def _loop(self, bar: Any, started: float, stop: _StopRequest) -> None:
        """The steps until the end, or until a stop is requested: then a checkpoint of the last whole step
        and TrainingInterrupted saying where it stopped and that the same command resumes."""
        cfg = self.config
        while self.step < self.total_steps:
            batch = self.batch_at(self.step)
            record = self.step_fn(self, batch)
            self.step += 1
            self.seconds = time.perf_counter() - started
            self._running.append(float(record.get("loss", float("nan"))))
            if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                row = {"step": self.step, "epoch": self.step / self.steps_per_epoch, "seconds": round(self.seconds, 2)}
                row.update({k: float(v) for k, v in record.items()})
                row["loss"] = float(np.mean(self._running))
                self._running = []
                self.history.append(row)
                bar.set_postfix(loss=f"{row['loss']:.4f}", **({"best": f"{self.best_metric:.4f}"} if self.best_metric is not None else {}))
            bar.update(1)
            end_of_epoch = self.step % self.steps_per_epoch == 0
            if end_of_epoch or self.step == self.total_steps:
                self.end_epoch()
            if self.step % cfg.checkpoint_every == 0 or self.step == self.total_steps:
                self.save_checkpoint()
            if stop.requested and self.step < self.total_steps:
                self._stop_here()

    def _stop_here(self) -> None:
        checkpoint = self.save_checkpoint()
        self.write_history()
        epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        raise TrainingInterrupted(
            f"stopped at step {self.step:,} of {self.total_steps:,} (epoch {self.step / self.steps_per_epoch:.1f} of "
            f"{epochs}); the checkpoint is saved in {checkpoint.parent}: run the same command again to resume from "
            f"step {self.step:,} (--fresh starts over)",
            step=self.step, total_steps=self.total_steps, checkpoint=str(checkpoint),
        )

    def end_epoch(self) -> None:
        cfg = self.config
        epoch = math.ceil(self.step / self.steps_per_epoch)
        if self.val_data is not None and cfg.eval_every_epoch:
            model = self.eval_model
            was_training = model.training
            model.eval()
            metrics = (self.eval_fn or self._default_eval)(model, self.val_data)
            model.train(was_training)
            row = {"epoch": epoch, "step": self.step, "seconds": round(self.seconds, 2), **{k: float(v) for k, v in metrics.items()}}
            self.val_history.append(row)
            value = metrics.get(cfg.metric)
            if value is not None:
                better = self.best_metric is None or (value > self.best_metric if cfg.metric_mode == "max" else value < self.best_metric)
                if better:
                    self.best_metric, self.best_epoch = float(value), epoch
                    self.save_weights(self.out_dir / "best.safetensors", {cfg.metric: float(value), "epoch": epoch, "step": self.step})
            summary = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
            if self._bar is not None and not self._bar.disable:  # shown with the progress bar; history.json keeps it
                self._bar.write(f"epoch {epoch} step {self.step}: {summary}", file=sys.stderr)
        if self.sample_fn is not None:
            self.sample_fn(self, self.step)
        self.write_history()

    def _default_eval(self, model: nn.Module, data: Any) -> dict[str, float]:
        with self.autocast():
            return evaluate_accuracy(model, data, channels_last=self.config.channels_last)

    # ---- outputs ------------------------------------------------------------------------------------

    def resolved_config(self) -> dict[str, Any]:
        model_config = getattr(self.model, "config", None)
        return {
            "trainer": dataclasses.asdict(self.config),
            "total_steps": self.total_steps,
            "steps_per_epoch": self.steps_per_epoch,
            "model": getattr(self.model, "model_name", type(self.model).__name__),
            "model_config": json.loads(config_to_json(model_config)) if dataclasses.is_dataclass(model_config) else None,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "train_size": len(self.train_data),
            "val_size": len(self.val_data) if self.val_data is not None else 0,
            "optimizers": {k: type(v).__name__ for k, v in self.optimizers.items()},
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "bf16_autocast_used": self.bf16,
            **self.extra_config,
        }

    def write_config(self) -> None:
        (self.out_dir / "config.json").write_text(json.dumps(self.resolved_config(), indent=2, default=str), encoding="utf-8")

    def save_weights(self, path: Path, metrics: dict[str, Any]) -> None:
        model = self.eval_model
        if getattr(self.model, "model_name", None) and getattr(model, "model_name", None) is None:
            model.model_name, model.config = self.model.model_name, self.model.config  # type: ignore[assignment]
        if getattr(model, "model_name", None) is None:
            from safetensors.torch import save_file

            save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
            return
        class_names = list(getattr(self.train_data, "class_names", ()) or ())
        save_model(model, path, metrics=metrics, class_names=class_names or None)

    def write_history(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "history.json").write_text(
            json.dumps({"train": self.history, "val": self.val_history, "best_metric": self.best_metric,
                        "best_epoch": self.best_epoch, "seconds": self.seconds}, indent=1),
            encoding="utf-8",
        )
        if self.history:
            keys = list(dict.fromkeys(k for row in self.history for k in row))
            with open(self.out_dir / "history.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=keys)
                writer.writeheader()
                writer.writerows(self.history)
        self.plot()

    def plot(self) -> None:
        if not self.history:
            return
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        metric_rows = [r for r in self.val_history if self.config.metric in r]
        fig, axes = plt.subplots(1, 2 if metric_rows else 1, figsize=(10 if metric_rows else 6, 3.6), squeeze=False)
        ax = axes[0][0]
        steps = [r["step"] for r in self.history]
        for key in [k for k in self.history[-1] if k not in {"step", "epoch", "seconds", "lr"}]:
            ax.plot(steps, [r.get(key, float("nan")) for r in self.history], label=key)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend()
        ax.grid(alpha=0.3)
        if metric_rows:
            ax2 = axes[0][1]
            ax2.plot([r["epoch"] for r in metric_rows], [r[self.config.metric] for r in metric_rows], marker="o")
            ax2.set_xlabel("epoch")
            ax2.set_ylabel(f"validation {self.config.metric}")
            ax2.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(self.out_dir / "loss.png", dpi=100)
        plt.close(fig)

    # ---- checkpoint and resume ------------------------------------------------------------------------

    @property
    def checkpoint_paths(self) -> tuple[Path, Path]:
        folder = self.out_dir / "checkpoints"
        return folder / "last.safetensors", folder / "last.json"

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "seconds": self.seconds,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "rng": {
                "torch": torch.get_rng_state(),
                "generator": self.generator.get_state(),
                "numpy": _numpy_state(),
                "python": _python_state(),
            },
            "history": self.history,
            "val_history": self.val_history,
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "running": self._running,
            "total_steps": self.total_steps,
        }

    def save_checkpoint(self) -> Path:
        from safetensors.torch import save_file

        tensors_path, json_path = self.checkpoint_paths
        tensors_path.parent.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, torch.Tensor] = {}
        structure = _split_tensors(self.state(), "s", tensors)
        tmp_t, tmp_j = tensors_path.with_name(tensors_path.name + ".tmp"), json_path.with_name(json_path.name + ".tmp")
        save_file(tensors, str(tmp_t))
        tmp_j.write_text(json.dumps({"format": "product-studio-checkpoint", "state": structure}), encoding="utf-8")
        tmp_t.replace(tensors_path)  # tensors first: the JSON names the step they hold
        tmp_j.replace(json_path)
        return tensors_path

    def load_checkpoint(self) -> bool:
        """Restore the last checkpoint in ``out_dir``; False when there is none (a fresh start)."""
        from safetensors.torch import load_file

        tensors_path, json_path = self.checkpoint_paths
        if not (tensors_path.exists() and json_path.exists()):
            return False
        document = json.loads(json_path.read_text(encoding="utf-8"))
        state = _join_tensors(document["state"], load_file(str(tensors_path)))
        if state["total_steps"] != self.total_steps:
            raise UsageError(
                f"the checkpoint in {tensors_path.parent} is of a run with {state['total_steps']} steps, this one has "
                f"{self.total_steps}; resume with the same options or choose another output folder"
            )
        self.model.load_state_dict(state["model"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][name])
        torch.set_rng_state(state["rng"]["torch"])
        self.generator.set_state(state["rng"]["generator"])
        _set_numpy_state(state["rng"]["numpy"])
        _set_python_state(state["rng"]["python"])
        self.step = int(state["step"])
        self.seconds = float(state["seconds"])
        self.history = list(state["history"])
        self.val_history = list(state["val_history"])
        self.best_metric = state["best_metric"]
        self.best_epoch = state["best_epoch"]
        self._running = list(state["running"])
        return True


class _StopRequest:
    """While training, the first Ctrl-C (SIGINT) asks the loop to stop after the step it is in (a checkpoint of
    a whole step, then TrainingInterrupted); a second one interrupts at once, as Python does. Only in the main
    thread (signals cannot be caught elsewhere); elsewhere Ctrl-C behaves as usual."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _StopRequest:
        import signal
        import threading

        # not where Ctrl-C is ignored on purpose (a job started in the background with `&`, nohup)
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _numpy_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)}


def _set_numpy_state(s: dict[str, Any]) -> None:
    np.random.set_state((s["name"], s["keys"].numpy().astype(np.uint32), s["pos"], s["has_gauss"], s["cached"]))


def _python_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    return {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss}


def _set_python_state(s: dict[str, Any]) -> None:
    random.setstate((s["version"], tuple(int(v) for v in s["internal"].tolist()), s["gauss"]))
