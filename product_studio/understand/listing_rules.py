"""What a listing may say and within which limits: the title rule, the seller's fields, the facts.

A ``TitleRule`` is a marketplace's title limit. The rules themselves are marketplace knowledge
and live with the marketplace presets (``listing_title:`` in ``marketplaces/presets/*.yaml``;
``Preset.title_rule()``): the caller hands one to ``describe``. Without one, ``DEFAULT_RULE``
applies (200 characters, aiming at 80).

``gather_facts`` turns what was measured on the photo (category, colours, text read: brand,
model) and what the seller gives (``ListingFields``; the seller's word wins over the photo's)
into ``Facts``: every fact in both languages, translated with the shipped bilingual vocabulary
(``product_studio/data/listing_vocab.json``) and the OCR brand list's Chinese aliases.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from ..errors import UsageError
from .attributes import Attributes

LANGS = ("zh", "en")
MIN_CATEGORY_PROB = 0.4  # below this the classifier's label is not put in a title
SECOND_COLOR_SHARE = 0.25  # a second colour is named when it covers at least this share
MAX_BULLETS = 5
BULLET_MAX_CHARS = 250
DESCRIPTION_MAX_CHARS = 2000
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class TitleRule:
    marketplace: str
    max_length: int
    unit: Literal["bytes", "chars"]  # bytes: a non-ASCII character counts 2, ASCII 1 (Taobao's way)
    target: int | None  # the length a draft aims at (a recommendation below the hard limit)
    brand_first: bool
    source: str

    @property
    def limit(self) -> int:
        """The length a title is fitted to: the target when there is one, else the maximum."""
        return self.target or self.max_length


DEFAULT_RULE = TitleRule("generic", 200, "chars", 80, True, "Product Studio default")


def title_length(text: str, unit: str) -> int:
    """Length as the marketplace counts it: "chars", or "bytes" (non-ASCII 2, ASCII 1).

    >>> title_length("耐克Nike 运动鞋", "bytes"), title_length("耐克Nike 运动鞋", "chars")
    (15, 10)
    """
    if unit == "chars":
        return len(text)
    if unit == "bytes":
        return sum(1 if ord(ch) < 128 else 2 for ch in text)
    raise UsageError(f"unknown length unit '{unit}'; use chars or bytes")


# ----------------------------------------------------------------------------------------------
# vocabulary


@functools.cache
def vocabulary() -> dict[str, dict[str, dict[str, str]]]:
    """The bilingual vocabulary shipped in ``product_studio/data/listing_vocab.json``."""
    text = resources.files("product_studio").joinpath("data/listing_vocab.json").read_text(encoding="utf-8")
    data = json.loads(text)
    data.pop("_about", None)
    return data


def translate(word: str, group: str | None = None) -> dict[str, str]:
    """{"en": ..., "zh": ...} for a word in either language; a word the vocabulary does not know
    is kept in its own language only (Chinese text -> zh, otherwise en)."""
    key = word.strip()
    lower = key.lower()
    groups = [group] if group else list(vocabulary())
    for g in groups:
        entries = vocabulary().get(g, {})
        if lower in entries:
            return dict(entries[lower])
        for entry in entries.values():
            if key == entry["zh"] or lower == entry["en"].lower():
                return dict(entry)
    return {"zh": key} if CJK.search(key) else {"en": key}


@functools.cache
def _brand_aliases() -> dict[str, str]:
    """Canonical brand (lower case) -> its Chinese alias, from the OCR brand list when present."""
    try:
        text = resources.files("product_studio").joinpath("data/brands.txt").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        names = [n.strip() for n in line.split("|")]
        canonical = names[0].rstrip("!")
        for alias in names[1:]:
            if CJK.search(alias) and not alias.endswith("!"):
                out[canonical.lower()] = alias
                break
    return out


# ----------------------------------------------------------------------------------------------
# the seller's fields and the facts


@dataclass
class ListingFields:
    """What the seller knows. Every field is optional; lists may be given as "a,b" strings."""

    brand: str | None = None
    brand_zh: str | None = None  # the brand's Chinese name, if it has one (else from the brand list)
    model: str | None = None
    category: str | None = None  # overrides the classifier (English, Chinese or a vocabulary key)
    material: str | None = None
    gender: str | None = None  # women, men, unisex, kids, girls, boys (or 女款 ...)
    season: str | None = None
    sizes: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)  # most important first
    colors: list[str] = field(default_factory=list)  # overrides the measured colours

    def __post_init__(self) -> None:
        for name in ("sizes", "keywords", "colors"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = value.split(",")
            setattr(self, name, [v.strip() for v in value or [] if v and v.strip()])
        for name in ("brand", "brand_zh", "model", "category", "material", "gender", "season"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise UsageError(f"{name} must be text; got {type(value).__name__}")
            setattr(self, name, value.strip() or None if value else None)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ListingFields:
        data = dict(data or {})
        unknown = sorted(set(data) - {f for f in cls.__dataclass_fields__})
        if unknown:
            raise UsageError(f"unknown listing field(s) {', '.join(unknown)}; fields are {', '.join(cls.__dataclass_fields__)}")
        return cls(**data)


@dataclass
class Facts:
    """Every fact a listing may use, in both languages."""

    brand: str | None
    brand_zh: str | None
    model: str | None
    category: dict[str, str]
    category_known: bool
    colors: list[dict[str, str]]
    gender: dict[str, str] | None
    season: dict[str, str] | None
    material: dict[str, str] | None
    keywords: list[dict[str, str]]
    sizes: list[str]
    warnings: list[str]


def _fallback_words(attrs: Attributes) -> str:
    """What a title without a category is made of, in words (for the warning)."""
    parts = []
    if attrs.text and (attrs.text.brands or attrs.text.models):
        parts.append("the brand/model read on the photo (OCR)")
    if attrs.colors:
        parts.append("the measured colours")
    parts.append("your fields")
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def gather_facts(attributes: Attributes | None, fields: ListingFields) -> Facts:
    """The facts of one listing: the seller's fields, else what was measured on the photo."""
    attrs = attributes or Attributes()
    warnings: list[str] = []
    brand = fields.brand
    model = fields.model
    if attrs.text:
        if not brand and attrs.text.brands:
            brand = attrs.text.brands[0]
        if not model and attrs.text.models:
            model = attrs.text.models[0]
    brand_zh = fields.brand_zh
    if brand and not brand_zh and not CJK.search(brand):
        brand_zh = _brand_aliases().get(brand.lower())
    if fields.category:
        category = translate(fields.category, "categories")
        known = True
    elif attrs.category and (attrs.category_prob or 0) >= MIN_CATEGORY_PROB:
        category = translate(attrs.category, "categories")
        known = True
    else:
        if attrs.category_in_taxonomy is False:
            nearest = f" (nearest: {attrs.category_top[0][0]})" if attrs.category_top else ""
            warnings.append(
                f"the classifier does not know this product: it is none of its categories{nearest}, so no category is "
                f"written in the title; the title uses {_fallback_words(attrs)} instead; give --category"
            )
        elif attrs.category:
            warnings.append(
                f"the classifier's guess '{attrs.category}' ({attrs.category_prob:.0%}) is too uncertain for a title; give --category"
            )
        else:
            warnings.append("no category known; give --category for a better title")
        category = {"en": "Item", "zh": "商品"}
        known = False
    if fields.colors:
        colors = [translate(c) for c in fields.colors]
        for c in colors:
            from ..vision.colors import find_color

            named = find_color(c.get("en") or c.get("zh") or "")
            if named:
                c.update(en=named.en, zh=named.zh)
    else:
        colors = [{"en": c.en, "zh": c.zh} for i, c in enumerate(attrs.colors) if i == 0 or c.share >= SECOND_COLOR_SHARE]
        colors = colors[:2]
    return Facts(
        brand=brand,
        brand_zh=brand_zh if brand_zh and brand_zh != brand else None,
        model=model,
        category=category,
        category_known=known,
        colors=colors,
        gender=translate(fields.gender, "genders") if fields.gender else None,
        season=translate(fields.season, "seasons") if fields.season else None,
        material=translate(fields.material, "materials") if fields.material else None,
        keywords=[translate(k, "keywords") for k in fields.keywords],
        sizes=list(fields.sizes),
        warnings=warnings,
    )
