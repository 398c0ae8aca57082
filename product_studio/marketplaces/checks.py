"""Compliance checks: measure an image (and its file) against a marketplace preset.

``check_image`` runs every rule the preset sets (``rules.py``: one registered function per rule,
in report order) and gathers the results in a ``ComplianceReport``; ``check_file`` reads the file
first so the file rules (format, bytes, colour mode) are measured too. ``fix_failures`` runs the
fixes of the rules that fail (a rule's ``fix``: overlays inpainted, borders cropped ...);
``pipeline.process`` calls it after a recipe's steps and checks the output again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PresetError
from ..imageio import load_image, read_bytes
from ..item import ImageItem
from ..recipe import run_recipe
from .presets import Preset, load_preset
from .rules import RULES, FixStage, RuleResult, Subject, rules_for

MAX_FIX_ROUNDS = 2  # a fix may leave something another round finds (a watermark's remnant); then stop

# The pixel measurements of the last Subject, per thread: ``process`` checks the output image that
# its output-stage fixes just measured (text scan, layout), so a Subject of the very same item
# (identity: items are never changed in place) starts with them instead of measuring again.
_MEASURED = threading.local()
_PIXEL_MEASURES = ("whiteness", "text_scan", "layout", "product")


def measure(item: ImageItem, preset: Preset, **file: Any) -> Subject:
    """A ``Subject`` for ``item``, reusing the pixel measurements the last one made on this very item."""
    subject = Subject(item, preset, **file)
    last = getattr(_MEASURED, "subject", None)
    if last is not None and last.item is item:
        subject.__dict__.update({k: v for k, v in last.__dict__.items() if k in _PIXEL_MEASURES})
    _MEASURED.subject = subject
    return subject


@dataclass
class ComplianceReport:
    """The rules of one preset measured on one image."""

    preset: str
    source: str
    width: int
    height: int
    rules: list[RuleResult]

    @property
    def passed(self) -> bool:
        """True when no required rule that was measured failed (advice and manual review aside)."""
        return not self.failed

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.rules if r.severity == "required" and r.passed is False]

    @property
    def manual_review(self) -> list[str]:
        return [r.name for r in self.rules if r.severity == "manual"]

    def rule(self, name: str) -> RuleResult:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"no rule '{name}' in this report; rules: {', '.join(r.name for r in self.rules)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "source": self.source,
            "passed": self.passed,
            "width": self.width,
            "height": self.height,
            "failed": self.failed,
            "advice": [r.name for r in self.rules if r.severity == "advice" and r.passed is False],
            "manual_review": self.manual_review,
            "rules": [r.to_dict() for r in self.rules],
        }


def check_image(
    item: ImageItem,
    preset: Preset | str,
    *,
    file_bytes: int | None = None,
    file_format: str | None = None,
    file_mode: str | None = None,
) -> ComplianceReport:
    """Measure ``item`` against every rule of ``preset``.

    file_bytes / file_format / file_mode describe the file the item came from (or will be saved
    as); without them the file rules are reported as not measured (passed None). file_mode is a
    Pillow mode ("RGB", "CMYK", "L" ...); without it the decoded pixels (always RGB) are judged.
    """
    p = load_preset(preset) if not isinstance(preset, Preset) else preset
    subject = measure(item, p, file_bytes=file_bytes, file_format=file_format, file_mode=file_mode)
    rules = [result for rule in rules_for(p) for result in rule.check(subject)]
    return ComplianceReport(preset=p.name, source=item.source, width=item.width, height=item.height, rules=rules)


def check_file(path: str | os.PathLike, preset: Preset | str) -> ComplianceReport:
    """Load ``path`` (format judged by content) and check the image and the file against ``preset``.

    Raises the loader's typed errors (EmptyFileError, UnsupportedFormatError, CorruptImageError ...)
    for a file that cannot be read as an image.
    """
    p = load_preset(preset) if not isinstance(preset, Preset) else preset
    data = read_bytes(path)
    item = load_image(data, name=str(Path(path)))
    return check_image(
        item, p, file_bytes=len(data), file_format=item.metadata["source_format"], file_mode=item.metadata.get("source_mode")
    )


def failure_labels(preset: Preset | str | None, names: Iterable[str]) -> dict[str, str]:
    """Each rule name's failure in a few words, for a summary line ("zoom_side" -> "below 1000 px
    zoom"); a name no rule has, or every name when the preset cannot be loaded, reads as itself."""
    try:
        p = None if preset is None else (load_preset(preset) if not isinstance(preset, Preset) else preset)
    except PresetError:
        p = None
    return {name: RULES[name].failure_label(p) if p is not None and name in RULES else name.replace("_", " ")
            for name in names}


def fix_image(item: ImageItem, preset: Preset | str) -> ImageItem:
    """Run the preset's default recipe on ``item``; save the result with ``preset.recipe().output``."""
    p = load_preset(preset) if not isinstance(preset, Preset) else preset
    return run_recipe(item, p.recipe())


def fix_failures(item: ImageItem, preset: Preset | str, *, stage: FixStage = "output") -> tuple[ImageItem, list[dict[str, Any]]]:
    """Repair what the preset's fixable rules find wrong with ``item``; the fixed item and what was done.

    Each rule that has a ``fix`` is measured on the image as it is at that moment (a fix changes the
    pixels the next rule sees), and its fix runs when it failed; up to ``MAX_FIX_ROUNDS`` rounds while
    fixes change something. Each entry: {"rule", "fixed": bool, "note"} (and the fix's details); a rule
    whose fix cannot help says why in its note and stays failed in the check that follows. ``stage``:
    only the rules whose ``fix_stage`` it is ("source": before a recipe's steps; "output": after them).
    """
    p = load_preset(preset) if not isinstance(preset, Preset) else preset
    fixable = [rule for rule in rules_for(p) if rule.fix is not None and rule.fix_stage == stage]
    done: list[dict[str, Any]] = []
    for _ in range(MAX_FIX_ROUNDS):
        changed = False
        subject = measure(item, p)
        for rule in fixable:
            failed = [r for r in rule.check(subject) if r.passed is False and r.severity == "required"]
            if not failed:
                continue
            fixed = rule.fix(item, failed[0])
            done.append({"rule": rule.name, "fixed": fixed.item is not None, "note": fixed.note, **fixed.details})
            if fixed.item is not None:
                item, changed = fixed.item, True
                subject = measure(item, p)
        if not changed:
            break
    return item, done
