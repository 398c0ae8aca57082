"""The shipped classifier: accuracy on real Fashion-MNIST test images, the photo-to-Fashion-MNIST
mapping on a real sample photo, the function API and Grad-CAM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from product_studio import load_image
from product_studio.item import ImageItem
from product_studio.train.datasets import FASHION_MNIST_DIR, ArrayDataset, load_fashion_mnist
from product_studio.train.metrics import accuracy, predict_logits
from product_studio.understand.classify import (
    UNKNOWN,
    classifier_info,
    classify_image,
    classify_item,
    classify_product,
    decide,
    grad_cam,
    load_default_classifier,
    load_torch_classifier,
    ood_scores,
    ood_settings,
    to_fashion_mnist,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
needs_fmnist = pytest.mark.skipif(not FASHION_MNIST_DIR.exists(), reason="Debian package dataset-fashion-mnist not installed (make apt)")


@needs_fmnist
def test_the_shipped_classifier_gets_90_percent_on_a_fixed_test_slice():
    images, labels = load_fashion_mnist("test")
    model = load_torch_classifier()
    data = ArrayDataset(images[:1000], labels[:1000])
    assert accuracy(predict_logits(model, data), data.labels) >= 0.90


def test_load_default_classifier_is_cached_and_knows_its_classes():
    model = load_default_classifier()
    assert model is load_default_classifier()
    assert model.class_names[9] == "Ankle boot" and len(model.class_names) == 10
    assert load_torch_classifier().metrics["accuracy"] > 0.9  # the validation accuracy recorded when it was saved


def test_the_domain_mapping_on_a_real_photo_gives_light_on_black_28x28():
    item = load_image(SAMPLES / "boot_on_deck.jpg")
    image = to_fashion_mnist(item)
    assert image.shape == (28, 28) and image.dtype == np.uint8
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    assert image.max() == 255  # stretched to the full range
    assert border.mean() < 40  # the background is black ...
    assert image[9:19, 9:19].mean() > 60  # ... and the product light
    # The longer side fills the frame: the product touches two opposite borders.
    rows, cols = np.flatnonzero(image.max(1) > 20), np.flatnonzero(image.max(0) > 20)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) >= 25


def test_the_mapping_keeps_the_aspect_and_centres_the_product():
    pixels = np.full((200, 300, 3), 255, np.uint8)
    alpha = np.zeros((200, 300), np.uint8)
    pixels[50:150, 20:280] = 40  # a dark 100×260 product on white
    alpha[50:150, 20:280] = 255
    image = to_fashion_mnist(ImageItem(pixels, alpha=alpha))
    rows = np.flatnonzero(image.max(1) > 128)
    cols = np.flatnonzero(image.max(0) > 128)
    assert cols[0] == 0 and cols[-1] == 27  # the longer side spans the frame
    assert 9 <= len(rows) <= 12  # 28 × 100/260 ≈ 10.8 rows, centred
    assert abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1


@needs_fmnist
def test_classify_image_and_item_give_sorted_probabilities():
    images, labels = load_fashion_mnist("test")
    top = classify_image(images[0], top_k=3)
    assert top[0][0] == "Ankle boot" and labels[0] == 9
    probabilities = [p for _, p in top]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1.0001
    # A Fashion-MNIST image turned back into a "photo" (dark product on white) comes back as itself.
    photo = np.repeat(255 - np.kron(images[0], np.ones((8, 8), np.uint8))[:, :, None], 3, axis=2)
    alpha = np.where(np.kron(images[0], np.ones((8, 8), np.uint8)) > 10, 255, 0).astype(np.uint8)
    result = classify_item(ImageItem(np.ascontiguousarray(photo), alpha=alpha), top_k=10)
    assert result[0][0] == "Ankle boot" and len(result) == 10


def test_grad_cam_points_at_the_product():
    images, _ = load_fashion_mnist("test")
    heat, index = grad_cam(load_default_classifier(), images[0])
    assert heat.shape == (28, 28) and heat.dtype == np.float32
    assert 0 <= heat.min() and heat.max() == pytest.approx(1.0)
    assert index == 9
    product = images[0] > 30
    assert heat[product].mean() > heat[~product].mean()
    assert torch.get_num_threads() <= 2


# ---- "unknown": products outside the categories ---------------------------------------------------------

LAPTOP = Path("/usr/share/openclipart/png/computer/hardware/laptop_01.png")  # openclipart: evaluation only


def test_the_shipped_classifier_carries_its_unknown_threshold():
    model = load_default_classifier()
    settings = ood_settings(model)
    assert settings is not None and settings["score"] == "max_softmax_flip"
    assert 0.1 < settings["threshold"] < 1 and settings["val_kept"] >= 0.98
    assert classifier_info(model)["ood_threshold"] == settings["threshold"]


def test_the_coffee_cup_sample_is_unknown_not_a_bag():
    result = classify_product(load_image(SAMPLES / "coffee_cup.jpg"))
    assert result.label == UNKNOWN and result.in_taxonomy is False
    assert result.score < result.threshold and "not one of the model's 10 categories" in result.note
    assert result.to_dict()["in_taxonomy"] is False and len(result.top_k) == 3  # the nearest categories, for information


@pytest.mark.skipif(not LAPTOP.exists(), reason="Debian package openclipart-png not installed")
def test_a_laptop_is_unknown():
    result = classify_product(load_image(LAPTOP))
    assert result.label == UNKNOWN and not result.in_taxonomy


@needs_fmnist
def test_fashion_mnist_test_images_stay_known():
    images, labels = load_fashion_mnist("test")
    model = load_default_classifier()
    scores = ood_scores(model, torch.from_numpy(images[:500, None]).float() / 255)
    threshold = ood_settings(model)["threshold"]
    assert float(np.mean(np.asarray(scores) >= threshold)) >= 0.96  # 98% on the whole test set (benchmarks/classifier_ood.py)
    first = decide(model, classify_image(images[0], top_k=3), float(scores[0]))
    assert first.in_taxonomy and first.label == "Ankle boot" and labels[0] == 9


def test_a_model_without_a_threshold_falls_back_to_the_top_probability():
    class Bare:
        class_names = ["a", "b"]
        metadata: dict = {}

    assert decide(Bare(), [("a", 0.9), ("b", 0.1)], 0.9).label == "a"
    doubtful = decide(Bare(), [("a", 0.45), ("b", 0.4)], 0.45)
    assert doubtful.label == UNKNOWN and doubtful.threshold is None and "retrain" in doubtful.note
