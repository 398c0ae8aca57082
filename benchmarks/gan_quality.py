"""The Fashion-MNIST GAN: FID (own classifier features) against the real-vs-real floor and two
baselines trained for the same wall time, class consistency, CAS, training time, generation speed,
a small-catalogue over-fitting check, and the docs images.

Everything is measured in this run except the trainings, which are long: each model is read from its
run folder (train them first, the commands are below); results are cached in runs/gan_bench/*.json
(``--fresh`` recomputes).

- FID: the Fréchet distance of the 96-d pooled penultimate features of the shipped ``fmnist_cnn``
  classifier, generated samples vs the 10,000 real test images. **Not Inception FID**: another feature
  space and scale, not comparable with published numbers. Floor = the same FID between as many real
  training images and the test set.
- Shipped: product_studio/weights/fmnist_cgan.safetensors, the ``cgan_fmnist_28_wide`` preset trained
  on one GPU (run folder runs/cgan_fmnist_gpu; its manifest entry has the command). The GPU runs:
  four recipes side by side on one GPU for the same wall time (``scripts/train_gan_gpu_side_by_side.sh``,
  run folders runs/gan_gpu_eq/NAME, each with round1/ = the same run after its first 450 s), scored by
  FID and class consistency only (CAS takes minutes per model on a CPU).
- Batch-norm statistics: the models with an EMA generator (ours) are scored with its own statistics
  (``recalibrate_ema_batchnorm``, 4,096 samples, seed 0: what ``train_gan`` does after the last step
  since it exists); the DCGAN and seed baselines have no EMA, as their authors trained them, and are
  scored with the raw generator and its running statistics. The shipped file and the CPU runs hold them; the GPU runs were trained before and
  hold the statistics the EMA generator borrows from the raw one during training, so they get their
  own at load, and the GPU table also shows their FID with the borrowed ones.
- CPU models (1 torch thread each, three processes on the 2 CPU cores, float32: this CPU has no bf16):
    ours      the CPU recipe (cgan_fmnist_28, batch 32) stopped after --budget seconds (runs/gan_eq_ours)
    dcgan     unconditional DCGAN, BCE, Adam(0.5, 0.999) 2e-4 (runs/gan_eq_dcgan)
    seed      the seed's tutorial DCGAN with one-hot labels, corrected (runs/gan_eq_seed)
  the three equal-time runs were trained at the same time, so they shared the CPU alike:
    for r in ours dcgan seed; do nice -n 19 .venv/bin/python scripts/train_gan.py --recipe $r \\
        --out runs/gan_eq_$r --steps 100000 --time-budget 480 --no-eval --no-bf16 & done
- Small catalogue: 3 Fashion-MNIST classes × 300 images written as PNG files into a folder, trained
  with ``train_gan`` on the folder for the same steps with and without DiffAugment; the gap between
  the discriminator's mean score on its training reals and on held-out reals of the same classes.
- CAS is also measured at the size of the real training set (``--cas-samples``, 60,000: Ravuri &
  Vinyals's protocol), generated and real, with the same small classifier and recipe.

    .venv/bin/python benchmarks/gan_quality.py [--samples 10000] [--cas-samples 60000] [--skip-small-catalogue]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from product_studio.generate.sample import generate_images, interpolate, load_generator, make_grid
from product_studio.imageio import save_image
from product_studio.models import load_model
from product_studio.models.registry import read_manifest
from product_studio.train.gan import GANRecipe, discriminator_gap, load_gan_data, recalibrate_ema_batchnorm, train_gan
from product_studio.train.gan_evaluation import (
    FID_NOTE,
    classification_accuracy_score,
    evaluate_gan,
    fid_floor,
    generate_balanced,
    real_images,
)

CACHE = ROOT / "runs" / "gan_bench"
DOCS = ROOT / "docs" / "images"
RUNS = {
    "shipped": ("product_studio/weights/fmnist_cgan.safetensors", "runs/cgan_fmnist_gpu", True),
    "ours (equal time)": ("runs/gan_eq_ours/final.safetensors", "runs/gan_eq_ours", True),
    "DCGAN, unconditional (equal time)": ("runs/gan_eq_dcgan/final.safetensors", "runs/gan_eq_dcgan", False),
    "seed arch., corrected (equal time)": ("runs/gan_eq_seed/final.safetensors", "runs/gan_eq_seed", False),
}


GPU_RUNS = {  # scripts/train_gan_gpu_side_by_side.sh: name -> (generator / discriminator widths, batch)
    "wide_b256": ("256,128,64 / 64,128,256", 256),
    "wide_b128": ("256,128,64 / 64,128,256", 128),
    "mid_b64": ("192,96,48 / 48,96,192", 64),
    "base_b64": ("96,64,32 / 32,64,128 (the CPU preset)", 64),
}


def own_statistics(gan):
    """``gan`` with its EMA generator's batch-norm statistics computed from its own samples (what
    ``train_gan`` now does after the last step; the same seed gives the same figures: repeatable)."""
    recalibrate_ema_batchnorm(gan)
    return gan


def training_statistics(gan):
    """``gan`` with the statistics the EMA generator borrows from the raw one during training."""
    for ema, raw in zip(gan.generator_ema.buffers(), gan.generator.buffers()):
        ema.copy_(raw)
    return gan


def gpu_table(samples: int, fresh: bool) -> str | None:
    """FID and class consistency of the side-by-side GPU runs, after 450 s (round1/) and at the end,
    with the EMA generator's own batch-norm statistics; at the end also with the borrowed ones."""
    rows = []
    for name, (widths, batch) in GPU_RUNS.items():
        row = [name, widths, str(batch)]
        for sub in ("round1", ""):
            run = ROOT / "runs" / "gan_gpu_eq" / name / sub
            if not (run / "final.safetensors").exists():
                row += ["not trained", "", ""] + ([""] if not sub else [])
                continue
            info = run_info(str(run.relative_to(ROOT)))
            m = cached(f"gpu_{name}_{sub or 'final'}_own_bn_{samples}", fresh, lambda r=run: evaluate_gan(
                own_statistics(load_model(r / "final.safetensors")), n=samples, keep_best_factor=None, cas=False, floor=False))
            row += [f"{info['steps']} in {info['seconds'] / 60:.1f} min", f"{m['fid_own_features']:.3f}", f"{m['class_consistency']:.1%}"]
            if not sub:
                b = cached(f"gpu_{name}_final_training_bn_{samples}", fresh, lambda r=run: evaluate_gan(
                    training_statistics(load_model(r / "final.safetensors")), n=samples, keep_best_factor=None, cas=False, floor=False))
                row.append(f"{b['fid_own_features']:.3f}")
        rows.append(row)
    if all(r[3] == "not trained" and r[6] == "not trained" for r in rows):
        return None
    return table(["run", "widths G / D", "batch", "steps (first call)", "FID", "consistency",
                  "steps (end)", "FID", "consistency", "FID, training BN statistics"], rows)


