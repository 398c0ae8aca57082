"""Colour fidelity: how far each step of a marketplace recipe moves a product's colour.

Products whose true colour is known because they come cut out, none of them made for this test:

- photographs of single objects from Tux Paint's stamps (Debian ``tuxpaint-stamps-default``,
  GPL-2, ``/usr/share/doc/tuxpaint-stamps-default/copyright``): every fifth of the photographic
  stamps (thousands of distinct colours in the opaque part; drawings skipped), alternately in a
  ``dev`` and a ``held-out`` half: thresholds were looked at on ``dev`` only;
  every product is resized to 600 px on its longer side (premultiplied alpha);
- clip art from openclipart-png (public domain; evaluation only, never training);
- the repo's ``samples/teddy_bear.png`` (openclipart, transparent background).

Each product is delivered three ways, as a PNG: ``cut-out`` (its RGBA as is), ``white`` (over a
pure white backdrop) and ``cast`` (over white, then the whole shot multiplied in linear light by
one of four camera casts -- warm, blue, green, magenta -- scaled so that the backdrop is exposed
at about 243, as a camera would: a white balance SHOULD bring the product back to its true colour).

The recipe (default: the amazon-main preset's) runs step by step on the decoded source exactly as
``pipeline.process`` runs it (``pipeline.decode``, ``apply_op`` per step, ``encode_image``), and
again without its ``enhance`` steps. After every step the product's mean colour (mean sRGB over
its interior -- the true alpha eroded by 2 px -- that the cut-out keeps) is compared by CIELAB dE76
with its true colour, the original RGBA's mean over the same pixels (the original and the masks
are carried through the geometric steps with the item's own alpha).
The table gives the median over the products of each delivery; ``out`` is the encoded output
file decoded again. The last lines give the goal figures: enhance's extra shift over the recipe
without it, cut-out vs white, and for the cast share of the dE that the recipe with enhance removes.

    .venv/bin/python benchmarks/colour_fidelity.py [--preset amazon-main] [--limit N] [--part all|dev|held-out]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from product_studio.imageio import encode_image, load_image
from product_studio.item import ImageItem
from product_studio.limits import Limits
from product_studio.marketplaces import load_preset
from product_studio.ops import apply_op
from product_studio.pipeline import decode
from product_studio.recipe import Recipe, Step

STAMPS = Path("/usr/share/tuxpaint/stamps")
SKIPPED = ("cartoon", "symbols")
CLIPART = Path("/usr/share/openclipart/png")
CLIPART_ITEMS = [
    "recreation/sports/tennis_shoe_jarno_vasama_.png",
    "food/beverages/mug.png",
    "people/clothing/t-shirt_01.png",
    "containers/paperbag1_juliane_krug.png",
    "recreation/party/tophat_benji_park_01.png",
    "transportation/vehicles/redcar_marcelo_caiafa_.png",
    "food/beverages/bottled_drink.png",
    "geography/canada_umbrella_ganson.png",
]
TEDDY = REPO / "samples" / "teddy_bear.png"
# Camera casts: linear-light gains on R, G, B (the backdrop is then exposed at BACKDROP_LINEAR).
CASTS = {"warm": (1.0, 0.80, 0.58), "blue": (0.74, 0.86, 1.0), "green": (0.84, 1.0, 0.80), "magenta": (1.0, 0.80, 0.96)}
BACKDROP_LINEAR = 0.90  # sRGB ~243 in the brightest channel: exposed, not clipped
GEOMETRY_FREE = {"enhance", "remove_background", "white_background"}  # steps that move no pixel
DELIVERIES = ("cut-out", "white", "cast")
SIDE = 600  # every product is delivered with this longer side: above the presets' minimum, so no
# step upscales it (the learned upscaler would dominate the run time and is not what is measured)


@dataclass
class Product:
    name: str
    part: str  # dev, held-out, clipart, sample
    rgba: np.ndarray


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = x / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055) * 255.0


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0..255 floats, 3) -> CIELAB D65 in float64 (OpenCV's float conversion is quantised to
    about 0.1, as coarse as the shifts measured here)."""
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ srgb_to_linear(np.asarray(rgb, np.float64))
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > (6 / 29) ** 3, np.cbrt(f), f / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def read_rgba(path: Path) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return None
    if image.dtype == np.uint16:  # a few stamps are 16-bit PNGs
        image = np.clip(image / 257.0 + 0.5, 0, 255).astype(np.uint8)
    rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return resize_rgba(rgba)


