"""Reproduce the shipped denoiser (product_studio/weights/denoiser_unet.safetensors).

    .venv/bin/python scripts/train_denoiser.py --out runs/denoiser_hour --threads 2 --ship

Trains ``denoiser_unet`` (the defaults are the shipped recipe: one cosine cycle of 13,000 steps of
8 patches of 96 px, peak learning rate 1e-3; 62 min on 2 cores with AVX512-BF16) on random patches of the training photographs
(``product_studio.train.restoration_data.restoration_photos("train")``; the held-out photographs are never
loaded) with Gaussian/Poisson noise of sigma 0..55 and some JPEG re-compression, MSE loss, AdamW with
cosine decay, EMA weights. Needs the Debian package plasma-workspace-wallpapers and the dev
dependencies (scikit-image, scikit-learn) for the photographs. A killed run resumes from its last
checkpoint when started again with the same --out. ``--ship`` copies the best weights into
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
from product_studio.train.denoiser import DenoiserRecipe, train_denoiser
from product_studio.runtime import use_bf16


def main() -> None:
    defaults = DenoiserRecipe()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/denoiser_hour", help="run folder (resumes if it holds a checkpoint)")
    parser.add_argument("--model", default=defaults.model)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--patch", type=int, default=defaults.patch)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--threads", type=int, default=defaults.num_threads)
    parser.add_argument("--init", default=None, help="start from these weights (a second training cycle)")
    parser.add_argument("--previous-command", default=None, help="the command that made --init (recorded in the manifest)")
    parser.add_argument("--ship", action="store_true", help="copy the best weights into product_studio/weights/ + manifest")
    args = parser.parse_args()
    recipe = dataclasses.replace(defaults, model=args.model, steps=args.steps, batch_size=args.batch_size,
                                 patch=args.patch, lr=args.lr, num_threads=args.threads, init_weights=args.init)
    summary = train_denoiser(args.out, recipe)
    print(json.dumps(summary, indent=2, default=str))
    if args.ship:
        ship(Path(args.out), recipe, summary, previous=args.previous_command)


def ship(out: Path, recipe: DenoiserRecipe, summary: dict, previous: str | None = None) -> None:
    name = f"{recipe.model}.safetensors"
    command = (f".venv/bin/python scripts/train_denoiser.py --out {out} --steps {recipe.steps} "
               f"--batch-size {recipe.batch_size} --patch {recipe.patch} --lr {recipe.lr} --threads {recipe.num_threads}"
               + (f" --init {recipe.init_weights}" if recipe.init_weights else "") + " --ship")
    if previous:
        command = f"{previous} && {command}"
    target = ship_weights(out / "best.safetensors", name, {
        "model": recipe.model,
        "command": command,
        "equivalent_cli": f"product-studio train denoiser -o {out} --steps {recipe.steps}",
        "data": "random patches of the training photographs of product_studio/train/restoration_data.py "
        f"({', '.join(p.name for p in restoration_photos('train'))}), longer side shrunk to {recipe.max_side}; "
        f"held out, never used: {', '.join(EVAL_NAMES)}. Gaussian/Poisson noise sigma 0..{recipe.max_sigma:g}, "
        f"{recipe.jpeg_share:.0%} re-saved as JPEG q60..95",
        "recipe": dataclasses.asdict(recipe),
        "steps": summary["steps"],
        "training_seconds": summary["train_seconds"],
        "training_hardware": f"2 CPU cores, torch.set_num_threads({recipe.num_threads}), "
                             + ("bf16 autocast" if recipe.autocast_bf16 and use_bf16() else "fp32"),
        "metrics": {
            "val_psnr_train_photos": summary["best_val_psnr"],
            "best_step": summary["best_step"],
            "held_out": "see docs/restoration.md and benchmarks/restoration.py --only denoise",
        },
    })
    print(f"shipped {target} ({target.stat().st_size} bytes) and updated {MANIFEST_PATH}")
    from export_onnx import ship_exported  # scripts/export_onnx.py: the runtime runs the ONNX copy

    ship_exported(target.name)


if __name__ == "__main__":
    main()
