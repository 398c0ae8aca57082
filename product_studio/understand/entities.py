"""Prices, brands and model numbers in text read from a product photo.

``extract_entities(lines)`` takes OCR lines (``ocr.TextLine``) or plain strings and returns
``Entities(prices, brands, models)``. Every hit is a span: the matched text, the index and text
of the line it came from, its character offsets in that line, and a confidence (the line's OCR
confidence times how sure the pattern or the brand match is).

Prices: a number with a currency sign or code before or after it (``¥199``, ``￥1,299.00``,
``199元``, ``$19.99``, ``US$5``, ``19,99 €``, ``£7.50``, ``RMB 88``, ``12.5 USD``), or a number
after a price word (``价格：299``, ``售价 88``, ``Price: 19.99``). A price word alone, with no
currency sign, gives CNY when the word is Chinese and no currency otherwise. ``¥``/``￥`` read as
CNY (this toolkit targets Chinese marketplaces first). Decimal and thousands separators are
read both ways: ``1,299.00`` and ``1.299,00`` are 1299; ``19,99`` is 19.99.

Model numbers: after a model word (``型号：QD-3310``, ``Model: AB12-34C``, ``货号``, ``Item No.``,
``SKU``, ``P/N``), any letters-and-digits token with at least one letter and one digit; without
a model word, only tokens with a dash (``SN-5520X``). Never a price, a date (``2024-05-01``,
``May-2024``) or a measurement (``500ml``, ``100-240V``, ``5V-2A``).

Brands: the bundled list (``product_studio/data/brands.txt``, a few hundred consumer brands,
Latin and Chinese names) plus any user file in the same format. Chinese names are found as exact
substrings. Latin names are compared word by word (runs of up to four words, spaces and
punctuation ignored, so ``NewBalance`` and ``Levis`` match) after undoing the usual OCR digit
for letter swaps (0→O, 1→I, 5→S, 8→B, so ``N1KE`` is Nike and ``XIA0MI`` is Xiaomi). Short names
(three characters or fewer) and names marked as common words (``Apple!``) are only matched
exactly and must be written as listed, capitalised or in capitals. Names of 5-6 letters also
match with one letter swapped for a look-alike (``XlAOMI``, ``Huawel``): edit distance is too
loose there (``lint`` scores 89 against ``LINDT``). Names of 7 letters or more match by
rapidfuzz ``fuzz.ratio`` >= 85 (7-9 letters) or >= 83 (10 or more).

Those cut-offs were chosen on data (``benchmarks/ocr_quality.py --tune`` re-measures them):
every alias of the bundled list, corrupted 24 ways the way OCR errs (a look-alike substitution,
a dropped or doubled letter; two errors for names of 10+ letters), against the 63,945 lower-case
words of Debian's American English list (wamerican). 7-9 letters: ratio 85 keeps 99.9% of 3,624
corruptions and matches 71 English words (88 would keep only 64.6%); 10+ letters: 83 keeps 93.9%
of 1,728 and matches 6 words (80: 100% but 25 words). Running the whole matcher over the word list
left 86 English words that still match some alias ("salmon" → Salomon, "willing" → Zwilling);
they are listed in the brand file as ``-word`` lines (never a brand) and skipped.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import UsageError

# ---------------------------------------------------------------------------------------- spans


@dataclass(frozen=True)
class Span:
    """Where an entity was found: ``line_text[start:end] == text``."""

    text: str
    line: int
    line_text: str
    start: int
    end: int
    confidence: float

    def _span_dict(self) -> dict[str, Any]:
        """Span's own fields (not a subclass's), the confidence rounded."""
        span = {f.name: getattr(self, f.name) for f in fields(Span)}
        return {**span, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Price(Span):
    amount: float = 0.0
    currency: str | None = None  # ISO 4217 code: CNY, USD, EUR, GBP, JPY; None when not written

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency, **self._span_dict()}


@dataclass(frozen=True)
class BrandMatch(Span):
    brand: str = ""  # the canonical name from the brand list
    alias: str = ""  # the alias that matched (may be the canonical name)
    score: float = 1.0  # 1.0 exact (after OCR digit/letter swaps), lower: fuzzy

    def to_dict(self) -> dict[str, Any]:
        return {"brand": self.brand, "alias": self.alias, "score": round(self.score, 4), **self._span_dict()}


@dataclass(frozen=True)
class ModelNumber(Span):
    value: str = ""  # the model number, upper-cased
    keyword: str | None = None  # the model word before it ("型号", "Model"), if any

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "keyword": self.keyword, **self._span_dict()}


@dataclass(frozen=True)
class Entities:
    """Everything found, each list best first (by confidence)."""

    prices: list[Price] = field(default_factory=list)
    brands: list[BrandMatch] = field(default_factory=list)
    models: list[ModelNumber] = field(default_factory=list)

    @property
    def brand(self) -> BrandMatch | None:
        return self.brands[0] if self.brands else None

    @property
    def model(self) -> ModelNumber | None:
        return self.models[0] if self.models else None

    @property
    def price(self) -> Price | None:
        return self.prices[0] if self.prices else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand.brand if self.brand else None,
            "model": self.model.value if self.model else None,
            "price": {"amount": self.price.amount, "currency": self.price.currency} if self.price else None,
            "prices": [p.to_dict() for p in self.prices],
            "brands": [b.to_dict() for b in self.brands],
            "models": [m.to_dict() for m in self.models],
        }


# --------------------------------------------------------------------------------------- prices

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?"
NUMBER_RE = re.compile(rf"(?<![0-9.,])(?:{_NUMBER})(?![0-9])")
_CODES = r"RMB|CNY|USD|EUR|GBP|JPY"
PREFIX_RE = re.compile(rf"(US\$|¥|￥|\$|€|£|(?<![A-Za-z])(?:{_CODES}))\s?$")
SUFFIX_RE = re.compile(rf"\s?(元|円|€|£|(?:{_CODES})(?![A-Za-z]))")
_PRICE_WORDS_ZH = "到手价|促销价|活动价|零售价|建议售价|优惠价|价格|售价|单价|原价|现价|特价|价"
PRICE_WORD_RE = re.compile(
    rf"(?P<word>{_PRICE_WORDS_ZH}|(?<![A-Za-z])(?:price|msrp|rrp)(?![A-Za-z]))\s*[:：]?\s*(?:US\$|¥|￥|\$|€|£)?\s?$",
    re.IGNORECASE,
)
CURRENCIES = {
    "¥": "CNY", "￥": "CNY", "元": "CNY", "RMB": "CNY", "CNY": "CNY",
    "$": "USD", "US$": "USD", "USD": "USD",
    "€": "EUR", "EUR": "EUR",
    "£": "GBP", "GBP": "GBP",
    "円": "JPY", "JPY": "JPY",
}  # fmt: skip
PRICE_WORD_CONFIDENCE = 0.9  # a price word and a number, but no currency sign


def parse_amount(number: str) -> float:
    """``"1,299.00"`` -> 1299.0, ``"1.299,00"`` -> 1299.0, ``"19,99"`` -> 19.99, ``"1,299"`` -> 1299.0."""
    if "," in number and "." in number:
        decimal = "," if number.rfind(",") > number.rfind(".") else "."
    elif "," in number:
        decimal = "," if len(number) - number.rfind(",") - 1 <= 2 else None
    elif "." in number:
        decimal = "." if len(number) - number.rfind(".") - 1 <= 2 else None
    else:
        decimal = None
    if decimal is None:
        return float(number.replace(",", "").replace(".", ""))
    thousands = "." if decimal == "," else ","
    return float(number.replace(thousands, "").replace(decimal, "."))


def find_prices(text: str, *, line: int = 0, line_confidence: float = 1.0) -> list[Price]:
    """The prices in one line of text (see the module docstring for what counts)."""
    found = []
    for m in NUMBER_RE.finditer(text):
        before, after = text[: m.start()], text[m.end() :]
        prefix = PREFIX_RE.search(before)
        suffix = SUFFIX_RE.match(after)
        word = PRICE_WORD_RE.search(before)
        if not (prefix or suffix or word):
            continue
        if not prefix and before and (before[-1].isalpha() and before[-1].isascii() or before[-1] in "-/"):
            continue  # the digits of a code such as SN-5520 or AB199
        if after[:1].isascii() and after[:1].isalpha() and not suffix:
            continue  # 199X: part of a code, not an amount
        symbol = (prefix.group(1) if prefix else None) or (suffix.group(1) if suffix else None)
        if symbol is None and word is not None and re.search(r"[\u4e00-\u9fff]", word.group("word")):
            symbol = "元"
        start = prefix.start(1) if prefix else (word.start() if word else m.start())
        end = m.end() + (suffix.end() if suffix else 0)
        confidence = 1.0 if (prefix or suffix) else PRICE_WORD_CONFIDENCE
        found.append(
            Price(
                text=text[start:end], line=line, line_text=text, start=start, end=end,
                confidence=confidence * line_confidence,
                amount=parse_amount(m.group(0)), currency=CURRENCIES.get(symbol.upper() if symbol else "", CURRENCIES.get(symbol or "")),
            )
        )  # fmt: skip
    return found


# ---------------------------------------------------------------------------------------- models

_MODEL_WORDS = (
    r"产品型号|规格型号|型号|型號|货号|款号|"
    r"(?<![A-Za-z])(?:model(?:\s*(?:no\.?|number|#))?|item\s*(?:no\.?|number)|art\.?\s*no\.?|sku|p/n|mpn)(?![A-Za-z])"
)
MODEL_WORD_RE = re.compile(rf"(?P<word>{_MODEL_WORDS})\s*[:：#.]?\s*$", re.IGNORECASE)
MODEL_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9\-/])[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*(?![A-Za-z0-9])")
_UNITS = (
    r"ml|l|cl|dl|g|kg|mg|t|mm|cm|dm|m|km|in|inch|inches|ft|oz|lb|lbs|w|kw|v|kv|a|ma|mah|ah|wh|kwh|hz|khz|mhz|ghz|"
    r"b|kb|mb|gb|tb|k|p|x|pcs|pc|pack|h|hr|hrs|min|s|sec|ms|d|yr|yrs|st|nd|rd|th|db|lm|rpm|psi|bar|mp|fps|nm|c|f"
)
UNIT_RE = re.compile(rf"^\d+(?:\.\d+)?(?:{_UNITS})$", re.IGNORECASE)
MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
          "january", "february", "march", "april", "june", "july", "august", "september", "october",
          "november", "december"}  # fmt: skip
MODEL_PATTERN_CONFIDENCE = 0.8  # a dashed code with no model word before it
MIN_MODEL_LENGTH, MAX_MODEL_LENGTH = 3, 24


def _looks_like_model(token: str) -> bool:
    if not MIN_MODEL_LENGTH <= len(token) <= MAX_MODEL_LENGTH:
        return False
    if not (re.search(r"[A-Za-z]", token) and re.search(r"\d", token)):
        return False
    parts = re.split(r"[-/.]", token)
    if all(p.isdigit() or UNIT_RE.match(p) for p in parts):
        return False  # 500ml, 100-240V, 5V-2A, 2.4GHz
    is_date = any(p.lower() in MONTHS for p in parts) and all(p.isdigit() or p.lower() in MONTHS for p in parts)
    return not is_date  # May-2024, 01-Jan-2025


def find_models(text: str, *, line: int = 0, line_confidence: float = 1.0, prices: Sequence[Price] = ()) -> list[ModelNumber]:
    """The model numbers in one line of text; spans overlapping ``prices`` are skipped."""
    found = []
    for m in MODEL_TOKEN_RE.finditer(text):
        token = m.group(0)
        if not _looks_like_model(token):
            continue
        if any(p.start < m.end() and m.start() < p.end for p in prices):
            continue
        word = MODEL_WORD_RE.search(text[: m.start()])
        if word is None and "-" not in token:
            continue
        start = word.start() if word else m.start()
        confidence = 1.0 if word else MODEL_PATTERN_CONFIDENCE
        found.append(
            ModelNumber(
                text=text[start : m.end()], line=line, line_text=text, start=start, end=m.end(),
                confidence=confidence * line_confidence, value=token.upper(),
                keyword=word.group("word") if word else None,
            )
        )  # fmt: skip
    return found


# ---------------------------------------------------------------------------------------- brands

BRANDS_FILE = "brands.txt"
# rapidfuzz fuzz.ratio cut-offs by the alias's length in letters (after removing spaces and
# punctuation); names shorter than the first band are matched exactly only. Chosen on data:
# see the module docstring.
FUZZY_THRESHOLDS = ((7, 85.0), (10, 83.0))
# Names of 5 or 6 letters are too close to ordinary words for edit distance (``lint`` is 89
# against ``LINDT``); they match with exactly one letter swapped for a look-alike (XLAOMI).
LOOKALIKE_LENGTH = 5
LOOKALIKE_GROUPS = ("IL1TJ", "O0DQCGU", "EF", "MNH", "UVYW", "RPB", "S5", "B8", "G6", "Z2", "A4")
COMMON_WORD_CONFIDENCE = {"latin": 0.8, "cjk": 0.6}  # aliases marked "!" in the brand file
SHORT_ALIAS = 3
MAX_WORDS = 4
# OCR reads these digits for the letters they resemble; undone inside words that hold a letter.
_CONFUSIONS = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "|": "I"})
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z0-9\u00c0-\u024f&'’.+°|\-]+")


def _fold(text: str) -> str:
    """Upper-case, accents removed, only letters and digits kept: ``L'Oréal`` -> ``LOREAL``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).upper()


