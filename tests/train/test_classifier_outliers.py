"""train_classifier on a user's folder: outlier exposure from the shipped sources, and the "unknown" threshold
written into the weights where classify reads it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from product_studio import load_image
from product_studio.models.registry import load_model, read_metadata
from product_studio.train.classifier import ClassifierRecipe, train_classifier
from product_studio.train.outliers import photo_files, stamp_files
from product_studio.understand.classify import classify_product, ood_settings

pytestmark = pytest.mark.skipif(not (photo_files() and stamp_files("train")),
                                reason="outlier sources not installed (make apt: wallpapers, tuxpaint stamps)")


def catalogue(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for name, colour in (("mugs", (200, 40, 40)), ("plants", (40, 160, 60))):
        (root / name).mkdir(parents=True)
        for i in range(6):
            pixels = np.full((70, 90, 3), 245, np.int16)
            pixels[15:55, 20 + i : 60 + i] = colour
            Image.fromarray(np.clip(pixels + rng.integers(-15, 15, pixels.shape), 0, 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_a_folder_model_gets_outlier_exposure_and_its_own_threshold(tmp_path):
    data = catalogue(tmp_path / "catalog")
    recipe = dataclasses.replace(ClassifierRecipe(), model="catalog_cnn_64", epochs=1, batch_size=8, lr=0.01,
                                 outlier_limit=3, autocast_bf16=False)
    summary = train_classifier(data, tmp_path / "run", recipe=recipe, progress=False)
    ood = summary["ood"]
    assert ood["val_kept"] >= 0.98 and ood["outlier_weight"] == 0.5
    assert ood["outliers"]["count"] > 6 and any("tuxpaint" in s for s in ood["outliers"]["sources"])
    assert {"mug", "mugs", "plant"} <= set(ood["outliers"]["excluded_words"])  # never its own categories as outliers
    assert (tmp_path / "run" / "outliers.npz").exists()  # kept: a resumed run does not build them again
    stored = json.loads(read_metadata(tmp_path / "run" / "best.safetensors")["ood"])
    assert stored["threshold"] == ood["threshold"]
    model = load_model(tmp_path / "run" / "best.safetensors")
    assert ood_settings(model)["threshold"] == ood["threshold"]
    result = classify_product(load_image(data / "mugs" / "0.png"), model=model, cut_out=False)
    assert result.threshold == ood["threshold"] and result.label in {"mugs", "plants", "unknown"}
    assert result.in_taxonomy == (result.score >= result.threshold)


def test_outlier_weight_zero_trains_without_outliers(tmp_path):
    data = catalogue(tmp_path / "catalog")
    recipe = dataclasses.replace(ClassifierRecipe(), model="catalog_cnn_64", epochs=1, batch_size=8, outlier_weight=0.0,
                                 autocast_bf16=False)
    summary = train_classifier(data, tmp_path / "run", recipe=recipe, progress=False)
    assert "ood" not in summary and not (tmp_path / "run" / "outliers.npz").exists()
    assert "ood" not in read_metadata(tmp_path / "run" / "best.safetensors")
