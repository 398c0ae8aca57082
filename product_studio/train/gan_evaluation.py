"""How good a Fashion-MNIST GAN is, measured with the project's own classifier.

- **FID (own features)**: the Fréchet distance (``metrics.frechet_distance``) between Gaussians fitted
  to the 96-d pooled features (global average of the last stage) of the shipped ``fmnist_cnn``
  classifier (``METRIC_WEIGHTS``, fixed even where ``classify`` uses another model), for generated
  images and for the 10,000 real test images. This is *not* Inception FID (Heusel et al. 2017 use
  Inception-v3 pool features on 299×299 RGB): its values are on another scale and cannot be
  compared with published numbers; compare only within this table.
- **Floor**: the same FID between a sample of real training images and the real test set, i.e.
  what a perfect generator would score with the same number of samples.
- **Class consistency**: the share of samples the classifier assigns to the category they were
  generated for (plain forward pass, argmax).
- **CAS** (classification accuracy score, Ravuri & Vinyals 2019): a small classifier
  (``fmnist_cnn_tiny``) trained only on generated, class-balanced samples, tested on the 10,000 real
  test images; ``cas_reference`` trains the same recipe on as many real training images.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from ..errors import UsageError
from .metrics import frechet_distance

FID_NOTE = (
    "FID on the 96-d pooled penultimate features of product_studio's own Fashion-MNIST classifier "
    "(fmnist_cnn), not Inception FID: it cannot be compared with published FID numbers"
)


@torch.no_grad()
def classifier_features(classifier: Any, images01: torch.Tensor, *, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """(pooled features N×D float64, predicted class N) for images N×1×28×28 in [0, 1]."""
    classifier.eval()
    feats, preds = [], []
    for i in range(0, len(images01), batch_size):
        maps = classifier.features(images01[i : i + batch_size].float())
        pooled = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(maps, 1), 1)
        feats.append(pooled.double())
        preds.append(classifier.head(pooled).argmax(1))
    return torch.cat(feats).numpy(), torch.cat(preds).numpy()


# The metric network is fixed, like Inception-v3 for published FID: the first shipped classifier,
# kept even when ``classify`` moves to a better one, so every figure stays comparable across versions.
METRIC_WEIGHTS = "fmnist_cnn.safetensors"


@lru_cache(maxsize=1)
def _fmnist_classifier() -> Any:
    from ..models import load_model, shipped_weight_path

    return load_model(shipped_weight_path(METRIC_WEIGHTS)).eval()


_FEATURE_CACHE: dict[tuple[str, int | None, int], np.ndarray] = {}


def real_features(split: str, n: int | None = None, *, seed: int = 0) -> np.ndarray:
    """Classifier features of real Fashion-MNIST images (computed once per process and split)."""
    key = (split, n, seed)
    if key not in _FEATURE_CACHE:
        _FEATURE_CACHE[key] = classifier_features(_fmnist_classifier(), real_images(split, n, seed=seed)[0])[0]
    return _FEATURE_CACHE[key]


def real_images(split: str, n: int | None = None, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST images N×1×28×28 in [0, 1] and labels; ``n`` of them drawn with ``seed`` (all when None)."""
    from .datasets import load_fashion_mnist

    images, labels = load_fashion_mnist(split)
    if n is not None and n < len(images):
        index = np.sort(np.random.default_rng(seed).permutation(len(images))[:n])
        images, labels = images[index], labels[index]
    return torch.from_numpy(images[:, None].copy()).float().div_(255.0), torch.from_numpy(labels.astype(np.int64))


