"""Background removal quality on composites with a known alpha.

Clip art with a real alpha channel (Debian package ``openclipart-png``) is placed on three kinds
of background: photographs of scenes with no subject of their own (Debian
``plasma-workspace-wallpapers`` photographs and scikit-image's texture photographs), smooth colour
gradients, and a "studio" sweep (light grey, shaded, with sensor noise). A fourth kind, photographs
with a strong subject of their own (scikit-image's astronaut, coffee, cat ...), is reported on its
own row: there the pasted product competes with the photo's subject, and which one is "the product"
is ambiguous for any salient-object model. The true alpha and the true foreground colour are known,
so each method is scored against them. The clip art is chosen by seed among images that look like
a product's silhouette: one main part, solid (opaque over at least 85% of its filled outline; outline
icons and line drawings with see-through interiors are left out), neither tiny nor filling the frame.
Scores:

- IoU: alpha >= 128 against the true alpha >= 128;
- alpha MAE: mean |alpha - true alpha| over the whole image, in 0..1;
- edge error: the cut-out composited on white against the ideal composite (true colour, true
  alpha, on white), mean absolute RGB error (0..255) inside a band of +-3 px around the true
  edge, where halos and colour fringes show.

Methods: "u2netp raw" (the model's 320x320 map enlarged bilinearly: soft alpha, original colours;
what a bare U²-Net cut-out gives), "u2netp + refine (ours)" (the shipped remove_background:
guided-filter refinement, clean-up, colour decontamination), "grabcut + refine" (the no-model
fallback as shipped). Milliseconds are per image on one thread (the model's time included for
both u2netp rows).

    .venv/bin/python benchmarks/bg_quality.py --limit 35 --seed 0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from product_studio.ops.background import composite_on_color
from product_studio.ops.layout import resize_rgba
from product_studio.runtime import load_u2netp, predict_saliency_320
from product_studio.vision.segmentation import cut_out

CLIPART_ROOT = Path("/usr/share/openclipart/png")
KINDS = ("scene photo", "gradient", "studio")
SUBJECT = "photo with its own subject"
# Products are solid objects: clip art whose opaque area is under this share of its filled
# silhouette (outline icons, line drawings with see-through interiors) is left out.
SOLID_MIN = 0.85
CANVAS = (600, 800)  # height, width
EDGE_BAND = 3


# ---------------------------------------------------------------------------------------------- data


def _silhouette(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every enclosed hole filled."""
    padded = np.pad(mask.astype(np.uint8), 1)
    outside = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, outside, (0, 0), 2)
    return (padded != 2)[1:-1, 1:-1]


