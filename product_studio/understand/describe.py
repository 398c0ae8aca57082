"""Listing titles and descriptions in Chinese and English, within a marketplace's title limit.

``describe(attributes, fields, title_rule=..., langs=("zh", "en"))`` drafts, for each language, a
title, Amazon-style bullet points and a description paragraph from what was measured on the photo
(category, colours, text read: brand, model) and what the seller gives (brand, material, sizes,
keywords, gender, season ...; the seller's word wins over the photo's).

The work is split by concern:

- ``listing_rules.py``: the title rule (``TitleRule``: limit, unit, target, brand first), the
  seller's fields and the facts gathered from them and the photo, in both languages;
- ``listing_text.py``: the title (tokens by importance, within the limit, never cut mid-word, no
  repeated word), the bullet points and the description;
- ``llm_client.py``: the OpenAI-compatible chat endpoint that may polish the draft.

The title rules are marketplace knowledge and live in the marketplace presets
(``listing_title:`` in ``marketplaces/presets/*.yaml``): Taobao and Tmall 60 bytes (a Chinese
character counts 2, an ASCII character 1, as Taobao counts), JD 90 bytes, Amazon 200 characters
aiming at 80, eBay 80, Google Merchant Center 150 aiming at 70, Shopify 255 aiming at 70 without
the brand first. The caller passes one: ``load_preset(name).title_rule()``; without one
``DEFAULT_RULE`` applies (200 characters, aiming at 80).

Polishing with a language model (optional, off by default)
----------------------------------------------------------
``LLMConfig(url=...)`` sends the draft and the facts to an OpenAI-compatible
``/v1/chat/completions`` endpoint and asks for JSON ``{"title", "bullets", "description"}``.
Whatever comes back is checked again (language, brand first, no repeated words, the title limit
-- truncated at a word boundary, bullet and description lengths); on any failure (network,
HTTP status, timeout, malformed answer) the draft is kept and a warning says why.
"""

from __future__ import annotations

import json
import urllib.error
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import UsageError
from .attributes import Attributes
from .listing_rules import (
    BULLET_MAX_CHARS,
    CJK,
    DEFAULT_RULE,
    DESCRIPTION_MAX_CHARS,
    LANGS,
    MAX_BULLETS,
    Facts,
    ListingFields,
    TitleRule,
    gather_facts,
    title_length,
)
from .listing_text import build_bullets, build_description, build_title, fit_title
from .llm_client import LLMConfig, chat, parse_json_answer


@dataclass
class Listing:
    lang: str
    preset: str | None  # the name of the preset whose title rule was used, as the caller gave it
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


def polish_with_llm(draft: Listing, facts: Facts, rule: TitleRule, config: LLMConfig) -> Listing:
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
        data = parse_json_answer(chat(config, [{"role": "system", "content": system}, {"role": "user", "content": user}]))
        if not isinstance(data, dict) or not isinstance(data.get("title"), str) or not data["title"].strip():
            raise ValueError("the answer has no 'title' text")
        title = fit_title(str(data["title"]), rule, draft.lang, brand=facts.brand)
        if draft.lang == "zh" and not CJK.search(title):
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


def describe(
    attributes: Attributes | dict[str, Any] | None,
    fields: ListingFields | dict[str, Any] | None = None,
    *,
    title_rule: TitleRule | None = None,
    preset: str | None = None,
    langs: tuple[str, ...] | list[str] | str = LANGS,
    llm: LLMConfig | None = None,
) -> dict[str, Listing]:
    """Listings (title, bullets, description) per language, the titles fitted to ``title_rule``.

    attributes: from ``extract_attributes`` (or its ``to_dict()``), or None to use the seller's
    fields alone. fields: ``ListingFields`` or a dict of them. title_rule: the marketplace's
    (``load_preset(name).title_rule()``); None: ``DEFAULT_RULE``. preset: the preset's name,
    recorded in each listing. langs: "zh", "en" or both.

    >>> taobao = load_preset("taobao-main")
    >>> out = describe(None, {"brand": "Nike", "category": "sneakers", "colors": "red"},
    ...                title_rule=taobao.title_rule(), preset=taobao.name)
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
    rule = title_rule or DEFAULT_RULE
    facts = gather_facts(attributes, fields)
    out: dict[str, Listing] = {}
    for lang in langs:
        title = build_title(facts, lang, rule)
        listing = Listing(
            lang=lang,
            preset=preset,
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
