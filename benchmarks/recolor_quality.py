"""Recolor benchmark: how close the product gets to the colour asked for, and what it leaves alone.

Products: clip-art items from openclipart-png (``/usr/share/openclipart/png``), each composited on
a studio background and on a crop of a real photo (``samples/autumn_leaf.jpg``), with the clip
art's own alpha as the exact mask; two of them carry a printed label ("SALE 50%", rendered here,
so its glyph mask is exact and OCR has to find it). Plus the repo's samples: ``teddy_bear.png``
(its transparency is the mask), ``boot_on_deck.jpg`` and ``coffee_cup.jpg`` (mask from the
U2-Net-p cut-out).

For each product and each of 8 target colours, ``prepare_recolor`` (mask, OCR text, logos: once
per product) then ``recolor``; the same targets with a naive baseline in the same run (HSV: the
target's hue and saturation, the pixel's value scaled so the median value matches the target's),
measured identically:

- dE00: CIEDE2000 between the target and the product's median colour after (Lab, per-channel
  median over the product's pixels, mask >= 128, minus the text and logos it left alone);
- bg: largest change of any pixel outside the mask (0..255; must be 0);
- text: mean change on the exact glyph pixels of the printed labels (0..255; must be ~0);
- shading: Pearson correlation of the lightness detail (L - mean L) before and after, inside the
  product (mask 255, minus what is kept; 1 = the shading and texture are all there);
- ms/MP: time of the colour transfer per megapixel of the photo (one thread), and separately the
  once-per-photo preparation (cut-out, OCR, logos).

Black and white are held within L* 10..94 on purpose (a photographed black still shows shading),
so their dE00 is not ~0 by design; the summary line gives the chromatic targets alone.

A second table, "what is left alone", measures the default region (the product's main coloured
material) against the old default (the whole product, region "all") in the same run, on products
whose target material is known:

- Tux Paint stamps (``/usr/share/tuxpaint/stamps``, GPL-2, read at run time, not shipped), each
  made into a one-material product: the stamp's luminance shades (in linear light, each channel
  clipped as a camera does) one random chromatic colour (random hue, saturation C*/(L*+16)
  0.5..1.4, the lightest in-gamut colour of those), its near-black lines become neutral, and parts are
  drawn on it: a white band, a metal bar (grey gradient with a highlight), a black strap, a tag of
  a far hue and, on every other stamp, a patch of a near hue (25..40 degrees away, saturation x1.5
  or x0.6); on a studio background, noise (sigma 1.5) and JPEG q92; the stamp's alpha is the mask.
  Stamps are split by a hash of their path into "dev" (thresholds were looked at on these) and
  "held out" (never looked at while choosing them); both halves are printed.
- the same stamps made neutral (a* and b* times 0.1: grey, white, black, metal products): the
  count reported as having no coloured material (they must never be tinted).
- ``samples/teddy_bear.png`` (its palette: the bow tie's red, black, white are not the fur; pixels
  far from every palette colour, the anti-aliased edges, are not scored) and
  ``samples/coffee_cup.jpg`` (a hand-drawn ellipse for the cup's opening -- porcelain and coffee --
  and a polygon for the spoon; a 4 px band around them not scored). These two were looked at.

Per product and target (navy, #2e8b57, gold, hotpink): "unchanged" is the share of the product's
pixels outside the target material whose colour moved by less than dE00 2; "hue ok" is the share of
the target material's pixels whose Lab hue after is within 15 degrees of the target's (chroma >= 5).

    .venv/bin/python benchmarks/recolor_quality.py [--example docs/images/recolor_example.png] [--material-only]
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
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from product_studio.imageio import load_image
from product_studio.errors import OperationError
from product_studio.ops.recolor import parse_color, prepare_recolor, recolor
from product_studio.vision.colors import delta_e2000, hue_saturation, lab_to_rgb, rgb_to_lab

CLIPART = Path("/usr/share/openclipart/png")
CLIPART_ITEMS = {
    "tennis shoe": "recreation/sports/tennis_shoe_jarno_vasama_.png",
    "mug": "food/beverages/mug.png",
    "t-shirt": "people/clothing/t-shirt_01.png",
    "umbrella": "geography/canada_umbrella_ganson.png",
    "paper bag": "containers/paperbag1_juliane_krug.png",
    "top hat": "recreation/party/tophat_benji_park_01.png",
    "car": "transportation/vehicles/redcar_marcelo_caiafa_.png",
    "bottle": "food/beverages/bottled_drink.png",
}
LABELLED = ("mug", "t-shirt")  # these carry a printed "SALE 50%"
TARGETS = ["red", "navy", "#2e8b57", "gold", "skyblue", "hotpink", "white", "black"]
EXAMPLE = ("t-shirt (photo)", "mug (studio)", "boot_on_deck.jpg (u2netp)", "teddy_bear.png (alpha)")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


@dataclass
class Product:
    name: str
    pixels: np.ndarray
    mask: np.ndarray | None  # exact mask, or None: the cut-out finds it
    alpha: np.ndarray | None = None
    glyphs: np.ndarray | None = None  # exact printed-text pixels


def studio_background(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    grey = 236 - 18 * (y / h) - 6 * np.abs(x / w - 0.5)
    return np.repeat(grey[..., None], 3, axis=2).astype(np.uint8)


def photo_background(h: int, w: int) -> np.ndarray:
    leaf = load_image(REPO / "samples" / "autumn_leaf.jpg").pixels
    return cv2.resize(leaf[: leaf.shape[0] * 3 // 4, : leaf.shape[1] * 3 // 4], (w, h), interpolation=cv2.INTER_AREA)


def clipart_products() -> list[Product]:
    out = []
    for name, rel in CLIPART_ITEMS.items():
        path = CLIPART / rel
        if not path.is_file():
            continue
        rgba = np.asarray(Image.open(path).convert("RGBA"))
        ys, xs = np.nonzero(rgba[..., 3] > 0)
        rgba = rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        scale = 560 / max(rgba.shape[:2])
        rgba = cv2.resize(rgba, (round(rgba.shape[1] * scale), round(rgba.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        h, w = rgba.shape[:2]
        glyphs = None
        if name in LABELLED:
            rgba, glyphs = print_label(rgba)
        H, W = h + 160, w + 160
        for kind, background in (("studio", studio_background(H, W)), ("photo", photo_background(H, W))):
            canvas = background.astype(np.float32)
            a = rgba[..., 3:].astype(np.float32) / 255.0
            canvas[80 : 80 + h, 80 : 80 + w] = rgba[..., :3] * a + canvas[80 : 80 + h, 80 : 80 + w] * (1 - a)
            mask = np.zeros((H, W), np.uint8)
            mask[80 : 80 + h, 80 : 80 + w] = rgba[..., 3]
            full_glyphs = None
            if glyphs is not None:
                full_glyphs = np.zeros((H, W), bool)
                full_glyphs[80 : 80 + h, 80 : 80 + w] = glyphs
            out.append(Product(f"{name} ({kind})", np.clip(canvas + 0.5, 0, 255).astype(np.uint8), mask, glyphs=full_glyphs))
    return out


def print_label(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """'SALE 50%' printed in the middle of the product, in black or white whichever contrasts."""
    h, w = rgba.shape[:2]
    font = ImageFont.truetype(FONT, max(18, w // 9))
    text = "SALE 50%"
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    x, y = (w - (right - left)) // 2 - left, (h - (bottom - top)) // 2 - top
    under = rgba[y + top : y + bottom, x + left : x + right, :3].reshape(-1, 3)
    fill = (250, 250, 250) if rgb_to_lab(np.median(under, axis=0).astype(np.uint8))[0] < 60 else (15, 15, 15)
    ink = Image.new("L", (w, h), 0)
    ImageDraw.Draw(ink).text((x, y), text, font=font, fill=255)
    ink = np.asarray(ink).astype(np.float32)[..., None] / 255.0
    out = rgba.copy()
    out[..., :3] = np.clip(rgba[..., :3] * (1 - ink) + np.array(fill) * ink + 0.5, 0, 255).astype(np.uint8)
    return out, (ink[..., 0] > 0) & (rgba[..., 3] == 255)


def sample_products() -> list[Product]:
    teddy = load_image(REPO / "samples" / "teddy_bear.png")
    return [
        Product("teddy_bear.png (alpha)", teddy.pixels, None, alpha=teddy.alpha),
        Product("boot_on_deck.jpg (u2netp)", load_image(REPO / "samples" / "boot_on_deck.jpg").pixels, None),
        Product("coffee_cup.jpg (u2netp)", load_image(REPO / "samples" / "coffee_cup.jpg").pixels, None),
    ]


def naive_hsv(pixels: np.ndarray, mask: np.ndarray, target: tuple[int, int, int]) -> np.ndarray:
    """Baseline: the target's hue and saturation, each pixel's value scaled to the target's median."""
    hsv = cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    t = cv2.cvtColor(np.array([[target]], np.uint8), cv2.COLOR_RGB2HSV_FULL)[0, 0].astype(np.float32)
    inside = mask >= 128
    v = hsv[..., 2] * (t[2] / max(float(np.median(hsv[..., 2][inside])), 1.0))
    new = np.stack([np.full_like(v, t[0]), np.full_like(v, t[1]), np.clip(v, 0, 255)], axis=-1)
    rgb = cv2.cvtColor(new.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL).astype(np.float32)
    a = mask.astype(np.float32)[..., None] / 255.0
    return np.clip(pixels * (1 - a) + rgb * a + 0.5, 0, 255).astype(np.uint8)


