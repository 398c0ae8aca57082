"""Privacy: blur faces and personal text (phone numbers, e-mails, addresses, ID numbers).

Three registered steps:

- ``blur_faces``: OpenCV Haar cascades (frontal, frontal alt2, profile in both directions) find
  faces; each padded box is destroyed irreversibly (reduced to a few coarse cells, then blurred).
- ``blur_personal_text``: OCR (``vision.ocr.read_text``, Chinese + English) reads the lines;
  ``find_personal_text`` matches phone numbers, e-mail addresses, street addresses and ID numbers
  (Chinese resident IDs with their checksum, passports, US SSNs); only the matching part of each
  line is blurred, so a brand name or a price next to it stays readable.
- ``anonymize``: both.

Metadata needs no step: every file Product Studio writes goes through ``imageio.save_image``,
which re-encodes the pixels and writes nothing but the sRGB ICC profile -- no EXIF (so no GPS,
maker notes or embedded thumbnail), no XMP, no IPTC, no comments, no PNG text chunks.
``inspect_metadata`` counts what a file carries, by kind (never the values), so a caller can
report what was removed and check that an output carries nothing.

The cascades are read from Debian's ``opencv-data`` (``/usr/share/opencv4/haarcascades``) when
installed, else from the OpenCV wheel (``cv2.data.haarcascades``); nothing is downloaded.

    >>> boxes = detect_faces(pixels)                       # [(x0, y0, x1, y1), ...]
    >>> pixels = blur_regions(pixels, boxes)                # pixelated, padded boxes
    >>> from product_studio.vision.ocr import read_text
    >>> pixels = blur_personal_text(pixels, read_text(pixels, min_confidence=0.3))
"""

from __future__ import annotations

import functools
import io
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
from pydantic import Field

from ..errors import ModelError, UsageError
from ..item import ImageItem, check_rgb
from .registry import OpOptions, register_op

BlurMethod = Literal["pixelate", "gaussian"]
PersonalKind = Literal["phone", "email", "address", "id"]
PERSONAL_KINDS: tuple[str, ...] = ("phone", "email", "address", "id")
Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), exclusive ends, like vision.geometry.product_bbox

# --------------------------------------------------------------------------------------------
# Faces
# --------------------------------------------------------------------------------------------

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
    frontal: Any  # cv2.CascadeClassifier
    frontal_alt2: Any
    profile: Any
    folder: Path
    lock: threading.Lock

    @property
    def label(self) -> str:
        return f"opencv-{cv2.__version__}/haarcascades({self.folder})"


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
    return FaceCascades(folder=folder, lock=threading.Lock(), **loaded)


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
        if hits >= 3 * min_neighbors or any(_overlaps(box, other, 0.3) for other, _ in alt2):
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
                if _overlaps(box, other, overlap):
                    out[i] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                    changed = True
                    break
            else:
                out.append(box)
        pending = out
    return sorted(pending, key=lambda b: (b[1], b[0]))  # type: ignore[return-value]


def _overlaps(a: Sequence[float], b: Sequence[float], threshold: float) -> bool:
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
# Blurring
# --------------------------------------------------------------------------------------------


def blur_regions(
    pixels: np.ndarray,
    boxes: Iterable[Sequence[float]],
    *,
    method: BlurMethod = "pixelate",
    strength: int = 7,
    pad: float = 0.25,
) -> np.ndarray:
    """A copy of ``pixels`` with each box destroyed beyond recovery.

    pixels: RGB, HxWx3, uint8. boxes: (x0, y0, x1, y1) in pixels. pad: each box grows by this
    share of its size on every side (detector boxes are tight; hair, ears and chin stay inside).
    strength 1..10: how coarse. ``pixelate`` averages the box into cells of
    ``long side * strength / 50`` (7 cells across at the default 7) and softens the cell edges;
    ``gaussian`` averages into cells half that size and blurs with a sigma of
    ``long side * strength / 40``. Both first throw the detail away (area averaging), so no
    deconvolution can bring it back.
    """
    check_rgb(pixels, name="pixels")
    _check_blur(method, strength)
    if pad < 0:
        raise UsageError(f"pad must be >= 0; got {pad}")
    out = pixels.copy()
    h, w = pixels.shape[:2]
    for box in boxes:
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 <= x0 or y1 <= y0:
            raise UsageError(f"a box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0; got {tuple(box)}")
        px, py = (x1 - x0) * pad, (y1 - y0) * pad
        ix0, iy0 = max(0, int(np.floor(x0 - px))), max(0, int(np.floor(y0 - py)))
        ix1, iy1 = min(w, int(np.ceil(x1 + px))), min(h, int(np.ceil(y1 + py)))
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        long_side = max(ix1 - ix0, iy1 - iy0)
        out[iy0:iy1, ix0:ix1] = _destroy(out[iy0:iy1, ix0:ix1], long_side * strength / 50.0, method)
    return out


