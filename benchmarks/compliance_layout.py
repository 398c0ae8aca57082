"""Layout compliance: the border, collage and multiple_items rules on the generated layout cases
(``compliance_cases_layout.py``), without the OCR of the text rules (``compliance_detection.py`` runs
everything together).

Prints, per rule: cases, flagged, precision and recall next to a naive baseline measured in the same
run (border: the background rule's outer band is not pure white; collage: any interior row or column
uniform along its whole length; multiple_items: more than one raw component of the non-white mask
of 0.4% of the image or more), the false flags on compliant images by kind, recall by kind, and the
CPU time of the three rules per image (one core).

    nice .venv/bin/python benchmarks/compliance_layout.py                         # held-out, seed 1
    nice .venv/bin/python benchmarks/compliance_layout.py --part dev --seed 0 --n 80
"""

from __future__ import annotations

import argparse
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

from compliance_cases_layout import make_layout_cases  # noqa: E402
from product_studio.item import ImageItem  # noqa: E402
from product_studio.marketplaces import load_preset  # noqa: E402
from product_studio.marketplaces.measure import border_whiteness  # noqa: E402
from product_studio.marketplaces.rules import RULES, WHITE_SHARE_MIN, Subject  # noqa: E402
from product_studio.vision.layout_defects import line_profile, reduce_image  # noqa: E402

LAYOUT = ("border", "collage", "multiple_items")


def baseline(rgb: np.ndarray) -> dict[str, bool]:
    small, _ = reduce_image(rgb)
    rows, cols = line_profile(small, axis="rows"), line_profile(small, axis="columns")
    interior = [p.uniform[len(p.uniform) // 10 : -len(p.uniform) // 10] for p in (rows, cols)]
    mask = (small.min(axis=2) < 255 - 16).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    big = int(np.sum(stats[1:, cv2.CC_STAT_AREA] >= 0.004 * mask.size))
    return {
        "border": border_whiteness(rgb)["exact_white_share"] < WHITE_SHARE_MIN,
        "collage": any(bool((u >= 0.999).any()) for u in interior) and not (small.min(axis=2) >= 239).all(axis=0).any(),
        "multiple_items": big > 1,
    }


def pr(tp: int, fp: int, fn: int) -> tuple[str, str]:
    return (f"{tp / (tp + fp):.3f}" if tp + fp else "-"), (f"{tp / (tp + fn):.3f}" if tp + fn else "-")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--part", choices=("dev", "held_out"), default="held_out")
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--side", type=int, default=1600)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    preset = load_preset("amazon-main")  # every layout rule applies (multiple_items as advice)
    cases = make_layout_cases(args.seed, args.n, part=args.part, side=args.side)
    ours, base, seconds = [], [], []
    for case in cases:
        subject = Subject(ImageItem(pixels=case.rgb, source=case.name), preset)
        start = time.process_time()
        ours.append({r: any(x.passed is False for x in RULES[r].check(subject)) for r in LAYOUT})
        seconds.append(time.process_time() - start)
        base.append(baseline(case.rgb))
    print(f"layout compliance: {len(cases)} cases (part {args.part}, seed {args.seed}, side {args.side} px)")
    print(f"{'rule':<16}{'cases':>6}{'flagged':>8}{'precision':>10}{'recall':>8}   {'baseline P':>10}{'baseline R':>11}")
    for rule in LAYOUT:
        rows = []
        for found in (ours, base):
            tp = sum(1 for c, f in zip(cases, found) if rule in c.expected and f[rule])
            fp = sum(1 for c, f in zip(cases, found) if rule not in c.expected and f[rule])
            fn = sum(1 for c, f in zip(cases, found) if rule in c.expected and not f[rule])
            rows.append((tp, fp, fn))
        (tp, fp, fn), b = rows
        p, r = pr(tp, fp, fn)
        bp, br = pr(*b)
        print(f"{rule:<16}{tp + fn:>6}{tp + fp:>8}{p:>10}{r:>8}   {bp:>10}{br:>11}")
    print()
    print(f"{'false flags on compliant':<26}{'images':>7}{'ours':>8}{'baseline':>10}")
    groups = defaultdict(list)
    for c, f, b in zip(cases, ours, base):
        if not c.expected:
            groups[c.kind].append((any(f.values()), any(b.values())))
    for kind, rows in sorted(groups.items()) + [("all compliant", [x for v in groups.values() for x in v])]:
        print(f"{kind:<26}{len(rows):>7}{sum(r[0] for r in rows) / len(rows):>8.1%}{sum(r[1] for r in rows) / len(rows):>10.1%}")
    print()
    print(f"{'recall by kind':<26}{'images':>7}{'ours':>8}")
    kinds = defaultdict(list)
    for c, f in zip(cases, ours):
        if c.expected:
            kinds["/".join(c.kind.split("/")[:2])].append(all(f[r] for r in c.expected))
    for kind, rows in sorted(kinds.items()):
        print(f"{kind:<26}{len(rows):>7}{sum(rows) / len(rows):>8.1%}")
    print()
    print(f"CPU time of the three rules per image (one core, {args.side} px): median {statistics.median(seconds):.3f} s, "
          f"max {max(seconds):.3f} s (the max: U²-Net-p, where the background is not white)")


if __name__ == "__main__":
    main()
