"""OCR and brand/model/price extraction quality on product labels rendered here.

64 labels (half English, half Chinese), each three lines: brand + product, model number, price.
Fonts available offline: DejaVu Sans / Serif / Sans Condensed Bold for Latin, WQY Zen Hei for
Chinese (Debian fonts-wqy-zenhei). Text sizes 18-44 px. Rotations: 0°, +15°, -15°, 90° (16 labels
each). Each label is a light card pasted over a 640x480 crop of a photograph: the KDE Plasma
wallpapers in /usr/share/wallpapers (Debian plasma-workspace-wallpapers, `make bench` installs
it), or scikit-image's bundled sample photos when those are missing (the output says which).
Then Gaussian blur (sigma 0-1.6), Gaussian noise (sigma 0-8) and JPEG (quality 55-90). One
label in eight carries a made-up brand that is in no list, to measure false brand matches.

Prints, for lines (matched to the best OCR line by edit distance, after NFKC and removing spaces):
exact-match rate and character accuracy (1 - CER, CER = edit distance / length of the truth)
by language and by rotation; and brand / model / price precision and recall from
``extract_entities`` on the OCR lines, next to two references in the same run: the same
extraction on the true text (the ceiling OCR errors take us from), and exact brand matching
without fuzzy matching (the baseline fuzzy matching improves on).

    .venv/bin/python benchmarks/ocr_quality.py            # about 2-4 minutes on 2 cores
    .venv/bin/python benchmarks/ocr_quality.py --tune     # re-measure the fuzzy thresholds
                                                          # (needs Debian wamerican)
Deterministic: seed 0.
"""

from __future__ import annotations