def brand_key(text: str) -> str:
    """The comparison key of a Latin name or OCR word: folded, digits read as letters when the
    word holds a letter (``N1KE`` -> ``NIKE``, but ``361`` stays ``361``)."""
    folded = _fold(text.replace("|", "I"))
    if any(ch.isalpha() for ch in folded):
        return folded.translate(_CONFUSIONS)
    return folded


@dataclass(frozen=True)
class BrandAlias:
    brand: str
    alias: str
    key: str  # brand_key(alias) for Latin, the alias itself for CJK
    script: str  # "latin" or "cjk"
    common: bool  # marked "!": exact matches only, lower confidence


class BrandIndex:
    """A brand list ready for matching. Build with ``load_brands`` or ``BrandIndex.from_text``."""

    def __init__(self, aliases: Iterable[BrandAlias], *, never: Iterable[str] = ()) -> None:
        self.aliases = list(aliases)
        self.never = {brand_key(w) for w in never}
        self.latin: dict[str, BrandAlias] = {}
        self.cjk: list[BrandAlias] = []
        for a in self.aliases:
            if a.script == "cjk":
                self.cjk.append(a)
            else:
                self.latin.setdefault(a.key, a)
        self.cjk.sort(key=lambda a: -len(a.alias))  # longest first: 百事可乐 before 百事
        self.fuzzy_keys = [k for k, a in self.latin.items() if not a.common and len(k) >= FUZZY_THRESHOLDS[0][0]]
        self.lookalike_keys: dict[int, list[str]] = {}
        for k, a in self.latin.items():
            if not a.common and LOOKALIKE_LENGTH <= len(k) < FUZZY_THRESHOLDS[0][0]:
                self.lookalike_keys.setdefault(len(k), []).append(k)

    @property
    def brands(self) -> list[str]:
        return sorted({a.brand for a in self.aliases})

    def __len__(self) -> int:
        return len({a.brand for a in self.aliases})

    @classmethod
    def from_text(cls, text: str, *, source: str = "<brands>") -> BrandIndex:
        aliases, never = parse_brand_lines(text, source=source)
        return cls(aliases, never=never)

    def merged(self, other: BrandIndex) -> BrandIndex:
        """This list plus ``other``; ``other``'s names win where both define the same alias."""
        never = {w for w in self.never if w not in other.latin}
        return BrandIndex([*other.aliases, *self.aliases], never=never | other.never)

    def find(self, text: str, *, line: int = 0, line_confidence: float = 1.0) -> list[BrandMatch]:
        """The brand names in one line of text, non-overlapping, best first."""
        candidates: list[BrandMatch] = []
        for a in self.cjk:
            for m in re.finditer(re.escape(a.alias), text):
                score = 1.0
                conf = score * (COMMON_WORD_CONFIDENCE["cjk"] if a.common else 1.0)
                candidates.append(self._match(a, text, m.start(), m.end(), score, conf * line_confidence, line))
        candidates.extend(self._find_latin(text, line=line, line_confidence=line_confidence))
        candidates.sort(key=lambda b: (-b.confidence, -(b.end - b.start), b.start))
        chosen: list[BrandMatch] = []
        for c in candidates:
            if all(c.end <= k.start or k.end <= c.start for k in chosen):
                chosen.append(c)
        return chosen

    def _find_latin(self, text: str, *, line: int, line_confidence: float) -> list[BrandMatch]:
        from rapidfuzz import fuzz, process

        words = [m for m in _LATIN_WORD_RE.finditer(text) if any(ch.isalnum() for ch in m.group(0))]
        found = []
        for i in range(len(words)):
            for j in range(i, min(i + MAX_WORDS, len(words))):
                if j > i and text[words[j - 1].end() : words[j].start()].strip():
                    break  # only words separated by spaces form a name
                start, end = words[i].start(), words[j].end()
                raw = text[start:end]
                # trim trailing sentence punctuation ("Nike." "Nike,") but keep "Co." on aliases
                core = raw.rstrip(".,'’-|")
                key = brand_key(core)
                if not key or key in self.never:
                    continue
                alias = self.latin.get(key)
                if alias is not None:
                    if not self._case_ok(alias, core):
                        continue
                    conf = COMMON_WORD_CONFIDENCE["latin"] if alias.common else 1.0
                    found.append(self._match(alias, text, start, start + len(core), 1.0, conf * line_confidence, line))
                    continue
                if len(key) < LOOKALIKE_LENGTH or not any(ch.isalpha() for ch in key):
                    continue
                near = next((k for k in self.lookalike_keys.get(len(key), ()) if _one_lookalike(key, k)), None)
                if near is not None:
                    alias = self.latin[near]
                    score = fuzz.ratio(key, near) / 100.0
                    found.append(self._match(alias, text, start, start + len(core), score, score * line_confidence, line))
                    continue
                if len(key) < FUZZY_THRESHOLDS[0][0] - 1:
                    continue
                best = process.extractOne(key, self.fuzzy_keys, scorer=fuzz.ratio, score_cutoff=min(v for _, v in FUZZY_THRESHOLDS))
                if best is None:
                    continue
                alias = self.latin[best[0]]
                if best[1] < _threshold(len(alias.key)):
                    continue
                score = best[1] / 100.0
                found.append(self._match(alias, text, start, start + len(core), score, score * line_confidence, line))
        return found

    @staticmethod
    def _case_ok(alias: BrandAlias, raw: str) -> bool:
        """Short and common-word aliases count only when written as in the list, capitalised or in capitals,
        and (short ones) without any OCR digit swap."""
        if not (alias.common or len(alias.key) <= SHORT_ALIAS):
            return True
        if len(alias.key) <= SHORT_ALIAS and _fold(raw) != _fold(alias.alias):
            return False
        letters = "".join(ch for ch in raw if ch.isalpha())
        written = "".join(ch for ch in alias.alias if ch.isalpha())
        return letters == written or letters.isupper() or (letters[:1].isupper() and letters[1:].islower())

    @staticmethod
    def _match(a: BrandAlias, text: str, start: int, end: int, score: float, conf: float, line: int) -> BrandMatch:
        return BrandMatch(
            text=text[start:end], line=line, line_text=text, start=start, end=end, confidence=conf,
            brand=a.brand, alias=a.alias, score=score,
        )  # fmt: skip


