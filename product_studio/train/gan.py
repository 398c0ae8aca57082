"""Adversarial training of the GANs in ``models/gan.py`` with the project's generic ``Trainer``.

    summary = train_gan("fashion-mnist", "runs/cgan", recipe=GANRecipe(steps=6000))

One training step (``gan_step``), for a batch of real images ``x`` with labels ``y``:

1. discriminator: fakes ``G(z, y)`` made without gradient; ``D`` scores ``aug(x)`` and ``aug(fake)``
   (DiffAugment when the recipe asks for it); hinge loss ``relu(1 - D(real)) + relu(1 + D(fake))``
   (or the non-saturating BCE loss), plus ``r1_gamma / 2 · |∇ D(real)|²`` when ``r1_gamma > 0``;
   the ``"d"`` optimizer steps;
2. generator: new fakes with gradient through ``forward``; loss ``-D(aug(fake))`` (hinge) or
   ``softplus(-D(aug(fake)))``; D's parameters are frozen for this pass; the ``"g"`` optimizer steps;
3. the generator's EMA (``gan.generator_ema``) moves towards the generator (decay ``ema_decay``,
   warmed up as ``min(decay, (1 + step) / (10 + step))``).

After the last step, ``recalibrate_ema_batchnorm`` gives the EMA generator batch-norm statistics of its
own ("standing statistics", Brock et al. 2019): during training it borrows the raw generator's running
statistics, which belong to other weights (``ema_bn_samples``; 0 keeps the borrowed ones).

Two Adam optimizers (TTUR: the discriminator learns faster), so resuming restores both. Every
``checkpoint_every`` steps the trainer writes its checkpoint and this module writes a sample grid of
the EMA generator (``samples/step_NNNNNN.png``: one row per category, fixed latents). The trainer
writes ``config.json`` (with this recipe under ``gan_recipe``), ``history.csv``/``loss.png`` and
``final.safetensors`` (generator, discriminator and EMA generator, loadable with ``load_model``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from ..errors import UsageError
from ..generate.augment import diff_augment, parse_policy

FASHION_MNIST_NAMES = {"fashion-mnist", "fashion_mnist", "fmnist", "fashionmnist"}


@dataclass
class GANRecipe:
    """How ``train_gan`` trains. The defaults are the Fashion-MNIST CPU recipe (the earlier shipped model;
    the shipped one is ``cgan_fmnist_28_wide`` at batch 256 on a GPU, see the weights manifest)."""

    model: str = "cgan_fmnist_28"
    steps: int = 24000  # about 42 min on 2 idle bf16 cores at 10 steps/s
    batch_size: int = 32
    lr_g: float = 2e-4
    lr_d: float = 4e-4
    beta1: float = 0.0
    beta2: float = 0.9
    loss: str = "hinge"  # hinge | bce (non-saturating)
    r1_gamma: float = 0.0
    ema_decay: float = 0.999
    diffaugment: str = "none"  # comma-separated subset of translation, cutout, color
    seed: int = 0
    num_threads: int | None = 1
    autocast_bf16: bool = True
    device: str = "cpu"  # cpu | cuda | cuda:N (the weights load anywhere; a GPU run resumes on a CPU)
    checkpoint_every: int = 250
    ema_bn_samples: int = 4096  # after the last step: the EMA generator's batch-norm statistics from this many samples
    time_budget_s: float | None = None  # stop after this much training time (benchmarks)
    limit: int | None = None  # keep only the first N training images (quick runs, tests)
    val_fraction: float = 0.1  # folders: share of each category held out (over-fitting checks)

    def __post_init__(self) -> None:
        if self.loss not in {"hinge", "bce"}:
            raise UsageError(f"unknown GAN loss {self.loss!r}; use hinge or bce")
        if self.steps < 1 or self.batch_size < 2:
            raise UsageError("steps must be at least 1 and batch_size at least 2")
        if not 0.0 <= self.ema_decay < 1.0:
            raise UsageError(f"ema_decay must be in [0, 1); got {self.ema_decay}")
        if self.ema_bn_samples < 0:
            raise UsageError(f"ema_bn_samples must be 0 (keep the training statistics) or more; got {self.ema_bn_samples}")
        parse_policy(self.diffaugment)


# The recipes the benchmark compares: ours, and the two baselines as their authors trained them.
RECIPES: dict[str, GANRecipe] = {
    "ours": GANRecipe(),
    "dcgan": GANRecipe(model="dcgan_fmnist_28", batch_size=64, loss="bce", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, ema_decay=0.0),
    "seed": GANRecipe(model="seed_cgan_fmnist_28", batch_size=64, loss="bce", lr_g=1e-4, lr_d=1e-4, beta1=0.9, beta2=0.999, ema_decay=0.0),
}


def load_gan_data(data: str | Path, *, image_size: int, channels: int, val_fraction: float = 0.1,
                  seed: int = 0, limit: int | None = None) -> dict[str, Any]:
    """``{"train", "heldout"}`` ArrayDatasets (uint8 N×C×H×W; ``get_batch`` gives [0, 1] floats).

    ``"fashion-mnist"``: all 60,000 training images; held out = the 10,000 test images. A folder:
    one subfolder per category, every image resized (shorter side) and centre-cropped to the
    model's size, ``val_fraction`` of each category held out.
    """
    from .datasets import ArrayDataset, image_folder_dataset, load_fashion_mnist

    if str(data).lower() in FASHION_MNIST_NAMES:
        from ..models.classifier import FASHION_MNIST_CLASSES

        if (image_size, channels) != (28, 1):
            raise UsageError(f"Fashion-MNIST is 28×28 grayscale; the model makes {image_size}×{image_size}×{channels}: "
                             "use --model cgan_fmnist_28")
        images, labels = load_fashion_mnist("train")
        test_images, test_labels = load_fashion_mnist("test")
        train = ArrayDataset(images, labels, class_names=FASHION_MNIST_CLASSES)
        heldout = ArrayDataset(test_images, test_labels, class_names=FASHION_MNIST_CLASSES)
    else:
        folder = Path(data)
        if not folder.is_dir():
            raise UsageError(f"--data must be 'fashion-mnist' or a folder with one subfolder per category; {str(data)!r} is neither")
        parts = image_folder_dataset(folder, size=image_size, channels=channels, val_fraction=val_fraction, seed=seed)
        train, heldout = parts["train"], parts["val"]
    if limit:
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:limit]
        train = train.subset(order.sort().values)
    return {"train": train, "heldout": heldout}


def hinge_or_bce_d(loss: str, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    if loss == "hinge":
        return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def hinge_or_bce_g(loss: str, d_fake: torch.Tensor) -> torch.Tensor:
    return -d_fake.mean() if loss == "hinge" else F.softplus(-d_fake).mean()


def make_gan_step(recipe: GANRecipe, *, sample_dir: Path | None = None) -> Any:
    """The trainer's ``step_fn`` for ``recipe`` (see the module docstring)."""
    from ..models.gan import from_unit

    policy = parse_policy(recipe.diffaugment)

    def step(trainer: Any, batch: Any) -> dict[str, float]:
        gan = trainer.model
        config = gan.config
        x, y = batch
        x = from_unit(x)
        n = x.shape[0]
        if not config.conditional:
            y = torch.zeros_like(y)
        gen = trainer.generator
        opt_d, opt_g = trainer.optimizers["d"], trainer.optimizers["g"]
        gan.train()

        def aug(images: torch.Tensor) -> torch.Tensor:
            return diff_augment(images, policy, gen) if policy else images

        # 1. discriminator (latents drawn on the CPU generator, so a run draws the same on any device)
        z = torch.randn(n, config.z_dim, generator=gen).to(x.device)
        with trainer.autocast():
            with torch.no_grad():
                fake = gan.generator(z, y).float()
            real_in = aug(x)
            if recipe.r1_gamma > 0:
                real_in = real_in.detach().requires_grad_(True)
            if config.arch == "sngan":  # no batch norm in D: one pass over reals and fakes
                scores = gan.discriminator(torch.cat([real_in, aug(fake)]), torch.cat([y, y])).float()
                d_real, d_fake = scores[:n], scores[n:]
            else:  # BN discriminators see separate real and fake batches (Radford et al.)
                d_real = gan.discriminator(real_in, y).float()
                d_fake = gan.discriminator(aug(fake), y).float()
            d_loss = hinge_or_bce_d(recipe.loss, d_real, d_fake)
        if recipe.r1_gamma > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
            d_loss = d_loss + recipe.r1_gamma / 2 * grad.float().pow(2).flatten(1).sum(1).mean()
        if not torch.isfinite(d_loss):
            raise FloatingPointError(f"the discriminator loss became {d_loss.item()} at step {trainer.step}; lower the learning rates")
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        # 2. generator (D frozen: its weight gradients are not needed)
        gan.discriminator.requires_grad_(False)
        z = torch.randn(n, config.z_dim, generator=gen).to(x.device)
        with trainer.autocast():
            fake = gan.generator(z, y)
            g_loss = hinge_or_bce_g(recipe.loss, gan.discriminator(aug(fake.float()), y).float())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        gan.discriminator.requires_grad_(True)
        for scheduler in trainer.schedulers.values():
            scheduler.step()

        # 3. EMA of the generator
        decay = min(recipe.ema_decay, (1 + trainer.step) / (10 + trainer.step)) if recipe.ema_decay else 0.0
        gan.update_ema(decay)

        done = trainer.step + 1
        if recipe.time_budget_s is not None and trainer.seconds >= recipe.time_budget_s:
            trainer.total_steps = done  # the trainer's loop ends after this step (final checkpoint, weights)
        if done >= trainer.total_steps and recipe.ema_bn_samples:
            # before the final checkpoint and weights; a longer run resumed from here is unaffected, since
            # the next update_ema copies the raw generator's statistics over these again
            recalibrate_for_recipe(gan, recipe)
        if sample_dir is not None and (done % recipe.checkpoint_every == 0 or done >= trainer.total_steps):
            write_sample_grid(gan, sample_dir / f"step_{done:06d}.png")
        return {"loss": d_loss.item(), "g_loss": g_loss.item(), "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}

    return step


@torch.no_grad()
def recalibrate_ema_batchnorm(gan: Any, *, samples: int = 4096, batch_size: int = 256, seed: int = 0) -> int:
    """Replace the running statistics of every batch-norm layer of ``gan.generator_ema`` with their
    plain average over ``samples`` of its own outputs (latents and class-balanced labels drawn with
    ``seed``). Returns the number of layers changed (0 for a generator without batch norm).

    The EMA generator runs on running statistics it did not produce: ``update_ema`` copies the raw
    generator's, which lag behind different weights. Recomputing them for the EMA weights lowered the
    shipped model's FID (own features) from 0.130 to 0.104; the same seed gives the same statistics,
    and calling it twice changes nothing.
    """
    if samples < 1 or batch_size < 2:
        raise UsageError(f"recalibration needs samples ≥ 1 and batch_size ≥ 2; got {samples} and {batch_size}")
    net = gan.generator_ema
    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    config = gan.config
    device = next(net.parameters()).device
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches, not an exponential one
    gen = torch.Generator().manual_seed(seed)
    classes = config.num_classes if config.conditional else 1
    net.train()
    try:
        for start in range(0, samples, batch_size):
            n = min(batch_size, samples - start)
            if n < 2:
                break
            z = torch.randn(n, config.z_dim, generator=gen)
            y = (torch.arange(start, start + n) % classes)[torch.randperm(n, generator=gen)]
            net(z.to(device), y.to(device))
    finally:
        net.eval()
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
    return len(norms)


def recalibrate_for_recipe(gan: Any, recipe: GANRecipe) -> int:
    """``recalibrate_ema_batchnorm`` as ``train_gan`` runs it after the last step of ``recipe``."""
    return recalibrate_ema_batchnorm(gan, samples=recipe.ema_bn_samples, batch_size=max(recipe.batch_size, 64), seed=recipe.seed)


@torch.no_grad()
def write_sample_grid(gan: Any, path: Path, *, per_class: int = 10, seed: int = 1234) -> Path:
    """One row per category (up to 10 rows), ``per_class`` fixed latents, from the EMA generator."""
    from ..generate.sample import make_grid, to_uint8
    from ..imageio import save_image

    config = gan.config
    rows = max(1, min(config.num_classes, 10)) if config.conditional else 10
    z = torch.randn(per_class, config.z_dim, generator=torch.Generator().manual_seed(seed)).repeat(rows, 1)
    y = torch.arange(rows).repeat_interleave(per_class) if config.conditional else torch.zeros(rows * per_class, dtype=torch.long)
    if not config.conditional:
        z = torch.randn(rows * per_class, config.z_dim, generator=torch.Generator().manual_seed(seed))
    was_training = gan.training
    gan.eval()
    device = next(gan.parameters()).device
    images = to_uint8(gan.generate(z.to(device), y.to(device), ema=config.arch == "sngan"))
    gan.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(images, columns=per_class), path, overwrite=True)
    return path


