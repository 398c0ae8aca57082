"""Reproduce the shipped Fashion-MNIST GAN (product_studio/weights/fmnist_cgan.safetensors).

    .venv/bin/python scripts/train_gan.py --out runs/cgan_fmnist --steps 24000 --threads 2 --ship

The same code path as ``product-studio train gan --data fashion-mnist`` (``train_gan`` with the default
``GANRecipe``: hinge loss, spectral-norm projection discriminator, conditional-BN generator, TTUR
Adam(0, 0.9) with D 4e-4 / G 2e-4, generator EMA 0.999, bf16 autocast, 1 thread). A killed run resumes
from its last checkpoint when started again with the same --out (a finished run is not retrained).
Then ``evaluate_gan`` measures FID on the shipped classifier's features (not Inception FID), the
real-train-vs-real-test floor, class consistency (with and without --keep-best) and CAS; ``--ship``
copies final.safetensors into product_studio/weights/ with a manifest entry holding these metrics.
``--no-train`` first gives the EMA generator of a run trained before ``ema_bn_samples`` existed its
own batch-norm statistics (``recalibrate_ema_batchnorm``; a run trained since has them already, and
recomputing them with the same seed changes nothing) and rewrites its final.safetensors.

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

from product_studio.train.gan import RECIPES, GANRecipe, train_gan
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
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (where torch sees a GPU)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--checkpoint-every", type=int, default=None, help="checkpoint + sample grid every N steps")
    parser.add_argument("--ema-decay", type=float, default=None)
    parser.add_argument("--ema-bn-samples", type=int, default=None,
                        help="samples for the EMA generator's own batch-norm statistics after training (default 4096; 0: keep the raw generator's)")
    parser.add_argument("--no-bf16", action="store_true", help="train in float32 (on a GPU a small model is launch-bound: casts only cost)")
    parser.add_argument("--g-channels", default=None, help="generator widths per level, e.g. 256,128,64 (default: the preset's)")
    parser.add_argument("--d-channels", default=None, help="discriminator widths per level, e.g. 64,128,256")
    parser.add_argument("--eval-samples", type=int, default=10000, help="generated samples for FID and class consistency")
    parser.add_argument("--no-eval", action="store_true", help="train only")
    parser.add_argument("--no-train", action="store_true",
                        help="evaluate (and --ship) the finished run in --out as it is, e.g. one trained on another machine")
    parser.add_argument("--ship", action="store_true", help="copy the weights into product_studio/weights/ + manifest")
    parser.add_argument("--ship-float16", action="store_true", help="ship the weights in float16 (half the bytes)")
    parser.add_argument("--hardware-note", default="", help="added to the manifest's training_hardware (e.g. what shared the machine)")
    args = parser.parse_args()
    out = Path(args.out)
    if args.no_train:
        summary, recipe = finished_run(out)
    else:
        recipe, widths = recipe_from(args)
        summary = train_gan("fashion-mnist", out, recipe=recipe, model_overrides=widths or None)
        summary["hardware"] = finished_run(out)[0]["hardware"]
        print(json.dumps(summary, indent=2), flush=True)
    if args.no_eval:
        return
    from product_studio.train.gan_evaluation import evaluate_gan
    from product_studio.generate.sample import load_generator

    gan = load_generator(out / "final.safetensors")
    if args.no_train and recipe.ema_bn_samples:
        from product_studio.train.gan import recalibrate_for_recipe
        from product_studio.models.registry import save_model

        recalibrate_for_recipe(gan, recipe)
        save_model(gan, out / "final.safetensors", metrics={"step": summary["steps"]}, class_names=list(gan.config.class_names))
    metrics = evaluate_gan(gan, n=args.eval_samples, ema=recipe.ema_decay > 0, keep_best_factor=4, cas=True, progress=True)
    (out / "eval.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    print(json.dumps(metrics, indent=2), flush=True)
    if args.ship:
        if args.recipe != "ours":
            raise SystemExit("only the 'ours' recipe is shipped")
        ship_weights(out / "final.safetensors", SHIPPED, {
            "model": recipe.model,
            "command": reproduce_command(recipe, gan.config, summary["steps"], str(out), float16=args.ship_float16),
            "equivalent_cli": f"product-studio train gan --data fashion-mnist --model {preset_of(gan.config)} "
            f"--steps {summary['steps']} --batch-size {recipe.batch_size} --device {recipe.device} -o {out}",
            "data": "Fashion-MNIST (Debian dataset-fashion-mnist): all 60,000 training images; metrics against the 10,000 t10k images",
            "recipe": {**dataclasses.asdict(recipe), "steps": summary["steps"], "time_budget_s": None},
            "model_config": {"g_channels": list(gan.config.g_channels), "d_channels": list(gan.config.d_channels),
                             "z_dim": gan.config.z_dim},
            "steps": summary["steps"],
            "training_seconds": summary["train_seconds"],
            "training_hardware": summary["hardware"] + (f"; {args.hardware_note}" if args.hardware_note else ""),
            "stored_as": "float16" if args.ship_float16 else "float32",
            "metrics": metrics,
        }, float16=args.ship_float16)
        print(f"shipped {SHIPPED}", file=sys.stderr)


def recipe_from(args: argparse.Namespace) -> tuple[GANRecipe, dict]:
    changes: dict = {"num_threads": args.threads, "device": args.device}
    for key, value in {"steps": args.steps, "time_budget_s": args.time_budget, "batch_size": args.batch_size,
                       "checkpoint_every": args.checkpoint_every, "ema_decay": args.ema_decay, "ema_bn_samples": args.ema_bn_samples,
                       "diffaugment": args.diffaugment}.items():
        if value is not None:
            changes[key] = value
    if args.no_bf16:
        changes["autocast_bf16"] = False
    widths = {key: tuple(int(v) for v in text.split(",")) for key, text in
              (("g_channels", args.g_channels), ("d_channels", args.d_channels)) if text}
    return dataclasses.replace(RECIPES[args.recipe], **changes), widths


def finished_run(out: Path) -> tuple[dict, GANRecipe]:
    """The summary and recipe of the run in ``out`` from its config.json and history.json."""
    if not (out / "final.safetensors").is_file():
        raise SystemExit(f"{out} holds no final.safetensors: train it first (without --no-train)")
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    history = json.loads((out / "history.json").read_text(encoding="utf-8"))
    recipe = GANRecipe(**{k: v for k, v in config["gan_recipe"].items() if k in GANRecipe.__dataclass_fields__})
    steps = history["train"][-1]["step"]
    device = config.get("device_name", config["trainer"].get("device", "cpu"))
    hardware = (f"{device}, float32 (torch {config['torch']})" if device != "cpu" else
                f"CPU, torch.set_num_threads({config['threads']}), bf16 autocast {config['bf16_autocast_used']}")
    return {"steps": steps, "train_seconds": round(history["seconds"], 1), "hardware": hardware}, recipe


def preset_of(config: object) -> str:
    """The registered 28×28 preset whose widths ``config`` has."""
    from product_studio.models.registry import model_config

    for name in ("cgan_fmnist_28", "cgan_fmnist_28_wide"):
        preset = model_config(name)
        if (preset.g_channels, preset.d_channels) == (config.g_channels, config.d_channels):  # type: ignore[attr-defined]
            return name
    raise SystemExit("no registered preset has these widths: ship with the train_gan.py command instead")


def reproduce_command(recipe: GANRecipe, config: object, steps: int, out: str, *, float16: bool) -> str:
    widths = ",".join(map(str, config.g_channels)), ",".join(map(str, config.d_channels))  # type: ignore[attr-defined]
    return (f".venv/bin/python scripts/train_gan.py --out {out} --steps {steps} --batch-size {recipe.batch_size} "
            f"--g-channels {widths[0]} --d-channels {widths[1]} --device {recipe.device} --threads {recipe.num_threads}"
            f"{'' if recipe.autocast_bf16 else ' --no-bf16'} --checkpoint-every {recipe.checkpoint_every} --ema-bn-samples {recipe.ema_bn_samples} --ship{' --ship-float16' if float16 else ''}")


if __name__ == "__main__":
    main()
