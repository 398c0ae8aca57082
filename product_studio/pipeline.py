"""The one path for image work: ``process(source, recipe, limits) -> Outcome``.

Every way an image gets processed -- the CLI's commands, the local and Ray batch engines, every
HTTP route -- calls ``process``, so a limit, a check or a report field exists in one place only::

    source -> limits (bytes, steps, planned output pixels) -> decode (within the input pixel limit)
           -> steps (each checked against the output limit and the deadline) -> encode
           -> check against the recipe's preset -> Outcome

The caller decides where the encoded bytes go (a file written atomically, a blob in the server's
store, an S3 object) and what goes in its report; ``process`` never writes anything.

    >>> from product_studio.pipeline import process
    >>> from product_studio.marketplaces import load_preset
    >>> outcome = process("photo.jpg", load_preset("amazon-main").recipe())
    >>> outcome.output_size, outcome.passed
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage

from . import storage
from .errors import LimitError, StudioError, UsageError, FileTimeout
from .imageio import encode_image, image_size, load_image, sniff_format
from .item import ImageItem
from .limits import Limits
from .ops.layout import limit_size
from .ops.registry import apply_op, get_op
from .recipe import OutputSpec, Recipe, Step, run_recipe

__all__ = [
    "Outcome", "OutputSpec", "Recipe", "Step", "check_length", "check_output", "check_recipe", "content_hash", "decode", "plan_recipe", "process",
    "run_recipe", "source_side_limit",
]

SOURCE_LIMIT_FACTOR = 2  # the source keeps at most this x the planned output's longer side


@dataclass
class Outcome:
    """What ``process`` made of one source: the images, the encoded output and its compliance."""

    source: ImageItem  # the decoded input (reduced to the source limit), for before/after thumbnails
    item: ImageItem  # the final image, with the log of the steps that made it
    data: bytes  # the encoded output file
    format: str
    quality: int | None
    content_hash: str  # sha256 of the source's bytes
    input_size: tuple[int, int]  # (width, height) as stored in the source file
    compliance: dict[str, Any] | None  # the preset's ComplianceReport.to_dict() of the encoded output
    seconds: float

    @property
    def output_size(self) -> tuple[int, int]:
        return self.item.width, self.item.height

    @property
    def passed(self) -> bool | None:
        return None if self.compliance is None else bool(self.compliance.get("passed"))

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.item.log]

    @property
    def facts(self) -> dict[str, Any]:
        """What the steps measured or decided, as they recorded it in the item's metadata (faces blurred,
        the noise sigma, the upscale factor, ...): the entries the decoded source did not have."""
        return {k: v for k, v in self.item.metadata.items() if k not in self.source.metadata}

    @property
    def models(self) -> list[str]:
        return sorted({s.model for s in self.item.log if s.model})


def content_hash(data: bytes) -> str:
    """sha256 of a source's bytes (about 1 ms for a 2 MB JPEG)."""
    return hashlib.sha256(data).hexdigest()


def check_recipe(recipe: Recipe, limits: Limits) -> None:
    """What can be judged of a recipe before any image is read: its length, and an output that
    passes ``max_output_pixels`` whatever the input (``fit_to_canvas`` size 10000 with upscale
    ``always``). LimitError names the limit."""
    check_length(len(recipe.steps), limits)
    plan_recipe(recipe, (1, 1), limits, strict=False)  # the smallest input


def check_length(steps: int, limits: Limits) -> None:
    """LimitError when a recipe of ``steps`` steps is longer than ``limits.max_steps``."""
    if steps > limits.max_steps:
        raise LimitError(f"the recipe has {steps} steps, over the limit of {limits.max_steps} steps per recipe; "
                         "split the work or remove steps")


def plan_recipe(recipe: Recipe, size: tuple[int, int], limits: Limits, *, strict: bool = True) -> tuple[int, int]:
    """The largest (width, height) ``recipe`` can make from an image of ``size``, step by step (each
    step's ``output_size`` in the op registry); LimitError before any work when a step's image would
    pass ``limits.max_output_pixels``, or when a step cannot work on an image of that size (strict;
    otherwise such a step is taken to keep the size)."""
    width, height = size
    for index, step in enumerate(recipe.steps, 1):
        try:
            width, height = get_op(step.op).planned_size(step.options, (width, height))
        except UsageError as exc:
            if strict:
                raise LimitError(f"step {index} ({step.op}): {exc.message}") from None
        if width * height > limits.max_output_pixels:
            raise LimitError(
                f"step {index} ({step.op}) would make a {width}x{height} image ({width * height / 1e6:.1f} MP), over the "
                f"output limit of {limits.max_output_pixels / 1e6:g} MP; ask for a smaller size or scale"
            )
    return width, height


