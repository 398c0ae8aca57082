"""A baseline for the defect detector that trains in minutes: gradient-boosted trees on per-pixel features.

    .venv/bin/python benchmarks/detector_pixel_classifier.py          # about 2.5 min on 2 cores

Why it is here: the U-Net that meets the detection goal (F1 >= 0.7 on the held-out photos) needs a
five-cycle chain of about two hours on a CPU with bfloat16 instructions, and four times that on one
without them (AVX2 only). This script measures the cheapest learned alternative a practitioner would
try first (ilastik-style pixel classification): 63 filter responses per pixel (grey and colour
values, Hessian eigenvalues, gradient magnitude and difference-of-Gaussians at five scales, median
residuals, top-hat and black-hat at three sizes, colour and Lab residuals and local contrast at four
scales), and scikit-learn's HistGradientBoostingClassifier fitted on pixels sampled from the same
training photos and synthetic defects as the U-Net (``repair_data.training_photos("fit")``,
collection 3, at 384/512/768 px, one damaged copy each at density 4.0; every defect pixel up to 2,500
a photo, 2,500 clean pixels at random and 2,500 drawn by edge strength, none within 2 px of a
defect). The threshold (and the ensemble's weight) is chosen on the validation photos
(``repair_data.validation_set``), then the held-out benchmark set is scored at it, as for the U-Net.

Rows: the trees alone; the shipped U-Net (``product_studio/weights/defect_detector.safetensors``);
and the two averaged, ``(1 - w) * U-Net + w * trees``. "s / MP" is the per-pixel prediction time
on the 512-px photos with 2 threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from restoration_repair import TOLERANCE, _table  # noqa: E402

from product_studio.train.defects import add_defects  # noqa: E402
from product_studio.train.metrics import detection_counts, scores_from_counts  # noqa: E402
from product_studio.train.repair_data import TRAIN_DENSITY, benchmark_set, training_photos, validation_set  # noqa: E402

SIDES = (384, 512, 768)
PER_PHOTO = 2500  # defect pixels (at most), random clean pixels and edge-drawn clean pixels per damaged photo
CUTS = tuple(np.round(np.r_[np.arange(0.3, 0.9, 0.05), np.arange(0.9, 0.995, 0.01)], 3))  # the trees' probabilities run high
WEIGHTS = (0.2, 0.35, 0.5)


def _hessian(grey: np.ndarray, sigma: float) -> list[np.ndarray]:
    """Scale-normalised Hessian eigenvalues and gradient magnitude of ``grey`` smoothed at ``sigma``."""
    b = cv2.GaussianBlur(grey, (0, 0), sigma)
    xx, yy, xy = (cv2.Sobel(b, cv2.CV_32F, dx, dy, ksize=3) for dx, dy in ((2, 0), (0, 2), (1, 1)))
    trace, spread = xx + yy, np.sqrt((xx - yy) ** 2 + 4 * xy * xy)
    gradient = cv2.magnitude(cv2.Sobel(b, cv2.CV_32F, 1, 0), cv2.Sobel(b, cv2.CV_32F, 0, 1))
    return [(trace + spread) / 2 * sigma**2, (trace - spread) / 2 * sigma**2, gradient * sigma]


def pixel_features(rgb: np.ndarray) -> np.ndarray:
    """H x W x 63 float32 filter responses of an RGB uint8 photo."""
    f = rgb.astype(np.float32) / 255
    grey = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)
    lab = cv2.cvtColor(f, cv2.COLOR_RGB2Lab) / 100
    out = [grey, *np.moveaxis(f, -1, 0), lab[..., 1], lab[..., 2]]
    for sigma in (0.7, 1.5, 3, 6, 12):
        out += [*_hessian(grey, sigma), grey - cv2.GaussianBlur(grey, (0, 0), sigma)]
    grey8 = (grey * 255).astype(np.uint8)
    out += [grey - cv2.medianBlur(grey8, k).astype(np.float32) / 255 for k in (3, 5, 9)]
    for k in (5, 9, 15):
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        out += [cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, disk), cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, disk)]
    for sigma in (2, 6, 16, 32):
        out += list(np.moveaxis(f - cv2.GaussianBlur(f, (0, 0), sigma), -1, 0))
        out += list(np.moveaxis(lab - cv2.GaussianBlur(lab, (0, 0), sigma), -1, 0))
        mean = cv2.GaussianBlur(grey, (0, 0), sigma)
        out.append(np.sqrt(np.maximum(cv2.GaussianBlur(grey * grey, (0, 0), sigma) - mean * mean, 0)))
    return np.stack(out, -1)


def training_pixels(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for photo in training_photos("fit", collection=3, sides=SIDES):
        damaged, mask = add_defects(photo, rng, density=TRAIN_DENSITY)
        defect = mask > 0
        clean = np.flatnonzero(cv2.dilate(defect.astype(np.uint8), np.ones((2 * TOLERANCE + 1,) * 2, np.uint8)) == 0)
        found = np.flatnonzero(defect)
        grey = cv2.cvtColor(damaged, cv2.COLOR_RGB2GRAY).astype(np.float32)
        edge = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)).ravel()[clean] + 1e-3
        picked = np.concatenate([rng.choice(found, min(PER_PHOTO, found.size), replace=False),
                                 rng.choice(clean, PER_PHOTO, replace=False),
                                 rng.choice(clean, PER_PHOTO, replace=False, p=edge / edge.sum())])
        features = pixel_features(damaged)
        xs.append(features.reshape(-1, features.shape[-1])[picked])
        ys.append(defect.ravel()[picked])
    return np.concatenate(xs), np.concatenate(ys)


def _scores(probabilities: list[np.ndarray], samples: list, cut: float) -> Any:
    counts = np.sum([detection_counts((p >= cut).astype(np.uint8), s.mask, tolerance=TOLERANCE)
                     for p, s in zip(probabilities, samples)], 0)
    return scores_from_counts(*map(int, counts), tolerance=TOLERANCE)


def _best_cut(probabilities: list[np.ndarray], samples: list) -> tuple[float, float]:
    from product_studio.train.defect_detector import best_threshold

    cut, scores = best_threshold(probabilities, [s.mask for s in samples], tolerance=TOLERANCE, thresholds=CUTS)
    return cut, scores["f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=150, help="boosting iterations (trees)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.iterations < 1:
        parser.error(f"--iterations is a number of trees, 1 or more; got {args.iterations}")
    import torch
    from sklearn.ensemble import HistGradientBoostingClassifier

    from product_studio.ops.repair import load_defect_detector
    from product_studio.train.defect_detector import predict_probability

    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    started = time.perf_counter()
    x, y = training_pixels(np.random.default_rng(args.seed))
    trees = HistGradientBoostingClassifier(max_iter=args.iterations, max_leaf_nodes=63, learning_rate=0.15,
                                           early_stopping=False, random_state=args.seed).fit(x, y)
    train_minutes = (time.perf_counter() - started) / 60
    net = load_defect_detector()
    sets = {"validation": validation_set(collection=3), "held-out": benchmark_set()}
    probs: dict[str, dict[str, list[np.ndarray]]] = {"trees": {}, "unet": {}}
    seconds: dict[str, float] = {"trees": 0.0, "unet": 0.0}
    for part, samples in sets.items():
        for name in probs:
            probs[name][part] = []
            for s in samples:
                t = time.perf_counter()
                if name == "trees":
                    f = pixel_features(s.damaged)
                    p = trees.predict_proba(f.reshape(-1, f.shape[-1]))[:, 1].reshape(f.shape[:2])
                else:
                    p = predict_probability(net, s.damaged)
                if part == "held-out":
                    seconds[name] += (time.perf_counter() - t) / (s.mask.size / 1e6)
                probs[name][part].append(p)
    held = sets["held-out"]
    rows = []

    def row(method: str, val: list[np.ndarray], test: list[np.ndarray], per_mp: float, minutes: str) -> None:
        cut, val_f1 = _best_cut(val, sets["validation"])
        r = _scores(test, held, cut)
        rows.append({"method": method, "train": minutes, "cut": f"{cut:.2f}", "val_f1": val_f1, "precision": r.precision,
                     "recall": r.recall, "f1": r.f1, "s_per_mp": per_mp})

    row(f"gradient-boosted trees ({args.iterations}) on 63 pixel features", probs["trees"]["validation"],
        probs["trees"]["held-out"], seconds["trees"] / len(held), f"{train_minutes:.1f} min")
    row("shipped U-Net", probs["unet"]["validation"], probs["unet"]["held-out"], seconds["unet"] / len(held),
        "~2 h (bf16 CPU)")
    mix = lambda w, part: [(1 - w) * u + w * t for u, t in zip(probs["unet"][part], probs["trees"][part])]
    w = max(WEIGHTS, key=lambda w: _best_cut(mix(w, "validation"), sets["validation"])[1])
    row(f"U-Net and trees averaged (tree weight {w}, chosen on validation)", mix(w, "validation"), mix(w, "held-out"),
        (seconds["unet"] + seconds["trees"]) / len(held), "both")
    print(f"Training pixels: {len(y):,} ({y.mean():.0%} defect), {x.shape[1]} features\n")
    print(_table(rows, [("method", "method", ""), ("train", "training", ""), ("cut", "threshold (validation)", ""),
                        ("val_f1", "validation F1", ".3f"), ("precision", "held-out P", ".3f"), ("recall", "held-out R", ".3f"),
                        ("f1", "held-out F1", ".3f"), ("s_per_mp", "s / MP", ".2f")]))


if __name__ == "__main__":
    main()