def measure(before: np.ndarray, after: np.ndarray, mask: np.ndarray, keep: np.ndarray | None, glyphs, target) -> dict:
    inside = mask >= 128
    solid = inside & (keep == 0 if keep is not None else True)
    lab_after = rgb_to_lab(after[solid])
    de = float(delta_e2000(np.median(lab_after, axis=0), rgb_to_lab(np.array(target, np.uint8))))
    bg = int(np.abs(after[mask == 0].astype(int) - before[mask == 0]).max()) if (mask == 0).any() else 0
    text = float(np.abs(after[glyphs].astype(int) - before[glyphs]).mean()) if glyphs is not None and glyphs.any() else None
    core = (mask == 255) & (keep == 0 if keep is not None else True)  # soft edges mix in the background
    lb, la = rgb_to_lab(before[core])[:, 0], rgb_to_lab(after[core])[:, 0]
    if lb.std() < 0.5:  # a flat fill: no shading to keep, the correlation means nothing
        shading = None
    else:
        shading = float(np.corrcoef(lb - lb.mean(), la - la.mean())[0, 1]) if la.std() > 0 else 0.0
    return {"de": de, "bg": bg, "text": text, "shading": shading}


# ----------------------------------------------------------------------------------------------
# what is left alone: products whose target material is known

