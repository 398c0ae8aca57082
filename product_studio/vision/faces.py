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



# --------------------------------------------------------------------------------------------
# MTCNN (onnxruntime) in every orientation: what anonymize blurs with
# --------------------------------------------------------------------------------------------

MTCNN_FILES = ("mtcnn_pnet.onnx", "mtcnn_rnet.onnx", "mtcnn_onet.onnx")
MTCNN_THRESHOLDS = (0.7, 0.8, 0.93)
TURNED_THRESHOLDS = (0.7, 0.8, 0.98)  # the extra passes see the image 7 more times: stricter O-net
TILTS = (-25.0, 25.0)


@dataclass(frozen=True)
class Mtcnn:
    """MTCNN's three nets (Zhang et al. 2016; weights from facenet-pytorch 2.6.0, MIT, exported to
    ONNX by scripts/export_mtcnn_onnx.py) as onnxruntime sessions, and a label for a step's log."""

    pnet: Any
    rnet: Any
    onet: Any
    label: str


@functools.lru_cache(maxsize=1)
def load_mtcnn() -> Mtcnn:
    """The three MTCNN nets from the shipped weights (sha256 checked against manifest.json), loaded once."""
    import onnxruntime as ort

    from ..models.registry import shipped_weight_path, verify_shipped

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.log_severity_level = 3
    sessions = []
    for name in MTCNN_FILES:
        path = shipped_weight_path(name)
        verify_shipped(path)
        sessions.append(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))
    return Mtcnn(*sessions, label="mtcnn-onnx(facenet-pytorch 2.6.0, MIT)")