def _one_lookalike(a: str, b: str) -> bool:
    """Same length, one position differs, and the two letters look alike (I/L/1, O/D/0 ...)."""
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    return len(diff) == 1 and any(diff[0][0] in g and diff[0][1] in g for g in LOOKALIKE_GROUPS)


def _threshold(length: int) -> float:
    """The fuzzy cut-off for a name of ``length`` letters (101: exact only)."""
    cut = 101.0
    for min_length, value in FUZZY_THRESHOLDS:
        if length >= min_length:
            cut = value
    return cut


def parse_brand_lines(text: str, *, source: str = "<brands>") -> tuple[list[BrandAlias], list[str]]:
    """Parse the brand file format: ``Name|alias|alias!`` a line, ``-word|word`` for never-a-brand
    words, ``#`` comments. UsageError naming the line for an empty name."""
    aliases: list[BrandAlias] = []
    never: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-") and len(line) > 1:
            never.extend(w.strip() for w in line[1:].split("|") if w.strip())
            continue
        names = [p.strip() for p in line.split("|")]
        if not names[0] or not names[0].rstrip("!"):
            raise UsageError(f"{source}:{n}: a brand line starts with the brand's name, e.g. 'Xiaomi|小米'; got {raw!r}")
        brand = names[0].rstrip("!").strip()
        for name in names:
            common = name.endswith("!")
            name = name.rstrip("!").strip()
            if not name:
                continue
            if _CJK_RE.search(name):
                aliases.append(BrandAlias(brand, name, name, "cjk", common))
            else:
                key = brand_key(name)
                if key:
                    aliases.append(BrandAlias(brand, name, key, "latin", common))
    return aliases, never


