"""The local engine: one recipe over many files, in N worker processes.

Each file is independent: a file that cannot be read or processed is recorded with its error and
the batch goes on. Outputs keep the inputs' relative paths below the output folder and are written
atomically; inputs are never overwritten unless asked.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any



from .. import __version__
from ..errors import OutputError, StudioError, UsageError
from ..imageio import EXTENSIONS, encode_image, load_image, safe_output_path, save_image, write_atomic
from ..inputs import InputFile
from ..item import ImageItem
from ..ops.layout import limit_size
from ..pipeline import Recipe, run_recipe
from .worker import tune_worker_process

THUMB_SIDE = 320
THUMBS_DIR = "report_files"


@dataclass
class FileResult:
    """What happened to one input."""

    input: str
    relative: str
    status: str  # "done" | "failed"
    output: str | None = None
    error: str | None = None
    error_type: str | None = None
    seconds: float = 0.0
    input_size: list[int] | None = None
    output_size: list[int] | None = None
    output_bytes: int | None = None
    quality: int | None = None
    compliance: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    thumb_before: str | None = None
    thumb_after: str | None = None

    @property
    def compliant(self) -> bool | None:
        return None if self.compliance is None else bool(self.compliance.get("passed"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchReport:
    recipe: dict[str, Any]
    recipe_hash: str
    preset: str | None
    output_dir: str
    workers: int
    results: list[FileResult]
    seconds: float
    version: str = __version__

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status != "done"]

    @property
    def non_compliant(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "done" and r.compliant is False]

    @property
    def all_good(self) -> bool:
        return not self.failed and not self.non_compliant

    def summary(self) -> dict[str, Any]:
        done = [r for r in self.results if r.status == "done"]
        return {
            "inputs": len(self.results),
            "done": len(done),
            "failed": len(self.failed),
            "compliant": sum(1 for r in done if r.compliant),
            "non_compliant": len(self.non_compliant),
            "seconds": round(self.seconds, 3),
            "images_per_second": round(len(self.results) / self.seconds, 3) if self.seconds > 0 else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "preset": self.preset,
            "recipe_hash": self.recipe_hash,
            "recipe": self.recipe,
            "output_dir": self.output_dir,
            "workers": self.workers,
            "summary": self.summary(),
            "results": [r.to_dict() for r in self.results],
        }


def plan_outputs(inputs: list[InputFile], out_dir: str | os.PathLike, fmt: str) -> list[tuple[InputFile, Path]]:
    """Where each input's output goes: same relative path, the output format's extension.

    Two inputs that would land on the same name (``a.png`` and ``a.jpg`` -> ``a.jpg``) keep
    their original extension in the name (``a_png.jpg``) so nothing is silently replaced.
    Hostile names (``..``, absolute) raise OutputError for that file only; the caller records it.
    """
    ext = EXTENSIONS[fmt]
    stems = [inp.relative.with_suffix(ext) for inp in inputs]
    clashes = {s for s in stems if stems.count(s) > 1}
    planned = []
    for inp, stem in zip(inputs, stems):
        rel = stem
        if stem in clashes:
            rel = inp.relative.with_name(f"{inp.relative.stem}_{inp.relative.suffix.lstrip('.').lower()}{ext}")
        planned.append((inp, Path(out_dir) / rel))
    return planned


def process_file(
    path: str | os.PathLike,
    relative: str | os.PathLike,
    recipe: Recipe,
    out_dir: str | os.PathLike,
    *,
    output_name: str | os.PathLike | None = None,
    overwrite: bool = False,
    thumbnails: bool = True,
    max_pixels: int | None = None,
) -> FileResult:
    """Load, run the recipe, save, check against the recipe's preset. Never raises for a bad file:
    the failure is in the returned FileResult."""
    tune_worker_process()
    start = time.perf_counter()
    result = FileResult(input=str(path), relative=str(relative), status="failed")
    try:
        out_rel = Path(output_name) if output_name is not None else Path(relative).with_suffix(EXTENSIONS[recipe.output.format])
        target = safe_output_path(out_dir, out_rel)
        if not overwrite and target.exists():  # checked before the work, and again by save_image
            raise OutputError("output exists; pass --overwrite to replace it", path=str(target))
        kwargs = {"max_pixels": max_pixels} if max_pixels else {}
        item = load_image(path, **kwargs)
        result.input_size = [item.width, item.height]
        final = run_recipe(item, recipe)
        saved = save_image(
            final,
            target,
            format=recipe.output.format,
            quality=recipe.output.quality,
            max_bytes=recipe.output.max_bytes,
            overwrite=overwrite,
            protect=(path,),
        )
        result.output = str(target)
        result.output_size = [saved.width, saved.height]
        result.output_bytes = saved.bytes
        result.quality = saved.quality
        result.steps = [s.to_dict() for s in final.log]
        if recipe.preset:
            result.compliance = _check_output(target, recipe.preset)
        if thumbnails:
            result.thumb_before, result.thumb_after = _write_thumbnails(item, final, Path(out_dir), Path(out_rel))
        result.status = "done"
    except StudioError as exc:
        result.error, result.error_type = str(exc), type(exc).__name__
    except MemoryError:
        result.error, result.error_type = "out of memory while processing; lower max_pixels or use fewer workers", "MemoryError"
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the batch
        result.error, result.error_type = f"unexpected {type(exc).__name__}: {exc}", type(exc).__name__
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def _check_output(target: Path, preset_name: str) -> dict[str, Any]:
    from ..marketplaces import check_file, load_preset

    return check_file(target, load_preset(preset_name)).to_dict()


def _write_thumbnails(before: ImageItem, after: ImageItem, out_dir: Path, out_rel: Path) -> tuple[str, str]:
    paths = []
    for tag, item in (("before", before), ("after", after)):
        pixels, alpha = limit_size(item.pixels, item.alpha, max_side=THUMB_SIDE)
        thumb = ImageItem(pixels=pixels, alpha=alpha)
        rel = Path(THUMBS_DIR) / out_rel.parent / f"{out_rel.stem}.{tag}.jpg"
        data, _ = encode_image(thumb, format="jpeg", quality=80)
        write_atomic(out_dir / rel, data)
        paths.append(rel.as_posix())
    return paths[0], paths[1]


def _worker_init() -> None:
    tune_worker_process()


def process_batch(
    inputs: list[InputFile],
    recipe: Recipe,
    out_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    thumbnails: bool = True,
    max_pixels: int | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> BatchReport:
    """Run ``recipe`` over ``inputs`` into ``out_dir`` with ``workers`` processes (default: cores).

    ``on_result`` is called in the parent for every finished file (progress bars, logs).
    Results come back in input order.
    """
    if not inputs:
        raise UsageError("nothing to process: no inputs")
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"workers must be at least 1; got {workers}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    planned = plan_outputs(inputs, out, recipe.output.format)
    jobs = [
        (str(inp.path), str(inp.relative), recipe, str(out), dict(output_name=str(target.relative_to(out)), overwrite=overwrite, thumbnails=thumbnails, max_pixels=max_pixels))
        for inp, target in planned
    ]
    results: list[FileResult | None] = [None] * len(jobs)
    for index, result in _run_jobs(jobs, workers):
        results[index] = result
        if on_result is not None:
            on_result(result)
    return BatchReport(
        recipe=recipe.resolved(),
        recipe_hash=recipe.hash,
        preset=recipe.preset,
        output_dir=str(out),
        workers=workers,
        results=[r for r in results if r is not None],
        seconds=time.perf_counter() - start,
    )


def _run_jobs(jobs: list[tuple], workers: int) -> Iterator[tuple[int, FileResult]]:
    if workers == 1 or len(jobs) == 1:
        for index, (path, rel, recipe, out, kw) in enumerate(jobs):
            yield index, process_file(path, rel, recipe, out, **kw)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), initializer=_worker_init) as pool:
        futures = {pool.submit(process_file, path, rel, recipe, out, **kw): index for index, (path, rel, recipe, out, kw) in enumerate(jobs)}
        for future in as_completed(futures):
            index = futures[future]
            try:
                yield index, future.result()
            except Exception as exc:  # a worker died (killed, out of memory): record, go on
                path, rel = jobs[index][0], jobs[index][1]
                yield index, FileResult(input=path, relative=rel, status="failed", error=f"worker process failed: {exc}", error_type=type(exc).__name__)


