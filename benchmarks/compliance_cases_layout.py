"""Layout cases for ``compliance_detection.py``: borders, collages, several items, and compliant shots
that look like them.

Every case is composed from ``compliance_sources`` (product cut-outs and photographs, split into
``part="dev"`` and ``part="held_out"``) at ``side`` px (its longer side):

- ``border``: a product shot on white (3 in 4) or a photograph (1 in 4) with a solid frame (0.4-5% of
  the side, all four edges or one pair), a thin inset line (1-4 px, 1-6% in), a double line, a frame
  with a line inside it, or a coloured band along one edge (5-14%); colours from dark to light grey
  and brand colours, never white on white (invisible). A white frame is drawn only around photographs;
- ``collage``: 2x2, 1x3, 3x1, 1x2 or 2x1 panels (different products, or one product flipped and
  rescaled as other views) separated by gutters (0.4-3% of the side, grey, dark or coloured; white
  only between panels that have a background of their own: photographs or a light studio tint) or
  by divider lines (1-3 px) between white panels. One in seven has a coloured outer margin in the
  gutter's colour: that case is a border too;
- ``multiple_items``: two to four different cut-outs on white, apart from each other, each at least
  half the size of the largest (a side by side row, or scattered), some with contact shadows;
- compliant: a plain shot (fill 0.6-0.92, off centre a little), a box-shaped product (a drawn carton
  with a label and straight edges, 80-92% of the canvas), a product touching or cut by an edge, a
  product with a soft contact or drop shadow, a pair (one cut-out and its mirror image side by side,
  like shoes: counted as ONE item, see ``vision.item_count``), and a product on a photograph.

Half of the cases are re-encoded as a seller's JPEG (quality 80-95). Which rules each case violates
is its ``expected`` set (a frame around a collage: both). Everything is a function of the seed; the
benchmark runs ``part="held_out"`` (cut-outs and photographs no threshold was chosen on) with a seed
other than the one looked at while building.

    cases = make_layout_cases(seed=1, n=80, part="held_out")
"""

from __future__ import annotations

import cv2
import numpy as np

from compliance_sources import Case, compose_on_white, cutouts, paste, photo_crop, photographs, scale_rgba

PALETTE = [(0, 0, 0), (40, 40, 40), (90, 90, 90), (150, 150, 150), (200, 200, 200), (20, 60, 160), (200, 30, 30),
           (0, 120, 70), (230, 160, 0), (120, 40, 140), (180, 140, 90), (0, 150, 200)]
KINDS = ["border"] * 30 + ["collage"] * 25 + ["items"] * 20 + ["compliant"] * 25


def _colour(rng: np.random.Generator, *, light: bool = True) -> tuple[int, int, int]:
    """A border or gutter colour: the palette, or a random one; never near white (max channel sum kept visible)."""
    while True:
        c = PALETTE[int(rng.integers(len(PALETTE)))] if rng.random() < 0.7 else tuple(int(v) for v in rng.integers(0, 235, 3))
        if min(c) <= (215 if light else 170):
            return c


def _canvas_size(rng: np.random.Generator, side: int) -> tuple[int, int]:
    """(width, height): square (60%), landscape 4:3 or portrait 3:4."""
    r = rng.random()
    if r < 0.6:
        return side, side
    return (side, round(side * 0.75)) if r < 0.8 else (round(side * 0.75), side)


def _shot(rng: np.random.Generator, stamps, size: tuple[int, int], fill: tuple[float, float] = (0.6, 0.88)) -> np.ndarray:
    w, h = size
    rgba = stamps[int(rng.integers(len(stamps)))]
    center = (0.5 + rng.uniform(-0.04, 0.04), 0.5 + rng.uniform(-0.04, 0.04))
    rgb, _ = compose_on_white(rgba, side=max(w, h), fill=float(rng.uniform(*fill)), aspect=w / h, center=center)
    return rgb


def _photo(rng: np.random.Generator, photos, size: tuple[int, int]) -> np.ndarray:
    return photo_crop(rng, photos[int(rng.integers(len(photos)))], size)