@functools.lru_cache(maxsize=1)
def bundled_brands() -> BrandIndex:
    """The brand list that ships with Product Studio."""
    text = resources.files("product_studio").joinpath("data", BRANDS_FILE).read_text(encoding="utf-8")
    return BrandIndex.from_text(text, source=BRANDS_FILE)


def load_brands(user_file: str | os.PathLike | None = None, *, include_bundled: bool = True) -> BrandIndex:
    """The bundled brand list, plus a user's file (same format: ``Name|alias`` a line) when given."""
    index = bundled_brands() if include_bundled else BrandIndex([])
    if user_file is None:
        return index
    path = Path(user_file)
    if not path.is_file():
        raise UsageError(f"no such brand file: {path} (one brand a line, aliases separated by '|')")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: a brand file must be UTF-8 text (one brand a line, aliases separated by '|')") from None
    return index.merged(BrandIndex.from_text(text, source=str(path)))


# ------------------------------------------------------------------------------------- together


def _line_parts(line: Any) -> tuple[str, float]:
    if isinstance(line, str):
        return line, 1.0
    text, confidence = getattr(line, "text", None), getattr(line, "confidence", None)
    if not isinstance(text, str) or confidence is None:
        raise UsageError(f"lines must be strings or OCR TextLines (text, box, confidence); got {type(line).__name__}")
    return text, float(confidence)