def _check_blur(method: str, strength: int) -> None:
    if method not in ("pixelate", "gaussian"):
        raise UsageError(f"blur method must be 'pixelate' or 'gaussian'; got '{method}'")
    if not 1 <= int(strength) <= 10:
        raise UsageError(f"strength must be between 1 and 10; got {strength}")


def _destroy(region: np.ndarray, cell: float, method: str) -> np.ndarray:
    """Area-average ``region`` into cells of about ``cell`` pixels, shuffle the cells, scale back, soften.

    The averaging throws the detail away for good. The shuffle (a fixed seed: it is no secret and
    needs none) also throws away the coarse layout -- dark eyes over light cheeks -- that Haar
    cascades still find in a plain 7x7 mosaic of a face.
    """
    h, w = region.shape[:2]
    cell = max(2.0, cell if method == "pixelate" else cell / 2.0)
    grid = (max(1, round(w / cell)), max(1, round(h / cell)))
    small = cv2.resize(region, grid, interpolation=cv2.INTER_AREA)
    cells = small.reshape(-1, 3)
    small = cells[np.random.default_rng(7).permutation(len(cells))].reshape(small.shape)
    if method == "pixelate":
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        sigma = cell / 4.0
    else:
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        sigma = cell * 1.25
    return cv2.GaussianBlur(big, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def blur_polygons(
    pixels: np.ndarray,
    polygons: Iterable[Sequence[Sequence[float]]],
    *,
    method: BlurMethod = "pixelate",
    strength: int = 7,
) -> np.ndarray:
    """A copy of ``pixels`` with each polygon (a text line's quadrilateral, possibly rotated) destroyed.

    The cell size follows the polygon's height (its shorter extent): text becomes blobs half a
    line high at the default strength, which no reader -- human or OCR -- can spell out.
    """
    check_rgb(pixels, name="pixels")
    _check_blur(method, strength)
    out = pixels.copy()
    h, w = pixels.shape[:2]
    for polygon in polygons:
        pts = np.asarray(polygon, np.float64).reshape(-1, 2)
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        height = _quad_height(pts)
        destroyed = _destroy(out[y0:y1, x0:x1], height * strength / 14.0, method)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round(pts - (x0, y0)).astype(np.int32)], 255)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = destroyed[mask > 0]
    return out


def _quad_height(pts: np.ndarray) -> float:
    if len(pts) == 4:
        return float(max(1.0, (np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2))
    extent = pts.max(axis=0) - pts.min(axis=0)
    return float(max(1.0, extent.min()))


def blur_faces(
    pixels: np.ndarray,
    *,
    method: BlurMethod = "pixelate",
    strength: int = 7,
    min_size: int = 40,
    checks: int = 2,
) -> tuple[np.ndarray, list[Box]]:
    """Find the faces and blur them; returns (new pixels, the boxes blurred).

    After blurring, the detector runs again (up to ``checks`` times, only when something was
    found): a detection overlapping what was blurred -- typically a larger box taking in hair and
    the mosaic -- is blurred as well, so nothing the detector calls a face is left where a face was.
    """
    check_rgb(pixels, name="pixels")
    boxes = detect_faces(pixels, min_size=min_size)
    out = blur_regions(pixels, boxes, method=method, strength=strength) if boxes else pixels
    done = list(boxes)
    for _ in range(checks if boxes else 0):
        again = [b for b in detect_faces(out, min_size=min_size) if any(_overlaps(b, old, 0.0) or _intersects(b, old) for old in done)]
        if not again:
            break
        out = blur_regions(out, again, method=method, strength=strength)
        done += again
    return out, [tuple(int(v) for v in b) for b in merge_boxes(done)]


def _intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


# --------------------------------------------------------------------------------------------
# Personal text
# --------------------------------------------------------------------------------------------


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
        geometry.append((i, pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].mean(), max(1.0, _quad_height(pts))))
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
    height = _quad_height(pts)
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