def generate_balanced(gan: Any, n: int, *, seed: int = 0, ema: bool = True, truncation: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples (N×C×H×W in [0, 1]) with labels cycling over the categories (class-balanced)."""
    from ..generate.sample import generate_tensor, latents
    from ..models.gan import to_unit

    classes = gan.config.num_classes if gan.config.conditional else 1
    labels = torch.arange(n) % classes
    z = latents(n, gan.config.z_dim, seed=seed, truncation=truncation)
    return to_unit(generate_tensor(gan, labels, z, ema=ema)).clamp(0, 1), labels


def keep_best_consistency(gan: Any, classifier: Any, *, per_class: int = 100, factor: int = 4, seed: int = 1, ema: bool = True) -> float:
    """Class consistency of ``generate --keep-best``: per category, ``factor × per_class`` candidates,
    the best ``per_class`` kept by ``quality_scores`` (discriminator + classifier)."""
    from ..generate.sample import generate_tensor, latents, quality_scores
    from ..models.gan import to_unit

    hits = total = 0
    for label in range(gan.config.num_classes):
        z = latents(per_class * factor, gan.config.z_dim, seed=seed * 1000 + label)
        images = generate_tensor(gan, torch.full((len(z),), label, dtype=torch.long), z, ema=ema)
        best = images[quality_scores(gan, images, label, classifier=classifier).argsort(descending=True)[:per_class]]
        _, preds = classifier_features(classifier, to_unit(best).clamp(0, 1))
        hits += int((preds == label).sum())
        total += len(preds)
    return hits / total


def classification_accuracy_score(images01: torch.Tensor, labels: torch.Tensor, *, epochs: int = 15, seed: int = 0,
                                  progress: bool = False) -> float:
    """Train ``fmnist_cnn_tiny`` on ``images01``/``labels`` only; its accuracy on the 10,000 real test images."""
    import tempfile

    from ..models.registry import create_model
    from .datasets import ArrayDataset, BatchAugment
    from .metrics import evaluate_accuracy
    from .trainer import Trainer

    uint8 = (images01.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
    train = ArrayDataset(uint8, labels)
    test_x, test_y = real_images("test")
    test = ArrayDataset((test_x * 255 + 0.5).to(torch.uint8), test_y)
    torch.manual_seed(seed)
    model = create_model("fmnist_cnn_tiny")
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, train, out_dir=tmp, epochs=epochs, lr=0.1, batch_size=128, optimizer="sgd",
                          weight_decay=5e-4, scheduler="onecycle", label_smoothing=0.1, seed=seed, progress=progress,
                          augment=BatchAugment(crop_padding=2, flip=True, erase_p=0.25), autocast_bf16=True,
                          checkpoint_every=10**9)
        trainer.fit()
    return float(evaluate_accuracy(model.eval(), test)["accuracy"])


def fid_floor(n: int = 10000, *, seed: int = 0) -> float:
    """FID(own features) between ``n`` real training images and the 10,000 real test images."""
    return frechet_distance(real_features("train", n, seed=seed), real_features("test"))


def evaluate_gan(gan: Any, *, n: int = 10000, ema: bool = True, keep_best_factor: int | None = 4, cas: bool = True,
                 cas_epochs: int = 15, cas_reference: bool = False, floor: bool = True, seed: int = 0,
                 test_images: int | None = None, progress: bool = False,
                 on_stage: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """FID (own features) against the real test set, the real-vs-real floor, class consistency (plain
    and with the keep-best gate), and CAS, for a 28×28 grayscale Fashion-MNIST GAN.

    ``test_images`` uses only that many of the 10,000 test images for the FID (quick checks).
    progress: the CAS trainer's progress bar. on_stage: called as ``on_stage(stage, done, total)`` as each
    stage starts (``done`` stages of ``total`` finished) and once more at the end, for a caller's progress bar.
    """
    import time

    config = gan.config
    if (config.image_size, config.channels) != (28, 1):
        raise UsageError(
            f"evaluation uses the Fashion-MNIST classifier and test set: it needs a 28×28 grayscale model; this one is "
            f"{config.image_size}×{config.image_size}×{config.channels}"
        )
    if n < 100:
        raise UsageError(f"n must be at least 100 samples for a meaningful FID; got {n}")
    keep_best = bool(config.conditional and keep_best_factor)
    stages = [f"generate {n:,} samples", "measure the samples", "measure the real test images"]
    stages += ["measure real training images (the floor)"] * floor + ["keep-best consistency"] * keep_best
    stages += ["CAS: train a classifier on the samples"] * (config.conditional and cas)
    stages += ["CAS: the same on real images"] * (config.conditional and cas and cas_reference)
    finished = iter(range(len(stages) + 1))

    def stage() -> None:
        done = next(finished)
        if on_stage is not None:
            on_stage(stages[done] if done < len(stages) else "done", done, len(stages))

    stage()
    classifier = _fmnist_classifier()
    started = time.perf_counter()
    images, labels = generate_balanced(gan, n, seed=seed, ema=ema)
    generation_seconds = time.perf_counter() - started
    stage()
    fake_feats, preds = classifier_features(classifier, images)
    stage()
    test_feats = real_features("test", test_images, seed=seed)
    result: dict[str, Any] = {
        "samples": n,
        "test_images": len(test_feats),
        "fid_own_features": frechet_distance(fake_feats, test_feats),
        "fid_note": FID_NOTE,
        "generator": "ema" if ema else "raw",
        "images_per_second": n / max(generation_seconds, 1e-9),
    }
    if floor:
        stage()
        result["fid_floor_real_train_vs_test"] = frechet_distance(real_features("train", n, seed=seed), test_feats)
        result["fid_over_floor"] = result["fid_own_features"] / max(result["fid_floor_real_train_vs_test"], 1e-9)
    if config.conditional:
        result["class_consistency"] = float((preds == labels.numpy()).mean())
        per_class = [(preds[labels.numpy() == c] == c).mean() for c in range(config.num_classes)]
        result["class_consistency_per_class"] = {name: float(v) for name, v in zip(config.class_names, per_class)}
        if keep_best_factor:
            stage()
            per_class = max(10, min(100, n // config.num_classes))
            result["class_consistency_keep_best"] = keep_best_consistency(gan, classifier, per_class=per_class,
                                                                          factor=keep_best_factor, ema=ema)
            result["keep_best_samples"] = per_class * config.num_classes
            result["keep_best_factor"] = keep_best_factor
        if cas:
            stage()
            result["cas"] = classification_accuracy_score(images, labels, epochs=cas_epochs, seed=seed, progress=progress)
            result["cas_epochs"] = cas_epochs
            if cas_reference:
                stage()
                real_x, real_y = real_images("train", n, seed=seed)
                result["cas_reference_real"] = classification_accuracy_score(real_x, real_y, epochs=cas_epochs, seed=seed, progress=progress)
    stage()
    return result
