"""Export the shipped Fashion-MNIST classifiers to ONNX (what ``classify``/``describe`` run with onnxruntime).

    .venv/bin/python scripts/export_classifier_onnx.py                  # fmnist_resnet and fmnist_cnn
    .venv/bin/python scripts/export_classifier_onnx.py fmnist_resnet

For each classifier: rebuild it from its shipped safetensors, export it with ``train.export.export_onnx``
(opset 17, input ``x`` N x C x S x S in 0..1, output ``y`` logits), with what the runtime needs in the ONNX
metadata: ``class_names`` (JSON), ``image_size``, ``in_channels`` and the out-of-taxonomy threshold
``ood`` copied from the safetensors metadata (so onnxruntime decides "unknown" exactly as torch did).
Parity: the largest |torch - onnxruntime| logit on the first 2,000 Fashion-MNIST test images, the share
with the same argmax, and the share with the same unknown decision (score vs threshold). Prints one
line per model and ships ``<name>.onnx`` with a manifest entry. Needs torch and onnx.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from product_studio.models.registry import WEIGHTS_DIR, load_model  # noqa: E402
from product_studio.train.export import export_onnx, ship_onnx  # noqa: E402

CLASSIFIERS = ("fmnist_resnet", "fmnist_cnn")
PARITY_IMAGES = 2000


def runtime_metadata(model) -> dict[str, str]:
    facts = {
        "class_names": json.dumps(list(model.class_names)),
        "image_size": str(model.config.image_size),
        "in_channels": str(getattr(model.config, "in_channels", 1)),
    }
    ood = (getattr(model, "metadata", None) or {}).get("ood")
    if ood:
        facts["ood"] = ood
    return facts


def parity(model, path: Path, images: np.ndarray) -> dict[str, float]:
    """Torch vs onnxruntime on ``images`` (N x 28 x 28 uint8): max |logit diff|, same argmax, same unknown decision."""
    import onnxruntime as ort
    import torch

    from product_studio.understand.classify import ood_settings

    x = images[:, None].astype(np.float32) / 255
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        t_logits = model(torch.from_numpy(x)).float().numpy()
        t_flip = model(torch.from_numpy(x[..., ::-1].copy())).float().numpy()
    o_logits = session.run(None, {"x": x})[0]
    o_flip = session.run(None, {"x": np.ascontiguousarray(x[..., ::-1])})[0]

    def score(a, b):
        sa, sb = np.exp(a - a.max(1, keepdims=True)), np.exp(b - b.max(1, keepdims=True))
        return ((sa / sa.sum(1, keepdims=True) + sb / sb.sum(1, keepdims=True)) / 2).max(1)

    threshold = (ood_settings(model) or {}).get("threshold", 0.5)
    return {
        "max_abs_logit_diff": float(np.abs(t_logits - o_logits).max()),
        "same_argmax": float((t_logits.argmax(1) == o_logits.argmax(1)).mean()),
        "same_unknown": float(((score(t_logits, t_flip) >= threshold) == (score(o_logits, o_flip) >= threshold)).mean()),
    }


def export_classifier(stem: str, folder: Path, images: np.ndarray) -> tuple[dict[str, float], int]:
    import torch

    model = load_model(WEIGHTS_DIR / f"{stem}.safetensors").float().eval()
    size, channels = model.config.image_size, getattr(model.config, "in_channels", 1)
    path = export_onnx(model, folder / f"{stem}.onnx", torch.zeros(1, channels, size, size),
                       dynamic_hw=False, metadata=runtime_metadata(model))
    figures = parity(model, path, images)
    shipped = ship_onnx(path, f"{stem}.onnx", source=f"{stem}.safetensors", parity=figures["max_abs_logit_diff"],
                        command=f".venv/bin/python scripts/export_classifier_onnx.py {stem}",
                        extra={"parity_images": f"first {len(images)} Fashion-MNIST test images",
                               "parity_same_argmax": figures["same_argmax"], "parity_same_unknown": figures["same_unknown"]})
    return figures, shipped.stat().st_size


def main(argv: list[str] | None = None) -> int:
    from product_studio.train.datasets import load_fashion_mnist

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"default: {', '.join(CLASSIFIERS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models) - set(CLASSIFIERS))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {', '.join(CLASSIFIERS)}")
    images = load_fashion_mnist("test")[0][:PARITY_IMAGES]
    print(f"{'model':<15} {'max |logit diff|':>17} {'same argmax':>12} {'same unknown':>13} {'onnx bytes':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for stem in args.models or CLASSIFIERS:
            figures, size = export_classifier(stem, Path(tmp), images)
            print(f"{stem:<15} {figures['max_abs_logit_diff']:>17.2e} {figures['same_argmax']:>12.2%}"
                  f" {figures['same_unknown']:>13.2%} {size:>11,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
