"""Reproduce the shipped upscalers (product_studio/weights/upscaler_x2.safetensors, upscaler_x4...).

    nice -n 19 .venv/bin/python scripts/train_upscaler.py --scale 2 --out runs/upscaler_x2 --ship
    nice -n 19 .venv/bin/python scripts/train_upscaler.py --scale 4 --out runs/upscaler_x4 --ship

Trains ``upscaler_x{scale}`` on random patches of the training photographs
(``product_studio.train.restoration_data.restoration_photos("train")``; the held-out photographs are never
loaded), the input being the patch shrunk by the scale with antialiased bicubic; L1 loss, AdamW
with cosine decay, EMA weights. Needs plasma-workspace-wallpapers and the dev dependencies for the
photographs. A killed run resumes from its last checkpoint. ``--ship`` copies the best weights into
product_studio/weights/ and writes their manifest entry.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from product_studio.models.registry import MANIFEST_PATH, ship_weights
from product_studio.train.restoration_data import EVAL_NAMES, restoration_photos
from product_studio.train.upscaler import UpscalerRecipe, train_upscaler


def main() -> None:
    defaults = UpscalerRecipe()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, choices=(2, 4), default=2)
    parser.add_argument("--out", default=None, help="run folder (default runs/upscaler_x{scale}; resumes from a checkpoint)")
    parser.add_argument("--model", default=None, help="default upscaler_x{scale}")
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--patch", type=int, default=defaults.patch, help="high-resolution patch side")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--threads", type=int, default=defaults.num_threads)
    parser.add_argument("--ship", action="store_true", help="copy the best weights into product_studio/weights/ + manifest")
    args = parser.parse_args()
    model = args.model or f"upscaler_x{args.scale}"
    out = Path(args.out or f"runs/upscaler_x{args.scale}")
    recipe = dataclasses.replace(defaults, model=model, scale=args.scale, steps=args.steps, batch_size=args.batch_size,
                                 patch=args.patch, lr=args.lr, num_threads=args.threads)
    summary = train_upscaler(out, recipe)
    print(json.dumps(summary, indent=2, default=str))
    if args.ship:
        ship(out, recipe, summary)


def ship(out: Path, recipe: UpscalerRecipe, summary: dict) -> None:
    name = f"{recipe.model}.safetensors"
    command = (f"nice -n 19 .venv/bin/python scripts/train_upscaler.py --scale {recipe.scale} --out {out} "
               f"--steps {recipe.steps} --batch-size {recipe.batch_size} --patch {recipe.patch} --lr {recipe.lr} "
               f"--threads {recipe.num_threads} --ship")
    target = ship_weights(out / "best.safetensors", name, {
        "model": recipe.model,
        "command": command,
        "equivalent_cli": f"product-studio train upscaler --scale {recipe.scale} -o {out} --steps {recipe.steps}",
        "data": "random patches of the training photographs of product_studio/train/restoration_data.py "
        f"({', '.join(p.name for p in restoration_photos('train'))}), longer side shrunk to {recipe.max_side}; "
        f"held out, never used: {', '.join(EVAL_NAMES)}. Input = patch shrunk x{recipe.scale} (antialiased bicubic)",
        "recipe": dataclasses.asdict(recipe),
        "steps": summary["steps"],
        "training_seconds": summary["train_seconds"],
        "training_hardware": f"2 CPU cores (shared with 3 other jobs), torch.set_num_threads({recipe.num_threads}), fp32",
        "metrics": {
            "val_psnr_train_photos": summary["best_val_psnr"],
            "val_psnr_bicubic_train_photos": summary["last_val"].get("val_psnr_bicubic"),
            "best_step": summary["best_step"],
            "held_out": "see docs/restoration.md and benchmarks/restoration.py --only upscale",
        },
    })
    print(f"shipped {target} ({target.stat().st_size} bytes) and updated {MANIFEST_PATH}")
    from export_onnx import ship_exported  # scripts/export_onnx.py: the runtime runs the ONNX copy

    ship_exported(target.name)


if __name__ == "__main__":
    main()