def _product_on_photo(rng: np.random.Generator, stamps, photos, size: tuple[int, int]) -> np.ndarray:
    img = _photo(rng, photos, size)
    w, h = size
    rgba = scale_rgba(stamps[int(rng.integers(len(stamps)))], round(min(w, h) * rng.uniform(0.5, 0.8)))
    ph, pw = rgba.shape[:2]
    paste(img, np.zeros(img.shape[:2], np.uint8), rgba, ((w - pw) // 2, (h - ph) // 2))
    return img


# ---------------------------------------------------------------------------------------------
# borders


def _border(rng: np.random.Generator, img: np.ndarray, on_photo: bool) -> tuple[np.ndarray, str]:
    h, w = img.shape[:2]
    s = min(h, w)
    style = ["frame", "frame", "line", "line", "double", "frame+line", "band"][int(rng.integers(7))]
    colour = _colour(rng)
    if style == "frame":
        d = max(2, round(s * rng.uniform(0.004, 0.05)))
        if on_photo and rng.random() < 0.3:
            colour = (255, 255, 255)  # a white mat around a photograph
        pair = rng.random()
        if pair < 0.8 or colour == (255, 255, 255):
            img[:d], img[-d:], img[:, :d], img[:, -d:] = colour, colour, colour, colour
            return img, "border/frame"
        if pair < 0.9:
            img[:d], img[-d:] = colour, colour
        else:
            img[:, :d], img[:, -d:] = colour, colour
        return img, "border/frame-pair"
    if style in ("line", "double"):
        inset = round(s * rng.uniform(0.01, 0.06))
        t = int(rng.integers(1, 5))
        aa = cv2.LINE_AA if rng.random() < 0.5 else cv2.LINE_8
        cv2.rectangle(img, (inset, inset), (w - 1 - inset, h - 1 - inset), colour, t, aa)
        if style == "double":
            g = inset + t + int(rng.integers(3, 13))
            cv2.rectangle(img, (g, g), (w - 1 - g, h - 1 - g), colour, max(1, t - 1), aa)
        return img, f"border/{style}"
    if style == "frame+line":
        d = max(3, round(s * rng.uniform(0.01, 0.04)))
        img[:d], img[-d:], img[:, :d], img[:, -d:] = colour, colour, colour, colour
        g = d + int(rng.integers(4, 16))
        cv2.rectangle(img, (g, g), (w - 1 - g, h - 1 - g), _colour(rng), int(rng.integers(1, 4)))
        return img, "border/frame+line"
    band = round(s * rng.uniform(0.05, 0.14))
    edge = ["top", "bottom", "bottom", "left"][int(rng.integers(4))]
    if edge == "top":
        img[:band] = colour
    elif edge == "bottom":
        img[-band:] = colour
    else:
        img[:, :band] = colour
    return img, "border/band"


# ---------------------------------------------------------------------------------------------
# collages


def _panel(rng: np.random.Generator, stamps, photos, size: tuple[int, int], background: str, views: np.ndarray | None) -> np.ndarray:
    w, h = size
    if background == "photo":
        return _photo(rng, photos, size) if rng.random() < 0.5 else _product_on_photo(rng, stamps, photos, size)
    rgba = views if views is not None else stamps[int(rng.integers(len(stamps)))]
    if views is not None:  # another view of the same product: mirrored and rescaled
        rgba = rgba[:, ::-1].copy() if rng.random() < 0.5 else rgba
    fill = float(rng.uniform(0.55, 0.85))
    rgb, alpha = compose_on_white(rgba, side=max(w, h), fill=fill, aspect=w / h)
    if background == "studio":  # a light tint of its own behind the product
        tint = np.array([int(v) for v in rng.integers(215, 240, 3)], np.float32)
        a = alpha[..., None].astype(np.float32) / 255.0
        rgb = (rgb * a + tint * (1 - a)).round().astype(np.uint8)
    return rgb


def _collage(rng: np.random.Generator, stamps, photos, side: int) -> tuple[np.ndarray, str, bool]:
    rows, cols = [(2, 2), (2, 2), (1, 3), (3, 1), (1, 2), (2, 1)][int(rng.integers(6))]
    W = H = side
    background = ["white", "white", "studio", "photo"][int(rng.integers(4))]
    lines = background == "white" and rng.random() < 0.5
    if lines:
        gutter, colour = int(rng.integers(1, 4)), _colour(rng, light=False)
    else:
        gutter = max(2, round(side * rng.uniform(0.004, 0.03)))
        colour = (255, 255, 255) if background != "white" and rng.random() < 0.4 else _colour(rng)
    margin = gutter if (not lines and colour != (255, 255, 255) and rng.random() < 1 / 7) else 0
    img = np.empty((H, W, 3), np.uint8)
    img[:] = colour
    views = stamps[int(rng.integers(len(stamps)))] if rng.random() < 0.5 else None
    inner_w, inner_h = W - 2 * margin - (cols - 1) * gutter, H - 2 * margin - (rows - 1) * gutter
    xs = [margin + round(c * inner_w / cols) + c * gutter for c in range(cols + 1)]
    ys = [margin + round(r * inner_h / rows) + r * gutter for r in range(rows + 1)]
    for r in range(rows):
        for c in range(cols):
            x0, x1 = xs[c], xs[c + 1] - gutter if c + 1 < cols else W - margin
            y0, y1 = ys[r], ys[r + 1] - gutter if r + 1 < rows else H - margin
            panel = _panel(rng, stamps, photos, (x1 - x0, y1 - y0), background, views)
            if panel.shape[:2] != (y1 - y0, x1 - x0):  # compose_on_white rounds the aspect
                panel = cv2.resize(panel, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
            img[y0:y1, x0:x1] = panel
    kind = f"collage/{rows}x{cols}/{'line' if lines else 'gutter'}/{background}"
    return img, kind, bool(margin)


# ---------------------------------------------------------------------------------------------
# several items, and shots with one


def _shadow(rng: np.random.Generator, img: np.ndarray, box: tuple[int, int, int, int], *, drop: bool = False,
            alpha: np.ndarray | None = None) -> None:
    """A soft contact shadow under ``box`` (x0, y0, x1, y1), or a drop shadow of ``alpha`` offset down-right."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    shade = np.zeros((h, w), np.float32)
    if drop and alpha is not None:
        dx, dy = int(rng.integers(8, 30)), int(rng.integers(8, 30))
        shade[dy:, dx:] = alpha[: h - dy, : w - dx].astype(np.float32) / 255.0
        shade = cv2.GaussianBlur(shade, (0, 0), rng.uniform(6, 16))
        shade *= np.where(alpha > 0, 0.0, 1.0).astype(np.float32)
    else:
        cx, cy = (x0 + x1) // 2, min(h - 4, y1 + int(rng.integers(-4, 20)))
        cv2.ellipse(shade, (cx, cy), (max(4, int((x1 - x0) * rng.uniform(0.35, 0.6))), max(3, int(h * rng.uniform(0.01, 0.03)))),
                    0, 0, 360, 1.0, -1)
        shade = cv2.GaussianBlur(shade, (0, 0), rng.uniform(5, 14))
    strength = rng.uniform(0.15, 0.35)
    img[:] = (img.astype(np.float32) * (1 - strength * shade[..., None])).round().astype(np.uint8)


def _items(rng: np.random.Generator, stamps, side: int) -> tuple[np.ndarray, str]:
    k = int(rng.integers(2, 5))
    W, H = (side, side) if rng.random() < 0.6 else (side, round(side * 0.75))
    picks = rng.choice(len(stamps), size=k, replace=False)
    gap = round(0.03 * max(W, H))
    row = rng.random() < 0.5
    img = np.full((H, W, 3), 255, np.uint8)
    alpha = np.zeros((H, W), np.uint8)
    base = (W - (k + 1) * gap) / k if row else min(W, H) * {2: 0.45, 3: 0.4, 4: 0.36}[k]
    placed: list[tuple[int, int, int, int]] = []
    for i, p in enumerate(picks):
        longest = max(16, round(min(base, H * 0.85) * rng.uniform(0.6, 1.0)))
        rgba = scale_rgba(stamps[int(p)], longest)
        ph, pw = rgba.shape[:2]
        for _ in range(200):
            if row:
                x = gap + round(i * (W - gap) / k) + int(rng.integers(0, max(1, round((W - gap) / k) - pw - gap + 1)))
                y = int(rng.integers(max(1, (H - ph) // 4), max(2, H - ph - (H - ph) // 4 + 1))) if H > ph else 0
            else:
                x, y = int(rng.integers(0, max(1, W - pw))), int(rng.integers(0, max(1, H - ph)))
            box = (x, y, x + pw, y + ph)
            if all(box[2] + gap <= b[0] or b[2] + gap <= box[0] or box[3] + gap <= b[1] or b[3] + gap <= box[1] for b in placed):
                break
        else:
            continue
        placed.append(box)
        paste(img, alpha, rgba, (x, y))
    if len(placed) < 2:
        return _items(rng, stamps, side)
    if rng.random() < 0.3:
        for b in placed:
            _shadow(rng, img, b)
    return img, f"items/{len(placed)}"


def _carton(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A box-shaped product: a carton's front and top faces with straight edges and a printed label."""
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    share = rng.uniform(0.8, 0.92)
    bw = round(w * share * rng.uniform(0.6, 1.0))
    bh = round(h * share * rng.uniform(0.6, 1.0))
    x0, y0 = (w - bw) // 2, (h - bh) // 2
    face = np.array(_colour(rng), np.float32)
    top = round(bh * rng.uniform(0.0, 0.18))
    img[y0 + top : y0 + bh, x0 : x0 + bw] = face
    if top:
        pts = np.array([[x0, y0 + top], [x0 + round(bw * 0.08), y0], [x0 + bw, y0], [x0 + bw, y0 + top - 1]], np.int32)
        cv2.fillPoly(img, [pts], tuple(int(v) for v in np.clip(face * 1.2 + 20, 0, 255)))
    lx0, ly0 = x0 + round(bw * 0.15), y0 + top + round((bh - top) * 0.3)
    cv2.rectangle(img, (lx0, ly0), (x0 + round(bw * 0.85), ly0 + round((bh - top) * 0.3)), (245, 245, 240), -1)
    cv2.line(img, (lx0 + 10, ly0 + 20), (x0 + round(bw * 0.7), ly0 + 20), (30, 30, 30), max(2, bw // 80))
    cv2.rectangle(img, (x0, y0 + top), (x0 + bw - 1, y0 + bh - 1), tuple(int(v) for v in face * 0.6), max(1, bw // 300))
    return img


def _compliant(rng: np.random.Generator, stamps, photos, side: int) -> tuple[np.ndarray, str]:
    style = ["plain", "plain", "box", "edge", "shadow", "pair", "photo"][int(rng.integers(7))]
    size = _canvas_size(rng, side)
    w, h = size
    if style == "plain":
        return _shot(rng, stamps, size, (0.6, 0.92)), "compliant/plain"
    if style == "box":
        return _carton(rng, size), "compliant/box"
    if style == "edge":
        rgba = stamps[int(rng.integers(len(stamps)))]
        if rng.random() < 0.5:  # touching both sides: fill 1.0
            rgb, _ = compose_on_white(rgba, side=max(w, h), fill=1.0, aspect=w / h)
        else:  # cut by one edge
            cx, cy = [(0.5, 0.42), (0.5, 0.58), (0.42, 0.5), (0.58, 0.5)][int(rng.integers(4))]
            rgb, _ = compose_on_white(rgba, side=max(w, h), fill=float(rng.uniform(0.85, 0.98)), aspect=w / h, center=(cx, cy))
        return rgb, "compliant/edge"
    if style == "shadow":
        rgba = stamps[int(rng.integers(len(stamps)))]
        rgb, alpha = compose_on_white(rgba, side=max(w, h), fill=float(rng.uniform(0.6, 0.8)), aspect=w / h, center=(0.5, 0.46))
        ys, xs = np.nonzero(alpha > 8)
        _shadow(rng, rgb, (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())), drop=rng.random() < 0.4, alpha=alpha)
        return rgb, "compliant/shadow"
    if style == "pair":
        rgba = stamps[int(rng.integers(len(stamps)))]
        one = scale_rgba(rgba, round(min(w, h) * rng.uniform(0.35, 0.45)))
        img = np.full((h, w, 3), 255, np.uint8)
        alpha = np.zeros((h, w), np.uint8)
        ph, pw = one.shape[:2]
        gap = round(w * rng.uniform(0.02, 0.06))
        x = max(0, (w - 2 * pw - gap) // 2)
        y = (h - ph) // 2
        paste(img, alpha, one, (x, y))
        paste(img, alpha, one[:, ::-1].copy(), (x + pw + gap, y + int(rng.integers(-ph // 10, ph // 10 + 1))))
        return img, "compliant/pair"
    return _product_on_photo(rng, stamps, photos, size), "compliant/photo"


def make_layout_cases(seed: int, n: int, *, part: str = "dev", side: int = 1600) -> list[Case]:
    """``n`` cases: about 30% borders, 25% collages, 20% several items, 25% compliant (see the module docstring)."""
    rng = np.random.default_rng([seed, 7])
    stamps = cutouts(part)  # type: ignore[arg-type]
    photos = photographs(part)  # type: ignore[arg-type]
    cases: list[Case] = []
    for index in range(n):
        kind = KINDS[int(rng.integers(len(KINDS)))] if n < len(KINDS) else KINDS[index * len(KINDS) // n]
        expected: set[str] = set()
        if kind == "border":
            on_photo = rng.random() < 0.25
            size = _canvas_size(rng, side)
            base = _photo(rng, photos, size) if on_photo else _shot(rng, stamps, size, (0.55, 0.8))
            rgb, label = _border(rng, base, on_photo)
            expected.add("border")
        elif kind == "collage":
            rgb, label, margin = _collage(rng, stamps, photos, side)
            expected.add("collage")
            if margin:
                expected.add("border")
        elif kind == "items":
            rgb, label = _items(rng, stamps, side)
            expected.add("multiple_items")
        else:
            rgb, label = _compliant(rng, stamps, photos, side)
        if rng.random() < 0.5:  # re-encoded as a seller's JPEG
            ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(80, 96))])
            rgb = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
        cases.append(Case(f"layout-{seed}-{index:03d}-{label.replace('/', '-')}", np.ascontiguousarray(rgb),
                          frozenset(expected), kind=label))
    return cases
