"""Read the text on a product photo: lines, their boxes and how sure the reader is.

The reader is RapidOCR (PP-OCRv6 small detection and recognition, Chinese + English in one
model, and the PP-OCR mobile angle classifier that turns upside-down lines the right way up)
running on onnxruntime. The three ``.onnx`` files ship inside the ``rapidocr`` wheel; they are
handed to RapidOCR by path, so it never looks for a download (its default configuration names a
download URL and only skips it when the file is already in place). The recogniser's character
table is read from the model file's own metadata.

One engine per thread count is kept for the life of the process (like ``runtime.load_u2netp``);
the thread count is ``runtime.inference_threads()`` unless given: 1 by default, which is right
for worker processes; an interactive process may raise it.

Lines on their side (90°) are cut out and turned upright by RapidOCR's cropper, upside-down
ones by the angle classifier, so rotated labels read. Images larger than ``max_side`` are
downscaled first (for speed: detection time grows with the pixel count) and the boxes are
mapped back to the input's pixel coordinates.

    >>> from product_studio.vision.ocr import read_text
    >>> for line in read_text(pixels):        # RGB, HxWx3, uint8
    ...     print(line.text, line.confidence, line.box)
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ModelError, UsageError
from ..item import ImageItem, StepRecord, Timer, check_rgb
from ..runtime import inference_threads

DEFAULT_MAX_SIDE = 2000
MIN_MAX_SIDE = 320
INSTALL_HINT = "pip install rapidocr==3.10.0"
MODEL_FILES = {
    "det": "PP-OCRv6_det_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
}


@dataclass(frozen=True)
class TextLine:
    """One line of text read from an image.

    text: what was read. box: its four corners ((x, y) in the input image's pixels, clockwise
    from the top-left of the text as read). confidence: the recogniser's mean character score, 0..1.
    """

    text: str
    box: tuple[tuple[float, float], ...]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "box": [[round(x, 1), round(y, 1)] for x, y in self.box],
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class OcrEngine:
    """An open RapidOCR engine, the facts the log records about it, and a lock for its calls."""

    engine: Any  # rapidocr.RapidOCR
    threads: int
    version: str
    lock: threading.Lock

    @property
    def label(self) -> str:
        return f"rapidocr-{self.version}/PP-OCRv6-small"


def packaged_model_paths() -> dict[str, Path]:
    """The detection, angle and recognition model files inside the installed rapidocr wheel."""
    try:
        spec = importlib.util.find_spec("rapidocr")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the OCR package 'rapidocr' is not installed. Install it with: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    paths = {task: folder / name for task, name in MODEL_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise ModelError(
            f"the OCR model files {', '.join(missing)} are missing from the rapidocr package; reinstall it with: {INSTALL_HINT}"
        )
    return paths


def load_ocr(*, threads: int | None = None) -> OcrEngine:
    """The RapidOCR engine of this process, created on first use and cached per thread count."""
    count = inference_threads() if threads is None else int(threads)
    if not 1 <= count <= 256:
        raise UsageError(f"OCR threads must be between 1 and 256; got {threads}")
    return _open_engine(count)


@functools.lru_cache(maxsize=4)
def _open_engine(threads: int) -> OcrEngine:
    try:
        from rapidocr import RapidOCR
    except ImportError:
        raise ModelError(f"the OCR package 'rapidocr' is not installed. Install it with: {INSTALL_HINT}") from None
    paths = packaged_model_paths()
    params = {
        "Global.log_level": "error",
        # We downscale ourselves (read_text's max_side) and map the boxes back; RapidOCR's own
        # limit stays above ours so it never resizes a second time.
        "Global.max_side_len": 4096,
        "Det.model_path": str(paths["det"]),
        "Cls.model_path": str(paths["cls"]),
        "Rec.model_path": str(paths["rec"]),
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    try:
        engine = RapidOCR(params=params)
    except Exception as exc:  # RapidOCR and onnxruntime raise their own types
        raise ModelError(f"could not start the OCR engine ({exc.__class__.__name__}: {exc}); reinstall it with: {INSTALL_HINT}") from None
    return OcrEngine(engine=engine, threads=threads, version=_package_version(), lock=threading.Lock())


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rapidocr")
    except PackageNotFoundError:
        return "unknown"


def read_text(
    pixels: np.ndarray,
    *,
    min_confidence: float = 0.5,
    max_side: int = DEFAULT_MAX_SIDE,
    threads: int | None = None,
) -> list[TextLine]:
    """The lines of text in an image, top to bottom, with boxes and confidence.

    pixels: RGB, HxWx3, uint8. min_confidence: lines read with a lower mean score (0..1) are
    dropped. max_side: a larger image is downscaled (INTER_AREA) to this longest side before
    reading; boxes are always in the input's pixel coordinates. threads: onnxruntime threads
    (default ``runtime.inference_threads()``).
    """
    check_rgb(pixels, name="pixels")
    if not 0.0 <= float(min_confidence) <= 1.0:
        raise UsageError(f"min_confidence must be between 0 and 1; got {min_confidence}")
    if int(max_side) < MIN_MAX_SIDE:
        raise UsageError(f"max_side must be at least {MIN_MAX_SIDE} pixels; got {max_side}")
    ocr = load_ocr(threads=threads)

    h, w = pixels.shape[:2]
    scale = min(1.0, float(max_side) / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        work = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        sx, sy = w / size[0], h / size[1]
    else:
        work, sx, sy = pixels, 1.0, 1.0
    bgr = np.ascontiguousarray(work[:, :, ::-1])
    with ocr.lock:
        try:
            result = ocr.engine(bgr, text_score=float(min_confidence))
        except Exception as exc:  # onnxruntime errors on a damaged model or an odd input
            raise ModelError(f"the OCR engine failed on this image ({exc.__class__.__name__}: {exc})") from None

    boxes, texts, scores = getattr(result, "boxes", None), getattr(result, "txts", None), getattr(result, "scores", None)
    if boxes is None or texts is None or scores is None:
        return []
    lines = []
    for box, text, score in zip(boxes, texts, scores):
        text = str(text).strip()
        if not text or float(score) < min_confidence:
            continue
        points = tuple(
            (float(np.clip(x * sx, 0, w)), float(np.clip(y * sy, 0, h))) for x, y in np.asarray(box, np.float64).reshape(4, 2)
        )
        lines.append(TextLine(text=text, box=points, confidence=float(score)))
    return lines


def read_item(item: ImageItem, *, min_confidence: float = 0.5, max_side: int = DEFAULT_MAX_SIDE) -> ImageItem:
    """``read_text`` on an ImageItem: a new item whose metadata["text_lines"] holds the lines."""
    with Timer() as timer:
        lines = read_text(item.pixels, min_confidence=min_confidence, max_side=max_side)
    out = item.replace()
    out.metadata["text_lines"] = [line.to_dict() for line in lines]
    out.log.append(
        StepRecord(
            op="read_text",
            params={"min_confidence": min_confidence, "max_side": max_side},
            seconds=timer.seconds,
            model=load_ocr().label,
        )
    )
    return out
