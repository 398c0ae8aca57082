"""Datasets: the real Fashion-MNIST idx files, image folders, and batch augmentation."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from product_studio.errors import UsageError
from product_studio.train import ArrayDataset, BatchAugment, image_folder_dataset, load_fashion_mnist, read_idx
from product_studio.train.datasets import FASHION_MNIST_DIR

needs_fmnist = pytest.mark.skipif(not FASHION_MNIST_DIR.exists(), reason="Debian package dataset-fashion-mnist not installed (make apt)")


@needs_fmnist
def test_the_idx_loader_reads_the_real_fashion_mnist_files():
    images, labels = load_fashion_mnist("train")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and set(np.unique(labels)) == set(range(10))
    assert np.bincount(labels).tolist() == [6000] * 10
    test_images, test_labels = load_fashion_mnist("test")
    assert test_images.shape == (10000, 28, 28) and np.bincount(test_labels).tolist() == [1000] * 10
    # Light product on a black background: the corners are black, the centre is not.
    assert images[:, :2, :2].mean() < 5 and images[:, 10:18, 10:18].mean() > 60


def test_read_idx_checks_the_header(tmp_path):
    good = tmp_path / "ok.idx.gz"
    with gzip.open(good, "wb") as handle:
        handle.write(bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6)))
    assert read_idx(good).tolist() == [[0, 1, 2], [3, 4, 5]]
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"PK\x03\x04....")
    with pytest.raises(UsageError, match="not an idx file"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(bytes([0, 0, 0x08, 1]) + (10).to_bytes(4, "big") + bytes(3))
    with pytest.raises(UsageError, match="holds 3 bytes"):
        read_idx(short)
    with pytest.raises(UsageError, match="dataset-fashion-mnist"):
        read_idx(tmp_path / "missing.gz")


def test_batch_augment_is_reproducible_and_keeps_shapes():
    x = torch.rand(32, 1, 28, 28)
    a = BatchAugment()(x, torch.Generator().manual_seed(3))
    b = BatchAugment()(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, x)
    shifted = BatchAugment(crop_padding=2, flip=False, erase_p=0)(x, torch.Generator().manual_seed(0))
    # A shift moves content but keeps it: every output row is some input row segment or padding.
    assert shifted.sum() <= x.sum() + 1e-3
    flipped = BatchAugment(crop_padding=0, flip=True, erase_p=0)(x, torch.Generator().manual_seed(0))
    same = [(torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))) for i in range(32)]
    assert all(same)


def test_image_folder_dataset(tmp_path):
    rng = np.random.default_rng(0)
    for name, colour in (("red", (220, 30, 30)), ("green", (30, 200, 30)), ("blue", (30, 30, 220))):
        (tmp_path / name).mkdir()
        for i in range(5):
            pixels = np.clip(np.array(colour) + rng.integers(-20, 20, (40 + i, 60, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    splits = image_folder_dataset(tmp_path, size=32, val_fraction=0.2)
    assert splits["train"].class_names == ("blue", "green", "red")
    assert len(splits["train"]) == 12 and len(splits["val"]) == 3
    assert splits["train"].images.shape[1:] == (3, 32, 32)
    x, y = splits["val"].get_batch(torch.arange(3))
    assert sorted(y.tolist()) == [0, 1, 2] and 0 <= x.min() and x.max() <= 1
    gray = image_folder_dataset(tmp_path, size=16, channels=1)
    assert gray["train"].images.shape[1:] == (1, 16, 16)
    with pytest.raises(UsageError, match="at least two category subfolders"):
        image_folder_dataset(tmp_path / "red", size=16)


def test_array_dataset_checks_shapes():
    with pytest.raises(UsageError, match="uint8"):
        ArrayDataset(np.zeros((2, 3, 3), np.float32), np.zeros(2))
    with pytest.raises(UsageError, match="labels"):
        ArrayDataset(np.zeros((2, 3, 3), np.uint8), np.zeros(3))