def extract_entities(lines: Sequence[Any], *, brands: BrandIndex | str | os.PathLike | None = None) -> Entities:
    """Prices, brands and model numbers in ``lines`` (OCR ``TextLine``s or plain strings).

    brands: a ``BrandIndex``; or the path of a user brand file, used together with the bundled
    list; None for the bundled list alone. Each kind comes back best first; a brand appears once
    (its most confident mention).
    """
    if isinstance(lines, (str, bytes)):
        raise UsageError("lines must be a list of lines, not one string; wrap it: extract_entities([text])")
    index = brands if isinstance(brands, BrandIndex) else load_brands(brands)
    prices: list[Price] = []
    models: list[ModelNumber] = []
    by_brand: dict[str, BrandMatch] = {}
    for n, line in enumerate(lines):
        text, confidence = _line_parts(line)
        line_prices = find_prices(text, line=n, line_confidence=confidence)
        prices.extend(line_prices)
        line_brands = index.find(text, line=n, line_confidence=confidence)
        for b in line_brands:
            if b.brand not in by_brand or b.confidence > by_brand[b.brand].confidence:
                by_brand[b.brand] = b
        # a brand name with a dash and a digit (Insta360-like) is not a model number
        taken = [*line_prices, *(Price(b.text, n, text, b.start, b.end, 0.0) for b in line_brands)]
        models.extend(find_models(text, line=n, line_confidence=confidence, prices=taken))

    def order(spans: list[Any]) -> list[Any]:
        return sorted(spans, key=lambda s: (-s.confidence, s.line, s.start))

    return Entities(prices=order(prices), brands=order(list(by_brand.values())), models=order(models))
