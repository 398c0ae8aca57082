"""Text cases for ``compliance_detection.py``: promotional overlays, watermarks, and compliant shots
(half of them with text printed on the product).

Every case is a product cut-out (``compliance_sources.cutouts``) on pure white at ``side`` px:

- ``text_overlay``: one to three promotional texts (English, Chinese, prices, percentages) in a
  random font, size and colour, placed off the product (corners, bands, beside it) or across its
  edge, half of them on a badge shape (circle, star, ribbon, rounded rectangle, burst);
- ``watermark``: a text (a studio name, a URL, "SAMPLE", a Chinese shop mark) at 10% to 40% opacity,
  black, grey or white-with-a-dark-edge, centred, diagonal (20 to 45 degrees) or tiled over the whole
  image, product included;
- compliant: the product alone, or (half of them) with text printed on it: a brand, a model, a
  Chinese name, drawn inside the silhouette (eroded), in a colour that contrasts with the surface
  under it, bent with the product (a cylinder-like wave) and shaded with the surface.

    cases = make_text_cases(seed=1, n=60, part="held_out")
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from compliance_sources import Case, compose_on_white, cutouts, font

PROMO_EN = ["SALE", "-30%", "50% OFF", "NEW", "HOT", "Best Seller", "Free Shipping", "2 for 1", "$19.99", "ONLY $9",
            "Limited Offer", "BUY NOW", "-15%", "TOP", "Deal", "€24,90", "Save 20%", "Gift"]
PROMO_ZH = ["包邮", "限时特价", "¥99", "新品", "热卖", "买一送一", "特价 ¥39.9", "满200减30", "秒杀", "促销", "正品保证"]
WATERMARKS = ["© PhotoStudio", "SAMPLE", "shop.example.com", "watermark", "© Lumen Images", "PROOF", "店铺水印",
              "版权所有", "www.mybrand.cn", "DO NOT COPY", "Stock Photo", "© 2024 Kestrel"]
PRINTED_EN = ["ACME", "Organic", "Nordic Home", "Model X-200", "PURE", "Fresh Farm", "ZENITH", "Classic", "Aqua 500ml",
              "Made in Italy", "Premium", "LOT 42"]
PRINTED_ZH = ["有机", "天然", "经典款", "纯棉", "绿茶", "牛奶", "矿泉水"]
BADGES = ("circle", "star", "ribbon", "rounded", "burst")


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    palette = [(220, 30, 30), (0, 0, 0), (255, 140, 0), (20, 90, 200), (0, 150, 60), (200, 0, 120), (90, 90, 90),
               (255, 210, 0)]
    if rng.random() < 0.7:
        return palette[int(rng.integers(len(palette)))]
    return tuple(int(v) for v in rng.integers(0, 230, 3))


def _star(cx: float, cy: float, r: float, points: int, inner: float) -> list[tuple[float, float]]:
    out = []
    for k in range(2 * points):
        a = np.pi * k / points - np.pi / 2
        rr = r if k % 2 == 0 else r * inner
        out.append((cx + rr * np.cos(a), cy + rr * np.sin(a)))
    return out


def _text_size(draw: ImageDraw.ImageDraw, text: str, f) -> tuple[int, int, int, int]:
    return draw.textbbox((0, 0), text, font=f)


def _overlay(rng: np.random.Generator, canvas: np.ndarray, alpha: np.ndarray) -> dict:
    """Draw one promotional text (maybe on a badge) off the product or across its edge."""
    H, W = canvas.shape[:2]
    zh = rng.random() < 0.4
    text = (PROMO_ZH if zh else PROMO_EN)[int(rng.integers(len(PROMO_ZH if zh else PROMO_EN)))]
    size = int(rng.uniform(0.03, 0.09) * W)
    f = font(rng, size, cjk=zh)
    badge = rng.random() < 0.5
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = _text_size(draw, text, f)
    tw, th = x1 - x0, y1 - y0
    pad = int(0.35 * th) if badge else 0
    bw, bh = tw + 2 * pad, th + 2 * pad
    if badge:
        bw = bh = max(bw, bh) if rng.random() < 0.6 else bw
    # where: a free spot off the product (few product pixels under it), or across the product's edge
    across = rng.random() < 0.3
    best, best_score = None, None
    for _ in range(60):
        x = int(rng.integers(0, max(1, W - bw)))
        y = int(rng.integers(0, max(1, H - bh)))
        under = alpha[y : y + bh, x : x + bw] > 128
        share = under.mean() if under.size else 0.0
        score = abs(share - 0.4) if across else share
        if best_score is None or score < best_score:
            best, best_score = (x, y), score
    x, y = best
    colour = _colour(rng)
    if badge:
        shape = BADGES[int(rng.integers(len(BADGES)))]
        fill = colour
        cx, cy, r = x + bw / 2, y + bh / 2, max(bw, bh) / 2
        if shape == "circle":
            draw.ellipse([cx - r * 1.05, cy - r * 1.05, cx + r * 1.05, cy + r * 1.05], fill=fill)
        elif shape in ("star", "burst"):
            draw.polygon(_star(cx, cy, r * 1.35, 5 if shape == "star" else 14, 0.62 if shape == "star" else 0.8), fill=fill)
        elif shape == "ribbon":
            n = bh * 0.4
            draw.polygon([(x - n, y), (x + bw + n, y), (x + bw, y + bh / 2), (x + bw + n, y + bh), (x - n, y + bh), (x, y + bh / 2)], fill=fill)
        else:
            draw.rounded_rectangle([x - pad / 2, y, x + bw + pad / 2, y + bh], radius=bh / 3, fill=fill)
        grey = 0.299 * fill[0] + 0.587 * fill[1] + 0.114 * fill[2]
        ink = (255, 255, 255) if grey < 150 else (20, 20, 20)
        tx, ty = cx - tw / 2 - x0, cy - th / 2 - y0
    else:
        ink = colour
        tx, ty = x - x0, y - y0
        shape = "text"
    stroke = int(rng.integers(0, 3)) if not badge and rng.random() < 0.3 else 0
    draw.text((tx, ty), text, font=f, fill=ink, stroke_width=stroke, stroke_fill=(255, 255, 255))
    canvas[:] = np.asarray(image)
    return {"text": text, "badge": shape, "box": [x, y, x + bw, y + bh], "across": across}


def _watermark(rng: np.random.Generator, canvas: np.ndarray) -> dict:
    H, W = canvas.shape[:2]
    text = WATERMARKS[int(rng.integers(len(WATERMARKS)))]
    zh = any(ord(c) > 0x2E80 for c in text)
    mode = ("centred", "diagonal", "tiled")[int(rng.integers(3))]
    opacity = float(rng.uniform(0.10, 0.40))
    tone = rng.random()
    ink = (0, 0, 0) if tone < 0.5 else (110, 110, 110) if tone < 0.85 else (255, 255, 255)
    size = int((rng.uniform(0.08, 0.14) if mode != "tiled" else rng.uniform(0.035, 0.06)) * W)
    f = font(rng, size, cjk=zh)
    layer = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(layer)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
    tw, th = x1 - x0, y1 - y0
    angle = 0.0 if mode == "centred" else float(rng.uniform(20, 45) * rng.choice([-1, 1]))
    if mode == "tiled":
        step_x, step_y = int(tw * rng.uniform(1.4, 2.0)), int(th * rng.uniform(3.0, 5.0))
        for row, y in enumerate(range(-H // 2, int(H * 1.5), step_y)):
            for x in range(-W // 2 + (row % 2) * step_x // 2, int(W * 1.5), step_x):
                draw.text((x - x0, y - y0), text, font=f, fill=255)
    else:
        draw.text(((W - tw) / 2 - x0 + rng.uniform(-0.1, 0.1) * W, (H - th) / 2 - y0 + rng.uniform(-0.1, 0.1) * H), text, font=f, fill=255)
    if angle:
        layer = layer.rotate(angle, resample=Image.BICUBIC, center=(W / 2, H / 2))
    a = np.asarray(layer, np.float32)[..., None] / 255.0 * opacity
    out = canvas.astype(np.float32)
    if ink == (255, 255, 255):  # white marks carry a dark edge (a drop shadow) so they show on white
        edge = cv2.dilate(np.asarray(layer), np.ones((5, 5), np.uint8)).astype(np.float32)[..., None] / 255.0 * opacity
        out = out * (1 - edge)
    out = out * (1 - a) + np.asarray(ink, np.float32) * a
    canvas[:] = np.clip(out, 0, 255).round().astype(np.uint8)
    return {"text": text, "mode": mode, "opacity": round(opacity, 3), "angle": round(angle, 1)}


def _printed(rng: np.random.Generator, canvas: np.ndarray, alpha: np.ndarray) -> dict | None:
    """Text printed on the product: inside the eroded silhouette, bent and shaded with the surface."""
    H, W = canvas.shape[:2]
    inside = (alpha > 200).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    if dist.max() < 0.04 * W:
        return None
    zh = rng.random() < 0.35
    text = (PRINTED_ZH if zh else PRINTED_EN)[int(rng.integers(len(PRINTED_ZH if zh else PRINTED_EN)))]
    cy, cx = np.unravel_index(int(np.argmax(dist)), dist.shape)
    radius = float(dist[cy, cx])
    size = int(np.clip(rng.uniform(0.25, 0.5) * radius, 0.02 * W, 0.08 * W))
    f = font(rng, size, cjk=zh)
    layer = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(layer)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
    tw, th = x1 - x0, y1 - y0
    if tw > 1.7 * radius:  # shrink to fit the inscribed circle's width
        size = max(int(0.02 * W), int(size * 1.7 * radius / tw))
        f = font(rng, size, cjk=zh)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
        tw, th = x1 - x0, y1 - y0
    draw.text((cx - tw / 2 - x0, cy - th / 2 - y0), text, font=f, fill=255)
    glyphs = np.asarray(layer, np.float32) / 255.0
    # follow the surface: a cylinder-like vertical wave and a slight tilt
    amp = rng.uniform(0.0, 0.25) * th
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    tilt = np.deg2rad(rng.uniform(-8, 8))
    map_y = yy + amp * np.cos(np.clip((xx - cx) / max(tw, 1), -1, 1) * np.pi / 2) - np.tan(tilt) * (xx - cx)
    glyphs = cv2.remap(glyphs, xx, map_y.astype(np.float32), cv2.INTER_LINEAR)
    glyphs *= (dist > 0.15 * radius)  # inside the silhouette
    under = canvas[max(0, cy - th) : cy + th, max(0, cx - tw // 2) : cx + tw // 2].reshape(-1, 3).mean(0)
    light = 0.299 * under[0] + 0.587 * under[1] + 0.114 * under[2]
    ink = np.asarray((15, 15, 15) if light > 128 else (245, 245, 245), np.float32)
    if rng.random() < 0.4:
        ink = np.asarray(_colour(rng), np.float32)
    # shade with the surface: the ink takes the product's lightness variation
    grey = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY).astype(np.float32)
    shade = np.clip(cv2.GaussianBlur(grey, (0, 0), 9) / max(light, 1), 0.7, 1.2)[..., None]
    a = glyphs[..., None] * rng.uniform(0.85, 1.0)
    out = canvas.astype(np.float32) * (1 - a) + np.clip(ink * shade, 0, 255) * a
    canvas[:] = np.clip(out, 0, 255).round().astype(np.uint8)
    return {"text": text}


def make_text_cases(seed: int, n: int, *, part: str = "dev", side: int = 1600) -> list[Case]:
    """``n`` cases (about 30% overlays, 25% watermarks, 45% compliant, half of those with printed text)."""
    rng = np.random.default_rng([seed, 31])
    stamps = cutouts(part)  # type: ignore[arg-type]
    cases: list[Case] = []
    kinds = ["overlay"] * 30 + ["watermark"] * 25 + ["plain"] * 22 + ["printed"] * 23
    for index in range(n):
        kind = kinds[int(rng.integers(len(kinds)))] if n < len(kinds) else kinds[index * len(kinds) // n]
        rgba = stamps[int(rng.integers(len(stamps)))]
        fill = float(rng.uniform(0.6, 0.85) if kind == "overlay" else rng.uniform(0.7, 0.92))
        center = (0.5 + rng.uniform(-0.05, 0.05), 0.5 + rng.uniform(-0.05, 0.05))
        rgb, alpha = compose_on_white(rgba, side=side, fill=fill, center=center)
        notes: dict = {}
        expected: frozenset[str] = frozenset()
        if kind == "overlay":
            notes["overlays"] = [_overlay(rng, rgb, alpha) for _ in range(int(rng.choice([1, 1, 2, 3])))]
            expected = frozenset({"text_overlay"})
        elif kind == "watermark":
            notes["watermark"] = _watermark(rng, rgb)
            expected = frozenset({"watermark"})
        elif kind == "printed":
            printed = _printed(rng, rgb, alpha)
            if printed is None:
                kind = "plain"
            else:
                notes["printed"] = printed
        if rng.random() < 0.5:  # re-encoded as a seller's JPEG
            ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(80, 96))])
            rgb = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
        label = {"overlay": "overlay", "watermark": "watermark", "plain": "compliant/plain", "printed": "compliant/printed"}[kind]
        cases.append(Case(f"text-{seed}-{index:03d}-{kind}", rgb, expected, kind=label, notes=notes))
    return cases
