"""Reproduce the shipped Fashion-MNIST classifier (product_studio/weights/fmnist_cnn.safetensors).

    nice -n 19 .venv/bin/python scripts/train_classifier.py --out runs/fmnist_cnn --ship

The same code path as ``product-studio train classifier --data fashion-mnist`` (``train_classifier``
with the default ``ClassifierRecipe``): the last 5,000 training images are the validation split,
the best-on-validation EMA weights are kept, and the test set is scored once, at the end.
A killed run resumes from its last checkpoint when started again with the same --out.
``--ship`` copies the best weights into product_studio/weights/ and writes their manifest entry.
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
from product_studio.understand.classify import DEFAULT_WEIGHTS, ClassifierRecipe, train_classifier


def main() -> None:
    defaults = ClassifierRecipe()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/fmnist_cnn", help="run folder (resumes if it holds a checkpoint)")
    parser.add_argument("--model", default=defaults.model)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--threads", type=int, default=defaults.num_threads,
                        help="torch threads: 2 on an idle 2-core machine, 1 when other jobs share the cores")
    parser.add_argument("--limit", type=int, default=None, help="use only this many training images (development)")
    parser.add_argument("--ship", action="store_true", help="copy the best weights into product_studio/weights/ + manifest")
    args = parser.parse_args()
    recipe = dataclasses.replace(defaults, model=args.model, epochs=args.epochs, limit=args.limit, num_threads=args.threads)
    summary = train_classifier("fashion-mnist", args.out, recipe=recipe)
    print(json.dumps(summary, indent=2))
    if args.ship:
        ship(Path(args.out), recipe, summary)


def ship(out: Path, recipe: ClassifierRecipe, summary: dict) -> None:
    target = WEIGHTS_DIR / (DEFAULT_WEIGHTS if recipe.model == "fmnist_cnn" else f"{recipe.model}.safetensors")
    ship_weights(out / "best.safetensors", target.name, {
        "model": recipe.model,
        "command": f"nice -n 19 .venv/bin/python scripts/train_classifier.py --out {out} --epochs {recipe.epochs} "
        f"--threads {recipe.num_threads} --ship",
        "equivalent_cli": f"product-studio train classifier --data fashion-mnist --model {recipe.model} --epochs {recipe.epochs} -o {out}",
        "data": "Fashion-MNIST (Debian dataset-fashion-mnist): train = first 55,000 training images, "
        "validation = last 5,000 training images, test = the 10,000 t10k images (scored once, at the end)",
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
    })
    print(f"shipped {target} ({target.stat().st_size} bytes) and updated {MANIFEST_PATH}")


if __name__ == "__main__":
    main()
