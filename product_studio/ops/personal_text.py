"""Personal text: phone numbers, e-mail addresses, street addresses and ID numbers in OCR lines,
and where they sit on the image.

``find_personal_spans`` matches one string: phone numbers (Chinese mobiles and landlines, US,
international), e-mail addresses, street addresses (English and Chinese, or anything after an
"Address:" / "地址：" keyword) and ID numbers (Chinese resident IDs with their checksum,
passports, US SSNs); full-width characters count as their ASCII forms. ``find_personal_text``
matches OCR lines (``vision.ocr.TextLine`` or anything shaped like it), also across the lines of
one row of text. ``span_polygon`` / ``personal_text_polygons`` give the part of a line's box a
match covers, which ``ops.privacy`` blurs; the personal data itself is never stored.

    >>> find_personal_spans("Tel: 138-0013-8000, ACME $19.99")
    [('phone', (5, 18))]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from ..errors import UsageError

PersonalKind = Literal["phone", "email", "address", "id"]
PERSONAL_KINDS: tuple[str, ...] = ("phone", "email", "address", "id")


class TextLineLike(Protocol):
    """What ``vision.ocr.TextLine`` offers: text, a 4-point box (clockwise from top-left), confidence."""

    text: str
    box: Sequence[Sequence[float]]
    confidence: float


@dataclass(frozen=True)
class PersonalMatch:
    """One piece of personal text: the line it is on, its kind and its character span in ``line.text``."""

    line: Any  # a TextLine (or anything TextLineLike)
    kind: str
    span: tuple[int, int]

    def __iter__(self):  # unpacks as (line, kind, span)
        return iter((self.line, self.kind, self.span))


_SEP = r"[ \-.\u00a0]?"  # one optional separator between digit groups
_CN_UNITS = "一二三四五六七八九十百零〇"
_HAN = r"\u4e00-\u9fff"

# Phone numbers. Every pattern is fenced by "no digit/letter right before or after".
_PHONE_PATTERNS = [
    # Chinese mobile: 1[3-9]x xxxx xxxx, optionally +86 / 0086 / (+86).
    rf"(?:(?:\(?\+?86\)?|0086){_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}",
    # Chinese landline with its area code: 010-12345678, (0571) 8888 6666, +86 10 6552 9988.
    rf"(?:(?:\+?86|0086){_SEP}\(?[1-9]\d{{1,2}}\)?|\(?0[1-9]\d{{1,2}}\)?){_SEP}\d{{3,4}}{_SEP}\d{{4}}(?:{_SEP}\d{{1,4}})?",
    # US / NANP: (415) 555-0132, 415-555-0132, 415.555.0132, +1 415 555 0132.
    r"(?:\+?1[ \-.]?)?(?:\(\d{3}\)[ \-.]?|\d{3}[\-.])\d{3}[\-. ]\d{4}",
    r"\+?1[ \-.]\d{3}[ \-.]\d{3}[ \-.]\d{4}",
    # International E.164: + country code, then groups; 8..15 digits in all (checked below).
    r"\+[1-9]\d{0,2}(?:[ \-.]?\(?\d{1,5}\)?){2,6}",
]
_PHONE_RE = re.compile(r"(?<![\w+])(?:" + "|".join(_PHONE_PATTERNS) + r")(?![\w])")
# A keyword saying "what follows is a phone number": then any 7..15-digit run counts.
_PHONE_KEYWORD_RE = re.compile(
    r"(?:tel|phone|mobile|mob|cell|fax|call|whatsapp|wechat|电话|手机|联系电话|联系方式|热线|传真|座机|微信)\s*(?:no\.?|number|#)?\s*[:：]?\s*"
    r"(\+?\(?\d[\d \-.()]{5,22}\d)",
    re.IGNORECASE,
)

_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63} ?@ ?[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w])"
)

_STREET_TYPES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|ter|"
    "parkway|pkwy|highway|hwy|square|sq|circle|cir|crescent|cres|close|alley|trail|trl|plaza|row"
)
_EN_ADDRESS_RES = [
    # 1600 Amphitheatre Parkway, 221B Baker St., 10 Downing Street; optional unit and city/state/ZIP after.
    re.compile(
        rf"(?<![\w])\d{{1,6}}[A-Za-z]?(?:[ ,]+(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?)?"
        rf"(?:[ ]+[A-Za-z0-9][A-Za-z0-9.'\-]*){{1,4}}?[ ]+(?:{_STREET_TYPES})\b\.?"
        rf"(?:,?[ ]*(?:apt|apartment|suite|ste|unit|fl|floor|room|rm|#)\.?[ ]*#?[A-Za-z0-9\-]+)?"
        rf"(?:,[ ]*[A-Za-z][A-Za-z .'\-]{{1,30}}?(?:,[ ]*[A-Z]{{2}})?(?:[ ]+\d{{5}}(?:-\d{{4}})?)?(?=$|[,;]))?",
        re.IGNORECASE,
    ),
    # P.O. Box 1234
    re.compile(r"(?<![\w])P\.? ?O\.? ?Box[ ]+\d{1,8}", re.IGNORECASE),
    # Springfield, IL 62704(-1234): a US city, state and ZIP.
    re.compile(r"(?<![\w])[A-Z][A-Za-z .'\-]{1,30},[ ]*[A-Z]{2}[ ]+\d{5}(?:-\d{4})?(?![\w])"),
]
_CN_ADMIN = rf"(?:[{_HAN}]{{2,7}}?(?:省|自治区|特别行政区))?(?:[{_HAN}]{{1,7}}?(?:市|州|盟))?(?:[{_HAN}]{{1,7}}?(?:区|县|旗))?(?:[{_HAN}]{{1,7}}?(?:镇|乡|街道))?"
_CN_NUM = rf"[0-9{_CN_UNITS}]"
_CN_UNIT_TAIL = rf"(?:[ \-]?[0-9A-Za-z{_CN_UNITS}\-]{{1,6}}(?:号楼|栋|幢|座|楼|单元|层|室|号|户))*"
_CN_ADDRESS_RES = [
    # …路/街/大道/巷/弄/胡同/村 + number + 号/弄/栋… (and the units after it: 3栋2单元501室)
    re.compile(
        rf"{_CN_ADMIN}[{_HAN}0-9A-Za-z]{{1,14}}?(?:大道|大街|路|街|道|巷|弄|胡同|里|村|屯|组)[ ]?{_CN_NUM}{{1,6}}[ ]?"
        rf"(?:号|弄|栋|幢|巷){_CN_UNIT_TAIL}"
    ),
    # …小区/花园/公寓/大厦/苑 + 3栋2单元501室
    re.compile(
        rf"{_CN_ADMIN}[{_HAN}A-Za-z0-9]{{2,12}}?(?:小区|花园|公寓|大厦|苑|家园|新村|广场)[ ]?"
        rf"[0-9A-Za-z{_CN_UNITS}\-]{{1,6}}(?:号楼|栋|幢|座|单元|室|号|楼){_CN_UNIT_TAIL}"
    ),
]
# "Address: ..." / "地址：..." -- the rest of the line is an address, whatever its shape.
_ADDRESS_KEYWORD_RE = re.compile(r"(?:address|addr\.?|ship to|deliver to|收货地址|联系地址|住址|地址|寄件地址)\s*[:：]\s*(\S.{3,})", re.IGNORECASE)

_CN_ID_RE = re.compile(
    r"(?<![0-9A-Za-z])([1-9]\d{5}) ?((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])) ?(\d{3}[0-9Xx])(?![0-9A-Za-z])"
)
_SSN_RE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
# Chinese passports: E + 8 digits, or E + a letter (not I or O) + 7 digits; G + 8 digits (older).
_CN_PASSPORT_RE = re.compile(r"(?<![0-9A-Za-z])(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})(?![0-9A-Za-z])")
# With a keyword, any passport-shaped number (1-2 letters + 6-9 digits, or 9 digits).
_ID_KEYWORD_RE = re.compile(
    r"(?:passport|护照|pass\.? ?no|身份证|证件号|id ?(?:no|number|card)|identity)\s*(?:no\.?|number|号码?|#)?\s*[:：]?\s*"
    r"([A-Za-z]{0,2}\d{6,18}[Xx]?)(?![0-9A-Za-z])",
    re.IGNORECASE,
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_resident_id(number: str) -> bool:
    """True for an 18-character Chinese resident ID whose last character is its ISO 7064 checksum.

    >>> valid_resident_id("11010519491231002X"), valid_resident_id("110105194912310021")
    (True, False)
    """
    text = number.replace(" ", "").upper()
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == text[17]


def _normalise(text: str) -> str:
    """Full-width forms to ASCII, one character for one (so spans stay valid): １３８ -> 138, ＠ -> @."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def find_personal_spans(text: str, *, kinds: Iterable[str] = PERSONAL_KINDS) -> list[tuple[str, tuple[int, int]]]:
    """The personal data in one string: [(kind, (start, end)), ...], sorted, overlaps resolved.

    kinds: any of "phone", "email", "address", "id". Where two kinds claim overlapping text the
    longer claim wins (an ID number is not also read as a phone number).

    >>> find_personal_spans("Tel: 138-0013-8000, ACME $19.99")
    [('phone', (5, 18))]
    """
    wanted = _check_kinds(kinds)
    s = _normalise(text)
    found: list[tuple[str, int, int]] = []
    if "email" in wanted:
        found += [("email", m.start(), m.end()) for m in _EMAIL_RE.finditer(s)]
    if "id" in wanted:
        for m in _CN_ID_RE.finditer(s):
            if valid_resident_id(m.group(0)):
                found.append(("id", m.start(), m.end()))
        found += [("id", m.start(), m.end()) for m in _SSN_RE.finditer(s)]
        found += [("id", m.start(), m.end()) for m in _CN_PASSPORT_RE.finditer(s)]
        found += [("id", m.start(1), m.end(1)) for m in _ID_KEYWORD_RE.finditer(s)]
    if "phone" in wanted:
        for m in _PHONE_RE.finditer(s):
            digits = sum(c.isdigit() for c in m.group(0))
            if 7 <= digits <= 15:
                found.append(("phone", m.start(), m.end()))
        for m in _PHONE_KEYWORD_RE.finditer(s):
            digits = sum(c.isdigit() for c in m.group(1))
            if 7 <= digits <= 15:
                found.append(("phone", m.start(1), m.end(1)))
    if "address" in wanted:
        for pattern in (*_EN_ADDRESS_RES, *_CN_ADDRESS_RES):
            found += [("address", m.start(), m.end()) for m in pattern.finditer(s) if m.end() - m.start() >= 5]
        found += [("address", m.start(1), len(s.rstrip())) for m in _ADDRESS_KEYWORD_RE.finditer(s)]
    # Resolve overlaps: longest first, then earliest; ID beats phone at equal length.
    priority = {"id": 0, "email": 1, "phone": 2, "address": 3}
    chosen: list[tuple[str, int, int]] = []
    for kind, a, b in sorted(found, key=lambda f: (-(f[2] - f[1]), priority[f[0]], f[1])):
        a, b = _trim_span(s, a, b)
        if b > a and all(b <= c or a >= d for _, c, d in chosen):
            chosen.append((kind, a, b))
    return [(kind, (a, b)) for kind, a, b in sorted(chosen, key=lambda f: f[1])]