def cached(name: str, fresh: bool, compute):
    path = CACHE / f"{name}.json"
    if path.exists() and not fresh:
        return json.loads(path.read_text())
    value = compute()
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1))
    return value


def run_info(run_dir: str) -> dict:
    history = json.loads((ROOT / run_dir / "history.json").read_text())
    config = json.loads((ROOT / run_dir / "config.json").read_text())
    rows = history["train"]
    return {"steps": rows[-1]["step"] if rows else 0, "seconds": history["seconds"], "batch": config["trainer"]["batch_size"]}


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line, sep] + ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows])


def generation_speed(gan, n: int = 512) -> dict:
    torch.set_num_threads(1)
    generate_images(gan, 0, n=64, seed=0)  # warm-up
    started = time.perf_counter()
    generate_images(gan, "sneaker", n=n, seed=1)
    batch = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(20):
        generate_images(gan, "sneaker", n=1, seed=i)
    single = 20 / (time.perf_counter() - started)
    return {"batch_images_per_s": batch, "single_images_per_s": single}


def cas_at_size(gan, n: int) -> dict:
    """CAS of ``n`` class-balanced samples of ``gan`` and of ``n`` real training images (same recipe)."""
    images, labels = generate_balanced(gan, n, seed=0)
    return {"generated": classification_accuracy_score(images, labels, epochs=15),
            "real": classification_accuracy_score(*real_images("train", n), epochs=15)}


