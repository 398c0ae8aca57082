"""The shipped Fashion-MNIST classifier: test accuracy, training time, inference speed, confusion matrix.

Measured in this run on the 10,000 Fashion-MNIST test images (Debian ``dataset-fashion-mnist``):

- test accuracy of the shipped classifier (``classify.DEFAULT_WEIGHTS``), plain and with flip TTA
  (the softmax of the image and its mirror averaged; what ``classify`` uses), and of the first,
  smaller classifier that the GAN metrics keep using;
- a baseline in the same run: a nearest-class-mean classifier on raw pixels (fit on the 55,000
  training images the model was trained on);
- the published anchors of REFERENCE.md beside ours (their figures, their runs: not measured here);
- the training time, as measured by scripts/train_classifier.py and recorded in the manifest;
- inference speed on the CPU: batches of 256 on 2 threads, and one image at a time (latency);
- docs/images/confusion_matrix.png and, from a real sample photo, docs/images/gradcam_example.png.

    .venv/bin/python benchmarks/classifier.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from product_studio.models.registry import load_model, read_manifest, shipped_weight_path
from product_studio.train.datasets import ArrayDataset, fashion_mnist_datasets
from product_studio.train.gan_evaluation import METRIC_WEIGHTS
from product_studio.train.metrics import accuracy, confusion_matrix, plot_confusion_matrix, predict_logits
from product_studio.understand.classify import DEFAULT_WEIGHTS, load_torch_classifier

ANCHORS = [  # REFERENCE.md: zalandoresearch/fashion-mnist benchmark table (their runs)
    ("2-layer CNN (published)", "87.6–93.2%"),
    ("HOG + SVM (published)", "92.6%"),
    ("ResNet18 (published)", "94.9%"),
    ("MobileNet (published)", "95.0%"),
    ("WRN-28-10 + random erasing (published)", "96.3%"),
    ("best published", "96.7%"),
    ("human (published)", "83.5%"),
]


def nearest_class_mean(train: ArrayDataset, test: ArrayDataset) -> float:
    x = train.images.reshape(len(train), -1).float() / 255
    means = torch.stack([x[train.labels == c].mean(0) for c in range(10)])
    t = test.images.reshape(len(test), -1).float() / 255
    return (torch.cdist(t, means).argmin(1) == test.labels).float().mean().item()


def images_per_second(model: torch.nn.Module, batch: torch.Tensor, *, repeats: int) -> float:
    with torch.no_grad():
        model(batch)
        started = time.perf_counter()
        for _ in range(repeats):
            model(batch)
        return repeats * batch.shape[0] / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images-dir", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()

    model = load_torch_classifier()
    torch.set_num_threads(args.threads)
    data = fashion_mnist_datasets()
    test = data["test"]
    entry = read_manifest()["weights"][DEFAULT_WEIGHTS]

    plain = predict_logits(model, test)
    tta = predict_logits(model, test, flip_tta=True)
    acc, acc_tta = accuracy(plain, test.labels), accuracy(tta, test.labels)
    baseline = nearest_class_mean(data["train"], test)

    x = test.get_batch(torch.arange(256))[0]
    batch_rate = images_per_second(model, x, repeats=20)
    single = x[:1]
    with torch.no_grad():
        for _ in range(10):
            model(single)
        times = []
        for _ in range(200):
            started = time.perf_counter()
            model(single)
            times.append(time.perf_counter() - started)
    latency_ms = 1000 * float(np.median(times))

    images_dir = Path(args.images_dir)
    matrix = confusion_matrix(tta.argmax(1).numpy(), test.labels.numpy(), 10)
    cm_path = plot_confusion_matrix(
        matrix, model.class_names, images_dir / "confusion_matrix.png",
        title=f"{model.model_name} on the Fashion-MNIST test set (flip TTA): {acc_tta:.2%}",
    )
    gradcam_path = None
    sample = ROOT / "samples" / "boot_on_deck.jpg"
    if sample.exists():
        from product_studio import load_image
        from product_studio.understand.classify import explain_item

        gradcam_path = explain_item(load_image(sample), images_dir / "gradcam_example.png", model=model)["path"]

    params = sum(p.numel() for p in model.parameters())
    weight_bytes = entry.get("bytes", 0)
    minutes = entry["training_seconds"] / 60
    print(f"## Fashion-MNIST classifier ({model.model_name}, {params:,} parameters, {weight_bytes / 1024:.0f} KiB weights)\n")
    print("| model | test accuracy (10,000 images) | notes |")
    print("|---|---|---|")
    name = model.model_name
    epochs = sum(c["epochs"] for c in entry["cycles"]) if "cycles" in entry else entry["epochs"]
    print(f"| **{name} (ours)** | **{acc:.2%}** | measured here; {epochs} epochs, {minutes:.1f} min training on 2 CPU cores |")
    print(f"| **{name} + flip TTA (ours, as `classify` runs it)** | **{acc_tta:.2%}** | measured here |")
    if DEFAULT_WEIGHTS != METRIC_WEIGHTS:  # the earlier, smaller classifier, still shipped as the GAN's metric network
        small = load_model(shipped_weight_path(METRIC_WEIGHTS))
        small_tta = accuracy(predict_logits(small, test, flip_tta=True), test.labels)
        print(f"| {small.model_name} + flip TTA (the first shipped classifier; the GAN metrics' network) | {small_tta:.2%} | measured here |")
    print(f"| nearest class mean, raw pixels (baseline) | {baseline:.2%} | measured here |")
    for name, figure in ANCHORS:
        print(f"| {name} | {figure} | REFERENCE.md, not measured here |")
    print()
    print("| speed (CPU) | value |")
    print("|---|---|")
    print(f"| training time (manifest, scripts/train_classifier.py) | {entry['training_seconds']:.0f} s ({minutes:.1f} min), {entry['steps']} steps |")
    print(f"| inference, batch 256, {args.threads} threads | {batch_rate:,.0f} images/s |")
    print(f"| inference, one image, {args.threads} threads | {latency_ms:.2f} ms median ({1000 / latency_ms:,.0f} images/s) |")
    print()
    per_class = matrix.diagonal() / matrix.sum(1)
    print("| class | recall | most confused with |")
    print("|---|---|---|")
    for c, name in enumerate(model.class_names):
        row = matrix[c].copy()
        row[c] = 0
        print(f"| {name} | {per_class[c]:.1%} | {model.class_names[int(row.argmax())]} ({int(row.max())}) |")
    print()
    print(f"confusion matrix: {cm_path.relative_to(ROOT) if cm_path.is_relative_to(ROOT) else cm_path}")
    if gradcam_path:
        print(f"Grad-CAM example: {Path(gradcam_path).relative_to(ROOT) if Path(gradcam_path).is_relative_to(ROOT) else gradcam_path}")


if __name__ == "__main__":
    main()