STAMPS = Path("/usr/share/tuxpaint/stamps")
STAMP_COUNT = 40
MATERIAL_TARGETS = ["navy", "#2e8b57", "gold", "hotpink"]


@dataclass
class Known:
    name: str
    split: str  # dev, held out, sample
    pixels: np.ndarray
    alpha: np.ndarray | None  # the product (None: the cut-out finds it)
    material: np.ndarray  # bool HxW: the target material
    scored: np.ndarray  # bool HxW: the product's pixels that count (not the don't-care band)


def _stamp_paths() -> list[Path]:
    paths = []
    for path in sorted(STAMPS.rglob("*.png")):
        with Image.open(path) as im:
            if im.mode in ("RGBA", "LA", "P") and min(im.size) >= 150:
                paths.append(path)
    step = max(1, len(paths) // STAMP_COUNT)
    return paths[::step][:STAMP_COUNT]


def _split(path: Path) -> str:
    import hashlib

    return "dev" if hashlib.sha256(str(path.relative_to(STAMPS)).encode()).digest()[0] % 2 == 0 else "held out"


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, np.float32) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb(linear: np.ndarray) -> np.ndarray:
    v = np.clip(linear, 0.0, 1.0)  # a camera clips each channel
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055) * 255.0


def _base_color(hue: float, saturation: float) -> np.ndarray:
    """An in-gamut sRGB colour of that Lab hue and saturation C*/(L*+16), at the lightest L* up to 65 that holds it."""
    for lightness in np.arange(65.0, 20.0, -2.5):
        chroma = saturation * (lightness + 16.0)
        lab = np.array([lightness, chroma * np.cos(np.radians(hue)), chroma * np.sin(np.radians(hue))], np.float32)
        rgb = cv2.cvtColor(lab.reshape(1, 1, 3), cv2.COLOR_Lab2RGB).reshape(3)
        if rgb.min() >= 0.0 and rgb.max() <= 1.0:
            return rgb * 255.0
    return np.clip(rgb, 0, 1) * 255.0


