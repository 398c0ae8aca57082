"""ImageItem: the one value that flows through every step of a pipeline."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import UsageError


@dataclass
class StepRecord:
    """One entry of an item's log: which op ran, with what, and how long it took."""

    op: str
    params: dict[str, Any]
    seconds: float
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ImageItem:
    """An image on its way through the pipeline.

    pixels: RGB, HxWx3, uint8, sRGB.
    alpha:  HxW uint8 (255 = product / opaque) or None when nothing has been cut out.
    source: where the pixels came from (a path or a name), for reports and errors.
    metadata: facts measured or carried along (original size, format, ICC source, results
        of understanding steps ...); JSON-serialisable values only.
    log: the steps applied so far.
    step_model: the model (name and version) that the step which made this item ran, or None.
        A step sets it; ``ops.apply_op`` moves it into that step's log entry. ``replace`` does
        not carry it over, so it never outlives its step.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    source: str = "<memory>"
    metadata: dict[str, Any] = field(default_factory=dict)
    log: list[StepRecord] = field(default_factory=list)
    step_model: str | None = None

    def __post_init__(self) -> None:
        check_rgb(self.pixels, name="pixels")
        if self.alpha is not None:
            check_mask(self.alpha, self.pixels.shape[:2], name="alpha")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def replace(self, **changes: Any) -> ImageItem:
        """A new item with some fields changed; the log and metadata are copied, not shared, and
        ``step_model`` starts empty unless given."""
        fields = {
            "pixels": self.pixels,
            "alpha": self.alpha,
            "source": self.source,
            "metadata": dict(self.metadata),
            "log": list(self.log),
        }
        fields.update(changes)
        return ImageItem(**fields)

    def rgba(self) -> np.ndarray:
        """HxWx4 uint8; an opaque alpha when none is set."""
        alpha = self.alpha if self.alpha is not None else np.full(self.pixels.shape[:2], 255, np.uint8)
        return np.dstack([self.pixels, alpha])


def check_rgb(array: np.ndarray, *, name: str = "image") -> None:
    """Raise UsageError unless ``array`` is RGB, HxWx3, uint8 with at least one pixel."""
    if not isinstance(array, np.ndarray):
        raise UsageError(f"{name} must be a numpy array (RGB, HxWx3, uint8), got {type(array).__name__}")
    if array.ndim != 3 or array.shape[2] != 3:
        raise UsageError(f"{name} must be RGB, HxWx3; got shape {array.shape}")
    if array.dtype != np.uint8:
        raise UsageError(f"{name} must be uint8; got {array.dtype}. Convert with np.clip(x, 0, 255).astype(np.uint8)")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise UsageError(f"{name} is empty: shape {array.shape}")


def check_mask(mask: np.ndarray, shape: tuple[int, int], *, name: str = "mask") -> None:
    """Raise UsageError unless ``mask`` is HxW uint8 matching ``shape``."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype != np.uint8:
        got = getattr(mask, "shape", type(mask).__name__), getattr(mask, "dtype", "")
        raise UsageError(f"{name} must be HxW uint8 (0..255); got {got}")
    if mask.shape != tuple(shape):
        raise UsageError(f"{name} has shape {mask.shape} but the image is {tuple(shape)}; resize the mask to the image")


class Timer:
    """Context manager measuring wall seconds: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
