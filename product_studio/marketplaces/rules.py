"""The compliance rules, each a small function registered by name; ``RULES`` lists them in report order.

A rule has a name, a severity, a test of whether a preset sets it (``applies``), what it expects
in words (``expected``; ``summary`` where ``product-studio presets`` words it otherwise), how its
measured value reads in a table (``show``), and ``measure``: the image and its file against the
preset. Every rule is measured on the pixels or the file, never guessed from a name:

- background: the outer band (``measure.border_band``) must be exactly RGB 255,255,255 on at
  least ``WHITE_SHARE_MIN`` (99.5%) of its pixels. JPEG decodes flat white to exactly 255 at
  every quality, so a white background passes with room to spare; 0.5% lets a product or contact
  shadow graze the edge in a few places, while an off-white, grey or gradient background (0%
  exact) or a drawn border line (>= 10% of the band) fails. Transparent border pixels do not
  count as white: the file has no white there.
- fill: the product's bounding box (``measure.product_box``) against the canvas:
  ``max(box_w / W, box_h / H)``; the share of the canvas covered by product pixels is reported next to it.
- sides, aspect, megapixels, file bytes, format and colour mode from the decoded image and the file.
- prohibited content a rule measures (``PROHIBITED_BY``: a word in the preset's ``prohibited`` entry ->
  the rule; "text", "badges" -> ``text_overlay``, "watermarks" -> ``watermark`` ...) is checked on the
  pixels by that rule; what no rule measures (logos, props ...) is listed as "manual review": passed is None.

A rule measured on the pixels reports what it found as ``details["boxes"]``: [x0, y0, x1, y1] ints in
the checked image's pixels, which the report and the web page draw on the thumbnail. A rule may also
have a ``fix`` (``Fix``): ``marketplaces.checks.fix_failures`` runs the fixes of the rules that failed,
and ``pipeline.process`` checks again after it.

A rule is "required" unless the preset lists it under ``advice``; "manual" rules are for a person.
A new rule is one ``@register_rule`` function here, and a preset field or two in ``presets.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

from ..item import ImageItem
from .measure import border_whiteness, product_box

WHITE_SHARE_MIN = 0.995
NOT_MEASURED_FILE = "not measured: no file given (check the saved file)"
NO_PRODUCT = "no product found: the image is all white"

Severity = Literal["required", "advice", "manual"]
FixStage = Literal["source", "output"]

# Pillow modes -> the colour model they hold.
_MODE_FAMILY = {
    "RGB": "RGB", "RGBA": "RGB", "RGBX": "RGB", "RGBa": "RGB", "P": "RGB", "PA": "RGB", "YCbCr": "RGB",
    "CMYK": "CMYK", "LAB": "LAB", "HSV": "HSV",
    "1": "grayscale", "L": "grayscale", "LA": "grayscale", "La": "grayscale", "I": "grayscale", "F": "grayscale",
    "I;16": "grayscale", "I;16B": "grayscale", "I;16L": "grayscale", "I;16N": "grayscale",
}


@dataclass
class RuleResult:
    """One rule's outcome. passed: True/False when measured, None when not measured here.
    confidence: how sure a detector is of ``passed`` (0..1); None for exact measurements."""

    name: str
    passed: bool | None
    measured: Any
    expected: str
    message: str
    severity: Severity = "required"
    details: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Subject:
    """What the rules measure: an image, the preset (a ``presets.Preset``), and what is known of
    the file the image came from or will be saved as (None: not known). The pixel measurements
    are made once, by the first rule that asks."""

    item: ImageItem
    preset: Any
    file_bytes: int | None = None
    file_format: str | None = None
    file_mode: str | None = None

    @property
    def size(self) -> str:
        return f"{self.item.width}x{self.item.height}"

    @property
    def long_side(self) -> int:
        return max(self.item.height, self.item.width)

    @property
    def short_side(self) -> int:
        return min(self.item.height, self.item.width)

    @cached_property
    def whiteness(self) -> dict[str, Any]:
        return border_whiteness(self.item.pixels, self.item.alpha)

    @cached_property
    def text_scan(self) -> Any:
        """The text on the image, each line judged overlay, watermark or product text (``vision.overlays``)."""
        from ..vision.overlays import scan_text

        return scan_text(self.item.pixels, alpha=self.item.alpha)

    @cached_property
    def layout(self) -> Any:
        """Borders, collage panels and the items in the largest panel, each found when first asked for
        (``vision.layout_defects.LayoutInspection``)."""
        from ..vision.layout_defects import LayoutInspection

        return LayoutInspection(self.item.pixels, self.item.alpha)

    @cached_property
    def product(self) -> tuple[tuple[int, int, int, int] | None, float]:
        """(the product's box or None when all is white, the share of the canvas it covers)."""
        return product_box(self.item.pixels, self.item.alpha)


@dataclass(frozen=True)
class Verdict:
    """What ``measure`` finds; the rule adds its name, its severity and (unless given) its expected value."""

    passed: bool | None
    measured: Any
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    expected: str | None = None
    name: str | None = None  # one rule may give several results ("prohibited: text", ...)
    confidence: float | None = None  # a detector's certainty of ``passed``, 0..1


@dataclass(frozen=True)
class Fixed:
    """What a rule's fix made of an image: the new item (None: it could not be fixed) and what was done
    or why not, in words ("removed 2 overlays: SALE, -30%"; "the text covers the product: not removed")."""

    item: ImageItem | None
    note: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    measure: Callable[[Subject], Verdict | list[Verdict]]
    applies: Callable[[Any], bool]
    expected: Callable[[Any], str]
    summary: Callable[[Any], str]
    show: Callable[[Any, dict[str, Any]], str]
    # "advice": reported (with its boxes) but never a failure and never fixed automatically, for a rule
    # whose detector is not yet trusted enough to fail an image or repaint it (see its registration)
    severity: Literal["required", "advice", "manual"]
    # fix(item, result) -> Fixed: repair the image a failed result describes (None: no automatic fix)
    fix: Callable[[ImageItem, RuleResult], Fixed] | None = None
    # label(preset) -> what a failure is called in a summary line ("below 1000 px zoom"); None: the name
    label: Callable[[Any], str] | None = None
    # when the fix runs: "output" (on the recipe's result) or "source" (before the recipe's steps: a
    # border or a collage is cropped first, so the recipe's cut-out and fit_to_canvas re-fit what is left)
    fix_stage: FixStage = "output"

    def failure_label(self, preset: Any) -> str:
        return self.label(preset) if self.label is not None else self.name.replace("_", " ")

    def severity_in(self, preset: Any) -> Severity:
        if self.severity in ("manual", "advice"):
            return self.severity
        return "advice" if self.name in preset.advice else "required"

    def check(self, subject: Subject) -> list[RuleResult]:
        found = self.measure(subject)
        severity = self.severity_in(subject.preset)
        return [
            RuleResult(v.name or self.name, v.passed, v.measured, v.expected or self.expected(subject.preset), v.message,
                       severity, dict(v.details), v.confidence)
            for v in (found if isinstance(found, list) else [found])
        ]


RULES: dict[str, Rule] = {}


def register_rule(
    name: str,
    *,
    applies: Callable[[Any], bool],
    expected: Callable[[Any], str],
    summary: Callable[[Any], str] | None = None,
    show: Callable[[Any, dict[str, Any]], str] = lambda value, details: str(value),
    severity: Literal["required", "advice", "manual"] = "required",
    fix: Callable[[ImageItem, RuleResult], Fixed] | None = None,
    label: Callable[[Any], str] | None = None,
    fix_stage: FixStage = "output",
) -> Callable[[Callable[[Subject], Verdict | list[Verdict]]], Callable[[Subject], Verdict | list[Verdict]]]:
    """Register ``measure`` as the rule ``name``; reports list the rules in registration order.
    ``fix`` repairs an image the rule failed (``Fixed``); ``checks.fix_failures`` calls it. ``label``
    names a failure in a summary line (``checks.failure_labels``: "2 with advice: below 1000 px zoom").
    ``fix_stage`` says whether the fix runs on the source, before the recipe's steps, or on their output."""

    def register(measure: Callable[[Subject], Verdict | list[Verdict]]) -> Callable[[Subject], Verdict | list[Verdict]]:
        if name in RULES:
            raise ValueError(f"rule '{name}' is registered twice")
        RULES[name] = Rule(name, measure, applies, expected, summary or expected, show, severity, fix, label, fix_stage)
        return measure

    return register


def rule_names() -> tuple[str, ...]:
    return tuple(RULES)


def rules_for(preset: Any) -> list[Rule]:
    """The rules ``preset`` sets, in report order."""
    return [rule for rule in RULES.values() if rule.applies(preset)]


def format_measured(result: dict[str, Any]) -> str:
    """A result's measured value in words (``RuleResult.to_dict()``): "98.50% white (max dev 3)", "800 px", "-"."""
    value = result["measured"]
    if value is None:
        return "-"
    rule = RULES.get(result["name"])
    return rule.show(value, result["details"]) if rule else str(value)


# A preset's ``prohibited`` entry that contains one of these words (case-insensitive) is measured by the
# rule; the entries no rule measures stay "manual review". One line per rule that measures a prohibition.
PROHIBITED_BY: dict[str, tuple[str, ...]] = {
    "text_overlay": ("text", "badge"),
    "watermark": ("watermark",),
    "border": ("border",),
    "collage": ("collage", "inset image"),
    "multiple_items": ("one product", "one subject", "several products", "multiple items"),
}


def measured_by(thing: str) -> list[str]:
    """The rules that measure the prohibited ``thing`` (a preset's entry, e.g. "added text or artwork")."""
    low = thing.lower()
    return [rule for rule, words in PROHIBITED_BY.items() if any(word in low for word in words)]


def _prohibits(rule: str) -> Callable[[Any], bool]:
    """``applies`` for a rule that measures a prohibition: the preset prohibits one of its things."""
    return lambda preset: any(rule in measured_by(thing) for thing in preset.prohibited)


def _set(name: str) -> Callable[[Any], bool]:
    """``applies`` for a rule that a preset field sets: the field is not null."""
    return lambda preset: getattr(preset, name) is not None


def _px(value: Any, details: dict[str, Any]) -> str:
    return f"{value} px"


def _ok(passed: bool, problem: str) -> str:
    return "ok" if passed else problem


# ---------------------------------------------------------------------------------------------
# the file


@register_rule("format", applies=_set("formats"), expected=lambda p: ", ".join(p.formats))
def _format(s: Subject) -> Verdict:
    if s.file_format is None:
        return Verdict(None, None, NOT_MEASURED_FILE)
    fmt = s.file_format.lower().replace("jpg", "jpeg")
    ok = fmt in s.preset.formats
    return Verdict(ok, fmt, _ok(ok, f"{fmt.upper()} is not accepted; save as {s.preset.formats[0].upper()}"))


@register_rule("file_bytes", applies=_set("max_bytes"), expected=lambda p: f"<= {p.max_bytes:,} bytes",
               show=lambda value, details: f"{value:,} B")
def _file_bytes(s: Subject) -> Verdict:
    if s.file_bytes is None:
        return Verdict(None, None, NOT_MEASURED_FILE)
    ok = s.file_bytes <= s.preset.max_bytes
    return Verdict(ok, int(s.file_bytes), _ok(
        ok, f"{s.file_bytes:,} bytes is over the cap; re-save as JPEG with a lower quality or a smaller size"))


@register_rule("color_mode", applies=_set("color_modes"), expected=lambda p: " or ".join(p.color_modes))
def _color_mode(s: Subject) -> Verdict:
    mode = s.file_mode or "RGB"  # without a file, the decoded pixels (always RGB) are judged
    family = _MODE_FAMILY.get(mode, mode)
    ok = family in s.preset.color_modes
    return Verdict(ok, family, _ok(ok, f"{family} (Pillow mode {mode}) is not accepted; convert to sRGB RGB"), {"mode": mode})


# ---------------------------------------------------------------------------------------------
# size and shape


@register_rule("min_side", applies=_set("min_side"), expected=lambda p: f"both sides >= {p.min_side} px", show=_px)
def _min_side(s: Subject) -> Verdict:
    ok = s.short_side >= s.preset.min_side
    return Verdict(ok, s.short_side, _ok(
        ok, f"{s.size}: the shorter side is under {s.preset.min_side} px; use a larger source or upscale"))


@register_rule("min_long_side", applies=_set("min_long_side"), expected=lambda p: f"longest side >= {p.min_long_side} px",
               show=_px)
def _min_long_side(s: Subject) -> Verdict:
    ok = s.long_side >= s.preset.min_long_side
    return Verdict(ok, s.long_side, _ok(
        ok, f"{s.size}: the longest side is under {s.preset.min_long_side} px; use a larger source or upscale"))


@register_rule("max_side", applies=_set("max_side"), expected=lambda p: f"longest side <= {p.max_side} px", show=_px)
def _max_side(s: Subject) -> Verdict:
    ok = s.long_side <= s.preset.max_side
    return Verdict(ok, s.long_side, _ok(ok, f"{s.size}: shrink so the longest side is at most {s.preset.max_side} px"))


@register_rule("max_megapixels", applies=_set("max_megapixels"), expected=lambda p: f"<= {p.max_megapixels:g} MP",
               show=lambda value, details: f"{value:g} MP")
def _max_megapixels(s: Subject) -> Verdict:
    mp = s.item.width * s.item.height / 1e6
    ok = mp <= s.preset.max_megapixels
    return Verdict(ok, round(mp, 4), _ok(ok, f"{s.size} = {mp:.2f} MP; shrink the image"))


@register_rule("aspect", applies=_set("aspect"), expected=lambda p: f"width/height = {p.aspect:g} (±{p.aspect_tolerance:.1%})",
               show=lambda value, details: f"{value:.3f}")
def _aspect(s: Subject) -> Verdict:
    p = s.preset
    ratio = s.item.width / s.item.height
    ok = abs(ratio - p.aspect) <= p.aspect_tolerance * p.aspect
    return Verdict(ok, round(ratio, 4), _ok(ok, f"{s.size} is not {p.aspect:g}:1; pad to a square canvas (fit_to_canvas)"))


# ---------------------------------------------------------------------------------------------
# pixels


# Its report's expected value names the band measured; "pure white ..." is what `presets` prints.
@register_rule("background", applies=lambda p: p.background == "white", expected=lambda p: "pure white RGB 255,255,255",
               show=lambda value, details: f"{value:.2%} white (max dev {details['max_deviation']})")
def _background(s: Subject) -> Verdict:
    wb = s.whiteness
    share = wb["exact_white_share"]
    ok = share >= WHITE_SHARE_MIN
    if ok:
        message = "ok"
    elif wb["transparent_share"] > 0:
        message = f"{wb['transparent_share']:.1%} of the border is transparent; flatten on pure white (white_background)"
    elif share == 0:
        message = f"the border is not pure white anywhere (max deviation {wb['max_deviation']}); replace the background (white_background)"
    else:
        message = (f"only {share:.2%} of the {wb['band_px']} px border is exactly RGB 255 (max deviation "
                   f"{wb['max_deviation']}); the product or a shadow touches the edge, or the background is off-white")
    details = {"max_deviation": wb["max_deviation"], "transparent_share": round(wb["transparent_share"], 5), "band_px": wb["band_px"]}
    expected = f">= {WHITE_SHARE_MIN:.1%} of a {wb['band_px']} px border exactly RGB 255"
    return Verdict(ok, round(share, 5), message, details, expected=expected)


@register_rule("fill", applies=_set("fill_min"), expected=lambda p: f"product's longest side >= {p.fill_min:.0%} of the canvas",
               show=lambda value, details: f"{value:.1%} (area {details['area_share']:.1%})")
def _fill(s: Subject) -> Verdict:
    box, area = s.product
    if box is None:
        return Verdict(False, 0.0, NO_PRODUCT, {"area_share": 0.0, "box": None})
    fill = max((box[2] - box[0]) / s.item.width, (box[3] - box[1]) / s.item.height)
    ok = fill >= s.preset.fill_min
    return Verdict(ok, round(fill, 4), _ok(
        ok, f"the product spans {fill:.1%}; crop or scale it to at least {s.preset.fill_min:.0%} (fit_to_canvas)"),
        {"area_share": round(area, 4), "box": list(box)})


@register_rule("centered", applies=_set("center_tolerance"),
               expected=lambda p: f"product box centre within {p.center_tolerance:.0%} of the canvas side of the centre",
               summary=lambda p: f"product centred within {p.center_tolerance:.0%} of the canvas side",
               show=lambda value, details: f"{value:.1%} off")
def _centered(s: Subject) -> Verdict:
    box, _ = s.product
    if box is None:
        return Verdict(False, None, NO_PRODUCT)
    w, h = s.item.width, s.item.height
    dx = abs((box[0] + box[2]) / 2 - w / 2) / w
    dy = abs((box[1] + box[3]) / 2 - h / 2) / h
    offset = max(dx, dy)
    ok = offset <= s.preset.center_tolerance
    return Verdict(ok, round(offset, 4), _ok(
        ok, f"the product is off centre by {offset:.1%} of the canvas; centre it (fit_to_canvas)"),
        {"dx": round(dx, 4), "dy": round(dy, 4), "box": list(box)})


# ---------------------------------------------------------------------------------------------
# text added over the image (``vision.overlays``: OCR lines judged by where they sit and how they are drawn)


def _text_verdict(s: Subject, kind: str, what: str, remedy: str) -> Verdict:
    scan = s.text_scan
    found = scan.of_kind(kind)
    plates = list(scan.plates) if kind == "overlay" else []
    details: dict[str, Any] = {
        "boxes": [f.rect for f in found] + [p["box"] for p in plates],
        "text": [f.text for f in found],
        "lines": [f.to_dict() for f in found],
        "product_text": [f.text for f in scan.of_kind("product")],
        "background": scan.background,
        "seconds": round(scan.seconds, 3),
    }
    if plates:
        details["plates"] = plates
    if not found:
        # how sure: no line at all is surer than lines judged to be something else
        others = [f for f in scan.findings if f.kind != kind]
        return Verdict(True, 0, "ok", details, confidence=0.95 if not others else 0.8)
    confidence = max(f.confidence for f in found) * (0.95 if len(found) > 1 else 0.85)
    shown = ", ".join(f'"{t}"' for t in dict.fromkeys(details["text"]))
    return Verdict(False, len(found), f"{what}: {shown}; {remedy}", details, confidence=round(min(confidence, 0.99), 3))


class _Line:
    """An OCR line as ``ops.repair.text_mask`` takes it (text and four corners)."""

    def __init__(self, text: str, box: list[list[float]]) -> None:
        self.text, self.box = text, [tuple(p) for p in box]


def _remove_text(item: ImageItem, result: RuleResult, what: str) -> Fixed:
    """Remove the lines (and badge plates) a failed text rule found, with the inpainting of
    ``repair --remove-text`` (``ops.repair``: the letters' mask, filled from their surroundings)."""
    from ..ops.repair import inpaint, resolve_inpaint_method, text_mask
    from ..vision.overlays import plate_mask

    lines = [_Line(line["text"], line["corners"]) for line in result.details.get("lines", [])]
    if not lines:
        return Fixed(None, f"no {what} located to remove")
    mask, _ = text_mask(item.pixels, lines=lines, grow=3)
    plates = result.details.get("plates") or []
    if plates:
        np_mask = plate_mask(item.pixels, plates)
        mask = mask | np_mask
    removed = int((mask > 0).sum())
    if not removed:
        return Fixed(None, f"the {what}'s letters could not be told from what is under them; remove them by hand "
                           "(product-studio repair --remove-text --match TEXT)")
    if removed > 0.5 * mask.size:
        return Fixed(None, f"the {what} covers most of the image; it cannot be removed without repainting the product")
    method = resolve_inpaint_method("auto")
    out = item.replace(pixels=inpaint(item.pixels, mask, method=method, radius=3))
    texts = ", ".join(dict.fromkeys(line.text for line in lines))
    return Fixed(out, f"removed {len(lines)} {what} line(s) ({texts}) by inpainting ({method})",
                 {"inpainted_pixels": removed, "method": method})


def _text_count(value: Any, details: dict[str, Any]) -> str:
    return "none" if not value else f"{value} line(s): " + ", ".join(details.get("text", [])[:4])


# The two text rules are advice for now: on held-out shots (benchmarks/compliance_detection.py) about
# 3 in 10 compliant images, most with text printed on the product, were flagged. Advice shows the
# boxes for a person to review and never fails an image nor repaints it (``fix_failures`` fixes
# required failures only); text a person confirms is removed with repair --remove-text.
@register_rule("text_overlay", applies=_prohibits("text_overlay"),
               expected=lambda p: "no text, prices or badges added over the image (text printed on the product is fine)",
               show=_text_count, fix=lambda item, result: _remove_text(item, result, "overlay"), severity="advice")
def _text_overlay(s: Subject) -> Verdict:
    return _text_verdict(s, "overlay", "promotional text or a badge is added over the image",
                         "remove it (check --fix, or repair --remove-text)")


@register_rule("watermark", applies=_prohibits("watermark"), expected=lambda p: "no watermark",
               show=_text_count, fix=lambda item, result: _remove_text(item, result, "watermark"), severity="advice")
def _watermark(s: Subject) -> Verdict:
    return _text_verdict(s, "watermark", "a watermark covers the image", "use the unmarked original, or remove it (check --fix)")


# ---------------------------------------------------------------------------------------------
# layout: borders, collages, several items (``vision.layout_defects``, ``vision.item_count``)


def _edges_shown(value: Any, details: dict[str, Any]) -> str:
    return "none" if not value else ", ".join(f"{e} {details['edges'][e]} px" for e in value)


def _crop_border(item: ImageItem, result: RuleResult) -> Fixed:
    """Crop the borders away (the box inside them); the recipe that follows re-fits the product."""
    x0, y0, x1, y1 = result.details.get("inner") or [0, 0, item.width, item.height]
    if x1 - x0 < 16 or y1 - y0 < 16:
        return Fixed(None, "the border leaves no image inside it; nothing to crop to")
    alpha = None if item.alpha is None else item.alpha[y0:y1, x0:x1]
    cropped = item.replace(pixels=np.ascontiguousarray(item.pixels[y0:y1, x0:x1]), alpha=alpha)
    return Fixed(cropped, f"cropped the border ({_edges_shown(result.measured, result.details)})", {"crop": [x0, y0, x1, y1]})


def _white_frame_edges(item: ImageItem, edges: dict[str, int], kinds: dict[str, str], boxes: list[list[int]]) -> set[str]:
    """The edges whose strip, as shown on a white page, is marketplace white: that is the page (the
    background the rules ask for), not a border; a square product centred on white looks like a photo
    in a white mat, and cropping that "frame" would cut into the product."""
    white = set()
    for edge, (x0, y0, x1, y1) in zip(edges, boxes):
        if kinds.get(edge) != "frame":  # a line or band drawn inside a white margin is a border
            continue
        strip = item.pixels[y0:y1, x0:x1].astype(np.float32)
        if item.alpha is not None:
            a = item.alpha[y0:y1, x0:x1, None].astype(np.float32) / 255.0
            strip = strip * a + 255.0 * (1.0 - a)
        if strip.size and float((strip.min(axis=2) >= 245.0).mean()) >= 0.85:  # a frame's last row may touch the product
            white.add(edge)
    return white


def _product_edges(item: ImageItem, edges: dict[str, int], kinds: dict[str, str]) -> set[str]:
    """The "line" edges that are a product's own straight outline, not a line drawn on the margin: a drawn
    line has the margin's colour again just inside it, a product edge has the product there (a carton or a
    square product centred on white reads as an inset line on all four sides)."""
    h, w = item.pixels.shape[:2]
    found = set()
    for edge, depth in edges.items():
        if kinds.get(edge) != "line" or depth < 8:
            continue
        band = max(4, depth // 8)
        outer = {"top": (slice(0, depth - band), slice(None)), "bottom": (slice(h - depth + band, h), slice(None)),
                 "left": (slice(None), slice(0, depth - band)), "right": (slice(None), slice(w - depth + band, w))}[edge]
        inner = {"top": (slice(depth + 2, depth + 2 + band), slice(depth, w - depth)),
                 "bottom": (slice(h - depth - 2 - band, h - depth - 2), slice(depth, w - depth)),
                 "left": (slice(depth, h - depth), slice(depth + 2, depth + 2 + band)),
                 "right": (slice(depth, h - depth), slice(w - depth - 2 - band, w - depth - 2))}[edge]
        a, b = item.pixels[outer].reshape(-1, 3), item.pixels[inner].reshape(-1, 3)
        if a.size and b.size and float(np.abs(np.median(a, 0) - np.median(b, 0)).max()) > 40:
            found.add(edge)
    return found


@register_rule("border", applies=_prohibits("border"), expected=lambda p: "no frame, line or band added along the edges",
               show=_edges_shown, fix=_crop_border, fix_stage="source")
def _border(s: Subject) -> Verdict:
    b = s.layout.border
    white = _white_frame_edges(s.item, b.edges, b.kinds, b.boxes) if b.found and len(b.boxes) == len(b.edges) else set()
    white |= _product_edges(s.item, b.edges, b.kinds) if b.found else set()
    if white:
        kept = [e for e in b.edges if e not in white]
        b = replace(b, edges={e: b.edges[e] for e in kept}, kinds={e: b.kinds[e] for e in kept if e in b.kinds},
                    boxes=[box for e, box in zip(b.edges, b.boxes) if e not in white],
                    inner=[0 if "left" in white else b.inner[0], 0 if "top" in white else b.inner[1],
                           s.item.width if "right" in white else b.inner[2], s.item.height if "bottom" in white else b.inner[3]])
    details = {"boxes": b.boxes, "edges": b.edges, "kinds": b.kinds, "inner": b.inner}
    if not b.found:
        return Verdict(True, [], "ok", details, confidence=0.9)
    kinds = " and ".join(sorted(set(b.kinds.values())))
    return Verdict(False, list(b.edges), f"a {kinds} runs along the {', '.join(b.edges)} edge(s); crop it (check --fix)",
                   details, confidence=b.confidence)


def _keep_largest_panel(item: ImageItem, result: RuleResult) -> Fixed:
    """Reduce a collage to its largest panel, with a warning: the panel kept may not be the main view."""
    x0, y0, x1, y1 = result.details["largest_panel"]
    alpha = None if item.alpha is None else item.alpha[y0:y1, x0:x1]
    panel = item.replace(pixels=np.ascontiguousarray(item.pixels[y0:y1, x0:x1]), alpha=alpha)
    rows, cols = result.details["grid"]
    return Fixed(panel, f"warning: the {rows}x{cols} collage was reduced to its largest panel {[x0, y0, x1, y1]}; "
                        "check that it shows the product's main view", {"crop": [x0, y0, x1, y1], "warning": True})


@register_rule("collage", applies=_prohibits("collage"), expected=lambda p: "one picture, not panels in a grid",
               show=lambda value, details: f"{value} panels ({details['grid'][0]}x{details['grid'][1]})" if value > 1 else "1 panel",
               fix=_keep_largest_panel, fix_stage="source")
def _collage(s: Subject) -> Verdict:
    c = s.layout.collage
    details = {"boxes": c.panels if c.found else [], "grid": list(c.grid), "gutters": c.gutters,
               "largest_panel": c.largest_panel}
    if not c.found:
        return Verdict(True, 1, "ok", details, confidence=0.9)
    return Verdict(False, len(c.panels), f"{len(c.panels)} panels in a {c.grid[0]}x{c.grid[1]} grid with gutters or "
                   "divider lines; keep one picture (check --fix keeps the largest panel)", details, confidence=c.confidence)


def _several_items_stay(item: ImageItem, result: RuleResult) -> Fixed:
    """Several products cannot be made one by cropping or painting: the failure stays, with its reason."""
    return Fixed(None, f"{result.measured} separate products: not fixable automatically (which one is the product "
                       "for sale?); photograph it alone")


@register_rule("multiple_items", applies=_prohibits("multiple_items"), expected=lambda p: "one product (a pair counts as one)",
               show=lambda value, details: f"{value} item(s)" + (" (a pair)" if details.get("pair") else ""),
               label=lambda p: "several items", fix=_several_items_stay)
def _multiple_items(s: Subject) -> Verdict:
    found = s.layout.items
    details = {"boxes": found.boxes if found.count > 1 else [], "count": found.count, "items": found.boxes,
               "areas": found.areas, "pair": found.pair, "mask": found.mask_source}
    if found.count <= 1:
        return Verdict(True, found.count, "ok", details, confidence=found.confidence)
    return Verdict(False, found.count, f"{found.count} separate products; show one product alone (not fixable "
                   "automatically: photograph it alone, or keep the image where the marketplace allows a set sold together)",
                   details, confidence=found.confidence)


# ---------------------------------------------------------------------------------------------
# advice (unless a preset says otherwise: ``Preset.advice``)


@register_rule("recommended_side", applies=lambda p: True, expected=lambda p: f"longest side >= {p.recommended_side} px",
               summary=lambda p: f"longest side >= {p.recommended_side} px (advised)", show=_px,
               label=lambda p: f"below {p.recommended_side} px recommended")
def _recommended_side(s: Subject) -> Verdict:
    side = s.preset.recommended_side
    ok = s.long_side >= side
    return Verdict(ok, s.long_side, _ok(ok, f"the longest side is {s.long_side} px; {side} px or more is advised"))


@register_rule("zoom_side", applies=_set("zoom_side"), expected=lambda p: f"longest side >= {p.zoom_side} px",
               summary=lambda p: f"longest side >= {p.zoom_side} px for zoom (advised)", show=_px,
               label=lambda p: f"below {p.zoom_side} px zoom")
def _zoom_side(s: Subject) -> Verdict:
    ok = s.long_side >= s.preset.zoom_side
    return Verdict(ok, s.long_side, _ok(ok, f"under {s.preset.zoom_side} px the marketplace's zoom is off"))


# ---------------------------------------------------------------------------------------------
# what a person has to look at


def _manual_things(preset: Any) -> list[str]:
    """The preset's prohibited things that no rule measures (``PROHIBITED_BY``)."""
    return [thing for thing in preset.prohibited if not measured_by(thing)]


@register_rule("prohibited", applies=lambda p: bool(_manual_things(p)), expected=lambda p: "no " + ", ".join(_manual_things(p)),
               summary=lambda p: "no " + ", ".join(_manual_things(p)) + " (manual review)", severity="manual")
def _prohibited(s: Subject) -> list[Verdict]:
    return [Verdict(None, None, "not measured here: manual review", expected=f"no {thing}", name=f"prohibited: {thing}")
            for thing in _manual_things(s.preset)]