def source_side_limit(recipe: Recipe, size: tuple[int, int], limits: Limits) -> int | None:
    """The longest source side worth decoding for ``recipe`` on an image of ``size``:
    SOURCE_LIMIT_FACTOR x the planned output's longer side, or None when that keeps the whole source."""
    planned = plan_recipe(recipe, size, limits)
    side = SOURCE_LIMIT_FACTOR * max(planned)
    return side if side < max(size) else None


def decode(data: bytes, name: str, limits: Limits, *, max_side: int | None = None) -> ImageItem:
    """Decode ``data`` within ``limits.max_input_pixels``; with ``max_side``, at a reduced JPEG scale
    (1/2, 1/4, 1/8, in the DCT domain) and then area-averaged so the longer side is at most
    ``max_side`` (never enlarged)."""
    if max_side is None:
        return load_image(data, name=name, max_pixels=limits.max_input_pixels, max_bytes=limits.max_input_bytes)
    min_side = None
    try:
        width, height = image_size(data, name=name)  # header only
        if max(width, height) > max_side:
            min_side = max(1, math.ceil(max_side * min(width, height) / max(width, height)))
    except StudioError:  # load_image below gives the real, typed error
        pass
    item = load_image(data, name=name, max_pixels=limits.max_input_pixels, max_bytes=limits.max_input_bytes, min_side=min_side)
    if max(item.width, item.height) > max_side:
        pixels, alpha = limit_size(item.pixels, item.alpha, max_side=max_side)
        item = item.replace(pixels=pixels, alpha=alpha)
    if [item.width, item.height] != item.metadata.get("source_size"):
        item.metadata["decoded_size"] = [item.width, item.height]
    return item


def _header_size(data: bytes, name: str, limits: Limits) -> tuple[int, int]:
    try:
        return image_size(data, name=name)
    except StudioError:
        # not an image, damaged, a bomb: the full loader raises the precise error (or decodes what
        # the header reader could not parse, and the size comes from the pixels)
        item = load_image(data, name=name, max_pixels=limits.max_input_pixels, max_bytes=limits.max_input_bytes)
        return item.width, item.height


def process(
    source: bytes | str | os.PathLike,
    recipe: Recipe,
    limits: Limits | None = None,
    *,
    name: str | None = None,
    budget: bool = True,
    cancel: threading.Event | None = None,
    preset: Any = None,
) -> Outcome:
    """Decode ``source`` within ``limits``, run ``recipe``'s steps, encode as ``recipe.output`` says and
    check the encoded output against ``recipe.preset``.

    source: the file's bytes, or a local path or ``s3://`` URL (read within ``max_input_bytes``).
    limits: default ``Limits.from_env()``. A recipe that would pass them is refused before the
        image is decoded (LimitError); work past ``seconds_per_file`` is stopped between steps
        (FileTimeout), as it is when ``cancel`` is set.
    budget: work on at most SOURCE_LIMIT_FACTOR x the planned output's longer side (a 6000 px photo
        for a 2000 px canvas is decoded at 1/2 scale and area-averaged to 4000 px first).
    preset: the preset (a name or a ``Preset``) to fix and check against; default ``recipe.preset``.
        With one, the rules that fail and have a fix are fixed (``marketplaces.checks.fix_failures``):
        borders and collages cropped before the steps (so the recipe's cut-out and fit_to_canvas
        re-fit what is left), overlays and watermarks inpainted after them,
        logged as the step ``fix_compliance``, and the output is checked again; ``compliance["fixes"]``
        says what was done and, for what could not be fixed, why.
    """
    limits = limits or Limits.from_env()
    start = time.perf_counter()
    check_recipe(recipe, limits)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "<memory>"
    else:
        data, label = storage.read_input(source, max_bytes=limits.max_input_bytes), name or str(source)
    digest = content_hash(data)
    size = _header_size(data, label, limits)
    max_side = source_side_limit(recipe, size, limits) if budget else None
    if not budget:
        plan_recipe(recipe, size, limits)
    item = decode(data, label, limits, max_side=max_side)
    input_size = tuple(item.metadata.get("source_size") or (item.width, item.height))
    chosen = preset if preset is not None else recipe.preset
    fixes: list[dict[str, Any]] = []
    work = item
    if chosen:  # borders and collages are cropped before the steps, which cut out and re-fit what is left
        work, fixes = _fix_compliance(item, chosen, stage="source")
    final = _run_steps(work, recipe, limits, start, cancel)
    if chosen:
        final, late = _fix_compliance(final, chosen, stage="output")
        fixes += late
        if fixes:
            final.metadata["compliance_fixes"] = fixes
        _check_time(limits, start, cancel)
    out = recipe.output
    encoded, quality = encode_image(final, format=out.format, quality=out.quality, max_bytes=out.max_bytes)
    compliance = check_output(encoded, chosen, name=label, limits=limits, item=final) if chosen else None
    if compliance is not None:
        compliance["fixes"] = fixes
    return Outcome(
        source=item, item=final, data=encoded, format=out.format, quality=quality, content_hash=digest,
        input_size=(int(input_size[0]), int(input_size[1])), compliance=compliance,
        seconds=round(time.perf_counter() - start, 4),
    )


