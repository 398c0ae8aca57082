"""A product photo's attributes: category, colours, size, text, quality and background.

``extract_attributes(item)`` measures everything a listing needs from the pixels:

- category: the classifier's top-1 label and probability (``understand.classify``); None with
  ``category_in_taxonomy`` False when the classifier answers "unknown" (none of its categories);
- colours: dominant colours inside the product mask only, named in Chinese and English, with
  their shares of the product's area (``vision.colors``);
- size: the product's bounding box in pixels, its aspect (width / height), its area and box as
  shares of the frame, and its fill (longest box side / the frame's side, as presets count it);
- text: OCR lines, and the brands, model numbers and prices found in them (``vision.ocr``,
  ``understand.entities``);
- quality: sharpness, exposure, noise, BRISQUE (``understand.quality``);
- background: white / plain / gradient / cluttered / transparent / none, judged on the pixels
  outside the product (a band around the product is left out, so its soft edge does not count).

The product mask is the item's alpha when it has one (an RGBA input or a ``remove_background``
step before), otherwise U²-Net-p's map (``vision.segmentation.segment_product``), or GrabCut when the
model is not installed. Every result also lands in ``item.metadata["attributes"]`` (JSON values).
What could not be measured is named in ``notes`` with the reason; nothing raises for a missing
optional part (OCR, classifier) unless it was asked for explicitly through ``fields``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from ..errors import ModelError, StudioError, UsageError
from ..item import ImageItem
from ..vision.colors import ColorShare, dominant_colors, name_color, rgb_to_lab
from .quality import Quality, assess_quality

ATTRIBUTE_FIELDS = ("category", "colors", "size", "text", "quality", "background")
WORK_SIDE = 1024  # colours and the background are measured at this long side at most
EDGE_BAND = 0.02  # share of the long side left out around the product when judging the background
MIN_BACKGROUND_SHARE = 0.02  # less background than this: kind "none" (the product fills the frame)
PLAIN_SPREAD = 8.0  # 90th percentile Lab distance to the median colour, at most, for "plain"
GRADIENT_SPREAD = 6.0  # ... to a smooth quadratic fit, at most, for "gradient"
WHITE_L = 96.0  # "white": 10th percentile L* at least this ...
WHITE_CHROMA = 4.0  # ... and 90th percentile chroma at most this


@dataclass(frozen=True)
class ProductSize:
    width_px: int
    height_px: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive), in the item's pixels
    aspect: float  # width / height of the box
    area_share: float  # product pixels / frame pixels
    box_share: float  # box area / frame area
    fill: float  # max(box width / frame width, box height / frame height)


@dataclass(frozen=True)
class TextFound:
    lines: list[dict[str, Any]]  # {"text", "box", "confidence"}
    brands: list[str]
    models: list[str]
    prices: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return " ".join(line["text"] for line in self.lines)


@dataclass(frozen=True)
class Background:
    kind: str  # white | plain | gradient | cluttered | transparent | none
    color_en: str | None = None  # the median colour's name, when there is a background
    color_zh: str | None = None
    rgb: tuple[int, int, int] | None = None
    spread: float | None = None  # 90th percentile Lab distance to the median colour
    gradient_residual: float | None = None  # ... to a quadratic fit over the frame
    white_share: float | None = None  # share of background pixels exactly RGB 255,255,255
    share: float | None = None  # background pixels / frame pixels


@dataclass
class Attributes:
    category: str | None = None
    category_prob: float | None = None
    category_top: list[tuple[str, float]] = field(default_factory=list)
    # False: the classifier says "unknown" (none of its categories); then category is None and
    # category_top lists the nearest categories only for information. None: not classified.
    category_in_taxonomy: bool | None = None
    colors: list[ColorShare] = field(default_factory=list)
    size: ProductSize | None = None
    text: TextFound | None = None
    quality: Quality | None = None
    background: Background | None = None
    mask_source: str = "none"
    notes: list[str] = field(default_factory=list)

    def summary_facts(self, *, max_text_lines: int = 4) -> list[str]:
        """One short human-readable phrase per measured attribute, in a fixed order, e.g.
        ``["category Sneaker (97%)", "colours red/红色 61%", "background white", ...]``."""
        facts: list[str] = []
        if self.category:
            facts.append(f"category {self.category} ({(self.category_prob or 0.0):.0%})")
        elif self.category_in_taxonomy is False:
            facts.append("category unknown (none of the classifier's categories)")
        if self.colors:
            facts.append("colours " + ", ".join(f"{c.en}/{c.zh} {c.share:.0%}" for c in self.colors))
        if self.background:
            facts.append(f"background {self.background.kind}")
        if self.size:
            facts.append(f"product fill {self.size.fill:.0%}")
        if self.quality:
            q = self.quality
            brisque = f", BRISQUE {q.brisque:.1f}" if q.brisque is not None else ""
            facts.append(f"sharpness {q.sharpness_score:.2f}, noise σ {q.noise_sigma:.1f}{brisque}")
        if self.text and self.text.lines and max_text_lines > 0:
            facts.append("text read: " + " / ".join(line["text"] for line in self.text.lines[:max_text_lines]))
        return facts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists, not tuples; nested dataclasses as dicts)."""
        out: dict[str, Any] = {
            "category": self.category,
            "category_prob": self.category_prob,
            "category_top": [[label, prob] for label, prob in self.category_top],
            "category_in_taxonomy": self.category_in_taxonomy,
            "colors": [c.to_dict() for c in self.colors],
            "size": asdict(self.size) if self.size else None,
            "text": asdict(self.text) if self.text else None,
            "quality": self.quality.to_dict() if self.quality else None,
            "background": asdict(self.background) if self.background else None,
            "mask_source": self.mask_source,
            "notes": list(self.notes),
        }
        return _jsonable(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attributes:
        """The inverse of ``to_dict`` for the parts a listing needs (quality stays a dict-free None)."""
        text = data.get("text")
        size = data.get("size")
        bg = data.get("background")
        return cls(
            category=data.get("category"),
            category_prob=data.get("category_prob"),
            category_top=[(str(a), float(b)) for a, b in data.get("category_top") or []],
            category_in_taxonomy=data.get("category_in_taxonomy"),
            colors=[
                ColorShare(**{**c, "rgb": tuple(c["rgb"])}) for c in data.get("colors") or []  # type: ignore[arg-type]
            ],
            size=ProductSize(**{**size, "box": tuple(size["box"])}) if size else None,
            text=TextFound(**text) if text else None,
            background=Background(**{**bg, "rgb": tuple(bg["rgb"]) if bg.get("rgb") else None}) if bg else None,
            mask_source=data.get("mask_source", "none"),
            notes=list(data.get("notes") or []),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump())
    if hasattr(value, "_asdict"):
        return _jsonable(value._asdict())
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# ----------------------------------------------------------------------------------------------
# the product mask


def product_mask(item: ImageItem, *, segment: str = "auto") -> tuple[np.ndarray | None, str, list[str]]:
    """(mask HxW uint8 or None, where it came from, notes).

    segment: "auto" (the item's alpha, else U²-Net-p, else GrabCut), "u2netp", "grabcut", or
    "none" (no mask: everything is measured on the whole frame).
    """
    notes: list[str] = []
    if segment not in ("auto", "u2netp", "grabcut", "none"):
        raise UsageError(f"unknown segment method '{segment}'; choose auto, u2netp, grabcut or none")
    if item.alpha is not None and int(item.alpha.min()) < 255:
        return item.alpha, "alpha", notes
    if segment == "none":
        return None, "none", notes
    from ..vision.segmentation import segment_product

    mask = None
    source = segment
    if segment in ("auto", "u2netp"):
        try:
            mask = segment_product(item.pixels, method="u2netp", refine=False)
            source = "u2netp"
        except ModelError as exc:
            if segment == "u2netp":
                raise
            notes.append(f"U2-Net-p unavailable ({exc.message}); GrabCut used for the product mask")
    if mask is None:
        mask = segment_product(item.pixels, method="grabcut", refine=False)
        source = "grabcut"
    if int((mask >= 128).sum()) < 16:
        notes.append(f"no product found by {source}; colours and size are measured on the whole frame")
        return None, "none", notes
    return np.where(mask >= 128, 255, 0).astype(np.uint8), source, notes


def _work(pixels: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    h, w = pixels.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    if scale >= 1.0:
        return pixels, mask
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    small_mask = None if mask is None else cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return small, small_mask


# ----------------------------------------------------------------------------------------------
# the parts


def measure_size(mask: np.ndarray | None, shape: tuple[int, int]) -> ProductSize:
    """The product's box and shares of the frame (the whole frame when there is no mask)."""
    h, w = shape
    if mask is None:
        return ProductSize(w, h, (0, 0, w, h), round(w / h, 4), 1.0, 1.0, 1.0)
    on = mask >= 128
    rows = np.flatnonzero(on.any(axis=1))
    cols = np.flatnonzero(on.any(axis=0))
    if len(rows) == 0:
        return ProductSize(0, 0, (0, 0, 0, 0), 0.0, 0.0, 0.0, 0.0)
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    bw, bh = x1 - x0, y1 - y0
    return ProductSize(
        width_px=bw,
        height_px=bh,
        box=(x0, y0, x1, y1),
        aspect=round(bw / bh, 4),
        area_share=round(float(on.mean()), 4),
        box_share=round(bw * bh / (w * h), 4),
        fill=round(max(bw / w, bh / h), 4),
    )


def classify_background(pixels: np.ndarray, mask: np.ndarray | None, *, transparent: bool = False) -> Background:
    """What is behind the product, judged on the pixels outside the mask (minus a band around it).

    transparent: the item's alpha came with the file (an RGBA cut-out): kind "transparent".
    """
    if transparent:
        return Background(kind="transparent")
    h, w = pixels.shape[:2]
    if mask is None:
        outside = np.ones((h, w), bool)
        # no mask: judge the frame's border strip (8% of the short side), where a background shows
        b = max(2, round(0.08 * min(h, w)))
        outside[b:-b, b:-b] = False
    else:
        band = max(1, round(EDGE_BAND * max(h, w)))
        grown = cv2.dilate((mask >= 128).astype(np.uint8), np.ones((2 * band + 1, 2 * band + 1), np.uint8))
        outside = grown == 0
    share = float(outside.mean()) if mask is not None else None
    if outside.sum() < max(32, MIN_BACKGROUND_SHARE * h * w):
        return Background(kind="none", share=share)
    ys, xs = np.nonzero(outside)
    if len(ys) > 40_000:
        pick = np.random.default_rng(0).choice(len(ys), 40_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    rgb = pixels[ys, xs]
    lab = rgb_to_lab(rgb).astype(np.float64)
    median = np.median(lab, axis=0)
    spread = float(np.percentile(np.linalg.norm(lab - median, axis=1), 90))
    white_share = float(np.all(rgb == 255, axis=1).mean())
    median_rgb = tuple(int(v) for v in np.median(rgb, axis=0))
    named = name_color(np.array(median_rgb))
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    common = {
        "color_en": named.en,
        "color_zh": named.zh,
        "rgb": median_rgb,
        "spread": round(spread, 2),
        "white_share": round(white_share, 4),
        "share": None if share is None else round(share, 4),
    }
    if np.percentile(lab[:, 0], 10) >= WHITE_L and np.percentile(chroma, 90) <= WHITE_CHROMA:
        return Background(kind="white", **common)
    if spread <= PLAIN_SPREAD:
        return Background(kind="plain", **common)
    # a smooth quadratic surface over the frame explains a gradient (studio sweep, vignetting)
    u, v = xs / max(1, w - 1) - 0.5, ys / max(1, h - 1) - 0.5
    design = np.stack([np.ones_like(u), u, v, u * u, v * v, u * v], axis=1)
    coef, *_ = np.linalg.lstsq(design, lab, rcond=None)
    residual = float(np.percentile(np.linalg.norm(lab - design @ coef, axis=1), 90))
    kind = "gradient" if residual <= GRADIENT_SPREAD else "cluttered"
    return Background(kind=kind, gradient_residual=round(residual, 2), **common)


def _read_text(item: ImageItem, notes: list[str], *, required: bool) -> TextFound | None:
    try:
        from .entities import extract_entities
        from ..vision.ocr import read_text
    except ImportError as exc:
        if required:
            raise ModelError(f"OCR is not available ({exc}); install the OCR extra") from None
        notes.append(f"text: OCR not available ({exc})")
        return None
    try:
        lines = read_text(item.pixels)
        entities = extract_entities(lines)
    except StudioError as exc:
        if required:
            raise
        notes.append(f"text: OCR failed ({exc.message})")
        return None
    return TextFound(
        lines=[
            {
                "text": str(getattr(line, "text", line)),
                "box": _jsonable(getattr(line, "box", None)),
                "confidence": _jsonable(getattr(line, "confidence", None)),
            }
            for line in lines
        ],
        brands=[_entity_name(b) for b in getattr(entities, "brands", []) or []],
        models=[_entity_name(m) for m in getattr(entities, "models", []) or []],
        prices=[_price(p) for p in getattr(entities, "prices", []) or []],
    )


def _entity_name(entity: Any) -> str:
    if isinstance(entity, str):
        return entity
    for attr in ("name", "brand", "canonical", "model", "value", "text"):
        value = getattr(entity, attr, None)
        if isinstance(value, str) and value:
            return value
    return str(entity)


def _price(price: Any) -> dict[str, Any]:
    data = _jsonable(price)
    return data if isinstance(data, dict) else {"text": str(price)}


def _classify(item: ImageItem, mask: np.ndarray | None, notes: list[str], *, required: bool) -> Any:
    """The classifier's answer (``classify.Classification``), or None when it could not run."""
    try:
        from .classify import classify_product
    except ImportError as exc:
        if required:
            raise ModelError(f"the classifier is not available ({exc})") from None
        notes.append(f"category: classifier not available ({exc})")
        return None
    try:
        if mask is not None and item.alpha is None:
            item = item.replace(alpha=mask)  # the mask already found: no second segmentation
        return classify_product(item, top_k=3)
    except StudioError as exc:
        if required:
            raise
        notes.append(f"category: classifier failed ({exc.message})")
        return None


def extract_attributes(
    item: ImageItem,
    *,
    fields: Iterable[str] | None = None,
    segment: str = "auto",
    with_brisque: bool = True,
) -> Attributes:
    """Measure the product's attributes; the result is also stored in ``item.metadata["attributes"]``.

    fields: which of ``ATTRIBUTE_FIELDS`` to measure (default: all). When a field is asked for
        explicitly, a missing optional component (classifier, OCR) raises ModelError; with the
        default, it is skipped and named in ``notes``.
    segment: how the product mask is found when the item has no alpha (see ``product_mask``).

    >>> attrs = extract_attributes(load_image("shoe.jpg"))        # doctest: +SKIP
    >>> attrs.colors[0].zh, attrs.category
    ('红色', 'Sneaker')
    """
    if not isinstance(item, ImageItem):
        raise UsageError(f"extract_attributes takes an ImageItem (from load_image); got {type(item).__name__}")
    explicit = fields is not None
    wanted = tuple(ATTRIBUTE_FIELDS if fields is None else fields)
    unknown = sorted(set(wanted) - set(ATTRIBUTE_FIELDS))
    if unknown:
        raise UsageError(f"unknown attribute field(s) {', '.join(unknown)}; fields are {', '.join(ATTRIBUTE_FIELDS)}")
    attrs = Attributes()
    needs_mask = {"category", "colors", "size", "quality", "background"} & set(wanted)
    mask = None
    if needs_mask:
        mask, attrs.mask_source, notes = product_mask(item, segment=segment)
        attrs.notes += notes
    transparent = attrs.mask_source == "alpha" and str(item.metadata.get("alpha_source", "input")).startswith("input")
    small, small_mask = _work(item.pixels, mask)
    if "category" in wanted:
        found = _classify(item, mask, attrs.notes, required=explicit)
        if found is not None:
            attrs.category_top = [(str(label), round(float(prob), 4)) for label, prob in found.top_k]
            attrs.category_in_taxonomy = found.in_taxonomy
            if found.in_taxonomy:
                attrs.category, attrs.category_prob = attrs.category_top[0]
            else:  # "unknown": no category, never a title word; the nearest ones stay in category_top
                attrs.notes.append(f"category: unknown, {found.note}")
    if "colors" in wanted:
        attrs.colors = dominant_colors(small, small_mask)
        if not attrs.colors:
            attrs.notes.append("colors: too few product pixels to measure")
    if "size" in wanted:
        attrs.size = measure_size(mask, item.pixels.shape[:2])
    if "text" in wanted:
        attrs.text = _read_text(item, attrs.notes, required=explicit)
    if "quality" in wanted:
        pixels = item.pixels
        if transparent and mask is not None:
            # what lies under a transparent background is arbitrary: judge the product on white
            from ..vision.matting import composite_over

            pixels = composite_over(item.pixels, item.alpha, np.full_like(item.pixels, 255))
        attrs.quality = assess_quality(pixels, mask, with_brisque=with_brisque)
    if "background" in wanted:
        attrs.background = classify_background(small, small_mask, transparent=transparent)
    item.metadata["attributes"] = attrs.to_dict()
    return attrs
