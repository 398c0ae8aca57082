"""The text of a listing: titles, bullet points and a description paragraph, in Chinese and English.

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

Bullet points and the description say the same facts in each language's own phrases
(``_BULLETS``, ``_DESCRIPTION``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .listing_rules import BULLET_MAX_CHARS, DESCRIPTION_MAX_CHARS, MAX_BULLETS, Facts, TitleRule, title_length

_EN_SMALL = {"a", "an", "and", "for", "of", "with", "in", "on", "to", "the", "by", "or"}


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


def _tokens(facts: Facts, lang: str, rule: TitleRule) -> list[_Token]:
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
    colour_order = 60 if zh else 70
    for i, colour in enumerate(colour_words[:2]):
        add(colour, 27 if i else 2, colour_order + 0.5 * i, "color")
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
        return _join_zh([t.text for t in ordered])
    parts: list[str] = []
    colours = [t.text for t in ordered if t.kind == "color"]
    for t in ordered:
        if t.kind != "color":
            parts.append(t.text)
    text = " ".join(parts)
    if colours:
        text = (text + ", " if text else "") + "/".join(colours)
    return text


def _join_zh(words: list[str]) -> str:
    """Chinese words run together, with a space only between two ASCII letters or digits."""
    out = ""
    for w in words:
        if out and out[-1].isascii() and out[-1].isalnum() and w[0].isascii() and w[0].isalnum():
            out += " "
        out += w
    return out


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


def build_title(facts: Facts, lang: str, rule: TitleRule) -> str:
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
        return _join_zh(out)
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
# bullets and descriptions


def _list_words(words: list[str], lang: str) -> str:
    if lang == "zh":
        return "、".join(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# What a bullet point and the description say of each fact after the product itself, per language.
_BULLETS = {
    "zh": {"material": "【材质】{}材质。", "keywords": "【特点】{}。", "sizes": "【尺码】{}可选。", "season": "【季节】适合{}使用。",
           "model": "【型号】{}。"},
    "en": {"material": "MATERIAL: Made of {}.", "keywords": "FEATURES: {}.", "sizes": "SIZES: Available in {}.",
           "season": "SEASON: Made for {}.", "model": "MODEL: {}."},
}
_DESCRIPTION = {
    "zh": {"material": "，{}材质", "keywords": "{}。", "season": "适合{}使用。", "sizes": "可选尺码：{}。", "model": "型号：{}。",
           "end": "图片为实物拍摄，颜色以实物为准。"},
    "en": {"material": ", made of {}", "keywords": " {}.", "season": " Made for {}.", "sizes": " Available in sizes {}.",
           "model": " Model: {}.", "end": " Photographed as sold; colours may vary slightly by screen."},
}


def _fact_words(facts: Facts, lang: str) -> dict[str, str]:
    """The facts after the product itself, worded for ``lang``: only those known in that language."""
    en = lang == "en"
    words: dict[str, str] = {}
    if facts.material and facts.material.get(lang):
        words["material"] = facts.material[lang].lower() if en else facts.material[lang]
    keywords = [k[lang] for k in facts.keywords if k.get(lang)]
    if keywords:
        words["keywords"] = _list_words(keywords, lang).capitalize() if en else _list_words(keywords, lang)
    if facts.sizes:
        words["sizes"] = (", " if en else "/").join(facts.sizes)
    if facts.season and facts.season.get(lang):
        words["season"] = facts.season[lang].lower() if en else facts.season[lang]
    if facts.model:
        words["model"] = facts.model
    return words


def build_bullets(facts: Facts, lang: str) -> list[str]:
    """Amazon-style bullet points (English: CAPITALISED lead; Chinese: 【】 lead), at most five."""
    zh = lang == "zh"
    noun = facts.category.get(lang) or facts.category.get("en") or ""
    colours = [c[lang] for c in facts.colors if c.get(lang)]
    brand = facts.brand or ""
    gender = facts.gender.get(lang) if facts.gender else ""
    if zh:
        head = f"{brand}{gender or ''}{noun}".strip()
        first = f"【商品】{head}" + (f"，{'/'.join(colours)}配色，实物拍摄" if colours else "") + "。"
    else:
        head = " ".join(x for x in (brand, (gender or "").lower(), noun.lower() if facts.category_known else "item") if x)
        first = f"PRODUCT: {head}" + (f" in {_list_words([c.lower() for c in colours], 'en')}, as pictured" if colours else "") + "."
    words = _fact_words(facts, lang)
    bullets = [first] + [phrase.format(words[fact]) for fact, phrase in _BULLETS[lang].items() if fact in words]
    return [b[:BULLET_MAX_CHARS] for b in bullets[:MAX_BULLETS]]


def build_description(facts: Facts, lang: str) -> str:
    """One paragraph: what it is, colour, material, features, season, sizes, model."""
    noun = facts.category.get(lang) or ""
    colours = [c[lang] for c in facts.colors if c.get(lang)]
    gender = facts.gender.get(lang) if facts.gender else ""
    if lang == "zh":
        brand = facts.brand or ""
        if facts.brand_zh:
            brand = f"{facts.brand}（{facts.brand_zh}）" if facts.brand else facts.brand_zh
        s = f"这款{brand}{gender or ''}{noun}" + (f"采用{'/'.join(colours)}配色" if colours else "")
        stop = "。"
    else:
        thing = noun.lower() if facts.category_known else "item"
        lead = " ".join(x for x in (facts.brand, (gender or "").lower(), thing) if x)
        s = lead[:1].upper() + lead[1:] + (f" in {_list_words([c.lower() for c in colours], 'en')}" if colours else "")
        stop = "."
    words = _fact_words(facts, lang)
    phrases = _DESCRIPTION[lang]
    s += (phrases["material"].format(words["material"]) if "material" in words else "") + stop
    s += "".join(phrases[fact].format(words[fact]) for fact in ("keywords", "season", "sizes", "model") if fact in words)
    return (s + phrases["end"])[:DESCRIPTION_MAX_CHARS]