def _nms(boxes: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Indices kept by non-maximum suppression over rows (x0, y0, x1, y1, score, ...)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    x0, y0, x1, y1, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(s)[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = iw * ih
        over = inter / np.minimum(area[i], area[rest]) if mode == "min" else inter / (area[i] + area[rest] - inter)
        order = rest[over <= threshold]
    return np.asarray(keep, np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def _refine(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0:4] = boxes[:, 0:4] + reg[:, 0:4] * np.stack([w, h, w, h], axis=1)
    return out


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Square crops of ``image`` (float, HxWx3) at ``boxes``, zero-padded at the borders, as NCHW."""
    h, w = image.shape[:2]
    batch = np.zeros((len(boxes), 3, size, size), np.float32)
    for k, (x0, y0, x1, y1) in enumerate(np.round(boxes[:, :4]).astype(int)):
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        if bw < 2 or bh < 2:
            continue
        patch = np.zeros((bh, bw, 3), np.float32)
        sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x1 + 1), min(h, y1 + 1)
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        patch[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
        batch[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
    return batch


def mtcnn_faces(
    pixels: np.ndarray,
    *,
    min_size: int = 20,
    thresholds: Sequence[float] = MTCNN_THRESHOLDS,
    factor: float = 0.709,
) -> np.ndarray:
    """MTCNN's upright faces in an RGB image: rows (x0, y0, x1, y1, score), in input pixels.

    The image pyramid starts where a ``min_size`` face fills P-net's 12 px window; R-net and O-net
    (24 and 48 px crops) confirm. MTCNN finds faces tilted up to about 30 degrees either way.
    """
    check_rgb(pixels, name="pixels")
    nets = load_mtcnn()
    image = (pixels.astype(np.float32) - 127.5) * 0.0078125
    h, w = image.shape[:2]
    scale = 12.0 / min_size
    found = []
    side = min(h, w) * scale
    while side >= 12:
        sh, sw = int(h * scale + 1), int(w * scale + 1)
        level = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        reg, prob = nets.pnet.run(None, {"x": level.transpose(2, 0, 1)[None]})
        ys, xs = np.nonzero(prob[0, 1] >= thresholds[0])
        if len(ys):
            q = np.stack([xs, ys], axis=1).astype(np.float32)
            q0, q1 = np.floor((2 * q + 1) / scale), np.floor((2 * q + 12) / scale)
            rows = np.concatenate([q0, q1, prob[0, 1, ys, xs, None], reg[0, :, ys, xs].reshape(len(ys), 4)], axis=1)
            found.append(rows[_nms(rows, 0.5)])
        scale *= factor
        side *= factor
    if not found:
        return np.zeros((0, 5), np.float32)
    boxes = np.concatenate(found)
    boxes = boxes[_nms(boxes, 0.7)]
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    shifted = boxes[:, :4] + boxes[:, 5:9] * np.stack([bw, bh, bw, bh], axis=1)
    boxes = _square(np.concatenate([shifted, boxes[:, 4:5]], axis=1))
    for stage, (net, size) in enumerate(((nets.rnet, 24), (nets.onet, 48)), start=1):
        if not len(boxes):
            break
        outputs = net.run(None, {"x": _crops(image, boxes, size)})
        reg, prob = outputs[0], outputs[-1][:, 1]
        keep = prob > thresholds[stage]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, None]], axis=1)
        boxes = _refine(boxes, reg[keep])
        boxes = boxes[_nms(boxes, 0.7, "min" if stage == 2 else "union")]
        if stage == 1:
            boxes = _square(boxes)
    return boxes.astype(np.float32)


def find_faces(pixels: np.ndarray, *, min_size: int = 20, max_side: int = 1280, turned_side: int = 640) -> list[Box]:
    """Boxes of the faces in every orientation: upright, turned 90/180/270 degrees (no EXIF
    needed), tilted up to about 55 degrees, down to ``min_size`` px -- what ``anonymize`` blurs.

    MTCNN runs on the four right-angle rotations and on tilts of +-25 degrees of the upright image
    and of the one turned 90 degrees (with its own +-30 degree tolerance this covers every angle);
    the image is first downscaled so its longer side is at most ``max_side``, never so far that a
    ``min_size`` face falls under 12 px; the turned and tilted passes run on a copy whose longer
    side is ``turned_side`` (faces from about ``long side / 50`` px up). A rotated face's box is the axis-aligned bound of its rotated square, mapped back to the input.
    """
    check_rgb(pixels, name="pixels")
    if min_size < 8:
        raise UsageError(f"min_size must be at least 8 pixels; got {min_size}")
    if max_side < 64:
        raise UsageError(f"max_side must be at least 64 pixels; got {max_side}")
    h, w = pixels.shape[:2]
    scale = min(1.0, max(max_side / max(h, w), 12.0 / min_size))
    small = pixels if scale >= 1.0 else cv2.resize(pixels, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    size = max(12, round(min_size * scale))
    found: list[tuple[float, float, float, float]] = []
    coarse = min(1.0, turned_side / max(sh, sw))
    tiny = small if coarse >= 1.0 else cv2.resize(small, (round(sw * coarse), round(sh * coarse)), interpolation=cv2.INTER_AREA)
    passes = [(small, 1.0, 0, 0.0, size)]  # upright, fine: faces down to min_size
    passes += [(tiny, coarse, turns, angle, 12) for turns in range(4) for angle in ((0.0, *TILTS) if turns < 2 else (0.0,))][1:]
    for base, factor, turns, angle, smallest in passes:
        turned = np.ascontiguousarray(np.rot90(base, turns))
        if angle:
            th, tw = turned.shape[:2]
            matrix = cv2.getRotationMatrix2D((tw / 2, th / 2), angle, 1.0)
            cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
            nw, nh = int(th * sin + tw * cos) + 1, int(th * cos + tw * sin) + 1
            matrix[0, 2] += nw / 2 - tw / 2
            matrix[1, 2] += nh / 2 - th / 2
            image = cv2.warpAffine(turned, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            back = cv2.invertAffineTransform(matrix)
        else:
            image, back = turned, None
        strict = MTCNN_THRESHOLDS if (turns, angle) == (0, 0.0) else TURNED_THRESHOLDS
        for x0, y0, x1, y1, _ in mtcnn_faces(image, min_size=smallest, thresholds=strict):
            corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
            if back is not None:
                corners = corners @ back[:, :2].T + back[:, 2]
            corners = _unturn(corners, turns, base.shape[1], base.shape[0])
            lo, hi = corners.min(axis=0) / (scale * factor), corners.max(axis=0) / (scale * factor)
            found.append((float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
    merged = merge_boxes(found)
    return [(max(0, round(x0)), max(0, round(y0)), min(w, round(x1)), min(h, round(y1))) for x0, y0, x1, y1 in merged]


def _unturn(points: np.ndarray, turns: int, w: int, h: int) -> np.ndarray:
    """Points in ``np.rot90(image, turns)`` mapped back to ``image`` (width w, height h)."""
    x, y = points[:, 0], points[:, 1]
    if turns % 4 == 0:
        return points
    if turns % 4 == 1:  # rot90 counter-clockwise: turned[i, j] = image[j, w - 1 - i]
        return np.stack([w - y, x], axis=1)
    if turns % 4 == 2:
        return np.stack([w - x, h - y], axis=1)
    return np.stack([y, h - x], axis=1)
