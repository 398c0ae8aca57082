""""Unknown" instead of a wrong category: the shipped classifier on products outside its ten categories.

Before = the classifier shipped before outlier exposure (the weights at git commit ``BEFORE_COMMIT``, or
``--before FILE``); after = the shipped one (``classify.DEFAULT_WEIGHTS``). Both are measured in this run
with the same score (the largest softmax probability with flip TTA, what ``classify`` computes):

- known: the 10,000 Fashion-MNIST test images (never seen in training, nor by the threshold);
- unknown, none of them used in training (train/outliers.py keeps them out):
  openclipart-png clip art (evaluation only: a fixed sample of files whose path names no clothing, shoe or bag,
  outside people/), the held-out fifth of the Tux Paint stamps (clothes/ and people/ left out), and the bundled
  non-clothing samples (cut out with u2netp, as ``product-studio classify`` does);
- for information, real-world clothing that should stay known: openclipart clothing, shoe and bag files.

Figures: AUROC known vs unknown; the share of unknowns rejected (a) at each model's own threshold set on the
Fashion-MNIST *validation* images to keep 98% (for "before", the same rule applied to its scores; "after"
reads the one stored in its weights) and (b) at the threshold that keeps exactly 98% of the *test* images
(the issue's definition); the share of the test images kept; the test accuracy (flip TTA).

    nice .venv/bin/python benchmarks/classifier_ood.py            # about 2-4 minutes on 2 busy cores
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from product_studio import load_image
from product_studio.item import ImageItem
from product_studio.models.registry import load_model, shipped_weight_path
from product_studio.train.datasets import fashion_mnist_datasets
from product_studio.train.metrics import accuracy, predict_logits
from product_studio.train.outliers import CLOTHING_WORDS, ood_threshold, stamp_files, words_of
from product_studio.understand.classify import DEFAULT_WEIGHTS, ModelInput, model_input, ood_scores, ood_settings

BEFORE_COMMIT = "a388a1a"  # the last commit with the classifier trained without outlier exposure
OPENCLIPART = Path("/usr/share/openclipart/png")
OPENCLIPART_SAMPLE = 600  # non-clothing clip art files, picked by the sha1 of their path
NOT_UNKNOWN_WORDS = set(CLOTHING_WORDS) | {"baggage", "luggage", "suitcase", "briefcase", "footwear", "feet", "foot"}
SAMPLES_UNKNOWN = ("coffee_cup.jpg", "autumn_leaf.jpg", "colorful_cups.jpg", "kite_blue_sky.jpg", "rocket_launch.jpg",
                   "rowing_boats.jpg", "teddy_bear.png")
SAMPLES_KNOWN = ("boot_on_deck.jpg",)


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """P(score of a known image > score of an unknown one), ties counting half (Mann-Whitney)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(known)), np.zeros(len(unknown))], np.r_[known, unknown]))


def openclipart_files() -> tuple[list[Path], list[Path]]:
    """(non-clothing sample, clothing/shoe/bag files) of openclipart-png."""
    unknown, clothing, names = [], [], set()
    for path in sorted(OPENCLIPART.rglob("*.png")):
        relative = path.relative_to(OPENCLIPART).as_posix()
        words = words_of(relative)
        if words & NOT_UNKNOWN_WORDS:
            # a clear product of the ten categories (not a sign, a print or feet), each file name once
            if (words_of(path.name) & {"shirt", "dress", "shoe", "boot", "sandal", "sneaker", "bag", "trouser", "coat", "jacket"}
                    and not words & {"aiga", "check", "print", "feet", "cd", "template", "arms"} and path.name not in names):
                clothing.append(path)
                names.add(path.name)
        elif not relative.startswith("people/"):
            unknown.append(path)
    unknown.sort(key=lambda p: hashlib.sha1(p.as_posix().encode()).hexdigest())
    return sorted(unknown[:OPENCLIPART_SAMPLE]), clothing


def inputs_of(paths: list[Path]) -> np.ndarray:
    """Files as 28×28 classifier inputs, the way `classify` makes them (their alpha, else u2netp's cut-out).
    A file `classify` would refuse (over the pixel limit) is left out."""
    from product_studio.errors import StudioError
    from product_studio.vision.segmentation import segment_product

    images = []
    for path in paths:
        try:
            item = load_image(path)
        except StudioError:
            continue
        if item.alpha is None:
            item = item.replace(alpha=segment_product(item.pixels))
        images.append(model_input(item, ModelInput(1, 28)))
    return np.stack(images)


def scores_of(model: torch.nn.Module, images: np.ndarray | torch.Tensor) -> np.ndarray:
    x = torch.as_tensor(np.asarray(images)).float().div(255.0)
    x = x[:, None] if x.ndim == 3 else x
    return torch.cat([ood_scores(model, x[i : i + 500]) for i in range(0, len(x), 500)]).numpy()


