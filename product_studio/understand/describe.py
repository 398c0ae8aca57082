"""Listing titles and descriptions in Chinese and English, within each marketplace's limits.

``describe(attributes, fields, preset="taobao-main", langs=("zh", "en"))`` drafts, for each
language, a title, Amazon-style bullet points and a description paragraph from what was measured
on the photo (category, colours, text read: brand, model) and what the seller gives (brand,
material, sizes, keywords, gender, season ...; the seller's word wins over the photo's).

How a title is built
--------------------
Every fact becomes a token with an importance (brand, category noun, colour, gender, material,
model, then the seller's keywords in the order given, then season) and a display position
(Chinese: brand, model, season, gender, keywords, material, colour, noun -- the usual
Taobao order that ends on the category word; English: brand, model, gender, season, keywords,
material, noun, then ", Colour" -- Amazon's "brand, line, features, product type, colour").
Tokens are taken most important first; one that would push the title past the limit is
skipped (never cut in the middle of a word) and the next, shorter one may still fit. A word
already in the title is not repeated (English: case-insensitive, plural "s" ignored; Chinese:
jieba segments already present are dropped from a new token). Where the marketplace wants the
brand first it leads the title; otherwise it goes before the noun with a low importance.

Limits (``TITLE_RULES``; sources in each rule)
----------------------------------------------
- Taobao and Tmall: 60 bytes, counted as Taobao counts: a Chinese character (any non-ASCII
  character, full-width punctuation included) is 2 bytes, an ASCII character 1 byte -- so 30
  Chinese characters, or 60 Latin letters. Spaces count.
- Amazon: 200 characters at most; the draft aims at 80 (Amazon's recommendation).
- JD: 90 bytes (45 Chinese characters; secondary sources, not confirmed), counted like Taobao.
- eBay: 80 characters. Google Merchant Center: 150 characters, aims at 70. Shopify: 255
  characters, aims at 70, no brand-first rule (the shop is the brand).
A preset's marketplace picks the rule; an unknown marketplace gets 200 characters, aiming at 80.

Polishing with a language model (optional, off by default)
----------------------------------------------------------
``LLMConfig(url=...)`` sends the draft and the facts to an OpenAI-compatible
``/v1/chat/completions`` endpoint and asks for JSON ``{"title", "bullets", "description"}``.
Whatever comes back is checked again (language, brand first, no repeated words, the title limit
-- truncated at a word boundary, bullet and description lengths); on any failure (network,
HTTP status, timeout, malformed answer) the draft is kept and a warning says why.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, replace
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
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EN_SMALL = {"a", "an", "and", "for", "of", "with", "in", "on", "to", "the", "by", "or"}


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


_TAOBAO_SOURCE = "Taobao seller rules: title at most 60 bytes (30 Chinese characters); Product Studio REFERENCE.md"
TITLE_RULES: dict[str, TitleRule] = {
    "taobao": TitleRule("Taobao", 60, "bytes", None, True, _TAOBAO_SOURCE),
    "tmall": TitleRule("Tmall", 60, "bytes", None, True, _TAOBAO_SOURCE + " (Tmall follows Taobao's limit)"),
    "jd.com": TitleRule(
        "JD.com", 90, "bytes", None, True, "secondary sources: 45 Chinese characters; not confirmed with JD's rules"
    ),
    "amazon": TitleRule(
        "Amazon", 200, "chars", 80, True, "Amazon title requirements: up to 200 characters, about 80 recommended"
    ),
    "ebay": TitleRule("eBay", 80, "chars", None, True, "eBay listing titles: up to 80 characters"),
    "google merchant center": TitleRule(
        "Google Merchant Center", 150, "chars", 70, True, "Google Merchant Center [title]: up to 150 characters"
    ),
    "shopify": TitleRule("Shopify", 255, "chars", 70, False, "Shopify product title field: 255 characters"),
}
DEFAULT_RULE = TitleRule("generic", 200, "chars", 80, True, "Product Studio default")


def title_rule(preset: Any) -> TitleRule:
    """The title rule for a preset (a name, a path, or a Preset): by its marketplace."""
    from ..marketplaces.presets import load_preset

    loaded = load_preset(preset)
    return TITLE_RULES.get(loaded.marketplace.strip().lower(), DEFAULT_RULE)


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
    return {"zh": key} if _CJK.search(key) else {"en": key}


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
            if _CJK.search(alias) and not alias.endswith("!"):
                out[canonical.lower()] = alias
                break
    return out


# ----------------------------------------------------------------------------------------------
# inputs and outputs


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
class Listing:
    lang: str
    preset: str
    marketplace: str
    title: str
    title_length: int
    title_unit: str
    title_limit: int  # what the title was fitted to (the target when the marketplace has one)
    title_max: int  # the marketplace's hard limit
    bullets: list[str]
    description: str
    source: str = "draft"  # draft | llm
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LLMConfig:
    """An OpenAI-compatible chat endpoint: ``url`` (``http://host:port`` or ``.../v1`` or the
    full ``.../v1/chat/completions``), ``model`` and an optional bearer ``api_key``."""

    url: str
    model: str = "gpt-4o-mini"
    api_key: str | None = None
    timeout: float = 30.0
    temperature: float = 0.2

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        if url.endswith("/chat/completions"):
            return url
        if url.endswith("/v1"):
            return url + "/chat/completions"
        return url + "/v1/chat/completions"


# ----------------------------------------------------------------------------------------------
# facts


@dataclass
class _Facts:
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


def _facts(attributes: Attributes | None, fields: ListingFields) -> _Facts:
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
    if brand and not brand_zh and not _CJK.search(brand):
        brand_zh = _brand_aliases().get(brand.lower())
    if fields.category:
        category = translate(fields.category, "categories")
        known = True
    elif attrs.category and (attrs.category_prob or 0) >= MIN_CATEGORY_PROB:
        category = translate(attrs.category, "categories")
        known = True
    else:
        if attrs.category:
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
    return _Facts(
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


# ----------------------------------------------------------------------------------------------
# titles


@dataclass(frozen=True)
class _Token:
    text: str
    priority: int  # lower is kept first
    order: float  # display position
    kind: str


def _zh_words(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(60)
    return [w for w in jieba.lcut(text) if w.strip()]


def _en_key(word: str) -> str:
    w = re.sub(r"[^\w/+-]", "", word.lower().replace("'s", ""))
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def _title_case(text: str) -> str:
    words = text.split()
    out = []
    for i, w in enumerate(words):
        if any(ch.isupper() for ch in w) or any(ch.isdigit() for ch in w):
            out.append(w)
        elif i and w.lower() in _EN_SMALL:
            out.append(w.lower())
        else:
            out.append(w[:1].upper() + w[1:])
    return " ".join(out)


def _tokens(facts: _Facts, lang: str, rule: TitleRule) -> list[_Token]:
    zh = lang == "zh"
    tokens: list[_Token] = []

    def add(text: str | None, priority: int, order: float, kind: str) -> None:
        if text and text.strip():
            tokens.append(_Token(text.strip() if zh else _title_case(text.strip()), priority, order, kind))

    if facts.brand:
        if rule.brand_first:
            add(facts.brand, 0, 0, "brand")
        else:
            add(facts.brand, 25, 55, "brand")
        if zh and facts.brand_zh:
            add(facts.brand_zh, 31, 0.5 if rule.brand_first else 55.5, "brand_alias")
    add(facts.model, 5, 1, "model")
    add(facts.category.get(lang), 1, 70 if zh else 60, "category")
    colour_words = [c[lang] for c in facts.colors if c.get(lang)]
    if colour_words:
        if zh:
            add(colour_words[0], 2, 60, "color")
            if len(colour_words) > 1:
                add(colour_words[1], 27, 60.5, "color")
        else:
            add(colour_words[0], 2, 70, "color")
            if len(colour_words) > 1:
                add(colour_words[1], 27, 70.5, "color")
    if facts.gender:
        add(facts.gender.get(lang), 3, 4 if zh else 2, "gender")
    if facts.material:
        add(facts.material.get(lang), 4, 50, "material")
    for i, kw in enumerate(facts.keywords):
        add(kw.get(lang), 6 + i, 5 + i * 0.01 if zh else 4 + i * 0.01, "keyword")
    if facts.season:
        add(facts.season.get(lang), 30, 3, "season")
    return tokens


def _join(tokens: list[_Token], lang: str) -> str:
    ordered = sorted(tokens, key=lambda t: t.order)
    if lang == "zh":
        out = ""
        for t in ordered:
            if out and out[-1].isascii() and out[-1].isalnum() and t.text[0].isascii() and t.text[0].isalnum():
                out += " "
            out += t.text
        return out
    parts: list[str] = []
    colours = [t.text for t in ordered if t.kind == "color"]
    for t in ordered:
        if t.kind != "color":
            parts.append(t.text)
    text = " ".join(parts)
    if colours:
        text = (text + ", " if text else "") + "/".join(colours)
    return text


def _dedupe(token: _Token, chosen: list[_Token], lang: str) -> _Token | None:
    """The token without the words the title already has; None when nothing new is left."""
    if lang == "zh":
        present = "".join(t.text for t in chosen)
        words = [w for w in _zh_words(token.text) if w.lower() not in present.lower()]
        text = "".join(words)
    else:
        present = {_en_key(w) for t in chosen for w in re.split(r"[\s/]+", t.text)}
        words = [w for w in token.text.split() if _en_key(w) not in present or not _en_key(w)]
        text = " ".join(words)
    if not text.strip() or (lang == "en" and not re.search(r"\w", text)):
        return None
    return replace(token, text=text)


def _cut_to_fit(text: str, limit: int, unit: str, lang: str) -> str:
    """The longest prefix of whole words (jieba words for Chinese) that fits ``limit``."""
    words = _zh_words(text) if lang == "zh" else text.split(" ")
    out = ""
    for w in words:
        candidate = (out + w) if lang == "zh" else (out + " " + w if out else w)
        if title_length(candidate, unit) > limit:
            break
        out = candidate
    if not out:  # a single word longer than the limit: cut by characters
        for ch in text:
            if title_length(out + ch, unit) > limit:
                break
            out += ch
    return out.rstrip(" ,/-")


def build_title(facts: _Facts, lang: str, rule: TitleRule) -> str:
    """The title: tokens by importance, each kept only if it fits, shown in display order."""
    chosen: list[_Token] = []
    for token in sorted(_tokens(facts, lang, rule), key=lambda t: (t.priority, t.order)):
        new = _dedupe(token, chosen, lang)
        if new is None:
            continue
        if title_length(_join(chosen + [new], lang), rule.unit) <= rule.limit:
            chosen.append(new)
        elif not chosen:  # the most important token alone is too long: cut it at a word boundary
            chosen.append(replace(new, text=_cut_to_fit(new.text, rule.limit, rule.unit, lang)))
    return _join(chosen, lang)


def fit_title(title: str, rule: TitleRule, lang: str, *, brand: str | None = None) -> str:
    """Make any title (a language model's, a user's) obey the rule: brand first where wanted, no
    repeated words, within the limit (cut at a word boundary)."""
    text = re.sub(r"\s+", " ", title.replace("\n", " ")).strip()
    if brand and rule.brand_first and not text.lower().startswith(brand.lower()):
        text = re.sub(re.escape(brand), "", text, flags=re.IGNORECASE).strip(" ,-")
        text = f"{brand} {text}" if lang == "en" or brand[-1:].isascii() and text[:1].isascii() else brand + text
    text = _drop_repeats(text, lang)
    if title_length(text, rule.unit) > rule.limit:
        text = _cut_to_fit(text, rule.limit, rule.unit, lang)
    return text


def _drop_repeats(text: str, lang: str) -> str:
    if lang == "zh":
        seen: set[str] = set()
        out = []
        for w in _zh_words(text) if text else []:
            key = w.lower()
            if len(w) >= 2 and key in seen:
                continue
            seen.add(key)
            out.append(w)
        joined = ""
        for w in out:
            if joined and joined[-1].isascii() and joined[-1].isalnum() and w[0].isascii() and w[0].isalnum():
                joined += " "
            joined += w
        return joined
    seen_en: set[str] = set()
    out_en = []
    for w in text.split(" "):
        key = _en_key(w)
        if key and key not in _EN_SMALL and key in seen_en:
            continue
        seen_en.add(key)
        out_en.append(w)
    return " ".join(out_en).replace(" ,", ",")


# ----------------------------------------------------------------------------------------------
# descriptions


def _list_words(words: list[str], lang: str) -> str:
    if lang == "zh":
        return "、".join(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def build_bullets(facts: _Facts, lang: str) -> list[str]:
    """Amazon-style bullet points (English: CAPITALISED lead; Chinese: 【】 lead), at most five."""
    zh = lang == "zh"
    noun = facts.category.get(lang) or facts.category.get("en") or ""
    colours = [c[lang] for c in facts.colors if c.get(lang)]
    bullets: list[str] = []
    brand = facts.brand or ""
    gender = facts.gender.get(lang) if facts.gender else ""
    if zh:
        head = f"{brand}{gender or ''}{noun}".strip()
        first = f"【商品】{head}" + (f"，{'/'.join(colours)}配色，实物拍摄" if colours else "")
    else:
        head = " ".join(x for x in (brand, (gender or "").lower(), noun.lower() if facts.category_known else "item") if x)
        first = f"PRODUCT: {head}" + (f" in {_list_words([c.lower() for c in colours], 'en')}, as pictured" if colours else "")
    bullets.append(first + ("。" if zh else "."))
    if facts.material and facts.material.get(lang):
        m = facts.material[lang]
        bullets.append(f"【材质】{m}材质。" if zh else f"MATERIAL: Made of {m.lower()}.")
    kws = [k[lang] for k in facts.keywords if k.get(lang)]
    if kws:
        bullets.append(f"【特点】{_list_words(kws, 'zh')}。" if zh else f"FEATURES: {_list_words(kws, 'en').capitalize()}.")
    if facts.sizes:
        bullets.append(f"【尺码】{'/'.join(facts.sizes)}可选。" if zh else f"SIZES: Available in {', '.join(facts.sizes)}.")
    if facts.season and facts.season.get(lang):
        s = facts.season[lang]
        bullets.append(f"【季节】适合{s}使用。" if zh else f"SEASON: Made for {s.lower()}.")
    if facts.model:
        bullets.append(f"【型号】{facts.model}。" if zh else f"MODEL: {facts.model}.")
    return [b[:BULLET_MAX_CHARS] for b in bullets[:MAX_BULLETS]]


def build_description(facts: _Facts, lang: str) -> str:
    """One paragraph: what it is, colour, material, features, season, sizes, model."""
    zh = lang == "zh"
    noun = facts.category.get(lang) or ""
    colours = [c[lang] for c in facts.colors if c.get(lang)]
    kws = [k[lang] for k in facts.keywords if k.get(lang)]
    gender = facts.gender.get(lang) if facts.gender else ""
    if zh:
        brand = facts.brand or ""
        if facts.brand_zh:
            brand = f"{facts.brand}（{facts.brand_zh}）" if facts.brand else facts.brand_zh
        s = f"这款{brand}{gender or ''}{noun}"
        if colours:
            s += f"采用{'/'.join(colours)}配色"
        if facts.material and facts.material.get("zh"):
            s += f"，{facts.material['zh']}材质"
        s += "。"
        if kws:
            s += f"{_list_words(kws, 'zh')}。"
        if facts.season and facts.season.get("zh"):
            s += f"适合{facts.season['zh']}使用。"
        if facts.sizes:
            s += f"可选尺码：{'/'.join(facts.sizes)}。"
        if facts.model:
            s += f"型号：{facts.model}。"
        s += "图片为实物拍摄，颜色以实物为准。"
    else:
        thing = noun.lower() if facts.category_known else "item"
        lead = " ".join(x for x in (facts.brand, (gender or "").lower(), thing) if x)
        s = lead[:1].upper() + lead[1:]
        if colours:
            s += f" in {_list_words([c.lower() for c in colours], 'en')}"
        if facts.material and facts.material.get("en"):
            s += f", made of {facts.material['en'].lower()}"
        s += "."
        if kws:
            s += f" {_list_words(kws, 'en').capitalize()}."
        if facts.season and facts.season.get("en"):
            s += f" Made for {facts.season['en'].lower()}."
        if facts.sizes:
            s += f" Available in sizes {', '.join(facts.sizes)}."
        if facts.model:
            s += f" Model: {facts.model}."
        s += " Photographed as sold; colours may vary slightly by screen."
    return s[:DESCRIPTION_MAX_CHARS]


# ----------------------------------------------------------------------------------------------
# the language model (optional)


def _chat(config: LLMConfig, messages: list[dict[str, str]]) -> str:
    body = json.dumps(
        {"model": config.model, "messages": messages, "temperature": config.temperature}, ensure_ascii=False
    ).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    request = urllib.request.Request(config.endpoint, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=config.timeout) as response:
        answer = json.loads(response.read().decode("utf-8"))
    return str(answer["choices"][0]["message"]["content"])


def _parse_json_answer(content: str) -> dict[str, Any]:
    text = content.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        text = fence.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the answer holds no JSON object")
    data = json.loads(text[start : end + 1])
    if not isinstance(data, dict) or not isinstance(data.get("title"), str) or not data["title"].strip():
        raise ValueError("the answer has no 'title' text")
    return data


def polish_with_llm(draft: Listing, facts: _Facts, rule: TitleRule, config: LLMConfig) -> Listing:
    """Ask the endpoint to polish the draft; the checked result, or the draft with a warning."""
    language = "Simplified Chinese" if draft.lang == "zh" else "English"
    unit = "bytes (a Chinese character counts 2, an ASCII character 1)" if rule.unit == "bytes" else "characters"
    system = (
        "You polish e-commerce product listings. Keep every fact, invent none, do not repeat words. "
        'Answer with one JSON object only: {"title": str, "bullets": [str], "description": str}.'
    )
    user = json.dumps(
        {
            "language": language,
            "marketplace": rule.marketplace,
            "title_limit": f"at most {rule.limit} {unit}",
            "brand_first": bool(rule.brand_first and facts.brand),
            "brand": facts.brand,
            "draft": {"title": draft.title, "bullets": draft.bullets, "description": draft.description},
        },
        ensure_ascii=False,
    )
    try:
        data = _parse_json_answer(_chat(config, [{"role": "system", "content": system}, {"role": "user", "content": user}]))
        title = fit_title(str(data["title"]), rule, draft.lang, brand=facts.brand)
        if draft.lang == "zh" and not _CJK.search(title):
            raise ValueError("the Chinese title came back without Chinese text")
        if not title:
            raise ValueError("the title is empty after checking it")
        bullets = data.get("bullets", draft.bullets)
        if not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets):
            raise ValueError("'bullets' is not a list of texts")
        bullets = [b.strip()[:BULLET_MAX_CHARS] for b in bullets if b.strip()][:MAX_BULLETS] or draft.bullets
        description = data.get("description", draft.description)
        if not isinstance(description, str) or not description.strip():
            description = draft.description
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = getattr(exc, "reason", None) or exc
        return replace(draft, warnings=draft.warnings + [f"LLM polishing failed ({reason}); the draft is kept"])
    return replace(
        draft,
        title=title,
        title_length=title_length(title, rule.unit),
        bullets=bullets,
        description=description.strip()[:DESCRIPTION_MAX_CHARS],
        source="llm",
    )


# ----------------------------------------------------------------------------------------------
# entry points


def describe(
    attributes: Attributes | dict[str, Any] | None,
    fields: ListingFields | dict[str, Any] | None = None,
    *,
    preset: Any = "amazon-main",
    langs: tuple[str, ...] | list[str] | str = LANGS,
    llm: LLMConfig | None = None,
) -> dict[str, Listing]:
    """Listings (title, bullets, description) per language for a preset's marketplace.

    attributes: from ``extract_attributes`` (or its ``to_dict()``), or None to use the seller's
    fields alone. fields: ``ListingFields`` or a dict of them. langs: "zh", "en" or both.

    >>> out = describe(None, {"brand": "Nike", "category": "sneakers", "colors": "red"}, preset="taobao-main")
    >>> out["zh"].title, out["en"].title
    ('Nike耐克红色运动鞋', 'Nike Sneakers, Red')
    """
    if isinstance(langs, str):
        langs = tuple(x.strip() for x in langs.split(",") if x.strip())
    bad = [x for x in langs if x not in LANGS]
    if bad or not langs:
        raise UsageError(f"unknown language(s) {', '.join(bad) or '(none)'}; choose from {', '.join(LANGS)}")
    if isinstance(attributes, dict):
        attributes = Attributes.from_dict(attributes)
    if not isinstance(fields, ListingFields):
        fields = ListingFields.from_dict(fields)
    from ..marketplaces.presets import load_preset

    loaded = load_preset(preset)
    rule = TITLE_RULES.get(loaded.marketplace.strip().lower(), DEFAULT_RULE)
    facts = _facts(attributes, fields)
    out: dict[str, Listing] = {}
    for lang in langs:
        title = build_title(facts, lang, rule)
        listing = Listing(
            lang=lang,
            preset=loaded.name,
            marketplace=rule.marketplace,
            title=title,
            title_length=title_length(title, rule.unit),
            title_unit=rule.unit,
            title_limit=rule.limit,
            title_max=rule.max_length,
            bullets=build_bullets(facts, lang),
            description=build_description(facts, lang),
            warnings=list(facts.warnings),
        )
        if llm is not None:
            listing = polish_with_llm(listing, facts, rule, llm)
        out[lang] = listing
    return out


def describe_item(item: Any, fields: ListingFields | dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Listing]:
    """``extract_attributes`` then ``describe``; the listings also go into ``item.metadata["listings"]``."""
    from .attributes import extract_attributes

    attrs = extract_attributes(item)
    listings = describe(attrs, fields, **kwargs)
    item.metadata["listings"] = {lang: listing.to_dict() for lang, listing in listings.items()}
    return listings