def _trim_span(s: str, a: int, b: int) -> tuple[int, int]:
    while a < b and s[a] in " ,;:：，":
        a += 1
    while b > a and s[b - 1] in " ,;:：，。":
        b -= 1
    return a, b


def _check_kinds(kinds: Iterable[str]) -> set[str]:
    wanted = set(kinds)
    unknown = wanted - set(PERSONAL_KINDS)
    if unknown:
        raise UsageError(f"unknown personal-text kinds {sorted(unknown)}; choose from {', '.join(PERSONAL_KINDS)}")
    return wanted


def find_personal_text(lines: Sequence[TextLineLike], *, kinds: Iterable[str] = PERSONAL_KINDS) -> list[PersonalMatch]:
    """The personal data in OCR lines: [(line, kind, span), ...] with ``span`` indexing ``line.text``.

    Each line is matched on its own, and the lines of one row of text (OCR often cuts
    "138 0013 8000" or "Tel:" | "138..." into separate boxes) are matched joined by a space; a
    match across lines gives one entry per line it covers, with that line's part of it.
    """
    wanted = _check_kinds(kinds)
    matches: list[PersonalMatch] = []
    seen: set[tuple[int, int, int]] = set()

    def add(line_index: int, kind: str, span: tuple[int, int]) -> None:
        key = (line_index, *span)
        covered = any(i == line_index and s[0] <= span[0] and span[1] <= s[1] for i, *s in seen)
        if not covered:
            seen.add(key)
            matches.append(PersonalMatch(lines[line_index], kind, span))

    for index, line in enumerate(lines):
        for kind, span in find_personal_spans(line.text, kinds=wanted):
            add(index, kind, span)
    for row in _rows(lines):
        if len(row) < 2:
            continue
        joined, starts = "", []
        for index in row:
            starts.append(len(joined))
            joined += lines[index].text + " "
        for kind, (a, b) in find_personal_spans(joined.rstrip(), kinds=wanted):
            for index, start in zip(row, starts):
                end = start + len(lines[index].text)
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    add(index, kind, (lo - start, hi - start))
    # Drop entries a later, wider entry on the same line now covers.
    result = []
    for m in matches:
        wider = any(
            o is not m and o.line is m.line and o.span[0] <= m.span[0] and m.span[1] <= o.span[1] and o.span != m.span
            for o in matches
        )
        if not wider:
            result.append(m)
    return result


