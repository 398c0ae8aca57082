"""The shipped classifier on onnxruntime: the same logits, labels and "unknown" decisions as the torch
model on Fashion-MNIST test images, the OOD threshold carried in the ONNX metadata, and `classify` /
`describe` running without importing torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from product_studio import load_image
from product_studio.train.datasets import FASHION_MNIST_DIR, load_fashion_mnist
from product_studio.understand.classify import (
    OnnxClassifier,
    classify_product,
    load_default_classifier,
    load_torch_classifier,
    ood_scores,
    ood_settings,
    predict_probabilities,
)

ROOT = Path(__file__).resolve().parents[2]
needs_fmnist = pytest.mark.skipif(not FASHION_MNIST_DIR.exists(), reason="Debian package dataset-fashion-mnist not installed (make apt)")


def test_the_runtime_classifier_is_onnx_and_carries_the_torch_threshold():
    onnx_model, torch_model = load_default_classifier(), load_torch_classifier()
    assert isinstance(onnx_model, OnnxClassifier)
    assert ood_settings(onnx_model) == ood_settings(torch_model) and ood_settings(onnx_model) is not None
    assert onnx_model.class_names == list(torch_model.class_names)
    assert (onnx_model.config.image_size, onnx_model.config.in_channels) == (28, 1)


@needs_fmnist
def test_onnx_matches_torch_on_fashion_mnist_test_images():
    import torch

    images = load_fashion_mnist("test")[0][:1000]
    x = images[:, None].astype(np.float32) / 255
    onnx_model, torch_model = load_default_classifier(), load_torch_classifier()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).float().numpy()
    got = onnx_model.logits(x)
    assert np.abs(expected - got).max() < 1e-4  # 3.3e-6 measured (scripts/export_classifier_onnx.py)
    assert (expected.argmax(1) == got.argmax(1)).all()
    threshold = ood_settings(onnx_model)["threshold"]
    torch_known = ood_scores(torch_model, torch.from_numpy(x)).numpy() >= threshold
    onnx_known = ood_scores(onnx_model, x) >= threshold
    assert (torch_known == onnx_known).all()
    assert np.abs(predict_probabilities(onnx_model, x[:50]) - predict_probabilities(torch_model, torch.from_numpy(x[:50])).numpy()).max() < 1e-5


def test_a_photo_gets_the_same_answer_from_onnx_and_torch():
    item = load_image(ROOT / "samples" / "teddy_bear.png")
    a, b = classify_product(item, model=load_default_classifier()), classify_product(item, model=load_torch_classifier())
    assert (a.label, a.in_taxonomy) == (b.label, b.in_taxonomy)
    assert abs(a.score - b.score) < 1e-5


@pytest.mark.parametrize("command", [
    ["classify", "samples/teddy_bear.png"],
    ["describe", "samples/teddy_bear.png"],
])
def test_classify_and_describe_run_without_torch(command):
    code = (
        "import sys\n"
        "from product_studio.cli.app import app\n"
        f"rc = app(args={command!r}, standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "raise SystemExit(rc or 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
