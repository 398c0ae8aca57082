"""Privacy benchmark: what `anonymize` leaves on the privacy test set, before against after.

Builds the set (tests/privacy_set.py: product photos with labels carrying phone numbers, e-mails,
addresses and ID numbers, real face photos on two in three, every kind of metadata), anonymizes
each image with the registered ``anonymize`` step, saves it with ``save_image``, then measures on
the input (the baseline) and on the output:

- faces: detections on the pasted face photo (real faces) and elsewhere (false alarms);
- personal text: OCR lines (``read_text``, default confidence) that ``find_personal_text`` flags, by kind;
- public text: the brand name and price still read by OCR;
- metadata fields: ``inspect_metadata`` counts summed over kinds, and files whose headers hold
  any of the raw signatures (Exif, XMP, Photoshop/IPTC, PNG text);
- seconds per image for the anonymize step (faces + OCR + blur), on this machine.

    .venv/bin/python benchmarks/privacy.py [--count 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from privacy_set import RAW_SIGNATURES, build_privacy_set

from product_studio.imageio import load_image, save_image
from product_studio.metadata import inspect_metadata
from product_studio.ops import apply_op
from product_studio.ops.personal_text import find_personal_text
from product_studio.vision.faces import detect_faces
from product_studio.vision.ocr import read_text


def _inside(box, region) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region is not None and region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def measure(path: Path, face_box) -> dict:
    data = path.read_bytes()
    pixels = load_image(data).pixels
    faces = detect_faces(pixels)
    lines = read_text(pixels)
    read = "".join(line.text for line in lines).replace(" ", "")
    return {
        "faces_real": sum(_inside(b, face_box) for b in faces),
        "faces_false": sum(not _inside(b, face_box) for b in faces),
        "face_boxes": faces,
        "text": Counter(m.kind for m in find_personal_text(lines)),
        "read": read,
        "metadata": sum(inspect_metadata(data).values()),
        "raw": any(sig in data for sig in RAW_SIGNATURES),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="images in the set (default 30)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privacy-bench-") as tmp:
        images = build_privacy_set(Path(tmp) / "in", args.count)
        rows = []
        for im in images:
            before = measure(im.path, im.face_box)
            item = load_image(im.path)
            start = time.perf_counter()
            out = apply_op(item, "anonymize")
            seconds = time.perf_counter() - start
            target = Path(tmp) / "out" / im.path.name
            save_image(out, target)
            after = measure(target, im.face_box)
            # a face "found again" means a detection where one was found before
            again = sum(any(_inside(b, old) for old in before["face_boxes"]) for b in after["face_boxes"])
            public_kept = sum(t.replace(" ", "") in after["read"] for t in im.public)
            public_before = sum(t.replace(" ", "") in before["read"] for t in im.public)
            rows.append((im, before, after, again, public_before, public_kept, seconds))

    n = len(rows)
    with_face = [r for r in rows if r[0].face]
    rendered = Counter(kind for r in rows for kind, texts in r[0].personal.items() for _ in texts)

    def total(side: int, key: str) -> int:
        return sum(r[side][key] for r in rows)

    formats = " / ".join(f"{sum(r[0].format == f for r in rows)} {f}" for f in ("jpeg", "png", "webp"))
    table = [
        (f"images: {formats}", str(n), ""),
        ("images with a face photo", str(len(with_face)), ""),
        ("  face photo with a detection on it", f"{sum(r[1]['faces_real'] > 0 for r in with_face)}/{len(with_face)}",
         f"{sum(r[2]['faces_real'] > 0 for r in with_face)}/{len(with_face)}"),
        ("  detections where a face was found before", "", str(sum(r[3] for r in rows))),
        ("false face detections (elsewhere)", str(total(1, "faces_false")), str(total(2, "faces_false"))),
    ]
    for kind in ("phone", "email", "address", "id"):
        table.append((f"personal text: {kind} (rendered {rendered[kind]})", str(sum(r[1]["text"][kind] for r in rows)),
                      str(sum(r[2]["text"][kind] for r in rows))))
    table += [
        ("public text read (brand, price)", f"{sum(r[4] for r in rows)}/{2 * n}", f"{sum(r[5] for r in rows)}/{2 * n}"),
        ("metadata fields (all kinds)", str(total(1, "metadata")), str(total(2, "metadata"))),
        ("files with raw metadata signatures", str(sum(r[1]["raw"] for r in rows)), str(sum(r[2]["raw"] for r in rows))),
    ]
    seconds = sorted(r[6] for r in rows)
    table.append(("seconds per image, anonymize (mean / median / max)", "",
                  f"{sum(seconds) / n:.2f} / {seconds[n // 2]:.2f} / {seconds[-1]:.2f}"))

    width = max(len(t[0]) for t in table)
    print(f"{'measure':<{width}} | {'before':>10} | {'after':>20}")
    print(f"{'-' * width}-|-{'-' * 10}-|-{'-' * 20}")
    for name, b, a in table:
        print(f"{name:<{width}} | {b:>10} | {a:>20}")


if __name__ == "__main__":
    main()