import argparse
import copy
import io
import random
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from product_studio.understand.entities import bundled_brands, extract_entities
from product_studio.vision.ocr import load_ocr, read_text

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
LATIN_FONTS = [DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSerif.ttf", DEJAVU / "DejaVuSansCondensed-Bold.ttf"]
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
WALLPAPERS = Path("/usr/share/wallpapers")
ROTATIONS = [0, 15, -15, 90]
N_LABELS = 64
CANVAS = (640, 480)
PRODUCTS_EN = ["Running Shoes", "Wireless Earbuds", "Face Cream", "Coffee Maker", "Backpack", "Smart Watch", "Blender", "Hair Dryer"]
PRODUCTS_ZH = ["运动鞋", "无线耳机", "面霜", "咖啡机", "双肩包", "智能手表", "破壁机", "吹风机"]
FAKE_BRANDS = ["Zorvane", "Quillmo", "Brevitas", "Ostrel"]
FAKE_BRANDS_ZH = ["泽沃恩", "奎尔莫", "布雷维", "奥斯特"]


def backgrounds(rng: random.Random) -> tuple[list[Image.Image], str]:
    files = sorted(WALLPAPERS.glob("*/contents/images/*.jpg")) + sorted(WALLPAPERS.glob("*/contents/images/*.png"))
    by_theme: dict[str, Path] = {}
    for f in files:  # one picture per wallpaper theme, the smallest, for speed
        theme = f.parts[-4]
        if theme not in by_theme or f.stat().st_size < by_theme[theme].stat().st_size:
            by_theme[theme] = f
    if by_theme:
        photos = [Image.open(p).convert("RGB") for p in sorted(by_theme.values())[:24]]
        return photos, f"crops of {len(photos)} KDE Plasma wallpapers ({WALLPAPERS})"
    from skimage import data

    photos = [Image.fromarray(getattr(data, n)()).convert("RGB") for n in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field")]
    return photos, "crops of scikit-image sample photos (astronaut, coffee, chelsea, rocket, hubble_deep_field)"


def random_model(rng: random.Random) -> str:
    letters = "ABCDEFGHJKMNPQRSTUVWXYZ"
    model = "".join(rng.choice(letters) for _ in range(rng.choice([2, 2, 3]))) + "-" + str(rng.randint(100, 9999))
    return model + (rng.choice(letters) if rng.random() < 0.5 else "")


def make_label(i: int, rng: random.Random, photos: list[Image.Image], brand_pool: list[tuple[str, str, str]]) -> dict:
    lang = "en" if i % 2 == 0 else "zh"
    rotation = ROTATIONS[(i // 2) % len(ROTATIONS)]
    fake = i % 8 in (6, 7)
    brand, latin, chinese = rng.choice(brand_pool)
    if fake:
        brand, latin, chinese = None, rng.choice(FAKE_BRANDS), rng.choice(FAKE_BRANDS_ZH)
    model = random_model(rng)
    amount = rng.choice([rng.randint(9, 999), round(rng.uniform(5, 300), 2)])
    if lang == "en":
        font_path = LATIN_FONTS[i // 2 % len(LATIN_FONTS)]
        symbol, currency = rng.choice([("$", "USD"), ("€", "EUR"), ("£", "GBP")])
        price = f"{symbol}{amount:.2f}" if isinstance(amount, float) else f"{symbol}{amount}"
        lines = [f"{latin} {rng.choice(PRODUCTS_EN)}", rng.choice(["Model: ", "Model No. ", ""]) + model, f"Price: {price}"]
    else:
        font_path = CJK_FONT
        currency = "CNY"
        price = f"¥{amount}" if rng.random() < 0.5 else f"{amount}元"
        lines = [f"{chinese}{rng.choice(PRODUCTS_ZH)}", "型号：" + model, "价格：" + price]
    size = rng.randint(18, 44)
    font = ImageFont.truetype(str(font_path), size)
    pad, gap = size // 2, int(size * 1.6)
    width = max(font.getbbox(t)[2] for t in lines) + 2 * pad
    card = Image.new("RGBA", (width, gap * len(lines) + 2 * pad - (gap - size) + 6), (*[rng.randint(225, 252)] * 3, 235))
    draw = ImageDraw.Draw(card)
    ink = tuple(rng.randint(0, 60) for _ in range(3))
    for n, text in enumerate(lines):
        draw.text((pad, pad + n * gap), text, font=font, fill=(*ink, 255))
    card = card.rotate(rotation, expand=True, resample=Image.BICUBIC)

    photo = photos[i % len(photos)]
    cw, ch = CANVAS
    scale = max(cw / photo.width, ch / photo.height) * rng.uniform(1.0, 1.6)
    big = photo.resize((max(cw, round(photo.width * scale)), max(ch, round(photo.height * scale))), Image.BILINEAR)
    x0, y0 = rng.randint(0, big.width - cw), rng.randint(0, big.height - ch)
    canvas = big.crop((x0, y0, x0 + cw, y0 + ch))
    if card.width > cw - 10 or card.height > ch - 10:
        k = min((cw - 10) / card.width, (ch - 10) / card.height)
        card = card.resize((int(card.width * k), int(card.height * k)), Image.LANCZOS)
    canvas.paste(card, (rng.randint(0, cw - card.width), rng.randint(0, ch - card.height)), card)

    sigma = rng.uniform(0.0, 1.6)
    if sigma > 0.2:
        canvas = canvas.filter(ImageFilter.GaussianBlur(sigma))
    arr = np.asarray(canvas).astype(np.float32)
    arr += np.random.default_rng(i).normal(0, rng.uniform(0, 8), arr.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=rng.randint(55, 90))
    pixels = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return {
        "pixels": pixels, "lang": lang, "rotation": rotation, "lines": lines, "brand": brand,
        "model": model, "amount": float(amount), "currency": currency,
    }  # fmt: skip


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def edit_distance(a: str, b: str) -> int:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b)


def score_lines(truth: list[str], read: list[str]) -> list[tuple[bool, float]]:
    """(exact, character accuracy) per true line, each against its closest OCR line."""
    out = []
    candidates = [norm(r) for r in read]
    for t in truth:
        t = norm(t)
        best = min((edit_distance(t, c) for c in candidates), default=len(t))
        out.append((best == 0, 1.0 - min(1.0, best / max(1, len(t)))))
    return out


def without_fuzzy(index):
    plain = copy.copy(index)
    plain.fuzzy_keys = []
    plain.lookalike_keys = {}
    return plain


def prf(pairs: list[tuple[set, set]]) -> tuple[float, float]:
    tp = sum(len(p & t) for p, t in pairs)
    predicted = sum(len(p) for p, _ in pairs)
    actual = sum(len(t) for _, t in pairs)
    return (tp / predicted if predicted else 1.0), (tp / actual if actual else 1.0)


def run(n_labels: int) -> None:
    rng = random.Random(0)
    photos, photo_source = backgrounds(rng)
    index = bundled_brands()
    pool = []  # brands with a Latin and a Chinese name, neither marked as a common word
    for brand in index.brands:
        aliases = [a for a in index.aliases if a.brand == brand]
        latin = next((a.alias for a in aliases if a.script == "latin" and a.alias == brand and not a.common), None)
        chinese = next((a.alias for a in aliases if a.script == "cjk" and not a.common), None)
        if latin and chinese and latin.isascii():
            pool.append((brand, latin, chinese))
    labels = [make_label(i, rng, photos, pool) for i in range(n_labels)]
    load_ocr()  # open the engine before timing
    read_text(labels[0]["pixels"])

    rows, entity_rows = [], []
    started = time.perf_counter()
    for lab in labels:
        lines = read_text(lab["pixels"])
        texts = [line.text for line in lines]
        for (exact, acc) in score_lines(lab["lines"], texts):
            rows.append((lab["lang"], lab["rotation"], exact, acc))
        truth_brand = {lab["brand"]} if lab["brand"] else set()
        truth_model = {lab["model"]}
        truth_price = {(lab["amount"], lab["currency"])}
        for source, ents in (
            ("OCR text, fuzzy matching", extract_entities(lines, brands=index)),
            ("OCR text, exact matching only", extract_entities(lines, brands=without_fuzzy(index))),
            ("true text (ceiling)", extract_entities(lab["lines"], brands=index)),
        ):
            entity_rows.append((
                source,
                ({b.brand for b in ents.brands}, truth_brand),
                ({m.value for m in ents.models}, truth_model),
                ({(round(p.amount, 2), p.currency) for p in ents.prices}, truth_price),
            ))  # fmt: skip
    seconds = time.perf_counter() - started

    print(f"OCR quality: {len(labels)} rendered labels, {len(rows)} lines; backgrounds: {photo_source}")
    print(f"RapidOCR {load_ocr().label}, {load_ocr().threads} thread(s): {seconds / len(labels):.2f} s per 640x480 image\n")
    print(f"| {'lines':<22} | {'n':>4} | {'exact match':>11} | {'char accuracy':>13} |")
    print(f"|{'-' * 24}|{'-' * 6}|{'-' * 13}|{'-' * 15}|")

    def row(name, sel):
        if not sel:
            return
        print(f"| {name:<22} | {len(sel):>4} | {np.mean([r[2] for r in sel]):>11.1%} | {np.mean([r[3] for r in sel]):>13.1%} |")

    row("all", rows)
    for lang, name in (("en", "English"), ("zh", "Chinese")):
        row(name, [r for r in rows if r[0] == lang])
    for rot in ROTATIONS:
        row(f"rotation {rot:+d}°" if rot else "rotation 0°", [r for r in rows if r[1] == rot])
    for lang, name in (("en", "English"), ("zh", "Chinese")):
        for rot in ROTATIONS:
            row(f"{name} {rot:+d}°" if rot else f"{name} 0°", [r for r in rows if r[0] == lang and r[1] == rot])

    print(f"\n| {'extraction from':<30} | {'brand P':>7} | {'brand R':>7} | {'model P':>7} | {'model R':>7} | {'price P':>7} | {'price R':>7} |")
    print(f"|{'-' * 32}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for source in ("OCR text, fuzzy matching", "OCR text, exact matching only", "true text (ceiling)"):
        sel = [r for r in entity_rows if r[0] == source]
        cells = []
        for k in (1, 2, 3):
            p, r = prf([s[k] for s in sel])
            cells += [f"{p:>7.1%}", f"{r:>7.1%}"]
        print(f"| {source:<30} | " + " | ".join(cells) + " |")
    n_fake = sum(1 for lab in labels if lab["brand"] is None)
    print(f"\nBrand P/R over {len(labels) - n_fake} labels with a listed brand and {n_fake} with a made-up one (no brand expected).")


def tune() -> None:
    """Recall on OCR-like corruptions of the bundled aliases vs English words matched, per threshold."""
    from rapidfuzz import fuzz, process

    from product_studio.understand.entities import brand_key

    lookalike = {"O": "DQCG", "I": "LTJ", "L": "I", "E": "F", "F": "E", "M": "NH", "N": "MH", "U": "VO", "V": "UY",
                 "R": "PB", "B": "RE", "C": "GO", "G": "CO", "S": "Z", "A": "R", "H": "N", "D": "O", "T": "I", "K": "X"}  # fmt: skip
    words_file = Path("/usr/share/dict/words")
    if not words_file.is_file():
        raise SystemExit("--tune needs Debian's wamerican word list: apt-get install wamerican")
    index = bundled_brands()
    keys = [k for k, a in index.latin.items() if not a.common and len(k) >= 7]
    rng = random.Random(0)

    def corrupt(key: str, edits: int) -> str:
        s = list(key)
        for _ in range(edits):
            op, i = rng.choice(["sub", "sub", "del", "dup"]), rng.randrange(len(s))
            if op == "sub":
                s[i] = rng.choice(lookalike.get(s[i], "O"))
            elif op == "del" and len(s) > 3:
                del s[i]
            else:
                s.insert(i, s[i])
        return brand_key("".join(s))

    pos = [(k, corrupt(k, 2 if len(k) >= 10 and r % 2 else 1)) for k in keys for r in range(24)]
    words = {w.strip() for w in words_file.read_text().split() if w[:1].islower() and "'" not in w}
    neg = sorted({brand_key(w) for w in words} - set(index.latin))
    best = {q: process.extractOne(q, keys, scorer=fuzz.ratio, score_cutoff=70) for q in neg if len(q) >= 5}
    for lo, hi in ((7, 9), (10, 99)):
        for th in (80, 83, 85, 88):
            sel = [(k, q) for k, q in pos if lo <= len(k) <= hi]
            hits = [process.extractOne(q, keys, scorer=fuzz.ratio, score_cutoff=th) for _, q in sel]
            recall = sum(1 for (k, _), h in zip(sel, hits) if h and h[0] == k) / len(sel)
            fp = [q for q, r in best.items() if r and lo <= len(r[0]) <= hi and r[1] >= th]
            print(f"names of {lo}-{hi} letters, ratio >= {th}: recall {recall:.1%} of {len(sel)}, English words matched {len(fp)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=int, default=N_LABELS)
    parser.add_argument("--tune", action="store_true", help="measure the fuzzy-matching thresholds instead")
    args = parser.parse_args()
    tune() if args.tune else run(args.labels)
