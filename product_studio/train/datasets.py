"""Datasets for the trainer: Fashion-MNIST from its idx files, image folders, batch augmentation, and
``get_batch``, how the trainer and the metrics gather a batch from any dataset.

Everything is held as one uint8 tensor N×C×H×W in memory (Fashion-MNIST is 47 MB), batches are
gathered by index and converted to float in [0, 1], and augmentation runs on whole batches with an
explicit ``torch.Generator`` so a resumed run draws the same random numbers as an uninterrupted one.
Nothing here downloads anything: Fashion-MNIST comes from the Debian package ``dataset-fashion-mnist``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UsageError
from ..vision.geometry import resize_square

FASHION_MNIST_DIR = Path(os.environ.get("PRODUCT_STUDIO_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (LeCun's MNIST format), gzipped or not, into a numpy array."""
    path = Path(path)
    if not path.exists():
        raise UsageError(
            f"{path} not found; install the Debian package dataset-fashion-mnist (make apt) "
            "or set PRODUCT_STUDIO_FASHION_MNIST to the folder holding the idx .gz files"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise UsageError(f"{path} is not an idx file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise UsageError(f"{path}: header says {shape} ({expected} bytes) but holds {len(data) - offset} bytes")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def load_fashion_mnist(split: str = "train", *, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images N×28×28 uint8, labels N uint8) of the ``"train"`` (60,000) or ``"test"`` (10,000) split."""
    if split not in FASHION_MNIST_FILES:
        raise UsageError(f"unknown Fashion-MNIST split {split!r}; use 'train' or 'test'")
    folder = Path(root) if root is not None else FASHION_MNIST_DIR
    images_name, labels_name = FASHION_MNIST_FILES[split]
    images, labels = read_idx(folder / images_name), read_idx(folder / labels_name)
    if images.shape[0] != labels.shape[0]:
        raise UsageError(f"{folder}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


class ArrayDataset:
    """Images (uint8, N×C×H×W) and integer labels in memory; ``get_batch`` gives floats in [0, 1]."""

    def __init__(self, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, *, class_names: tuple[str, ...] = ()):
        images = torch.as_tensor(np.asarray(images))
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4 or images.dtype != torch.uint8:
            raise UsageError(f"images must be uint8 N×C×H×W (or N×H×W); got {tuple(images.shape)} {images.dtype}")
        labels = torch.as_tensor(np.asarray(labels)).long()
        if labels.shape != (images.shape[0],):
            raise UsageError(f"{images.shape[0]} images but labels of shape {tuple(labels.shape)}")
        self.images = images.contiguous()
        self.labels = labels
        self.class_names = tuple(class_names)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index].float() / 255.0, self.labels[index]

    def get_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[indices].float().div_(255.0), self.labels[indices]

    def subset(self, indices: slice | torch.Tensor | np.ndarray) -> ArrayDataset:
        return ArrayDataset(self.images[indices], self.labels[indices], class_names=self.class_names)


def _collate(items: list[Any]) -> Any:
    first = items[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_collate([item[i] for item in items]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _collate([item[k] for item in items]) for k in first}
    return torch.stack([torch.as_tensor(item) for item in items])


def get_batch(data: Any, indices: torch.Tensor) -> Any:
    """The items at ``indices`` of any dataset as one batch: ``data.get_batch(indices)`` when it has
    one, else ``data[i]`` stacked (tuples, lists and dicts of tensors stacked member by member)."""
    if hasattr(data, "get_batch"):
        return data.get_batch(indices)
    return _collate([data[int(i)] for i in indices])


def fashion_mnist_datasets(*, val_size: int = 5000, root: str | Path | None = None, limit: int | None = None) -> dict[str, ArrayDataset]:
    """``{"train", "val", "test"}``: the last ``val_size`` training images are the validation split.

    ``limit`` keeps only the first ``limit`` training images (and a tenth as many validation images):
    for quick runs while developing.
    """
    from ..models.classifier import FASHION_MNIST_CLASSES

    images, labels = load_fashion_mnist("train", root=root)
    test_images, test_labels = load_fashion_mnist("test", root=root)
    if not 0 < val_size < len(images):
        raise UsageError(f"val_size must be between 1 and {len(images) - 1}; got {val_size}")
    train = ArrayDataset(images[:-val_size], labels[:-val_size], class_names=FASHION_MNIST_CLASSES)
    val = ArrayDataset(images[-val_size:], labels[-val_size:], class_names=FASHION_MNIST_CLASSES)
    if limit:
        train, val = train.subset(slice(0, limit)), val.subset(slice(0, max(limit // 10, 10)))
    return {"train": train, "val": val, "test": ArrayDataset(test_images, test_labels, class_names=FASHION_MNIST_CLASSES)}


def image_folder_dataset(
    folder: str | Path,
    *,
    size: int,
    channels: int = 3,
    val_fraction: float = 0.15,
    seed: int = 0,
) -> dict[str, ArrayDataset]:
    """A folder with one subfolder per category -> ``{"train", "val"}`` ArrayDatasets.

    Every image file is read with ``product_studio.imageio.load_image`` (EXIF orientation, ICC ->
    sRGB), resized so its shorter side is ``size`` and centre-cropped to size×size; ``channels=1``
    converts to grayscale. Each category contributes ``val_fraction`` of its images (at least one)
    to the validation split, chosen with ``seed``.
    """
    import cv2

    from ..imageio import load_image

    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder; give a folder with one subfolder per category")
    categories = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(categories) < 2:
        raise UsageError(f"{root} needs at least two category subfolders (one per class); found {categories}")
    rng = np.random.default_rng(seed)
    parts: dict[str, tuple[list[np.ndarray], list[int]]] = {"train": ([], []), "val": ([], [])}
    for label, name in enumerate(categories):
        files = sorted(p for p in (root / name).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) < 2:
            raise UsageError(f"category {name!r} has {len(files)} image(s); each category needs at least 2 (one for validation)")
        order = rng.permutation(len(files))
        n_val = max(1, round(len(files) * val_fraction))
        for rank, index in enumerate(order):
            pixels = resize_square(load_image(files[index]).pixels, size)
            if channels == 1:
                pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)[:, :, None]
            split = "val" if rank < n_val else "train"
            parts[split][0].append(pixels.transpose(2, 0, 1))
            parts[split][1].append(label)
    return {
        split: ArrayDataset(np.stack(images), np.array(labels), class_names=tuple(categories))
        for split, (images, labels) in parts.items()
    }


@dataclass(frozen=True)
class BatchAugment:
    """Augmentation of a whole float batch N×C×H×W in [0, 1], drawn from ``generator``.

    crop_padding: random crop of the zero-padded image (a shift of up to ``crop_padding`` pixels).
    flip: horizontal flip with probability 0.5.
    erase_p: random erasing (Zhong et al. 2017) with this probability: a rectangle covering
        2-25% of the image, aspect 0.3-3.3, filled with uniform noise.
    """

    crop_padding: int = 2
    flip: bool = True
    erase_p: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.25)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        if self.crop_padding:
            p = self.crop_padding
            padded = torch.nn.functional.pad(x, (p, p, p, p))
            dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
            dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
            rows = (torch.arange(h)[None, :] + dy[:, None])[:, :, None]  # n×h×1
            cols = (torch.arange(w)[None, :] + dx[:, None])[:, None, :]  # n×1×w
            batch = torch.arange(n)[:, None, None]
            x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()
        if self.flip:
            flip = torch.rand(n, generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        if self.erase_p > 0:
            lo, hi = self.erase_area
            area = (lo + (hi - lo) * torch.rand(n, generator=generator)) * h * w
            log_ratio = torch.empty(n).uniform_(np.log(0.3), np.log(1 / 0.3), generator=generator)
            ratio = torch.exp(log_ratio)
            eh = torch.sqrt(area * ratio).round().clamp(1, h).long()
            ew = torch.sqrt(area / ratio).round().clamp(1, w).long()
            y0 = (torch.rand(n, generator=generator) * (h - eh + 1).float()).long()
            x0 = (torch.rand(n, generator=generator) * (w - ew + 1).float()).long()
            apply = torch.rand(n, generator=generator) < self.erase_p
            ys, xs = torch.arange(h)[None, :], torch.arange(w)[None, :]
            in_rows = (ys >= y0[:, None]) & (ys < (y0 + eh)[:, None])
            in_cols = (xs >= x0[:, None]) & (xs < (x0 + ew)[:, None])
            mask = (in_rows[:, :, None] & in_cols[:, None, :] & apply[:, None, None])[:, None]
            noise = torch.rand(x.shape, generator=generator)
            x = torch.where(mask, noise, x)
        return x