def train_gan(data: str | Path, out_dir: str | Path, *, recipe: GANRecipe | None = None, resume: bool = True,
              progress: bool = True, model_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a GAN on ``data`` (``"fashion-mnist"`` or a folder of category subfolders) into ``out_dir``.

    A folder's category names become the model's ``class_names``. ``resume`` continues from
    ``out_dir/checkpoints`` when a checkpoint of the same run is there. Returns a summary dict.
    """
    from ..models.registry import create_model, model_config
    from .trainer import Trainer, training_device

    recipe = recipe or GANRecipe()
    training_device(recipe.device)  # a machine without that device stops here, before any data is read
    if recipe.num_threads:
        torch.set_num_threads(recipe.num_threads)
    base = model_config(recipe.model, **(model_overrides or {}))
    parts = load_gan_data(data, image_size=base.image_size, channels=base.channels, val_fraction=recipe.val_fraction,
                          seed=recipe.seed, limit=recipe.limit)
    train = parts["train"]
    overrides = dict(model_overrides or {})
    names = tuple(train.class_names)
    if names and names != tuple(base.class_names):
        overrides["class_names"] = names
    torch.manual_seed(recipe.seed)
    gan = create_model(recipe.model, **overrides)  # the Trainer moves it to the device
    if len(train) < recipe.batch_size:
        raise UsageError(f"{len(train)} training images is fewer than one batch of {recipe.batch_size}; lower --batch-size or add images")
    out = Path(out_dir)
    optimizers = {
        "d": torch.optim.Adam(gan.discriminator.parameters(), lr=recipe.lr_d, betas=(recipe.beta1, recipe.beta2)),
        "g": torch.optim.Adam(gan.generator.parameters(), lr=recipe.lr_g, betas=(recipe.beta1, recipe.beta2)),
    }
    trainer = Trainer(
        gan, train, out_dir=out, steps=recipe.steps, lr=recipe.lr_g, batch_size=recipe.batch_size,
        step_fn=make_gan_step(recipe, sample_dir=out / "samples"), optimizers=optimizers, resume=False,
        checkpoint_every=recipe.checkpoint_every, seed=recipe.seed, num_threads=recipe.num_threads,
        autocast_bf16=recipe.autocast_bf16, device=recipe.device, progress=progress, eval_every_epoch=False,
        extra_config={"gan_recipe": dataclasses.asdict(recipe), "data": str(data), "heldout_size": len(parts["heldout"]),
                      "class_names": list(gan.config.class_names)},
    )
    if resume:
        saved_total = checkpoint_total_steps(out)
        if saved_total is not None and saved_total < recipe.steps:
            # A longer run of the same recipe: the learning rates are constant and the data order and
            # random draws depend only on the seed and the step, so continuing the finished run gives
            # exactly the weights that one run of ``recipe.steps`` steps would have given.
            trainer.total_steps = saved_total
            trainer.load_checkpoint()
            trainer.total_steps = recipe.steps
        else:
            trainer.load_checkpoint()
    result = trainer.fit()
    last = result.history[-1] if result.history else {}
    return {
        "out_dir": str(out),
        "weights": str(out / "final.safetensors"),
        "model": recipe.model,
        "steps": result.steps,
        "train_seconds": round(result.seconds, 1),
        "train_size": len(train),
        "class_names": list(gan.config.class_names),
        "samples": sorted(str(p) for p in (out / "samples").glob("*.png")),
        "loss_plot": str(out / "loss.png"),
        "final": {k: v for k, v in last.items() if k in {"loss", "g_loss", "d_real", "d_fake"}},
    }


def checkpoint_total_steps(out_dir: str | Path) -> int | None:
    """The step count of the run whose checkpoint is in ``out_dir`` (None when there is none)."""
    import json

    path = Path(out_dir) / "checkpoints" / "last.json"
    if not path.is_file():
        return None
    state = json.loads(path.read_text(encoding="utf-8")).get("state", {})
    for key, value in state.get("__dict__", []):
        if key == "total_steps":
            return int(value)
    return None


def discriminator_gap(gan: Any, train: Any, heldout: Any, *, n: int = 500) -> dict[str, float]:
    """Mean D score on training reals minus held-out reals: near 0 means D has not memorised the data.

    Also reports the share of each set D scores above the median of both (a memorising D rates
    nearly all training images above held-out ones).
    """
    from ..models.gan import from_unit
    from .datasets import get_batch

    gan.eval()
    device = next(gan.parameters()).device
    scores = []
    with torch.no_grad():
        for data in (train, heldout):
            count = min(n, len(data))
            index = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:count]
            x, y = (t.to(device) for t in get_batch(data, index))
            if not gan.config.conditional:
                y = torch.zeros_like(y)
            scores.append(gan.discriminator(from_unit(x), y).float().cpu())
    train_s, held_s = scores
    return {
        "d_train_real": float(train_s.mean()),
        "d_heldout_real": float(held_s.mean()),
        "gap": float(train_s.mean() - held_s.mean()),
        "gap_in_std": float((train_s.mean() - held_s.mean()) / torch.cat(scores).std().clamp_min(1e-6)),
    }


__all__ = ["RECIPES", "GANRecipe", "discriminator_gap", "load_gan_data", "make_gan_step", "train_gan", "write_sample_grid"]
