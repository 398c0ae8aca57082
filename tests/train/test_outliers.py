"""Outlier exposure: which stamps may be outliers, the mixed batches, the loss and the threshold."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from product_studio.errors import UsageError
from product_studio.train.datasets import ArrayDataset
from product_studio.train.outliers import (
    CLOTHING_WORDS,
    HELD_OUT_WALLPAPERS,
    OUTLIER_SOURCES,
    OutlierMix,
    ood_threshold,
    outlier_exposure_loss,
    photo_files,
    stamp_files,
    words_of,
)

STAMPS = Path(OUTLIER_SOURCES[3].folder)
needs_stamps = pytest.mark.skipif(not STAMPS.is_dir(), reason="Debian package tuxpaint-stamps-default not installed")


def test_words_of_splits_paths_and_drops_plurals():
    assert {"clothes", "t", "shirts", "shirt"} <= words_of("clothes/t_shirts.png")
    assert "top" not in words_of("computer/laptop_01.png")  # whole words only


@needs_stamps
def test_no_clothing_shoe_or_bag_stamp_is_an_outlier_and_the_held_out_fifth_stays_out():
    train, held = stamp_files("train"), stamp_files("held_out")
    assert len(train) > 300 and len(held) > 50
    assert not set(train) & set(held)
    for path in train + held:
        relative = path.relative_to(STAMPS).as_posix()
        assert relative.split("/")[0] not in {"clothes", "people"}, relative
        assert not words_of(relative) & set(CLOTHING_WORDS), relative
    everything = stamp_files("all", exclude_words=(), exclude_folders=())
    assert any("/clothes/" in p.as_posix() for p in everything)  # they exist, and were filtered out above
    assert sorted(train + held) == sorted(stamp_files("all"))


def test_photos_never_include_the_wallpapers_the_samples_came_from():
    for path in photo_files():
        assert not set(path.parts) & set(HELD_OUT_WALLPAPERS), path


def test_outlier_mix_appends_outliers_labelled_minus_one_and_draws_the_same_for_the_same_indices():
    base = ArrayDataset(np.full((20, 1, 8, 8), 7, np.uint8), np.arange(20) % 3, class_names=("a", "b", "c"))
    outliers = np.stack([np.full((1, 8, 8), 100 + i, np.uint8) for i in range(5)])
    mix = OutlierMix(base, outliers, ratio=0.5)
    assert len(mix) == 20 and mix.class_names == ("a", "b", "c")
    x, y = mix.get_batch(torch.tensor([0, 1, 2, 3]))
    assert x.shape == (6, 1, 8, 8) and y.tolist()[:4] == [0, 1, 2, 0] and y.tolist()[4:] == [-1, -1]
    assert torch.all(x[:4] == 7 / 255) and torch.all(x[4:] >= 100 / 255)
    again, _ = mix.get_batch(torch.tensor([0, 1, 2, 3]))
    assert torch.equal(x, again)
    with pytest.raises(UsageError, match="do not fit"):
        OutlierMix(base, np.zeros((3, 3, 8, 8), np.uint8))


def test_the_loss_adds_the_cross_entropy_to_uniform_on_outliers_only():
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(4))

        def forward(self, x):
            return self.bias.expand(len(x), 4)

    model = Constant()
    x, y = torch.zeros(3, 1, 2, 2), torch.tensor([1, -1, -1])
    loss = outlier_exposure_loss(0.5)(model, (x, y))
    assert loss.item() == pytest.approx(math.log(4) + 0.5 * math.log(4))  # uniform softmax: CE = log 4 for both
    loss.backward()
    assert model.bias.grad is not None
    # A confident outlier costs more than a flat one.
    with torch.no_grad():
        model.bias[:] = torch.tensor([5.0, 0, 0, 0])
    only_outliers = outlier_exposure_loss(1.0)(model, (x, torch.tensor([0, -1, -1])))
    assert only_outliers.item() > math.log(4) + nn.functional.cross_entropy(model(x[:1]), torch.tensor([0])).item()


def test_ood_threshold_keeps_the_asked_share_of_the_validation_images():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    data = ArrayDataset(np.random.default_rng(0).integers(0, 255, (200, 1, 4, 4), dtype=np.uint8), np.zeros(200, np.int64))
    found = ood_threshold(model, data, keep=0.98)
    assert found["val_kept"] >= 0.98 and found["val_size"] == 200 and found["score"] == "max_softmax_flip"
    assert 1 / 3 <= found["threshold"] <= 1
    with pytest.raises(UsageError):
        ood_threshold(model, data, keep=1.5)
