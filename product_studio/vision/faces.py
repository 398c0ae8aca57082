"""Faces: where the faces are in a photo, frontal or in profile, looking left or right.

OpenCV's Haar cascades (frontal, frontal alt2, profile) run on a downscaled, equalised grey copy;
the profile cascade also runs on its mirror. The cascades are read from Debian's ``opencv-data``
(``/usr/share/opencv4/haarcascades``) when installed, else from the OpenCV wheel
(``cv2.data.haarcascades``); nothing is downloaded. They are loaded once per process.

    >>> boxes = detect_faces(pixels)                       # [(x0, y0, x1, y1), ...]
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ModelError, UsageError
from ..item import check_rgb

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), exclusive ends, like vision.geometry.product_bbox


CASCADE_FILES = {
    "frontal": "haarcascade_frontalface_default.xml",
    "frontal_alt2": "haarcascade_frontalface_alt2.xml",
    "profile": "haarcascade_profileface.xml",
}
DEBIAN_CASCADE_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades")
CASCADE_HINT = "install Debian's opencv-data (apt-get install opencv-data) or opencv-python-headless < 5"


def cascade_folders() -> list[Path]:
    """Where the face cascades are looked for, in order: Debian's opencv-data, then the OpenCV wheel."""
    folders = [Path(p) for p in DEBIAN_CASCADE_DIRS]
    wheel = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if wheel:
        folders.append(Path(wheel))
    return folders


def cascade_folder() -> Path:
    """The first folder holding all the face cascades; ModelError saying what to install otherwise."""
    for folder in cascade_folders():
        if all((folder / name).is_file() for name in CASCADE_FILES.values()):
            return folder
    looked = ", ".join(str(f) for f in cascade_folders())
    raise ModelError(f"the OpenCV face cascades ({', '.join(CASCADE_FILES.values())}) were not found in {looked}; {CASCADE_HINT}")


@dataclass(frozen=True)
class FaceCascades:
    """The three open cascades, the folder they came from, the name a step's log gives them
    (``opencv-<version>/haarcascades(<folder>)``) and a lock for their calls."""

    frontal: Any  # cv2.CascadeClassifier
    frontal_alt2: Any
    profile: Any
    folder: Path
    label: str
    lock: threading.Lock


@functools.lru_cache(maxsize=1)
def load_face_cascades() -> FaceCascades:
    """The three cascades, loaded once per process."""
    folder = cascade_folder()
    loaded = {}
    for key, name in CASCADE_FILES.items():
        cascade = cv2.CascadeClassifier(str(folder / name))
        if cascade.empty():
            raise ModelError(f"the face cascade {folder / name} could not be read (damaged?); {CASCADE_HINT}")
        loaded[key] = cascade
    label = f"opencv-{cv2.__version__}/haarcascades({folder})"
    return FaceCascades(folder=folder, label=label, lock=threading.Lock(), **loaded)


def detect_faces(
    pixels: np.ndarray,
    *,
    min_size: int = 40,
    max_side: int = 1280,
    min_neighbors: int = 4,
) -> list[Box]:
    """Boxes (x0, y0, x1, y1) of the faces in an image, frontal or in profile, looking left or right.

    pixels: RGB, HxWx3, uint8. min_size: the smallest face side looked for, in input pixels.
    max_side: the image is downscaled so its longer side is at most this (for speed), but never
    so far that a ``min_size`` face falls under the cascade's 24 px window; boxes are mapped back
    to the input. min_neighbors: how many overlapping hits a face needs (higher: fewer false
    alarms, more misses).

    The frontal "default" cascade fires on textures (leaves, fabric) with a few hits, so a frontal
    face needs ``3 x min_neighbors`` hits, or ``min_neighbors - 1`` hits confirmed by the "alt2"
    cascade at the same place. The profile cascade runs on the image and its mirror. Overlapping
    boxes are merged.
    """
    check_rgb(pixels, name="pixels")
    if min_size < 8:
        raise UsageError(f"min_size must be at least 8 pixels; got {min_size}")
    if max_side < 64:
        raise UsageError(f"max_side must be at least 64 pixels; got {max_side}")
    if min_neighbors < 2:
        raise UsageError(f"min_neighbors must be at least 2; got {min_neighbors}")
    cascades = load_face_cascades()
    h, w = pixels.shape[:2]
    scale = min(1.0, max(max_side / max(h, w), 24.0 / min_size))
    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    mirrored = np.ascontiguousarray(gray[:, ::-1])
    gw = gray.shape[1]
    window = max(20, round(min_size * scale))

    def run(cascade: Any, image: np.ndarray, neighbours: int, flip: bool = False) -> list[tuple[tuple[float, ...], int]]:
        rects, hits = cascade.detectMultiScale2(image, scaleFactor=1.1, minNeighbors=neighbours, minSize=(window, window))
        out = []
        for (x, y, bw, bh), n in zip(rects if len(rects) else [], hits if len(rects) else []):
            x0 = gw - (x + bw) if flip else x
            out.append(((x0 / scale, y / scale, (x0 + bw) / scale, (y + bh) / scale), int(n)))
        return out

    confirm = max(1, min_neighbors - 1)
    with cascades.lock:
        frontal = run(cascades.frontal, gray, confirm)
        alt2 = run(cascades.frontal_alt2, gray, confirm)
        profile = run(cascades.profile, gray, min_neighbors) + run(cascades.profile, mirrored, min_neighbors, flip=True)
    found = [box for box, _ in profile]
    for box, hits in frontal:
        if hits >= 3 * min_neighbors or any(boxes_overlap(box, other, 0.3) for other, _ in alt2):
            found.append(box)
    merged = merge_boxes(found)
    return [(max(0, round(x0)), max(0, round(y0)), min(w, round(x1)), min(h, round(y1))) for x0, y0, x1, y1 in merged]


def merge_boxes(boxes: Iterable[Sequence[float]], *, overlap: float = 0.3) -> list[tuple[float, float, float, float]]:
    """Union of boxes that overlap (IoU >= ``overlap``, or one holds the other's centre), repeated until stable.

    >>> merge_boxes([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60)])
    [(0, 0, 11, 11), (50, 50, 60, 60)]
    """
    pending = [tuple(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        out: list[tuple[float, ...]] = []
        for box in pending:
            for i, other in enumerate(out):
                if boxes_overlap(box, other, overlap):
                    out[i] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                    changed = True
                    break
            else:
                out.append(box)
        pending = out
    return sorted(pending, key=lambda b: (b[1], b[0]))  # type: ignore[return-value]


def boxes_overlap(a: Sequence[float], b: Sequence[float], threshold: float) -> bool:
    """True when boxes (x0, y0, x1, y1) overlap with an IoU of at least ``threshold`` (and some
    area), or one holds the other's centre."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    if inter and inter / (area_a + area_b - inter) >= threshold:
        return True
    for p, q in ((a, b), (b, a)):
        cx, cy = (p[0] + p[2]) / 2, (p[1] + p[3]) / 2
        if q[0] <= cx <= q[2] and q[1] <= cy <= q[3]:
            return True
    return False