def resize_rgba(rgba: np.ndarray) -> np.ndarray:
    """To SIDE px on the longer side; colours resampled with premultiplied alpha (no dark fringes)."""
    scale = SIDE / max(rgba.shape[:2])
    size = (max(1, round(rgba.shape[1] * scale)), max(1, round(rgba.shape[0] * scale)))
    a = rgba[..., 3:].astype(np.float32) / 255.0
    premultiplied = np.dstack([rgba[..., :3] * a, a * 255.0])
    out = cv2.resize(premultiplied, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    out = np.clip(out, 0, 255)
    alpha = out[..., 3:]
    colour = np.where(alpha > 0, out[..., :3] * 255.0 / np.maximum(alpha, 1e-3), 0)
    return np.clip(np.dstack([colour, alpha]) + 0.5, 0, 255).astype(np.uint8)


def is_photograph(rgba: np.ndarray) -> bool:
    opaque = rgba[..., 3] > 200
    if min(rgba.shape[:2]) < 96 or opaque.sum() < 4000:
        return False
    return len(np.unique(rgba[opaque][:, :3] // 4, axis=0)) >= 3000


def products(limit: int | None) -> list[Product]:
    found: list[Product] = []
    if STAMPS.is_dir():
        photos = []
        for path in sorted(STAMPS.rglob("*.png")):
            if any(part in SKIPPED for part in path.relative_to(STAMPS).parts):
                continue
            rgba = read_rgba(path)
            if rgba is not None and is_photograph(rgba):
                photos.append((path, rgba))
        for k, (path, rgba) in enumerate(photos[::5]):
            found.append(Product(path.stem, "dev" if k % 2 == 0 else "held-out", rgba))
    else:
        print(f"({STAMPS} missing: apt-get install tuxpaint-stamps-default)")
    for rel in CLIPART_ITEMS:
        rgba = read_rgba(CLIPART / rel) if (CLIPART / rel).exists() else None
        if rgba is not None:
            found.append(Product(Path(rel).stem, "clipart", rgba))
    if limit:
        found = found[:: max(1, len(found) // max(1, limit - 1))][: max(0, limit - 1)]
    teddy = load_image(TEDDY)
    return [*found, Product("teddy_bear", "sample", resize_rgba(teddy.rgba()))]


def deliver(rgba: np.ndarray, how: str, cast: tuple[float, float, float]) -> np.ndarray:
    """The product as the seller hands it in: RGBA (cut-out) or RGB (on white, or on white under a cast)."""
    if how == "cut-out":
        return rgba
    a = rgba[..., 3:].astype(np.float64) / 255.0
    on_white = rgba[..., :3] * a + 255.0 * (1 - a)
    if how == "white":
        return np.clip(on_white + 0.5, 0, 255).astype(np.uint8)
    gains = BACKDROP_LINEAR * np.asarray(cast) / max(cast)
    return np.clip(linear_to_srgb(srgb_to_linear(on_white) * gains) + 0.5, 0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    return cv2.imencode(".png", bgr)[1].tobytes()


def interior(alpha: np.ndarray) -> np.ndarray:
    return cv2.erode((alpha >= 250).astype(np.uint8) * 255, np.ones((5, 5), np.uint8))


def mean_lab(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    inside = mask >= 128
    if not inside.any():
        return np.full(3, np.nan)
    mean = pixels[inside].reshape(-1, 3).mean(axis=0)
    return srgb_to_lab(mean)  # no rounding: a step moves it by less than a code


def run_steps(data: bytes, recipe: Recipe, rgba: np.ndarray, mask: np.ndarray) -> list[float]:
    """dE76 of the product's mean colour after each step of ``recipe``, then of the encoded output.

    The mean is over the true interior that the cut-out keeps (alpha >= 250 once there is one),
    and the true colour is the original's mean over the same pixels: a part the segmentation drops
    is the cut-out's error, not a colour shift. The original and the masks are carried through
    the geometric steps with the product's own alpha, so they stay in register with it."""
    limits = Limits()
    item = decode(data, "product.png", limits)
    truth = ImageItem(pixels=np.ascontiguousarray(rgba[..., :3]))
    # Channel 0: the true interior; 1: what the cut-out keeps (alpha >= 250; all until there is an
    # alpha). Inverted, as the geometric steps pad with white.
    carried = ImageItem(pixels=np.dstack([255 - mask, np.zeros_like(mask), np.zeros_like(mask)]))
    shifts = []
    for step in recipe.steps:
        if step.op not in GEOMETRY_FREE:
            carried = apply_op(carried.replace(alpha=item.alpha), step.op, step.options)
            truth = apply_op(truth.replace(alpha=item.alpha), step.op, step.options)
        item = apply_op(item, step.op, step.options)
        if item.alpha is not None:
            carried.pixels[..., 1] = np.where(item.alpha >= 250, 0, 255)
        where = 255 - np.maximum(carried.pixels[..., 0], carried.pixels[..., 1])
        shifts.append(float(np.linalg.norm(mean_lab(item.pixels, where) - mean_lab(truth.pixels, where))))
    out = recipe.output
    encoded, _ = encode_image(item, format=out.format, quality=out.quality, max_bytes=out.max_bytes)
    decoded = load_image(encoded)
    shifts.append(float(np.linalg.norm(mean_lab(decoded.pixels, where) - mean_lab(truth.pixels, where))))
    return shifts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="amazon-main")
    parser.add_argument("--limit", type=int, default=None, help="at most this many products (spread over the set)")
    parser.add_argument("--part", default="all", choices=["all", "dev", "held-out"])
    args = parser.parse_args()

    recipe = load_preset(args.preset).recipe()
    plain = recipe.model_copy(update={"steps": [s for s in recipe.steps if s.op != "enhance"]})
    full = recipe.model_copy(update={"steps": [Step(**{**s.resolved(), "strength": 1.0}) if s.op == "enhance" else s
                                               for s in recipe.steps]})
    names = [s.op for s in recipe.steps] + ["out"]
    plain_names = [s.op for s in plain.steps] + ["out"]
    items = [p for p in products(args.limit) if args.part == "all" or p.part in (args.part, "clipart", "sample")]
    parts = sorted({p.part for p in items})
    print(f"{len(items)} products ({', '.join(f'{sum(p.part == q for p in items)} {q}' for q in parts)}); "
          f"recipe {recipe.name}: {' -> '.join(names[:-1])}")
    started = time.perf_counter()
    rows: dict[tuple[str, str], list[list[float]]] = {}
    per_product: dict[tuple[str, str, str], float] = {}
    for k, product in enumerate(items):
        cast_name = list(CASTS)[k % len(CASTS)]
        mask = interior(product.rgba[..., 3])
        for how in DELIVERIES:
            data = png_bytes(deliver(product.rgba, how, CASTS[cast_name]))
            runs = [("with enhance", recipe), ("without", plain)] + ([("enhance 1.0", full)] if how == "cast" else [])
            for label, r in runs:
                shifts = run_steps(data, r, product.rgba, mask)
                rows.setdefault((how, label), []).append(shifts)
                per_product[(product.name, how, label)] = shifts[-1]
        print(f"  {product.part:>8} {product.name:<28} out dE76 with/without enhance: "
              + "  ".join(f"{how} {per_product[(product.name, how, 'with enhance')]:5.2f}/"
                          f"{per_product[(product.name, how, 'without')]:5.2f}" for how in DELIVERIES)
              + (f"  ({cast_name} cast)"), flush=True)

    print(f"\nmedian dE76 of the product's mean colour vs its true colour, after each step ({len(items)} products, "
          f"{time.perf_counter() - started:.0f} s)")
    width = max(len(n) for n in names) + 1
    header = f"{'delivery':<9} {'recipe':<13} " + " ".join(f"{n:>{width}}" for n in names)
    print(header)
    print("-" * len(header))
    medians = {}
    for (how, label), values in rows.items():
        columns = plain_names if label == "without" else names
        med = [statistics.median(v[i] for v in values) for i in range(len(columns))]
        medians[(how, label)] = med[-1]
        cells = dict(zip(columns, med))
        print(f"{how:<9} {label:<13} " + " ".join(f"{cells[n]:>{width}.2f}" if n in cells else " " * width + "-"[:0]
                                                  for n in names))
    print()
    for how in ("cut-out", "white"):
        extra = medians[(how, "with enhance")] - medians[(how, "without")]
        print(f"{how:<8}: enhance adds {extra:+.2f} dE76 to the median shift (goal: within 0.5)")
    gap = medians[("cut-out", "with enhance")] - medians[("white", "with enhance")]
    print(f"cut-out vs white, recipe with enhance: {gap:+.2f} dE76 (goal: about 0)")
    cast_with, cast_without = medians[("cast", "with enhance")], medians[("cast", "without")]
    cast_full = medians[("cast", "enhance 1.0")]
    print(f"cast    : median dE76 {cast_without:.2f} without enhance -> {cast_with:.2f} with it "
          f"({100 * (1 - cast_with / cast_without):.0f}% of the shift removed); "
          f"{cast_full:.2f} with enhance at strength 1 "
          f"({100 * (1 - cast_full / cast_without):.0f}%)")


if __name__ == "__main__":
    main()