def before_weights(commit: str, folder: Path) -> Path:
    target = folder / "before.safetensors"
    data = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:product_studio/weights/{DEFAULT_WEIGHTS}"],
                          check=True, capture_output=True).stdout
    target.write_bytes(data)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=None, help=f"weights before outlier exposure (default: git {BEFORE_COMMIT})")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = fashion_mnist_datasets()
    clip_unknown, clip_clothing = openclipart_files()
    held_stamps = stamp_files("held_out")
    named = {
        "openclipart, non-clothing": inputs_of(clip_unknown),
        "Tux Paint stamps, held out": inputs_of(held_stamps),
        "samples/, non-clothing": inputs_of([ROOT / "samples" / s for s in SAMPLES_UNKNOWN]),
    }
    unknown_sets = {f"{k} ({len(v)})": v for k, v in named.items()}
    named = {"openclipart clothing/shoes/bags": inputs_of(clip_clothing),
             "samples/boot_on_deck.jpg": inputs_of([ROOT / "samples" / s for s in SAMPLES_KNOWN])}
    clothing_sets = {f"{k} ({len(v)})": v for k, v in named.items()}
    with tempfile.TemporaryDirectory() as tmp:
        before_path = Path(args.before) if args.before else before_weights(BEFORE_COMMIT, Path(tmp))
        models = {"before": load_model(before_path), "after": load_model(shipped_weight_path(DEFAULT_WEIGHTS))}
        rows = {}
        for name, model in models.items():
            stored = ood_settings(model)
            val_rule = stored or ood_threshold(model, data["val"])
            known = scores_of(model, data["test"].images)
            test_threshold = float(np.sort(known)[int(np.floor(0.02 * len(known)))])
            unknown_all = np.concatenate([scores_of(model, x) for x in unknown_sets.values()])
            rows[name] = {
                "stored": stored is not None,
                "val_threshold": float(val_rule["threshold"]),
                "test_threshold": test_threshold,
                "accuracy": accuracy(predict_logits(model, data["test"], flip_tta=True), data["test"].labels),
                "known_kept": float((known >= val_rule["threshold"]).mean()),
                "auroc": auroc(known, unknown_all),
                "rejected_val": float((unknown_all < val_rule["threshold"]).mean()),
                "rejected_test": float((unknown_all < test_threshold).mean()),
                "per_set": {k: (auroc(known, s := scores_of(model, x)), float((s < val_rule["threshold"]).mean()))
                            for k, x in unknown_sets.items()},
                "clothing": {k: float((scores_of(model, x) >= val_rule["threshold"]).mean()) for k, x in clothing_sets.items()},
            }
    total = sum(len(x) for x in unknown_sets.values())
    print(f"## Out-of-taxonomy products ({DEFAULT_WEIGHTS}; known = 10,000 Fashion-MNIST test images, unknown = {total} images)\n")
    print("| figure | before (no outlier exposure) | after (outlier exposure) |")
    print("|---|---|---|")
    b, a = rows["before"], rows["after"]
    print(f"| AUROC known vs unknown | {b['auroc']:.3f} | **{a['auroc']:.3f}** |")
    print(f"| unknowns rejected, threshold keeping 98% of the **test** set | {b['rejected_test']:.1%} (t={b['test_threshold']:.3f}) | "
          f"**{a['rejected_test']:.1%}** (t={a['test_threshold']:.3f}) |")
    print(f"| unknowns rejected, threshold set on the validation set (98%) | {b['rejected_val']:.1%} (t={b['val_threshold']:.3f}, "
          f"{'stored' if b['stored'] else 'not stored: computed here'}) | **{a['rejected_val']:.1%}** (t={a['val_threshold']:.3f}, "
          f"{'stored in the weights' if a['stored'] else 'computed here'}) |")
    print(f"| Fashion-MNIST test images kept (validation threshold) | {b['known_kept']:.2%} | {a['known_kept']:.2%} |")
    print(f"| Fashion-MNIST test accuracy (flip TTA) | {b['accuracy']:.2%} | {a['accuracy']:.2%} |")
    print()
    print("| unknown set | AUROC before | AUROC after | rejected before | rejected after |")
    print("|---|---|---|---|---|")
    for key in unknown_sets:
        (ab, rb), (aa, ra) = b["per_set"][key], a["per_set"][key]
        print(f"| {key} | {ab:.3f} | {aa:.3f} | {rb:.1%} | {ra:.1%} |")
    print()
    print("| clothing that should stay known (not Fashion-MNIST) | kept before | kept after |")
    print("|---|---|---|")
    for key in clothing_sets:
        print(f"| {key} | {b['clothing'][key]:.1%} | {a['clothing'][key]:.1%} |")


if __name__ == "__main__":
    main()
