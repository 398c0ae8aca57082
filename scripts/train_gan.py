"""Reproduce the shipped Fashion-MNIST GAN (product_studio/weights/fmnist_cgan.safetensors).

    .venv/bin/python scripts/train_gan.py --out runs/cgan_fmnist --steps 24000 --threads 2 --ship

The same code path as ``product-studio train gan --data fashion-mnist`` (``train_gan`` with the default
``GANRecipe``: hinge loss, spectral-norm projection discriminator, conditional-BN generator, TTUR
Adam(0, 0.9) with D 4e-4 / G 2e-4, generator EMA 0.999, bf16 autocast, 1 thread). A killed run resumes
from its last checkpoint when started again with the same --out (a finished run is not retrained).
Then ``evaluate_gan`` measures FID on the shipped classifier's features (not Inception FID), the
real-train-vs-real-test floor, class consistency (with and without --keep-best) and CAS; ``--ship``
copies final.safetensors into product_studio/weights/ with a manifest entry holding these metrics.

``--recipe dcgan`` / ``--recipe seed`` train the baselines (``--time-budget`` seconds for the
equal-wall-time comparison in benchmarks/gan_quality.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from product_studio.generate.training import RECIPES, train_gan
from product_studio.models.registry import ship_weights

SHIPPED = "fmnist_cgan.safetensors"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/cgan_fmnist", help="run folder (resumes if it holds a checkpoint)")
    parser.add_argument("--recipe", default="ours", choices=sorted(RECIPES))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds of training")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--diffaugment", default=None, help="e.g. translation,cutout (default: the recipe's)")
    parser.add_argument("--eval-samples", type=int, default=10000, help="generated samples for FID and class consistency")
    parser.add_argument("--no-eval", action="store_true", help="train only")
    parser.add_argument("--ship", action="store_true", help="copy the weights into product_studio/weights/ + manifest")
    args = parser.parse_args()
    recipe = RECIPES[args.recipe]
    changes: dict = {"num_threads": args.threads}
    if args.steps:
        changes["steps"] = args.steps
    if args.time_budget:
        changes["time_budget_s"] = args.time_budget
    if args.diffaugment is not None:
        changes["diffaugment"] = args.diffaugment
    recipe = dataclasses.replace(recipe, **changes)
    summary = train_gan("fashion-mnist", args.out, recipe=recipe)
    print(json.dumps(summary, indent=2), flush=True)
    if args.no_eval:
        return
    from product_studio.generate.evaluate import evaluate_gan
    from product_studio.generate.sample import load_generator

    gan = load_generator(Path(args.out) / "final.safetensors")
    metrics = evaluate_gan(gan, n=args.eval_samples, ema=recipe.ema_decay > 0, keep_best_factor=4, cas=True, progress=True)
    (Path(args.out) / "eval.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    print(json.dumps(metrics, indent=2), flush=True)
    if args.ship:
        if args.recipe != "ours":
            raise SystemExit("only the 'ours' recipe is shipped")
        ship_weights(Path(args.out) / "final.safetensors", SHIPPED, {
            "model": recipe.model,
            "command": f"nice -n 19 .venv/bin/python scripts/train_gan.py --out {args.out} --steps {summary['steps']} "
            f"--threads {recipe.num_threads} --ship",
            "equivalent_cli": f"product-studio train gan --data fashion-mnist --steps {summary['steps']} -o {args.out}",
            "data": "Fashion-MNIST (Debian dataset-fashion-mnist): all 60,000 training images; metrics against the 10,000 t10k images",
            "recipe": {**dataclasses.asdict(recipe), "steps": summary["steps"], "time_budget_s": None},
            "steps": summary["steps"],
            "training_seconds": summary["train_seconds"],
            "training_hardware": f"2 CPU cores (AMD EPYC, shared with 3 other jobs), torch.set_num_threads({recipe.num_threads}), bf16 autocast",
            "metrics": metrics,
        })
        print(f"shipped {SHIPPED}", file=sys.stderr)


if __name__ == "__main__":
    main()