def blur_personal_text(
    pixels: np.ndarray,
    lines: Sequence[TextLineLike],
    *,
    kinds: Iterable[str] = PERSONAL_KINDS,
    method: BlurMethod = "pixelate",
    strength: int = 7,
    scope: Literal["span", "line"] = "span",
) -> np.ndarray:
    """A copy of ``pixels`` with the personal text among ``lines`` (OCR lines of these pixels) blurred.

    Only the matched part of a line is blurred (``scope="span"``), so "Tel:" and the brand name
    beside the number stay readable; ``scope="line"`` blurs every matching line whole.
    """
    check_rgb(pixels, name="pixels")
    if scope not in ("span", "line"):
        raise UsageError(f"scope must be 'span' or 'line'; got '{scope}'")
    matches = find_personal_text(lines, kinds=kinds)
    return blur_polygons(pixels, personal_text_polygons(matches, scope=scope), method=method, strength=strength)


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------

METADATA_KINDS = ("exif", "gps", "maker_note", "thumbnail", "xmp", "iptc", "comment", "text_chunks", "other_app")
_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/"
_IFD_POINTERS = (0x8769, 0x8825, 0xA005)


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """The (marker, payload) segments of a JPEG before its image data (SOS): APPn, COM, DQT ..."""
    if not data.startswith(b"\xff\xd8"):
        return []
    out, pos = [], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        out.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:  # start of scan: image data follows
            break
        pos += 2 + length
    return out


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level (name, payload) chunks of a RIFF file (WebP: VP8X, VP8, ICCP, EXIF, XMP ...)."""
    if len(data) < 12 or data[:4] != b"RIFF":
        return []
    out, pos = [], 12
    while pos + 8 <= len(data):
        name, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        out.append((name, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, payload) chunks of a PNG (IHDR, iCCP, eXIf, tEXt, iTXt, zTXt, IDAT ...)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return []
    out, pos = [], 8
    while pos + 8 <= len(data):
        size, name = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        out.append((name, data[pos + 8 : pos + 8 + size]))
        pos += 12 + size
    return out


def inspect_metadata(source: bytes | str | Path) -> dict[str, int]:
    """Counts of the metadata an image file carries, by kind -- never the values.

    exif: tags in IFD0 and the Exif IFD (pointers not counted); gps: GPS tags; maker_note: 1 if
    there is one; thumbnail: 1 if EXIF embeds one (IFD1); xmp: XMP packets; iptc: IPTC records;
    comment: JPEG/GIF comments; text_chunks: PNG text chunks other than XMP; other_app: JPEG APPn
    segments that are none of JFIF, ICC, EXIF, XMP, IPTC (vendor data).
    """
    from PIL import ExifTags, Image, IptcImagePlugin

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    counts = dict.fromkeys(METADATA_KINDS, 0)
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        if len(exif):
            counts["exif"] = sum(1 for tag in exif if tag not in _IFD_POINTERS)
            exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
            counts["exif"] += sum(1 for tag in exif_ifd if tag not in _IFD_POINTERS)
            counts["maker_note"] = int(0x927C in exif_ifd)
            counts["gps"] = len(exif.get_ifd(ExifTags.IFD.GPSInfo))
            try:
                counts["thumbnail"] = int(bool(exif.get_ifd(ExifTags.IFD.IFD1)))
            except (KeyError, TypeError, ValueError, OSError):
                counts["thumbnail"] = 0
        info = im.info
        try:
            iptc = IptcImagePlugin.getiptcinfo(im)
        except (SyntaxError, ValueError, IndexError, OSError):
            iptc = None
        counts["iptc"] = len(iptc or {})
        if not counts["iptc"] and any("iptc" in str(k).lower() for k in info):
            counts["iptc"] = 1
        comments = info.get("comment")
        counts["comment"] = len(comments) if isinstance(comments, list) else int(bool(comments))
        text = getattr(im, "text", None) if im.format == "PNG" else None
        if text:
            counts["text_chunks"] = sum(1 for k in text if k != "XML:com.adobe.xmp" and "iptc" not in k.lower())
    xmp_info = info.get("xmp") or info.get("XML:com.adobe.xmp")
    counts["xmp"] = max(int(bool(xmp_info)), data.count(_XMP_SIGNATURE) + data.count(b"XML:com.adobe.xmp"))
    for name, _payload in riff_chunks(data):
        if name == b"XMP ":
            counts["xmp"] = max(counts["xmp"], 1)
    if data.startswith(b"\xff\xd8"):
        for marker, payload in jpeg_segments(data):
            if marker == 0xFE:
                counts["comment"] = max(counts["comment"], 1)
            known = payload.startswith((b"JFIF", b"JFXX", b"ICC_PROFILE", b"Exif", _XMP_SIGNATURE, b"Photoshop 3.0"))
            if 0xE0 <= marker <= 0xEF and not known:
                counts["other_app"] += 1
            if marker == 0xED and payload.startswith(b"Photoshop 3.0") and not counts["iptc"]:
                counts["iptc"] = 1
    return counts


# --------------------------------------------------------------------------------------------
# Registered steps
# --------------------------------------------------------------------------------------------


class FaceOptions(OpOptions):
    method: BlurMethod = Field("pixelate", description="pixelate | gaussian (both irreversible)")
    strength: int = Field(7, ge=1, le=10, description="1 (light) .. 10 (coarsest); 7 leaves about 7 cells across a face")
    min_size: int = Field(40, ge=8, le=4096, description="smallest face side looked for, in pixels")


class PersonalTextOptions(OpOptions):
    kinds: tuple[PersonalKind, ...] = Field(PERSONAL_KINDS, description="which personal text to blur: phone, email, address, id")
    min_confidence: float = Field(0.3, ge=0.0, le=1.0, description="OCR lines read with a lower score are ignored")
    method: BlurMethod = Field("pixelate", description="pixelate | gaussian")
    strength: int = Field(7, ge=1, le=10, description="1 (light) .. 10 (coarsest)")
    scope: Literal["span", "line"] = Field("span", description="blur only the personal part of a line, or the whole line")


class AnonymizeOptions(PersonalTextOptions):
    faces: bool = Field(True, description="blur faces")
    text: bool = Field(True, description="blur personal text")
    min_size: int = Field(40, ge=8, le=4096, description="smallest face side looked for, in pixels")


def _privacy_report(item: ImageItem) -> dict[str, Any]:
    report = dict(item.metadata.get("privacy") or {})
    report.setdefault("faces", 0)
    report.setdefault("personal_text", {})
    return report


def _faces(item: ImageItem, *, method: str, strength: int, min_size: int) -> tuple[ImageItem, str]:
    pixels, boxes = blur_faces(item.pixels, method=method, strength=strength, min_size=min_size)
    out = item.replace(pixels=pixels)
    report = _privacy_report(out)
    report["faces"] = report["faces"] + len(boxes)
    out.metadata["privacy"] = report
    return out, load_face_cascades().label


def _text(item: ImageItem, options: PersonalTextOptions) -> tuple[ImageItem, str]:
    from ..vision.ocr import load_ocr, read_text

    lines = read_text(item.pixels, min_confidence=options.min_confidence)
    matches = find_personal_text(lines, kinds=options.kinds)
    pixels = item.pixels
    if matches:
        polygons = personal_text_polygons(matches, scope=options.scope)
        pixels = blur_polygons(pixels, polygons, method=options.method, strength=options.strength)
    out = item.replace(pixels=pixels)
    report = _privacy_report(out)
    counts = Counter(report["personal_text"])
    counts.update(m.kind for m in matches)
    report["personal_text"] = dict(sorted(counts.items()))
    report["text_lines_read"] = report.get("text_lines_read", 0) + len(lines)
    out.metadata["privacy"] = report  # counts only: the personal data itself is never stored
    return out, load_ocr().label


@register_op("blur_faces", options=FaceOptions)
def blur_faces_step(item: ImageItem, options: FaceOptions) -> ImageItem:
    """Find faces (OpenCV cascades) and pixelate them beyond recovery."""
    out, model = _faces(item, method=options.method, strength=options.strength, min_size=options.min_size)
    out.step_model = model
    return out


@register_op("blur_personal_text", options=PersonalTextOptions)
def blur_personal_text_step(item: ImageItem, options: PersonalTextOptions) -> ImageItem:
    """Read the text (OCR) and blur phone numbers, e-mails, addresses and ID numbers."""
    out, model = _text(item, options)
    out.step_model = model
    return out


@register_op("anonymize", options=AnonymizeOptions)
def anonymize_step(item: ImageItem, options: AnonymizeOptions) -> ImageItem:
    """Blur faces and personal text; metadata is stripped by every save."""
    models = []
    out = item
    if options.faces:
        out, model = _faces(out, method=options.method, strength=options.strength, min_size=options.min_size)
        models.append(model)
    if options.text:
        out, model = _text(out, options)
        models.append(model)
    if out is item:
        out = item.replace()
    report = _privacy_report(out)
    out.metadata["privacy"] = report
    if models:
        out.step_model = " + ".join(models)
    return out
