"""Generate product images with a trained GAN: categories by name, seeds, truncation, interpolation,
and a quality gate that keeps the samples the discriminator and the classifier rate best.

    gan = load_generator()                                    # the shipped Fashion-MNIST model
    images = generate_images(gan, "sneaker", n=16, seed=0)    # N×H×W×3 uint8 (RGB)
    sheet = make_grid(images, columns=8)                      # one contact sheet, uint8 RGB

Outputs are always RGB uint8 (a grayscale model's images are repeated over three channels) at the
model's resolution. A seed fixes every latent, so the same call gives the same pixels.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UsageError

SHIPPED_WEIGHTS = "fmnist_cgan.safetensors"


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.lower())


def resolve_category(category: str | int, class_names: tuple[str, ...] | list[str]) -> int:
    """The class index for ``category``: an index (``3``, ``"3"``) or a name matched without regard to
    case and punctuation: ``"sneaker"``, ``"Sneakers"``, ``"ankle-boot"``, ``"t-shirt"`` (one part
    of ``"T-shirt/top"``) all work. Raises ``UsageError`` listing the categories otherwise.
    """
    names = list(class_names)
    if not names:
        raise UsageError("this model has no category names; give the category as an index")
    if isinstance(category, (int, np.integer)) or (isinstance(category, str) and category.strip().isdigit()):
        index = int(category)
        if not 0 <= index < len(names):
            raise UsageError(f"category index {index} is out of range; this model has {len(names)} categories (0-{len(names) - 1})")
        return index
    wanted = _normalise(str(category))
    if not wanted:
        raise UsageError(f"empty category name; choose one of: {', '.join(names)}")
    keys = [_normalise(n) for n in names]
    candidates = [wanted, wanted.removesuffix("s"), wanted.removesuffix("es")]
    for candidate in candidates:  # the whole name
        if candidate in keys:
            return keys.index(candidate)
    for candidate in candidates:  # one part of a name like 'T-shirt/top'
        hits = [i for i, n in enumerate(names) if candidate in {_normalise(p) for p in re.split(r"[/|,;]", n)}]
        if len(hits) == 1:
            return hits[0]
    raise UsageError(f"unknown category {str(category)!r}; choose one of: {', '.join(names)} (or an index 0-{len(names) - 1})")


@lru_cache(maxsize=4)
def _load_cached(path: str) -> Any:
    from ..models.registry import load_model

    return load_model(path, expect_family="gan", family_hint="give a GAN file written by `product-studio train gan`")


def load_generator(path: str | Path | None = None) -> Any:
    """A trained GAN (``models.gan.GAN``, eval mode), loaded once per process; default: the shipped one."""
    from ..models.registry import shipped_weight_path

    resolved = shipped_weight_path(SHIPPED_WEIGHTS) if path is None else Path(path)
    return _load_cached(str(Path(resolved).resolve()))


def latents(n: int, z_dim: int, *, seed: int | None = None, truncation: float | None = None) -> torch.Tensor:
    """``n`` standard-normal latents; with ``truncation`` every coordinate with ``|z| > truncation``
    is drawn again until it is inside (the truncation trick: less variety, higher fidelity)."""
    if truncation is not None and truncation <= 0:
        raise UsageError(f"truncation must be positive (e.g. 0.5-2.0); got {truncation}")
    generator = torch.Generator().manual_seed(int(seed)) if seed is not None else torch.Generator().manual_seed(int(torch.seed() % 2**63))
    z = torch.randn(n, z_dim, generator=generator)
    if truncation is not None:
        for _ in range(100):
            outside = z.abs() > truncation
            if not outside.any():
                break
            z = torch.where(outside, torch.randn(n, z_dim, generator=generator), z)
        z = z.clamp(-truncation, truncation)
    return z


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output (N×C×H×W in [-1, 1]) → N×H×W×3 uint8 RGB."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8)
    x = x.permute(0, 2, 3, 1).numpy()
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return np.ascontiguousarray(x)


def make_grid(images: np.ndarray, *, columns: int | None = None, padding: int = 2, background: int = 255) -> np.ndarray:
    """A contact sheet: ``images`` (N×H×W×3 uint8) in rows of ``columns`` with ``padding`` px gaps."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise UsageError(f"make_grid takes N×H×W×3 uint8 images; got {images.shape} {images.dtype}")
    n, h, w, _ = images.shape
    if n == 0:
        raise UsageError("no images to put on a contact sheet")
    columns = max(1, min(columns or math.ceil(math.sqrt(n)), n))
    rows = math.ceil(n / columns)
    sheet = np.full((rows * (h + padding) + padding, columns * (w + padding) + padding, 3), background, np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        sheet[top : top + h, left : left + w] = images[i]
    return sheet


@torch.no_grad()
def generate_tensor(gan: Any, labels: torch.Tensor, z: torch.Tensor, *, batch_size: int = 256, ema: bool = True) -> torch.Tensor:
    """Images N×C×H×W in [-1, 1] for ``labels`` and latents ``z``, in batches."""
    gan.eval()
    if not gan.config.conditional:
        labels = torch.zeros_like(labels)
    out = [gan.generate(z[i : i + batch_size], labels[i : i + batch_size], ema=ema).float() for i in range(0, len(z), batch_size)]
    return torch.cat(out) if out else torch.empty(0, gan.config.channels, gan.config.image_size, gan.config.image_size)


@torch.no_grad()
def quality_scores(gan: Any, images: torch.Tensor, label: int, *, classifier: Any = None) -> torch.Tensor:
    """How good each image looks (higher is better): the discriminator's score, standardised over the
    batch, plus — when a classifier for the model's categories is given — the standardised log
    probability the classifier gives the requested category."""
    y = torch.full((len(images),), label, dtype=torch.long)
    if not gan.config.conditional:
        y = torch.zeros_like(y)
    d = gan.discriminator(images, y).float()
    score = (d - d.mean()) / d.std().clamp_min(1e-6) if len(d) > 1 else d * 0
    if classifier is not None:
        from ..models.gan import to_unit

        logp = classifier(to_unit(images)).float().log_softmax(1)[:, label]
        score = score + ((logp - logp.mean()) / logp.std().clamp_min(1e-6) if len(logp) > 1 else logp * 0)
    return score


def matching_classifier(gan: Any) -> Any:
    """The shipped Fashion-MNIST classifier when ``gan`` makes 28×28 grayscale images of the same
    categories (so it can judge them), else ``None``."""
    from ..models.classifier import FASHION_MNIST_CLASSES

    config = gan.config
    if (config.image_size, config.channels) != (28, 1) or tuple(config.class_names) != FASHION_MNIST_CLASSES:
        return None
    from ..understand.classify import load_torch_classifier

    return load_torch_classifier()


def generate_images(
    gan: Any,
    category: str | int,
    *,
    n: int = 16,
    seed: int | None = 0,
    truncation: float | None = None,
    keep_best: int | None = None,
    use_classifier: bool = True,
) -> np.ndarray:
    """``n`` images of ``category`` (N×H×W×3 uint8 RGB, the model's resolution).

    ``keep_best=K`` (K ≤ n) is the quality gate: the ``n`` candidates are ranked by
    ``quality_scores`` and the best ``K`` are returned, best first.
    """
    if n < 1:
        raise UsageError(f"n must be at least 1; got {n}")
    if keep_best is not None and not 1 <= keep_best <= n:
        raise UsageError(f"--keep-best {keep_best} must be between 1 and -n ({n}): generate n candidates and keep the best K")
    label = resolve_category(category, gan.config.class_names) if gan.config.conditional else 0
    z = latents(n, gan.config.z_dim, seed=seed, truncation=truncation)
    images = generate_tensor(gan, torch.full((n,), label, dtype=torch.long), z)
    if keep_best is not None:
        classifier = matching_classifier(gan) if use_classifier else None
        order = quality_scores(gan, images, label, classifier=classifier).argsort(descending=True)[:keep_best]
        images = images[order]
    return to_uint8(images)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latents (keeps the norm typical of a Gaussian sample)."""
    cos = (a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-8)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    if omega.abs() < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(gan: Any, category: str | int, *, seed_a: int, seed_b: int, steps: int = 8,
                truncation: float | None = None, category_b: str | int | None = None) -> np.ndarray:
    """``steps`` images walking from seed ``seed_a``'s latent to ``seed_b``'s (spherically); with
    ``category_b`` the class embedding moves too (one category morphing into another)."""
    if steps < 2:
        raise UsageError(f"an interpolation needs at least 2 steps; got {steps}")
    config = gan.config
    za = latents(1, config.z_dim, seed=seed_a, truncation=truncation)[0]
    zb = latents(1, config.z_dim, seed=seed_b, truncation=truncation)[0]
    ts = [i / (steps - 1) for i in range(steps)]
    z = torch.stack([slerp(za, zb, t) for t in ts])
    label_a = resolve_category(category, config.class_names) if config.conditional else 0
    if category_b is None or not config.conditional or config.arch != "sngan":
        return to_uint8(generate_tensor(gan, torch.full((steps,), label_a, dtype=torch.long), z))
    label_b = resolve_category(category_b, config.class_names)
    return to_uint8(_generate_mixed(gan, z, label_a, label_b, ts))


@torch.no_grad()
def _generate_mixed(gan: Any, z: torch.Tensor, a: int, b: int, ts: list[float]) -> torch.Tensor:
    """Generate with every conditional-BN gain and bias blended between categories ``a`` and ``b``."""
    from ..models.gan import ConditionalBatchNorm

    g = gan.generator_ema
    norms = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm)]
    saved = [(m.gain.weight.clone(), m.bias.weight.clone()) for m in norms]
    out = []
    try:
        for i, t in enumerate(ts):
            for m, (gain, bias) in zip(norms, saved):
                m.gain.weight[a] = (1 - t) * gain[a] + t * gain[b]
                m.bias.weight[a] = (1 - t) * bias[a] + t * bias[b]
            out.append(g(z[i : i + 1], torch.tensor([a])).float())
    finally:
        for m, (gain, bias) in zip(norms, saved):
            m.gain.weight.copy_(gain)
            m.bias.weight.copy_(bias)
    return torch.cat(out)


def generation_info(gan: Any) -> dict[str, Any]:
    config = gan.config
    return {
        "model": getattr(gan, "model_name", None),
        "weights": getattr(gan, "weight_path", None),
        "image_size": config.image_size,
        "channels": config.channels,
        "categories": list(config.class_names),
        "metrics": getattr(gan, "metrics", {}),
    }
