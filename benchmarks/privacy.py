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

``--faces`` prints a second table instead: recall by pose (0, 90, 180, 270 degrees, +-20 degree
tilt) and face size (20, 30, 40, 80 px) of the face blur before (the Haar cascades at 40 px, the
old ``blur_faces``) and after (``find_faces``: MTCNN in every orientation), judged by a detector
independent of both -- dlib's HOG frontal face detector (``dlib-bin``, Boost licence; dev extra,
benchmark only) run on the de-rotated, upsampled neighbourhood of each pasted face: a face counts
when dlib finds it on the input, and is blurred when dlib no longer finds it after the blur. The
face: skimage's astronaut (the one offline face photo dlib finds upright here), pasted on two
product photos of samples/ at two places; false blurs: faces found on the samples/ shots, which
have no people; seconds per 2000x1500 image for the face blur alone.

    .venv/bin/python benchmarks/privacy.py --faces
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
    parser.add_argument("--faces", action="store_true", help="the pose and size table instead (dlib judges)")
    args = parser.parse_args()
    if args.faces:
        faces_table()
        return
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


POSES = (0, 90, 180, 270, 20, -20)
SIZES = (20, 30, 40, 80)


def _face_sources():
    import skimage.data

    # (RGB crop, face box (x0, y0, x1, y1) in the crop): the astronaut's face, found by hand
    yield "astronaut", skimage.data.astronaut()[0:360, 90:420], (60, 40, 190, 190)


def _pose(crop, box, angle):
    """The crop turned by ``angle`` (counter-clockwise degrees) and the face's centre in it."""
    import cv2
    import numpy as np

    h, w = crop.shape[:2]
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 1.0])
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += nw / 2 - w / 2
    matrix[1, 2] += nh / 2 - h / 2
    turned = cv2.warpAffine(crop, matrix, (nw, nh), borderMode=cv2.BORDER_REPLICATE)
    return turned, matrix @ centre


def _dlib_sees(pixels, centre, size, angle, hog) -> bool:
    """dlib's HOG finds a face near ``centre`` in the neighbourhood turned upright, the face ~100 px."""
    import cv2

    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), -angle, 100.0 / size)
    matrix[0, 2] += 160 - centre[0]
    matrix[1, 2] += 160 - centre[1]
    patch = cv2.warpAffine(pixels, matrix, (320, 320), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return any(r.left() <= 160 <= r.right() and r.top() <= 160 <= r.bottom() for r in hog(patch, 0))


def faces_table() -> None:
    import cv2
    import dlib
    import numpy as np

    from product_studio.ops.privacy import blur_faces, blur_regions

    hog = dlib.get_frontal_face_detector()
    backgrounds = [load_image(p).pixels for p in sorted((REPO / "samples").glob("*.jpg"))]
    stats: dict = {}
    for name, crop, box in _face_sources():
        face_side = box[2] - box[0]
        for angle in POSES:
            for size in SIZES:
                scale = size / face_side
                small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                sbox = [v * scale for v in box]
                turned, centre = _pose(small, sbox, angle)
                for k, background in enumerate(backgrounds[:2]):
                    canvas = cv2.resize(background, (800, 600), interpolation=cv2.INTER_AREA)
                    x, y = 100 + 97 * k % 500, 80 + 61 * k % 300
                    th, tw = turned.shape[:2]
                    canvas[y : y + th, x : x + tw] = turned
                    at = (centre[0] + x, centre[1] + y)
                    if not _dlib_sees(canvas, at, size, angle, hog):
                        continue
                    old = blur_regions(canvas, detect_faces(canvas, min_size=40))
                    new, _ = blur_faces(canvas)
                    row = stats.setdefault((angle, size), [0, 0, 0])
                    row[0] += 1
                    row[1] += not _dlib_sees(old, at, size, angle, hog)
                    row[2] += not _dlib_sees(new, at, size, angle, hog)
    print(f"{'pose':>6} | " + " | ".join(f"{s:>3} px before / after" for s in SIZES))
    for angle in POSES:
        cells = []
        for size in SIZES:
            n, b, a = stats.get((angle, size), [0, 0, 0])
            cells.append(f"{b:>2}/{n:<2} -> {a:>2}/{n:<2}".rjust(23) if n else "(dlib sees none)".rjust(23))
        print(f"{angle:>5}d | " + " | ".join(cells))
    falses = {}
    for path in sorted((REPO / "samples").glob("*.jpg")):
        pixels = load_image(path).pixels
        falses[path.name] = (len(detect_faces(pixels, min_size=40)), len(blur_faces(pixels)[1]))
    print("false blurs on shots without people (before -> after): "
          + ", ".join(f"{k} {b}->{a}" for k, (b, a) in falses.items()))
    big = cv2.resize(backgrounds[0], (2000, 1500), interpolation=cv2.INTER_AREA)
    timings = []
    for run in (lambda: blur_regions(big, detect_faces(big, min_size=40)), lambda: blur_faces(big)):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    print(f"seconds per 2000x1500 image, face blur: before {timings[0]:.2f}, after {timings[1]:.2f}")


if __name__ == "__main__":
    main()