def small_catalogue(steps: int, per_class: int = 300) -> dict:
    """Train on a folder of 3 classes × ``per_class`` PNGs with and without DiffAugment; D's gap."""
    import tempfile

    from PIL import Image

    train_x, train_y = real_images("train")
    classes = {"sneaker": 7, "bag": 8, "trouser": 1}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "catalogue"
        for name, label in classes.items():
            (folder / name).mkdir(parents=True)
            index = np.flatnonzero(train_y.numpy() == label)[: per_class + per_class // 3]
            for i in index:
                Image.fromarray((train_x[i, 0].numpy() * 255).round().astype(np.uint8)).save(folder / name / f"{i}.png")
        for policy in ("none", "translation,cutout"):
            recipe = dataclasses.replace(GANRecipe(), steps=steps, diffaugment=policy, val_fraction=0.25, checkpoint_every=steps)
            run = CACHE / f"small_{policy.replace(',', '_')}"
            summary = train_gan(folder, run, recipe=recipe, resume=False, progress=False)
            gan = load_generator(run / "final.safetensors")
            parts = load_gan_data(folder, image_size=28, channels=1, val_fraction=0.25)
            out[policy] = {"steps": summary["steps"], "train_images": len(parts["train"]), "heldout_images": len(parts["heldout"]),
                           **discriminator_gap(gan, parts["train"], parts["heldout"])}
    return out


def docs_images(gan) -> list[str]:
    DOCS.mkdir(parents=True, exist_ok=True)
    written = []
    rows = [generate_images(gan, c, n=10, seed=100 + c) for c in range(gan.config.num_classes)]
    sheet = make_grid(np.concatenate(rows), columns=10)
    sheet = np.kron(sheet, np.ones((2, 2, 1), np.uint8))  # 2× nearest: 28-px samples are tiny on a web page
    save_image(sheet, DOCS / "gan_samples.png", overwrite=True)
    written.append("docs/images/gan_samples.png")
    strips = [interpolate(gan, c, seed_a=1, seed_b=2, steps=10) for c in ("sneaker", "dress", "bag")]
    strips.append(interpolate(gan, "sneaker", seed_a=3, seed_b=3, steps=10, category_b="ankle boot"))
    sheet = np.kron(make_grid(np.concatenate(strips), columns=10), np.ones((2, 2, 1), np.uint8))
    save_image(sheet, DOCS / "gan_interpolation.png", overwrite=True)
    written.append("docs/images/gan_interpolation.png")
    kept = generate_images(gan, "sneaker", n=40, seed=7, keep_best=10)
    plain = generate_images(gan, "sneaker", n=10, seed=7)
    sheet = np.kron(make_grid(np.concatenate([plain, kept]), columns=10), np.ones((2, 2, 1), np.uint8))
    save_image(sheet, DOCS / "gan_keep_best.png", overwrite=True)
    written.append("docs/images/gan_keep_best.png")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--fresh", action="store_true", help="recompute the cached evaluations")
    parser.add_argument("--skip-small-catalogue", action="store_true")
    parser.add_argument("--only-small-catalogue", action="store_true")
    parser.add_argument("--small-steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cas-samples", type=int, default=60000,
                        help="also CAS with this many generated images, against as many real ones (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if not args.only_small_catalogue:
        floor = cached(f"floor_{args.samples}", args.fresh, lambda: {"fid": fid_floor(args.samples)})["fid"]
        rows, results = [], {}
        for name, (weights, run_dir, ema) in RUNS.items():
            if not (ROOT / weights).exists():
                rows.append([name, "not trained", "", "", "", "", "", ""])
                continue
            key = name.split(" ")[0].lower().strip(",")
            metrics = cached(f"eval_{key}_own_bn_{args.samples}", args.fresh, lambda w=weights, e=ema: evaluate_gan(
                load_model(ROOT / w), n=args.samples, ema=e, keep_best_factor=4, cas=True, floor=False))
            results[name] = metrics
            info = run_info(run_dir) if (ROOT / run_dir / "history.json").exists() else {"steps": "?", "seconds": float("nan"), "batch": "?"}
            rows.append([
                name, f"{info['steps']} × {info['batch']}", f"{info['seconds'] / 60:.1f}",
                f"{metrics['fid_own_features']:.3f}", f"{metrics['fid_own_features'] / floor:.1f}×",
                f"{metrics['class_consistency']:.1%}" if "class_consistency" in metrics else "n/a (unconditional)",
                f"{metrics['class_consistency_keep_best']:.1%}" if "class_consistency_keep_best" in metrics else "n/a",
                f"{metrics['cas']:.1%}" if "cas" in metrics else "n/a",
            ])
        reference = cached(f"cas_reference_{args.samples}", args.fresh, lambda: {"accuracy": classification_accuracy_score(
            *real_images("train", args.samples), epochs=15)})["accuracy"]
        print(f"\nFID: {FID_NOTE}.")
        print(f"{args.samples:,} generated samples (class-balanced) per model vs the 10,000 real test images.\n")
        print(table(["model", "steps × batch", "train min", "FID (own)", "× floor", "class consistency",
                     "consistency, keep-best 1 of 4", "CAS"], rows
                    + [["real train images (floor)", "", "", f"{floor:.3f}", "1.0×", "", "", f"{reference:.1%} (same CAS recipe on {args.samples:,} real)"]]))
        gpu = gpu_table(args.samples, args.fresh)
        if gpu:
            print("\nOn one GPU, four recipes trained side by side for the same wall time (they shared the GPU alike):\n")
            print(gpu)
        shipped = load_generator(ROOT / RUNS["shipped"][0])
        if args.cas_samples:
            print(f"\nCAS at the size of the real training set (Ravuri & Vinyals train on as many generated images as "
                  f"the real training set holds): {args.cas_samples:,} images, the same recipe\n")
            full = cached(f"cas_{args.cas_samples}", args.fresh, lambda: cas_at_size(shipped, args.cas_samples))
            print(table(["trained on", "images", "CAS on the real test set"], [
                ["shipped model's samples (class-balanced)", f"{args.cas_samples:,}", f"{full['generated']:.1%}"],
                ["real training images", f"{args.cas_samples:,}", f"{full['real']:.1%}"]]))
        speed = cached("speed", args.fresh, lambda: generation_speed(shipped))
        print(f"\ngeneration speed (shipped, 1 thread): {speed['batch_images_per_s']:.0f} images/s in batches, "
              f"{speed['single_images_per_s']:.0f} images/s one at a time")
        entry = read_manifest()["weights"].get("fmnist_cgan.safetensors", {})
        if entry:
            print(f"shipped model: {entry.get('steps')} steps in {entry.get('training_seconds', 0) / 60:.1f} min "
                  f"({entry.get('training_hardware')})")
        for path in docs_images(shipped):
            print(f"wrote {path}")
    if not args.skip_small_catalogue:
        small = cached(f"small_catalogue_{args.small_steps}", args.fresh, lambda: small_catalogue(args.small_steps))
        print("\nsmall catalogue: 3 categories × 300 PNGs (sneaker, bag, trouser) + 100 held out each, "
              f"{args.small_steps} steps × 32; D = the discriminator's mean score")
        print(table(["DiffAugment", "D(train reals)", "D(held-out reals)", "gap", "gap / std(D)"], [
            [policy, f"{m['d_train_real']:.3f}", f"{m['d_heldout_real']:.3f}", f"{m['gap']:.3f}", f"{m['gap_in_std']:.2f}"]
            for policy, m in small.items()]))


if __name__ == "__main__":
    main()