def _shade(shading: np.ndarray, base: np.ndarray) -> np.ndarray:
    """sRGB (float) of a material of colour ``base`` under ``shading`` (a factor on linear light, HxW, 1 =
    the brightest light the exposure holds: a channel clips only above it)."""
    linear = _linear(base)
    return _srgb(linear[None, None, :] / max(float(linear.max()), 1e-3) * shading[..., None])


def stamp_product(path: Path, rng: np.random.Generator, *, near_patch: bool, seed: int) -> Known:
    """A one-material product from a stamp's shape and shading, with parts of known other colours."""
    rgba = np.asarray(Image.open(path).convert("RGBA"))
    ys, xs = np.nonzero(rgba[..., 3] >= 128)
    rgba = rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = 420 / max(rgba.shape[:2])
    rgba = cv2.resize(rgba, (round(rgba.shape[1] * scale), round(rgba.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    h, w = rgba.shape[:2]
    solid = rgba[..., 3] >= 128
    lightness = rgb_to_lab(rgba[..., :3])[..., 0]
    outline = solid & (lightness < 15)
    luminance = _linear(rgba[..., :3]) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    shading = np.clip(luminance / max(float(np.percentile(luminance[solid & ~outline], 98)), 1e-3), 0.02, 1.2)
    hue, sat = float(rng.uniform(0, 360)), float(rng.uniform(0.5, 1.4))
    img = _shade(shading, _base_color(hue, sat)).astype(np.float32)
    img[outline] = np.repeat(lab_to_rgb(np.stack([lightness, 0 * lightness, 0 * lightness], axis=-1))[..., :1], 3, axis=2)[outline]
    parts = np.zeros((h, w), np.uint8)  # 1 white, 2 metal, 3 black, 4 far hue, 5 near hue
    cv2.rectangle(parts, (0, int(0.28 * h)), (w, int(0.35 * h)), 1, -1)
    cv2.rectangle(parts, (int(0.68 * w), 0), (int(0.74 * w), h), 2, -1)
    cv2.rectangle(parts, (0, int(0.8 * h)), (w, int(0.85 * h)), 3, -1)
    r = max(6, round(0.06 * max(h, w)))
    cv2.circle(parts, (int(0.3 * w), int(0.6 * h)), r, 4, -1)
    if near_patch:
        cv2.circle(parts, (int(0.5 * w), int(0.5 * h)), r, 5, -1)
    parts[~solid] = 0
    shade = np.clip(lightness, 30, 95)[..., None] / 95.0
    img[parts == 1] = (np.array([247, 244, 238], np.float32) * (0.85 + 0.15 * shade))[parts == 1]
    gx = np.linspace(0, 1, w, dtype=np.float32)[None, :].repeat(h, 0)
    metal = 110 + 120 * np.exp(-(((gx - 0.71) / 0.012) ** 2)) + 30 * np.sin(gx * 40)
    img[parts == 2] = np.repeat(metal[..., None], 3, axis=2)[parts == 2]
    img[parts == 3] = (20 + 6 * shade)[parts == 3]
    img[parts == 4] = _shade(shading, _base_color(hue + float(rng.uniform(90, 270)), 0.9))[parts == 4]
    turn, factor = float(rng.choice([-1, 1]) * rng.uniform(25, 40)), float(rng.choice([1.5, 0.6]))
    img[parts == 5] = _shade(shading, _base_color(hue + turn, sat * factor))[parts == 5]
    material = solid & (parts == 0) & ~outline
    # not scored: 2 px around the material's edges (anti-aliasing, JPEG ringing)
    edges = cv2.morphologyEx(material.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)) > 0
    scored = solid & ~edges
    canvas = studio_background(h + 120, w + 120).astype(np.float32)
    a = rgba[..., 3:].astype(np.float32) / 255.0
    canvas[60 : 60 + h, 60 : 60 + w] = img * a + canvas[60 : 60 + h, 60 : 60 + w] * (1 - a)
    canvas += np.random.default_rng(seed).normal(0, 1.5, canvas.shape)
    _, buf = cv2.imencode(".jpg", np.clip(canvas + 0.5, 0, 255).astype(np.uint8)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    pixels = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return Known(path.stem, _split(path), pixels, np.pad(rgba[..., 3], 60), np.pad(material, 60), np.pad(scored, 60))


def stamp_products() -> list[Known]:
    """The stamp products whose material covers at least 10 % of them (a mostly black stamp has no material to speak of)."""
    rng = np.random.default_rng(7)
    made = [stamp_product(path, rng, near_patch=bool(i % 2), seed=i) for i, path in enumerate(_stamp_paths())]
    return [k for k in made if (k.material & k.scored).sum() >= 0.1 * (k.alpha >= 128).sum()]


def sample_knowns() -> list[Known]:
    teddy = load_image(REPO / "samples" / "teddy_bear.png")
    px = teddy.pixels.astype(int)
    solid = teddy.alpha >= 128
    palette_other = np.array([[255, 0, 0], [0, 0, 0], [255, 255, 255]])  # the bow tie, outlines and nose, eyes
    d_other = np.abs(px[..., None, :] - palette_other).sum(axis=-1).min(axis=-1)
    lab = rgb_to_lab(teddy.pixels)
    fur = (hue_saturation(lab)[1] > 0.8) & (lab[..., 0] > 20) & (d_other > 60)  # the fur's orange-browns
    other = d_other <= 30
    scored = solid & (fur | other)
    out = [Known("teddy_bear.png", "sample", teddy.pixels, teddy.alpha, fur & solid, scored)]
    cup = load_image(REPO / "samples" / "coffee_cup.jpg").pixels
    opening = np.zeros(cup.shape[:2], np.uint8)
    cv2.ellipse(opening, (291, 112), (118, 92), 0, 0, 360, 1, -1)  # the cup's opening: porcelain rim, wall, coffee
    spoon = np.array([[330, 240], [360, 225], [400, 250], [408, 290], [392, 322], [352, 330], [326, 305], [322, 268],
                      [366, 234], [380, 234], [414, 96], [426, 70], [410, 66], [398, 96]], np.int32)
    cv2.fillPoly(opening, [spoon[:8]], 1)
    cv2.fillPoly(opening, [spoon[8:]], 1)
    band = cv2.morphologyEx(opening, cv2.MORPH_GRADIENT, np.ones((9, 9), np.uint8)) > 0
    from product_studio.runtime import load_u2netp
    from product_studio.vision.segmentation import segment_product

    product = segment_product(cup, method="u2netp", model=load_u2netp()) >= 128
    out.append(Known("coffee_cup.jpg", "sample", cup, None, product & (opening == 0), product & ~band))
    return out


def material_table() -> None:
    knowns = stamp_products() + sample_knowns()
    targets = [parse_color(t) for t in MATERIAL_TARGETS]
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    refused: dict[str, list[str]] = {"all": [], "auto": []}
    for known in knowns:
        outside = known.scored & ~known.material
        inside = known.scored & known.material
        for region in ("all", "auto"):
            try:
                plan = prepare_recolor(known.pixels, alpha=known.alpha, region=region, text=False, logos=True)
            except OperationError:
                refused[region].append(known.name)
                continue
            for target in targets:
                after = recolor(known.pixels, plan.mask, target.rgb, keep=plan.keep)
                de = delta_e2000(rgb_to_lab(known.pixels[outside]), rgb_to_lab(after[outside]))
                lab_after = rgb_to_lab(after[inside])
                hue_after, _ = hue_saturation(lab_after)
                t_hue = float(hue_saturation(rgb_to_lab(np.array(target.rgb, np.uint8)))[0])
                turn = np.abs((hue_after - t_hue + 180.0) % 360.0 - 180.0)
                ok = (turn <= 15.0) & (np.hypot(lab_after[:, 1], lab_after[:, 2]) >= 5.0)
                results.setdefault((known.split, region), []).append((float((de < 2.0).mean()), float(ok.mean())))
                results.setdefault((known.name, region), []).append((float((de < 2.0).mean()), float(ok.mean())))
    print("\n### What is left alone: default (main coloured material) vs the whole product (before)\n")
    print("| products | n | unchanged outside the material: before (all) | after (material) | hue ok on the material: before | after |")
    print("|---|---|---|---|---|---|")
    for split in ("dev", "held out", "sample"):
        n = sum(k.split == split for k in knowns)
        before, after = results.get((split, "all"), []), results.get((split, "auto"), [])
        if not before:
            continue
        row = [f"{np.median([b[0] for b in before]):.3f}", f"{np.median([a[0] for a in after]):.3f}" if after else "-",
               f"{np.median([b[1] for b in before]):.3f}", f"{np.median([a[1] for a in after]):.3f}" if after else "-"]
        print(f"| stamps {split} (median over products x targets) | {n} | " + " | ".join(row) + " |" if split != "sample"
              else f"| samples (median) | {n} | " + " | ".join(row) + " |")
    for known in knowns:
        if known.split == "sample":
            before, after = results.get((known.name, "all"), []), results.get((known.name, "auto"), [])
            print(f"| {known.name} | 1 | {np.mean([b[0] for b in before]):.3f} | "
                  f"{np.mean([a[0] for a in after]):.3f} | {np.mean([b[1] for b in before]):.3f} | {np.mean([a[1] for a in after]):.3f} |")
    for split in ("dev", "held out"):
        after = results.get((split, "auto"), [])
        if after:
            print(f"\nstamps {split}: after, 10th percentile unchanged {np.percentile([a[0] for a in after], 10):.3f}, "
                  f"hue ok {np.percentile([a[1] for a in after], 10):.3f}")
    print(f"refused as having no coloured material: {', '.join(refused['auto']) or 'none'} (of {len(knowns)})")
    tinted = []
    stamps = [k for k in knowns if k.split != "sample"]
    for known in stamps:  # the same products made neutral (grey, white, black, metal): reported, never tinted
        lab = rgb_to_lab(known.pixels)
        lab[..., 1:] = np.where((known.alpha > 0)[..., None], lab[..., 1:] * 0.1, lab[..., 1:])
        try:
            prepare_recolor(lab_to_rgb(lab), alpha=known.alpha, text=False, logos=False)
            tinted.append(known.name)
        except OperationError:
            pass
    print(f"the stamps made neutral (a* and b* x 0.1): {len(stamps) - len(tinted)} of {len(stamps)} reported as having no "
          f"coloured material; recoloured anyway: {', '.join(tinted) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=None, help="also write a before/after picture here (PNG)")
    parser.add_argument("--material-only", action="store_true", help="print only the what-is-left-alone table")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.material_only:
        material_table()
        return
    products = clipart_products() + sample_products()
    targets = [parse_color(t) for t in TARGETS]
    rows: dict[str, dict[str, list]] = {t.text: {"ours": [], "naive": []} for t in targets}
    prepare_ms, transfer_ms_per_mp, text_found, logos_found = [], [], 0, 0
    print(f"{len(products)} products x {len(targets)} targets ({sum(p.mask is not None for p in products)} with exact masks)",
          file=sys.stderr)
    example = []
    for product in products:
        start = time.perf_counter()
        plan = prepare_recolor(product.pixels, alpha=product.alpha, mask=product.mask)
        prepare_ms.append((time.perf_counter() - start) * 1000)
        text_found += bool(plan.info.get("text_lines"))
        logos_found += len(plan.info.get("logos", []))
        mp = product.pixels.shape[0] * product.pixels.shape[1] / 1e6
        for target in targets:
            start = time.perf_counter()
            after = recolor(product.pixels, plan.mask, target.rgb, keep=plan.keep)
            transfer_ms_per_mp.append((time.perf_counter() - start) * 1000 / mp)
            rows[target.text]["ours"].append(measure(product.pixels, after, plan.mask, plan.keep, product.glyphs, target.rgb))
            rows[target.text]["ours"][-1]["product"] = product.name
            naive = naive_hsv(product.pixels, plan.mask, target.rgb)
            rows[target.text]["naive"].append(measure(product.pixels, naive, plan.mask, plan.keep, product.glyphs, target.rgb))
            if product.name in EXAMPLE and target.text in ("red", "navy", "#2e8b57", "white"):
                example.append((product.name, target.text, after))
        if product.name in EXAMPLE:
            example.append((product.name, "original", product.pixels))
    if products[-3].alpha is not None:  # the teddy bear: shown on white, not on its hidden colours
        a = products[-3].alpha[..., None].astype(np.float32) / 255.0
        example = [(n, lab, np.clip(px * a + 255 * (1 - a) + 0.5, 0, 255).astype(np.uint8) if n == products[-3].name else px)
                   for n, lab, px in example]

    def fmt(values, spec=".1f"):
        values = [v for v in values if v is not None]
        return format(statistics.median(values), spec) if values else "-"

    print("| target | dE00 median (max) ours | naive HSV | bg max change ours | text change ours (naive) | "
          "shading corr ours | naive |")
    print("|---|---|---|---|---|---|---|")
    for t in targets:
        ours, naive = rows[t.text]["ours"], rows[t.text]["naive"]
        print(f"| {t.text} {t.hex} | {fmt([r['de'] for r in ours])} ({max(r['de'] for r in ours):.1f}) | "
              f"{fmt([r['de'] for r in naive])} ({max(r['de'] for r in naive):.1f}) | {max(r['bg'] for r in ours)} | "
              f"{fmt([r['text'] for r in ours], '.2f')} ({fmt([r['text'] for r in naive], '.1f')}) | "
              f"{fmt([r['shading'] for r in ours], '.3f')} (min {min(r['shading'] for r in ours if r['shading'] is not None):.3f}) | "
              f"{fmt([r['shading'] for r in naive], '.3f')} |")
    chromatic = [r["de"] for t in targets if t.text not in ("white", "black") for r in rows[t.text]["ours"]]
    chromatic_naive = [r["de"] for t in targets if t.text not in ("white", "black") for r in rows[t.text]["naive"]]
    print(f"\nchromatic targets: dE00 median {statistics.median(chromatic):.2f}, 90th percentile "
          f"{np.percentile(chromatic, 90):.2f}, max {max(chromatic):.2f} (naive HSV: median {statistics.median(chromatic_naive):.2f}, "
          f"max {max(chromatic_naive):.2f})")
    worst = sorted(((r["de"], r["product"], t.text) for t in targets if t.text not in ("white", "black")
                    for r in rows[t.text]["ours"] if r["de"] > 3.0), reverse=True)
    print("chromatic variants with dE00 > 3: " + (", ".join(f"{p} -> {t} {d:.1f}" for d, p, t in worst) or "none"))
    print(f"background: max change outside the mask over all {len(products) * len(targets)} variants: "
          f"{max(r['bg'] for t in targets for r in rows[t.text]['ours'])}")
    labelled = sum(p.glyphs is not None for p in products)
    print(f"text: OCR found the label on {text_found} of {len(products)} products ({labelled} carry one); "
          f"logos detected: {logos_found} region(s) in all")
    print(f"speed: colour transfer {statistics.median(transfer_ms_per_mp):.0f} ms/MP (median, one thread); "
          f"preparation once per photo (cut-out/OCR/logos) median {statistics.median(prepare_ms):.0f} ms")
    material_table()
    if args.example:
        write_example(example, args.example)
        print(f"wrote {args.example}", file=sys.stderr)


def write_example(example: list, path: Path) -> None:
    rows = []
    for name in dict.fromkeys(n for n, _, _ in example):
        tiles = [(label, px) for n, label, px in example if n == name]
        tiles.sort(key=lambda t: t[0] != "original")
        row = []
        for label, px in tiles:
            h = 300
            tile = cv2.resize(px, (round(px.shape[1] * h / px.shape[0]), h), interpolation=cv2.INTER_AREA)
            band = np.full((34, tile.shape[1], 3), 255, np.uint8)
            cv2.putText(band, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (40, 40, 40), 2, cv2.LINE_AA)
            row += [np.vstack([tile, band]), np.full((334, 8, 3), 255, np.uint8)]
        rows.append(np.hstack(row[:-1]))
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path, optimize=True)


if __name__ == "__main__":
    main()
