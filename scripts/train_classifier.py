"""Reproduce the shipped Fashion-MNIST classifier (product_studio/weights/fmnist_resnet.safetensors).

    .venv/bin/python scripts/train_classifier.py --out runs/fmnist_resnet --threads 2
    .venv/bin/python scripts/train_classifier.py --out runs/fmnist_resnet_c2 --epochs 8 --lr 0.01 \
        --init runs/fmnist_resnet/best.safetensors --threads 2 --ship

(about 67 + 14 minutes on 2 idle CPU cores). The first, smaller classifier (fmnist_cnn.safetensors,
which the GAN metrics keep as their feature network) is ``--model fmnist_cnn --epochs 30``.

The same code path as ``product-studio train classifier --data fashion-mnist`` (``train_classifier``
with the default ``ClassifierRecipe``): the last 5,000 training images are the validation split,
the best-on-validation EMA weights are kept, and the test set is scored once, at the end.
A killed run resumes from its last checkpoint when started again with the same --out.
``--ship`` copies the best weights into product_studio/weights/ and writes their manifest entry, then exports
them to ONNX (``scripts/export_classifier_onnx.py``: what classify runs) with a parity check.

The shipped classifier has a third cycle: one epoch at peak lr 0.01 from the second cycle's weights with
outlier exposure (the recipe's default, train/outliers.py), which adds the "unknown" threshold:

    .venv/bin/python scripts/train_classifier.py --out runs/fmnist_resnet_oe --epochs 1 --lr 0.01 \
        --init runs/fmnist_resnet_c2/best.safetensors --threads 1 --ship
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from product_studio.models.registry import MANIFEST_PATH, WEIGHTS_DIR, ship_weights
from product_studio.train.classifier import ClassifierRecipe, train_classifier


def main() -> None:
    defaults = ClassifierRecipe()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/fmnist_resnet", help="run folder (resumes if it holds a checkpoint)")
    parser.add_argument("--model", default=defaults.model)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--threads", type=int, default=defaults.num_threads,
                        help="torch threads: 2 on an idle 2-core machine, 1 when other jobs share the cores")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate")
    parser.add_argument("--init", default=None, help="start from these weights (a second cycle, usually at a lower --lr)")
    parser.add_argument("--previous-command", default=None, help="the command that made --init (recorded in the manifest)")
    parser.add_argument("--limit", type=int, default=None, help="use only this many training images (development)")
    parser.add_argument("--ship", action="store_true", help="copy the best weights into product_studio/weights/ + manifest")
    args = parser.parse_args()
    recipe = dataclasses.replace(defaults, model=args.model, epochs=args.epochs, limit=args.limit, num_threads=args.threads,
                                 lr=args.lr, init_weights=args.init)
    summary = train_classifier("fashion-mnist", args.out, recipe=recipe)
    print(json.dumps(summary, indent=2))
    if args.ship:
        ship(Path(args.out), recipe, summary, previous=args.previous_command)


def ship(out: Path, recipe: ClassifierRecipe, summary: dict, previous: str | None = None) -> None:
    target = WEIGHTS_DIR / f"{recipe.model}.safetensors"
    options = f"--model {recipe.model} --epochs {recipe.epochs}" + (f" --lr {recipe.lr}" if recipe.lr != ClassifierRecipe.lr else "")
    options += f" --init {recipe.init_weights}" if recipe.init_weights else ""
    command = f"nice -n 19 .venv/bin/python scripts/train_classifier.py --out {out} {options} --threads {recipe.num_threads} --ship"
    ship_weights(out / "best.safetensors", target.name, {
        "model": recipe.model,
        "command": f"{previous} && {command}" if previous else command,
        "equivalent_cli": f"product-studio train classifier --data fashion-mnist {options} -o {out}",
        "data": "Fashion-MNIST (Debian dataset-fashion-mnist): train = first 55,000 training images, "
        "validation = last 5,000 training images, test = the 10,000 t10k images (scored once, at the end)"
        + ("; outlier exposure (weight %g): photographs and Tux Paint stamps, see 'ood.outliers'" % recipe.outlier_weight
           if "ood" in summary else ""),
        "recipe": dataclasses.asdict(recipe),
        "epochs": recipe.epochs,
        "steps": summary["steps"],
        "training_seconds": summary["train_seconds"],
        "training_hardware": f"2 CPU cores (AMD EPYC, shared with other jobs), torch.set_num_threads({recipe.num_threads}), "
        "bf16 autocast",
        "metrics": {
            "val_accuracy": summary["best_val_accuracy"],
            "best_epoch": summary["best_epoch"],
            "test_accuracy": summary.get("test_accuracy"),
            "test_accuracy_flip_tta": summary.get("test_accuracy_flip_tta"),
        },
        **({"ood": summary["ood"]} if "ood" in summary else {}),
    })
    print(f"shipped {target} ({target.stat().st_size} bytes) and updated {MANIFEST_PATH}")
    # The runtime runs the ONNX export (onnxruntime, no torch): export it and check parity now.
    import tempfile

    from export_classifier_onnx import PARITY_IMAGES, export_classifier

    from product_studio.train.datasets import load_fashion_mnist

    with tempfile.TemporaryDirectory() as tmp:
        figures, size = export_classifier(recipe.model, Path(tmp), load_fashion_mnist("test")[0][:PARITY_IMAGES])
    print(f"shipped {recipe.model}.onnx ({size} bytes): max |logit diff| {figures['max_abs_logit_diff']:.2e}, "
          f"same argmax {figures['same_argmax']:.2%}, same unknown {figures['same_unknown']:.2%}")


if __name__ == "__main__":
    main()
