"""Compliance detection: the rules that look at what a reviewer sees (text_overlay, watermark, and
border, collage, multiple_items when ``compliance_cases_layout.py`` is present) on a generated set.

The set is made here from the machine's own photographs and cut-outs (``compliance_sources.py``):
promotional overlays in many fonts, sizes, colours, languages and badge shapes, watermarks at
10-40% opacity (centred, diagonal, tiled), compliant shots (half with text printed on the product)
from ``compliance_cases_text.py``, and the layout cases of ``compliance_cases_layout.py``. Each case
knows which rules it violates. ``--part held_out`` (the default) composes it from cut-outs and
photographs no threshold was chosen on, with a seed (1) other than the one looked at while building (0).

Prints, per rule: cases, precision and recall of our rule next to the baseline "any OCR text is a
violation" (RapidOCR on the same downscaled image), the false flags on compliant images (plain
and with printed text, each row with its count), recall by kind of case, and the time of a full
``check`` (every amazon-main rule) per 2000 px image on one core, with the OCR's share.

    nice .venv/bin/python benchmarks/compliance_detection.py                  # held-out, seed 1, ~5 min
    nice .venv/bin/python benchmarks/compliance_detection.py --part dev --seed 0 --n 60
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from compliance_cases_text import make_text_cases  # noqa: E402
from compliance_sources import Case  # noqa: E402
from product_studio.item import ImageItem  # noqa: E402
from product_studio.marketplaces import check_image, load_preset  # noqa: E402
from product_studio.marketplaces.rules import RULES, Subject  # noqa: E402
from product_studio.vision.ocr import load_ocr, read_text  # noqa: E402
from product_studio.vision.overlays import DETECT_SIDE, MIN_CONFIDENCE  # noqa: E402

RULE_NAMES = ("text_overlay", "watermark", "border", "collage", "multiple_items")
TEXT_RULES = ("text_overlay", "watermark")


def layout_cases(seed: int, n: int, part: str) -> list[Case]:
    try:
        from compliance_cases_layout import make_layout_cases
    except ImportError:
        return []
    if "part" in inspect.signature(make_layout_cases).parameters:
        return make_layout_cases(seed, n, part=part)
    return make_layout_cases(seed, n)


def flagged(case: Case, preset) -> tuple[dict[str, bool], float]:
    """Which of the rules fail on the case (measured like ``check``: Rule.check on one Subject)."""
    subject = Subject(ImageItem(pixels=case.rgb, source=case.name), preset)
    start = time.perf_counter()
    out = {}
    for name in RULE_NAMES:
        rule = RULES.get(name)
        if rule is None:
            continue
        out[name] = any(r.passed is False for r in rule.check(subject))
    return out, time.perf_counter() - start


def pr(tp: int, fp: int, fn: int) -> tuple[str, str]:
    p = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
    r = f"{tp / (tp + fn):.3f}" if tp + fn else "-"
    return p, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--part", choices=("dev", "held_out"), default="held_out")
    ap.add_argument("--n", type=int, default=120, help="text cases")
    ap.add_argument("--layout-n", type=int, default=80, help="layout cases (when compliance_cases_layout.py exists)")
    ap.add_argument("--side", type=int, default=1600, help="the cases' longer side")
    ap.add_argument("--time-n", type=int, default=6, help="2000 px images timed for a full check")
    ap.add_argument("--show", type=int, default=0, help="print this many misses and false flags")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    load_ocr(threads=1)
    preset = load_preset("amazon-main")

    cases = make_text_cases(args.seed, args.n, part=args.part, side=args.side)
    cases += layout_cases(args.seed, args.layout_n, args.part)
    rules = [r for r in RULE_NAMES if r in RULES]
    ours: list[dict[str, bool]] = []
    base: list[bool] = []
    for case in cases:
        found, _ = flagged(case, preset)
        ours.append(found)
        base.append(bool(read_text(case.rgb, min_confidence=MIN_CONFIDENCE, max_side=DETECT_SIDE)))

    print(f"compliance detection: {len(cases)} cases (part {args.part}, seed {args.seed}, side {args.side} px); "
          f"baseline = any OCR line (RapidOCR at {DETECT_SIDE} px, score >= {MIN_CONFIDENCE}) is a violation")
    print()
    print(f"{'rule':<16}{'cases':>6}{'flagged':>8}{'precision':>10}{'recall':>8}   {'baseline P':>10}{'baseline R':>11}")
    for rule in rules:
        tp = sum(1 for c, f in zip(cases, ours) if rule in c.expected and f.get(rule))
        fp = sum(1 for c, f in zip(cases, ours) if rule not in c.expected and f.get(rule))
        fn = sum(1 for c, f in zip(cases, ours) if rule in c.expected and not f.get(rule))
        p, r = pr(tp, fp, fn)
        if rule in TEXT_RULES:
            btp = sum(1 for c, b in zip(cases, base) if rule in c.expected and b)
            bfp = sum(1 for c, b in zip(cases, base) if rule not in c.expected and b)
            bfn = sum(1 for c, b in zip(cases, base) if rule in c.expected and not b)
            bp, br = pr(btp, bfp, bfn)
        else:
            bp = br = "n/a"
        print(f"{rule:<16}{tp + fn:>6}{tp + fp:>8}{p:>10}{r:>8}   {bp:>10}{br:>11}")
    # the text rules together: "text added to the image", where the baseline is a fair comparison
    textual = [bool(c.expected & set(TEXT_RULES)) for c in cases]
    any_ours = [any(f.get(r) for r in TEXT_RULES) for f in ours]
    tp = sum(t and o for t, o in zip(textual, any_ours))
    fp = sum(o and not t for t, o in zip(textual, any_ours))
    fn = sum(t and not o for t, o in zip(textual, any_ours))
    btp = sum(t and b for t, b in zip(textual, base))
    bfp = sum(b and not t for t, b in zip(textual, base))
    bfn = sum(t and not b for t, b in zip(textual, base))
    p, r = pr(tp, fp, fn)
    bp, br = pr(btp, bfp, bfn)
    print(f"{'any text rule':<16}{tp + fn:>6}{tp + fp:>8}{p:>10}{r:>8}   {bp:>10}{br:>11}")

    print()
    print(f"{'false flags on compliant':<34}{'images':>7}{'ours':>8}{'baseline':>10}")
    groups = defaultdict(list)
    for c, f, b in zip(cases, ours, base):
        if not c.expected:
            groups[c.kind or "compliant"].append((any(f.values()), b))
    everything = [x for v in groups.values() for x in v]
    for kind, rows in sorted(groups.items()) + [("all compliant", everything)]:
        if rows:
            o = sum(r[0] for r in rows) / len(rows)
            b = sum(r[1] for r in rows) / len(rows)
            print(f"{kind:<34}{len(rows):>7}{o:>8.1%}{b:>10.1%}")

    print()
    print(f"{'recall by kind of case':<34}{'images':>7}{'ours':>8}{'baseline':>10}")
    kinds = defaultdict(list)
    for c, f, b in zip(cases, ours, base):
        if c.expected:
            label = c.kind
            if "watermark" in c.notes:
                w = c.notes["watermark"]
                label = f"watermark/{w['mode']}/{'10-25%' if w['opacity'] < 0.25 else '25-40%'}"
            elif "overlays" in c.notes:
                label = "overlay/badge" if any(o["badge"] != "text" for o in c.notes["overlays"]) else "overlay/text"
            kinds[label].append((all(f.get(r) for r in c.expected), b))
    for kind, rows in sorted(kinds.items()):
        print(f"{kind:<34}{len(rows):>7}{sum(r[0] for r in rows) / len(rows):>8.1%}{sum(r[1] for r in rows) / len(rows):>10.1%}")

    if args.show:
        print()
        shown = 0
        for c, f in zip(cases, ours):
            wrong = {r for r in rules if f.get(r) != (r in c.expected)}
            if wrong and shown < args.show:
                shown += 1
                print(f"  {c.name} ({c.kind}): expected {sorted(c.expected)}, flagged {sorted(r for r in rules if f.get(r))}; {c.notes}")

    # time: a full check (every amazon-main rule) of a 2000 px image, one core
    timing = make_text_cases(args.seed + 1000, args.time_n, part=args.part, side=2000)
    whole, ocr = [], []
    for case in timing:
        item = ImageItem(pixels=case.rgb, source=case.name)
        start = time.perf_counter()
        check_image(item, preset)
        whole.append(time.perf_counter() - start)
        start = time.perf_counter()
        read_text(case.rgb, min_confidence=MIN_CONFIDENCE, max_side=DETECT_SIDE)
        ocr.append(time.perf_counter() - start)
    print()
    print(f"time per 2000 px image, one core (onnxruntime 1 thread, OpenCV 1 thread), median of {len(whole)}: "
          f"full check {statistics.median(whole):.2f} s (max {max(whole):.2f}), of which OCR alone "
          f"{statistics.median(ocr):.2f} s; CPU shared with other work here, so an upper bound")


if __name__ == "__main__":
    main()