def _rows(lines: Sequence[TextLineLike]) -> list[list[int]]:
    """Indices of the lines grouped into rows (same baseline band, small gaps), left to right."""
    geometry = []
    for i, line in enumerate(lines):
        pts = np.asarray(line.box, np.float64).reshape(-1, 2)
        geometry.append((i, pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].mean(), max(1.0, quad_height(pts))))
    geometry.sort(key=lambda g: (g[3], g[1]))
    rows: list[list[tuple]] = []
    for g in geometry:
        for row in rows:
            last = row[-1]
            same_band = abs(g[3] - last[3]) < 0.5 * min(g[4], last[4])
            close = -0.5 * g[4] < g[1] - max(r[2] for r in row) < 2.5 * max(g[4], last[4])
            if same_band and close:
                row.append(g)
                break
        else:
            rows.append([g])
    return [[g[0] for g in sorted(row, key=lambda g: g[1])] for row in rows]


def _char_weight(ch: str) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2.0
    if ch in " .,:;'!|il1":
        return 0.6
    return 1.0


def quad_height(pts: np.ndarray) -> float:
    """A text box's height: the mean of its two sides for 4 points, else its shorter extent (>= 1)."""
    if len(pts) == 4:
        return float(max(1.0, (np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2))
    extent = pts.max(axis=0) - pts.min(axis=0)
    return float(max(1.0, extent.min()))


def span_polygon(line: TextLineLike, span: tuple[int, int], *, pad: float = 0.6) -> np.ndarray:
    """The part of a line's box holding characters ``span``, as 4 points, padded.

    Character positions are estimated from their widths (CJK characters count double, narrow
    punctuation less); the part grows by ``pad`` x the line height along the line on both sides
    (about one character, for the estimate's error) and by 15% of the height across it.
    """
    pts = np.asarray(line.box, np.float64).reshape(-1, 2)
    if pts.shape != (4, 2):
        raise UsageError(f"a text line's box must have 4 points; got {pts.shape[0]}")
    text = line.text
    a, b = span
    if not 0 <= a < b <= len(text):
        raise UsageError(f"span {span} is outside the line's {len(text)} characters")
    weights = np.array([_char_weight(c) for c in text], np.float64)
    cum = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    t0, t1 = cum[a], cum[b]
    top_left, top_right, bottom_right, bottom_left = pts
    along = top_right - top_left
    length = max(1e-6, float(np.linalg.norm(along)))
    height = quad_height(pts)
    grow = pad * height / length
    t0, t1 = max(-0.02, t0 - grow), min(1.02, t1 + grow)
    quad = np.array(
        [
            top_left + (top_right - top_left) * t0,
            top_left + (top_right - top_left) * t1,
            bottom_left + (bottom_right - bottom_left) * t1,
            bottom_left + (bottom_right - bottom_left) * t0,
        ]
    )
    across = (quad[3] - quad[0] + quad[2] - quad[1]) / 2
    norm = max(1e-6, float(np.linalg.norm(across)))
    shift = across / norm * 0.15 * height
    quad[0] -= shift
    quad[1] -= shift
    quad[2] += shift
    quad[3] += shift
    return quad


def personal_text_polygons(matches: Iterable[PersonalMatch], *, scope: Literal["span", "line"] = "span") -> list[np.ndarray]:
    """The polygons to blur for ``matches``: the matched part of each line, or (``scope="line"``)
    the whole line. A part covering most of its line takes the whole line."""
    polygons = []
    for line, _kind, (a, b) in matches:
        n = len(line.text)
        whole = scope == "line" or (b - a) >= 0.75 * n
        polygons.append(span_polygon(line, (0, n) if whole else (a, b), pad=0.25 if whole else 0.6))
    return polygons