def pick_clipart(limit: int, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Up to ``limit`` clip-art images (name, RGB, alpha) with a meaningful alpha, chosen by seed."""
    files = sorted(CLIPART_ROOT.rglob("*.png"))
    if not files:
        raise SystemExit(f"no clip art under {CLIPART_ROOT}: apt-get install -y openclipart-png")
    order = np.random.default_rng(seed).permutation(len(files))
    chosen = []
    for index in order:
        path = files[index]
        try:
            with Image.open(path) as im:
                if min(im.size) < 200 or max(im.size) > 4000:
                    continue
                rgba = np.asarray(im.convert("RGBA"))
        except OSError:
            continue
        alpha = rgba[..., 3]
        nonzero = alpha > 0
        opaque = alpha == 255
        area = alpha.size
        if not 0.10 <= opaque.sum() / area <= 0.85:  # not tiny, not filling the whole frame
            continue
        if opaque.sum() < 0.9 * nonzero.sum():  # a solid object, not a glow or a shadow
            continue
        count, _, stats, _ = cv2.connectedComponentsWithStats(opaque.astype(np.uint8), connectivity=8)
        if count < 2 or stats[1:, cv2.CC_STAT_AREA].max() < 0.6 * opaque.sum():  # one main part
            continue
        if opaque.sum() < SOLID_MIN * _silhouette(opaque).sum():  # an outline or line drawing, not an object
            continue
        chosen.append(
            (str(path.relative_to(CLIPART_ROOT)), np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(alpha))
        )
        if len(chosen) >= limit:
            break
    return chosen


# Photographs of scenes with no subject of their own (Debian plasma-workspace-wallpapers, LGPLv3 /
# GPL-2+; scikit-image's texture photographs, CC0): clutter that a product photo's background has.
SCENE_WALLPAPERS = ("BytheWater", "DarkestHour", "Path", "summer_1am", "ColdRipple", "Grey")
WALLPAPER_ROOT = Path("/usr/share/wallpapers")


def scene_photos() -> list[np.ndarray]:
    from skimage import data

    photos = []
    for name in SCENE_WALLPAPERS:
        files = sorted((WALLPAPER_ROOT / name / "contents" / "images").glob("*"))
        if files:
            image = cv2.imread(str(files[-1]), cv2.IMREAD_COLOR)
            if image is not None:
                scale = 1600 / max(image.shape[:2])
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                photos.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    for name in ("grass", "gravel", "brick"):
        grey = getattr(data, name)()
        photos.append(np.ascontiguousarray(np.dstack([grey] * 3)))
    if len(photos) < 4:
        raise SystemExit("scene photographs missing: apt-get install -y plasma-workspace-wallpapers")
    return photos


def subject_photos() -> list[np.ndarray]:
    """Photographs with a strong subject of their own (a person, a cup, a cat, a rocket): the
    pasted product competes with it, and which one is "the product" is ambiguous for any
    salient-object model. Reported on its own row, outside the goal set."""
    from skimage import data

    photos = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "motorcycle_left"):
        try:
            image = getattr(data, name)()
        except Exception:  # a sample image that is not shipped with this scikit-image
            continue
        if image.ndim == 3 and image.shape[2] >= 3:
            photos.append(np.ascontiguousarray(image[..., :3]))
    return photos


def random_crop(rng: np.random.Generator, image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """A random (h, w) window of ``image`` (scaled up first if it is smaller)."""
    h, w = hw
    if image.shape[0] < h or image.shape[1] < w:
        return cover(image, hw)
    y = int(rng.integers(0, image.shape[0] - h + 1))
    x = int(rng.integers(0, image.shape[1] - w + 1))
    return image[y : y + h, x : x + w]


def cover(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Scale to cover (h, w) and crop the centre."""
    h, w = hw
    scale = max(h / image.shape[0], w / image.shape[1])
    size = (max(w, round(image.shape[1] * scale)), max(h, round(image.shape[0] * scale)))
    big = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return big[y : y + h, x : x + w]


def gradient_background(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    c0, c1 = rng.integers(0, 256, 3).astype(np.float32), rng.integers(0, 256, 3).astype(np.float32)
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = xx * np.cos(angle) + yy * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    return np.clip(c0 + (c1 - c0) * t[..., None] + 0.5, 0, 255).astype(np.uint8)


def studio_background(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    top, bottom = rng.uniform(225, 245), rng.uniform(180, 215)
    sweep = top + (bottom - top) * (yy / h) ** 1.5
    vignette = 1.0 - 0.08 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
    tint = rng.uniform(-4, 4, 3)
    grey = sweep * vignette
    noisy = grey[..., None] + tint + rng.normal(0, 2.5, (h, w, 3))
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def place(rng: np.random.Generator, fg: np.ndarray, alpha: np.ndarray, background: np.ndarray):
    """Composite the clip art onto ``background``; returns (image, true alpha, true foreground)."""
    h, w = background.shape[:2]
    ys, xs = np.nonzero(alpha)
    fg, alpha = (
        fg[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
        alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1],
    )
    target = rng.uniform(0.55, 0.8) * min(h, w)
    scale = target / max(fg.shape[:2])
    size = (max(8, round(fg.shape[1] * scale)), max(8, round(fg.shape[0] * scale)))
    fg, alpha = resize_rgba(fg, alpha, size)
    y = int(rng.integers(0, h - size[1] + 1))
    x = int(rng.integers(0, w - size[0] + 1))
    true_alpha = np.zeros((h, w), np.uint8)
    true_alpha[y : y + size[1], x : x + size[0]] = alpha
    true_fg = background.copy()
    true_fg[y : y + size[1], x : x + size[0]] = fg
    a = true_alpha.astype(np.float32)[..., None] / 255.0
    image = np.clip(true_fg * a + background * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
    return image, true_alpha, true_fg


# ---------------------------------------------------------------------------------------------- metrics


def edge_band(true_alpha: np.ndarray, width: int = EDGE_BAND) -> np.ndarray:
    binary = (true_alpha >= 128).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return (cv2.dilate(binary, kernel) > 0) & ~(cv2.erode(binary, kernel) > 0)


def score(pred_pixels, pred_alpha, true_fg, true_alpha, ideal_on_white, band) -> tuple[float, float, float]:
    p, t = pred_alpha >= 128, true_alpha >= 128
    union = np.logical_or(p, t).sum()
    iou = float(np.logical_and(p, t).sum() / union) if union else 1.0
    mae = float(np.abs(pred_alpha.astype(np.float32) - true_alpha.astype(np.float32)).mean() / 255.0)
    on_white = composite_on_color(pred_pixels, pred_alpha)
    edge = float(np.abs(on_white[band].astype(np.float32) - ideal_on_white[band].astype(np.float32)).mean())
    return iou, mae, edge


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=35, help="number of clip-art images (each on 3 backgrounds)")
    parser.add_argument("--seed", type=int, default=0, help="picks the clip art, placements and backgrounds")
    parser.add_argument("--no-grabcut", action="store_true", help="skip GrabCut (the slowest method)")
    parser.add_argument("--per-kind", action="store_true", help="also print a row per background kind")
    args = parser.parse_args()

    cv2.setNumThreads(1)
    rng = np.random.default_rng(args.seed)
    clips = pick_clipart(args.limit, args.seed)
    scenes, subjects = scene_photos(), subject_photos()
    model = load_u2netp(threads=1)
    methods = ["u2netp raw", "u2netp + refine (ours)"] + ([] if args.no_grabcut else ["grabcut + refine"])
    results: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}

    for index, (name, fg, alpha) in enumerate(clips):
        for kind in KINDS + (SUBJECT,):
            if kind == "scene photo":
                background = random_crop(rng, scenes[int(rng.integers(len(scenes)))], CANVAS)
            elif kind == SUBJECT:
                background = cover(subjects[int(rng.integers(len(subjects)))], CANVAS)
            elif kind == "gradient":
                background = gradient_background(rng, CANVAS)
            else:
                background = studio_background(rng, CANVAS)
            image, true_alpha, true_fg = place(rng, fg, alpha, background)
            ideal = composite_on_color(true_fg, true_alpha)
            band = edge_band(true_alpha)

            start = time.perf_counter()
            saliency = predict_saliency_320(image, model=model)
            model_s = time.perf_counter() - start

            start = time.perf_counter()
            pixels, pred = cut_out(image, saliency=saliency, refine=False)
            raw_s = model_s + time.perf_counter() - start
            results.setdefault(("u2netp raw", kind), []).append(
                (*score(pixels, pred, true_fg, true_alpha, ideal, band), raw_s)
            )

            start = time.perf_counter()
            pixels, pred = cut_out(image, saliency=saliency)
            ours_s = model_s + time.perf_counter() - start
            results.setdefault(("u2netp + refine (ours)", kind), []).append(
                (*score(pixels, pred, true_fg, true_alpha, ideal, band), ours_s)
            )

            if not args.no_grabcut:
                start = time.perf_counter()
                pixels, pred = cut_out(image, method="grabcut")
                gc_s = time.perf_counter() - start
                results.setdefault(("grabcut + refine", kind), []).append(
                    (*score(pixels, pred, true_fg, true_alpha, ideal, band), gc_s)
                )
        print(f"[{index + 1}/{len(clips)}] {name}", file=sys.stderr)

    kinds = KINDS
    print(
        f"\n{len(clips)} clip-art images x {len(kinds)} backgrounds = {len(clips) * len(kinds)} composites, {CANVAS[1]}x{CANVAS[0]}, seed {args.seed}"
        f" ('all' = {', '.join(kinds)}; the goals are measured on it)\n"
    )
    print("| method | background | IoU | alpha MAE | edge error (RGB, ±3 px) | ms / image |")
    print("|---|---|---:|---:|---:|---:|")
    # The same subset for every method: composites where the model found the product
    # (u2netp raw IoU >= 0.9), which isolates what refinement does at the edge.
    found = np.array([r[0] >= 0.9 for k in kinds for r in results[("u2netp raw", k)]])
    for method in methods:
        rows = [("all", [r for k in kinds for r in results[(method, k)]])]
        if args.per_kind:
            rows += [(k, results[(method, k)]) for k in kinds]
        rows.append((SUBJECT + " (not in all)", results[(method, SUBJECT)]))
        for label, values in rows:
            arr = np.array(values)
            print(
                f"| {method} | {label} | {arr[:, 0].mean():.3f} | {arr[:, 1].mean():.4f} | {arr[:, 2].mean():.2f} | {1000 * arr[:, 3].mean():.0f} |"
            )
    print(f"\nOn the {int(found.sum())} composites where u2netp raw found the product (IoU >= 0.9):\n")
    print("| method | IoU | alpha MAE | edge error (RGB, ±3 px) |")
    print("|---|---:|---:|---:|")
    for method in methods:
        arr = np.array([r for k in kinds for r in results[(method, k)]])[found]
        print(f"| {method} | {arr[:, 0].mean():.3f} | {arr[:, 1].mean():.4f} | {arr[:, 2].mean():.2f} |")


if __name__ == "__main__":
    main()
