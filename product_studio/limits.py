"""The limits every piece of image work runs under, as one object.

``pipeline.process`` enforces a ``Limits`` for every image, whichever path it came from (the CLI,
a batch engine, an HTTP route), so no path can bypass one:

- ``max_input_pixels``: refused before decoding (a decompression bomb never reaches memory);
- ``max_input_bytes``: refused before reading further;
- ``max_output_pixels``: a recipe whose output would be larger is refused before any work, and a
  step that makes a larger image than it declared stops the recipe;
- ``max_steps``: recipes longer than this are refused before any work;
- ``seconds_per_file``: work past it is stopped and reported.

The CLI's defaults come from ``Limits.from_env()`` (PRODUCT_STUDIO_FILE_TIMEOUT_S and the flags); the
server builds its own, tighter, from its Settings.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from .errors import UsageError

MEGAPIXEL = 1_000_000
DEFAULT_MAX_INPUT_PIXELS = 100 * MEGAPIXEL
DEFAULT_MAX_INPUT_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_OUTPUT_PIXELS = 100 * MEGAPIXEL
DEFAULT_MAX_STEPS = 64
DEFAULT_FILE_TIMEOUT_S = 300.0

FILE_TIMEOUT_ENV = "PRODUCT_STUDIO_FILE_TIMEOUT_S"
WORKER_MEMORY_ENV = "PRODUCT_STUDIO_WORKER_MEMORY_MB"


@dataclass(frozen=True)
class Limits:
    """How big and how long one image's work may be. ``None`` for seconds_per_file: no deadline."""

    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS
    max_steps: int = DEFAULT_MAX_STEPS
    seconds_per_file: float | None = DEFAULT_FILE_TIMEOUT_S

    def __post_init__(self) -> None:
        for name in ("max_input_pixels", "max_input_bytes", "max_output_pixels", "max_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"limit {name} must be a whole number >= 1; got {value!r}")
        seconds = self.seconds_per_file
        if seconds is not None and not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise UsageError(f"limit seconds_per_file must be a number of seconds > 0 (or None: no limit); got {seconds!r}")

    @classmethod
    def from_env(cls, **overrides: Any) -> Limits:
        """The defaults, with the per-file deadline from PRODUCT_STUDIO_FILE_TIMEOUT_S; ``overrides``
        (None values ignored) replace fields."""
        limits = cls(seconds_per_file=file_timeout_s())
        changes = {k: v for k, v in overrides.items() if v is not None}
        return replace(limits, **changes) if changes else limits

    def with_(self, **changes: Any) -> Limits:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_timeout_s() -> float | None:
    """The per-file limit in seconds: ``PRODUCT_STUDIO_FILE_TIMEOUT_S`` (default 300; 0 = none).

    A value that is not a number >= 0 raises UsageError (it used to fall back to the default
    without a word)."""
    value = _from_env(FILE_TIMEOUT_ENV, _seconds, "a number of seconds >= 0 (0: no limit)")
    if value is None:
        return DEFAULT_FILE_TIMEOUT_S
    return value if value > 0 else None


def worker_memory_mb() -> int | None:
    """The worker processes' address-space cap in MB: ``PRODUCT_STUDIO_WORKER_MEMORY_MB`` (unset: none).

    A value that is not a whole number >= 64 raises UsageError (it used to leave the workers
    uncapped without a word)."""
    value = _from_env(WORKER_MEMORY_ENV, int, "a whole number of megabytes (e.g. 2048)")
    if value is not None and value < 64:
        raise UsageError(f"{WORKER_MEMORY_ENV} must be at least 64 (MB); got {value}")
    return value


def _from_env(name: str, parse: Callable[[str], Any], wanted: str) -> Any:
    """The environment variable ``name`` read by ``parse`` (None when unset or blank); a ValueError
    from ``parse`` becomes UsageError("NAME must be WANTED; got 'value'")."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise UsageError(f"{name} must be {wanted}; got {raw!r}") from None


def _seconds(raw: str) -> float:
    value = float(raw)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"not a number of seconds >= 0: {raw!r}")
    return value