def _fix_compliance(item: ImageItem, preset: Any, *, stage: str) -> tuple[ImageItem, list[dict[str, Any]]]:
    """The preset's fixes for what fails (``marketplaces.checks.fix_failures``) at ``stage`` ("source":
    before the steps, "output": after them), logged as one step when any ran."""
    from .item import StepRecord, Timer
    from .marketplaces.checks import fix_failures

    with Timer() as timer:
        fixed, fixes = fix_failures(item, preset, stage=stage)
    if fixes:
        fixed = fixed.replace() if fixed is item else fixed
        fixed.metadata["compliance_fixes"] = fixes
        fixed.log.append(StepRecord(op="fix_compliance", params={"rules": [f["rule"] for f in fixes], "stage": stage},
                                    seconds=round(timer.seconds, 4)))
    return fixed, fixes


def _run_steps(item: ImageItem, recipe: Recipe, limits: Limits, start: float, cancel: threading.Event | None) -> ImageItem:
    for index, step in enumerate(recipe.steps, 1):
        _check_time(limits, start, cancel)
        item = apply_op(item, step.op, step.options)
        if item.width * item.height > limits.max_output_pixels:
            raise LimitError(f"step {index} ({step.op}) made a {item.width}x{item.height} image, over the output limit of "
                             f"{limits.max_output_pixels / 1e6:g} MP", path=item.source)
    _check_time(limits, start, cancel)
    return item


def _check_time(limits: Limits, start: float, cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise FileTimeout("the work was cancelled (its request timed out or went away)")
    if limits.seconds_per_file is not None and time.perf_counter() - start > limits.seconds_per_file:
        raise FileTimeout(f"took longer than the per-file limit of {limits.seconds_per_file:g} s; "
                          "the file is skipped -- check it, or raise the limit")


def check_output(
    data: bytes, preset: Any, *, name: str = "output", limits: Limits | None = None, item: ImageItem | None = None
) -> dict[str, Any]:
    """Check an encoded output file's bytes against a marketplace preset (its name or a Preset): the
    report as a dict. The pixels are the file's, decoded again, so JPEG's losses are what is judged;
    with ``item`` (the image ``data`` was just encoded from, as ``process`` has it), its pixels in
    memory are judged instead and the file facts (bytes, format, mode, size) come from ``data``'s
    header: no second decode, and the measurements the output-stage fixes made on ``item`` are reused."""
    from .marketplaces import Preset, check_image, load_preset

    chosen = preset if isinstance(preset, Preset) else load_preset(preset)
    limits = limits or Limits()
    if item is not None:
        with PILImage.open(io.BytesIO(data)) as header:  # the header only: no pixels decoded
            file_mode, file_size = header.mode, header.size
        file_format = sniff_format(data[:32])  # as load_image names it
        if file_size == (item.width, item.height) and (item.alpha is None or file_mode in ("RGBA", "LA", "PA")):
            return check_image(item, chosen, file_bytes=len(data), file_format=file_format, file_mode=file_mode).to_dict()
    decoded = load_image(data, name=f"{name} (output)",
                         max_pixels=max(limits.max_input_pixels, limits.max_output_pixels))
    return check_image(decoded, chosen, file_bytes=len(data), file_format=decoded.metadata["source_format"],
                       file_mode=decoded.metadata.get("source_mode")).to_dict()
