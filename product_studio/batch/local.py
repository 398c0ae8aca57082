"""The local engine: one recipe over many files, in N worker processes, resumable.

Each file is independent: a file that cannot be read or processed is recorded with its error and
the batch goes on. Outputs keep the inputs' relative paths below the output folder and are written
atomically; inputs are never overwritten unless asked.

With a manifest (``manifest.py``) a batch can be killed at any moment and rerun: finished work is
skipped, changed inputs are redone, failures are retried on request, and every input ends with
exactly one output made by the current recipe. The protocol, per input:

1. Before a worker may write an output, the parent deletes a stale output of ours (one the
   manifest records for an earlier recipe or content), then marks the item ``running`` -- with
   the input's size and mtime -- and commits. So an output under the final name whose item is
   ``running`` can only have come from that attempt.
2. The worker reads the bytes once, hashes them (sha256) and decodes the same bytes; the output
   appears under its final name only complete (``write_atomic``: temp file + ``os.replace``).
3. The parent records the result in a batched transaction (committed every 256 results or 0.5 s).

On the next run, leftover ``.*.part`` files below the output folder are deleted, and an item
still ``running`` (killed between 1 and 3) is judged: if its output exists, the input's size
and mtime are unchanged since the attempt started and the output decodes completely, the output
is **adopted** (checked against the preset, thumbnails redone, recorded as done without
processing again); otherwise it is processed again.

Every file's work is ``pipeline.process`` (decode within the limits, the steps, encode, the
preset's check); this engine adds what a batch needs around it: output names, atomic writes,
thumbnails, the manifest, worker processes. Memory: with ``budget=True`` (the default) a recipe
whose planned output has a longer side S never works on more than 2 x S pixels on the source's
longer side (``pipeline.source_side_limit``).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import storage
from ..errors import FileTimeout, OutputError, OutputUnwritable, StudioError, UsageError
from ..imageio import EXTENSIONS, encode_image, load_image, safe_output_path, unwritable_error
from ..inputs import REPORT_FILES_DIR, InputFile
from ..item import ImageItem
from ..limits import Limits
from ..ops.layout import limit_size
from ..pipeline import check_output, check_recipe, content_hash, process
from ..recipe import Recipe
from ..version import __version__
from .worker import file_deadline, limit_worker_process, tune_worker_process

THUMB_SIDE = 320
THUMBS_DIR = REPORT_FILES_DIR  # inputs.find_inputs never reads it back as input
# The fields report.json starts with, in this order; the summary and the results follow.
REPORT_HEAD = ("version", "preset", "recipe_hash", "recipe", "output_dir", "workers", "run_id", "manifest")


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
    content_hash: str | None = None  # sha256 of the input's bytes
    facts: dict[str, Any] | None = None  # what the steps measured (faces blurred, noise sigma, upscale factor ...)
    resumed: str | None = None  # None: processed in this run; "skipped": finished in an earlier run;
    #                             "adopted": an interrupted run's output, verified and kept

    @property
    def compliant(self) -> bool | None:
        return None if self.compliance is None else bool(self.compliance.get("passed"))

    @property
    def advice(self) -> list[str]:
        """The advice rules the output does not meet (a recommended or zoom size ...): not failures."""
        return list((self.compliance or {}).get("advice") or [])

    @property
    def warnings(self) -> list[str]:
        """What the steps warned about (an enlargement past x4, a target size not reached ...); a result
        a resumed run read from the manifest has them from its compliance."""
        return list((self.facts or {}).get("warnings") or (self.compliance or {}).get("warnings") or [])

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
    run_id: int | None = None
    manifest: str | None = None
    manifest_seconds: float | None = None
    partial_files_removed: int = 0

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status != "done"]

    @property
    def non_compliant(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "done" and r.compliant is False]

    @property
    def skipped(self) -> list[FileResult]:
        return [r for r in self.results if r.resumed == "skipped"]

    @property
    def all_good(self) -> bool:
        return not self.failed and not self.non_compliant

    def summary(self) -> dict[str, Any]:
        done = [r for r in self.results if r.status == "done"]
        processed = sum(1 for r in self.results if r.resumed is None)
        doc = {
            "inputs": len(self.results),
            "done": len(done),
            "failed": len(self.failed),
            "compliant": sum(1 for r in done if r.compliant),
            "non_compliant": len(self.non_compliant),
            "with_advice": sum(1 for r in done if r.advice),
            "advice": self.advice_counts(),
            "warnings": sum(1 for r in done if r.warnings),
            "processed": processed,
            "skipped": len(self.skipped),
            "adopted": sum(1 for r in self.results if r.resumed == "adopted"),
            "seconds": round(self.seconds, 3),
            "images_per_second": round(len(self.results) / self.seconds, 3) if self.seconds > 0 else None,
        }
        if self.manifest_seconds is not None:
            doc["manifest_ms_per_image"] = round(1000 * self.manifest_seconds / max(1, len(self.results)), 3)
        return doc

    def advice_counts(self) -> list[dict[str, Any]]:
        """Each advice rule some output does not meet: {"rule", "label" (its failure in words), "files"}."""
        from ..marketplaces.checks import failure_labels

        counts = Counter(name for r in self.results if r.status == "done" for name in r.advice)
        labels = failure_labels(self.preset, counts)
        return [{"rule": name, "label": labels[name], "files": n} for name, n in counts.items()]

    def to_dict(self) -> dict[str, Any]:
        head = {name: getattr(self, name) for name in REPORT_HEAD}
        return {**head, "summary": self.summary(), "results": [r.to_dict() for r in self.results]}


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


def process_file(path: str | os.PathLike, relative: str | os.PathLike, recipe: Recipe, out_dir: str | os.PathLike,
                 **options: Any) -> FileResult:
    """``_process_file`` under the per-file deadline (``worker.file_deadline``: the limits' seconds_per_file,
    which also stops a step stuck inside one C call in a pool worker)."""
    limits = options.get("limits") or Limits.from_env()
    try:
        with file_deadline(limits.seconds_per_file or 0.0) as deadline:
            result = _process_file(path, relative, recipe, out_dir, **options)
    except FileTimeout as exc:  # fired outside _process_file's own handlers
        return FileResult(input=str(path), relative=str(relative), status="failed", error=str(exc), error_type="FileTimeout")
    if deadline.expired and result.status == "failed":  # the timeout, caught inside and perhaps re-wrapped
        return replace(result, error=deadline.message, error_type="FileTimeout")
    return result


def _process_file(
    path: str | os.PathLike,
    relative: str | os.PathLike,
    recipe: Recipe,
    out_dir: str | os.PathLike,
    *,
    output_name: str | os.PathLike | None = None,
    overwrite: bool = False,
    thumbnails: bool = True,
    limits: Limits | None = None,
    budget: bool = True,
    adopt: bool = False,
) -> FileResult:
    """``pipeline.process`` on one file, then write its output atomically and its thumbnails. Never
    raises for a bad file: the failure is in the returned FileResult.

    budget: decode and work at most ``pipeline.source_side_limit`` pixels on the longer side.
    adopt: the output may already exist from an interrupted attempt of this same recipe on this
        same input: keep it if it decodes completely (``resumed="adopted"``), else make it again.
    """
    tune_worker_process()
    start = time.perf_counter()
    limits = limits or Limits.from_env()
    result = FileResult(input=str(path), relative=str(relative), status="failed")
    try:
        out_rel = Path(output_name) if output_name is not None else Path(relative).with_suffix(EXTENSIONS[recipe.output.format])
        target = storage.output_path(out_dir, out_rel)
        data = storage.read_input(path, max_bytes=limits.max_input_bytes)
        result.content_hash = content_hash(data)
        if adopt and storage.exists(target):
            if _adopt(result, data, target, recipe, Path(out_dir), out_rel, thumbnails):
                result.seconds = round(time.perf_counter() - start, 4)
                return result
            target.unlink(missing_ok=True)  # ours, and not usable: make it again
        if not overwrite and storage.exists(target):  # checked before the work, and again when writing
            raise OutputError("output exists; pass --overwrite to replace it", path=str(target))
        outcome = process(data, recipe, limits, name=str(path), budget=budget)
        del data
        result.input_size = list(outcome.input_size)
        storage.put_output(target, outcome.data, overwrite=overwrite or adopt, protect=(path,))
        result.output = str(target)
        result.output_size = list(outcome.output_size)
        result.output_bytes = len(outcome.data)
        result.quality = outcome.quality
        result.steps = outcome.steps
        result.facts = outcome.facts or None
        result.compliance = outcome.compliance
        if outcome.compliance is not None and outcome.facts.get("warnings"):
            # kept with the compliance, which the manifest records: a resumed run still reports them
            result.compliance = {**outcome.compliance, "warnings": list(outcome.facts["warnings"])}
        if thumbnails:
            result.thumb_before, result.thumb_after = _write_thumbnails(outcome.source, outcome.item, out_dir, Path(out_rel))
        result.status = "done"
    except StudioError as exc:  # a step's error names no file ("step 1 (upscale): a side of 1 px ..."): name it
        result.error, result.error_type = str(exc) if exc.path else f"{path}: {exc}", type(exc).__name__
    except MemoryError:
        result.error, result.error_type = f"{path}: out of memory while processing; lower max_pixels or use fewer workers", "MemoryError"
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the batch
        result.error, result.error_type = f"{path}: unexpected {type(exc).__name__}: {exc}", type(exc).__name__
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def _adopt(result: FileResult, data: bytes, target: Path, recipe: Recipe, out_dir: Path, out_rel: Path, thumbnails: bool) -> bool:
    """Keep an interrupted attempt's output if it decodes completely; fills ``result``."""
    try:
        output = load_image(target)
    except StudioError:
        return False
    result.output = str(target)
    result.output_size = [output.width, output.height]
    written = storage.read_input(target)
    result.output_bytes = len(written)
    if recipe.preset:
        result.compliance = check_output(written, recipe.preset, name=str(target))
    if thumbnails:
        before = load_image(data, name=result.input, min_side=THUMB_SIDE)
        result.thumb_before, result.thumb_after = _write_thumbnails(before, output, out_dir, out_rel)
        result.input_size = list(before.metadata["source_size"])
    result.status, result.resumed = "done", "adopted"
    return True


def _write_thumbnails(before: ImageItem, after: ImageItem, out_dir: Path, out_rel: Path) -> tuple[str, str]:
    paths = []
    for tag, item in (("before", before), ("after", after)):
        pixels, alpha = limit_size(item.pixels, item.alpha, max_side=THUMB_SIDE)
        thumb = ImageItem(pixels=pixels, alpha=alpha)
        rel = Path(THUMBS_DIR) / out_rel.parent / f"{out_rel.stem}.{tag}.jpg"
        data, _ = encode_image(thumb, format="jpeg", quality=80)
        storage.write_output(storage.join(out_dir, rel), data)
        paths.append(rel.as_posix())
    return paths[0], paths[1]


_PR_SET_PDEATHSIG = 1


def _worker_init(parent: int | None = None) -> None:
    """A pool worker: tuned for images, and killed with its parent (a kill -9 of the batch must
    not leave workers finishing items nobody will record)."""
    tune_worker_process()
    limit_worker_process()  # PRODUCT_STUDIO_WORKER_MEMORY_MB, and the hard per-file CPU backstop
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
        if parent is not None and os.getppid() != parent:  # the parent died before prctl
            os._exit(1)


def _pool_context() -> Any:
    """Workers are spawned, not forked from the batch process: a parent that already runs
    onnxruntime, torch or OpenCV threads (the HTTP server, a notebook, a test session) can hand a
    forked child a lock that some thread held, and the child hangs. A spawned worker imports the
    engine afresh (about a second, once per pool) and its parent is still the batch process, so
    the death signal above ties it to the batch."""
    import multiprocessing

    return multiprocessing.get_context("spawn")


# imageio.write_atomic's temporary files: ".<name>." + mkstemp's 8 random characters + ".part", where <name> is a file
# a batch writes (an image, a thumbnail, a report). Nothing else is ours: a user's ".notes.part" stays.
_PARTIAL_FILE = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.part")
_BATCH_SUFFIXES = {*EXTENSIONS.values(), ".jpeg", ".json", ".csv", ".html"}


def clean_partial_files(out_dir: str | os.PathLike) -> int:
    """Delete the temporary files a killed run left below ``out_dir`` (``.<name>.XXXXXXXX.part``, where
    ``<name>`` is an image or report name); any other file is left alone."""
    removed = 0
    for p in Path(out_dir).rglob(".*.part"):
        match = _PARTIAL_FILE.fullmatch(p.name)
        if match and Path(match["name"]).suffix.lower() in _BATCH_SUFFIXES and p.is_file():
            p.unlink(missing_ok=True)
            removed += 1
    return removed


@dataclass
class _Task:
    index: int
    item_id: int | None = None
    adopt: bool = False
    stale: Path | None = None  # an output of ours to delete before this attempt


def process_batch(
    inputs: list[InputFile],
    recipe: Recipe,
    out_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    thumbnails: bool = True,
    limits: Limits | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    manifest: Any = None,
    resume: bool = True,
    retry_failed: bool = False,
    budget: bool = True,
    command: str | None = None,
    runner: Callable[..., Iterator[tuple[int, FileResult]]] | None = None,
    engine: str = "local",
    output_names: list[str | os.PathLike] | None = None,
) -> BatchReport:
    """Run ``recipe`` over ``inputs`` into ``out_dir`` with ``workers`` processes (default: cores).

    ``on_result`` is called in the parent for every input (progress bars, logs), including the
    ones skipped as already done (``result.resumed == "skipped"``). Results come back in input order.

    manifest: a ``Manifest`` or a path to one (opened and closed here); None: no resume, nothing
        recorded. resume=False redoes everything (still recording it); retry_failed=True
        processes inputs that failed before instead of reporting the old failure.
    runner: another engine's way to run the jobs (the Ray engine), with ``_run_jobs``'s shape:
        ``runner(jobs, tasks, workers, ctx)`` yields ``(index, FileResult)`` as files finish; it
        must call ``_prepare(tasks, ctx)`` before any task may write and ``_record(task, result,
        ctx)`` for each result (the manifest protocol above). ``engine`` names it in the manifest.
    output_names: each input's output path below ``out_dir`` (default: ``plan_outputs``'s names).
    """
    if not inputs:
        raise UsageError("nothing to process: no inputs")
    limits = limits or Limits.from_env()
    check_recipe(recipe, limits)  # a recipe over the limits is refused before any file is read
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"workers must be at least 1; got {workers}")
    out = storage.prepare_output_dir(out_dir)
    if manifest is not None and storage.is_remote(out):
        raise UsageError("a job manifest needs a local (or shared) output folder; for an s3:// output run without one")
    start = time.perf_counter()
    planned = (plan_outputs(inputs, out, recipe.output.format) if output_names is None
               else [(inp, Path(out) / name) for inp, name in zip(inputs, output_names, strict=True)])
    jobs = [
        (str(inp.path), str(inp.relative), recipe, str(out),
         dict(output_name=str(target.relative_to(out)), overwrite=overwrite, thumbnails=thumbnails, limits=limits, budget=budget))
        for inp, target in planned
    ]
    results: list[FileResult | None] = [None] * len(jobs)
    report = BatchReport(
        recipe=recipe.resolved(), recipe_hash=recipe.hash, preset=recipe.preset, output_dir=str(out),
        workers=workers, results=[], seconds=0.0,
    )
    if manifest is None:
        for index, result in _run_jobs(jobs, [_Task(i) for i in range(len(jobs))], workers, None, runner):
            stop_if_unwritable(result)
            results[index] = result
            if on_result is not None:
                on_result(result)
    else:
        from .manifest import Manifest

        owned = not isinstance(manifest, Manifest)
        folder = Path(manifest).parent if owned else manifest.path.parent
        try:
            m = Manifest(manifest) if owned else manifest
            try:
                report.manifest = str(m.path)
                report.partial_files_removed = clean_partial_files(out)
                _run_with_manifest(m, planned, jobs, results, report, recipe, workers, resume, retry_failed, command, on_result, overwrite, runner, engine)
            finally:
                report.manifest_seconds = m.seconds
                if owned:
                    m.close()
        except OutputUnwritable:
            raise
        except Exception as exc:  # the manifest's SQLite or folder on a full or read-only disk
            raise unwritable_error(exc, folder) or exc from None
    report.results = [r for r in results if r is not None]
    report.seconds = time.perf_counter() - start
    if manifest is not None and report.run_id is not None:
        _finish(manifest, report)
    return report


def _finish(manifest: Any, report: BatchReport) -> None:
    from .manifest import Manifest

    m = manifest if isinstance(manifest, Manifest) else Manifest(manifest)
    try:
        before = m.seconds
        m.finish_run(report.run_id, counts=report.summary(), seconds=report.seconds)
        report.manifest_seconds = (report.manifest_seconds or 0.0) + (m.seconds - before)
    finally:
        if m is not manifest:
            m.close()


def stop_if_unwritable(result: FileResult) -> None:
    """A full disk or a read-only output folder stops the batch: every later file would fail the same way."""
    if result.error_type == OutputUnwritable.__name__:
        raise OutputUnwritable(result.error or "the output folder takes no more files")


def _run_with_manifest(m, planned, jobs, results, report, recipe, workers, resume, retry_failed, command, on_result, overwrite, runner, engine) -> None:  # noqa: ANN001, PLR0913
    from .manifest import input_key

    out_key = str(Path(report.output_dir).resolve())
    report.run_id = run_id = m.start_run(
        recipe=report.recipe, recipe_hash=recipe.hash, preset=recipe.preset, output_dir=out_key,
        engine=engine, workers=workers, command=command, version=__version__,
    )
    keys = [input_key(inp.path) for inp, _ in planned]
    rows = m.items(out_key, ((k, str(inp.relative)) for k, (inp, _) in zip(keys, planned)))
    tasks: list[_Task] = []
    for index, ((inp, target), key) in enumerate(zip(planned, keys)):
        row = rows[key]
        try:
            final = safe_output_path(out_key, target.relative_to(report.output_dir))
        except OutputError:
            final = None
        task = _Task(index, item_id=row.id)
        if final is not None and final.exists():
            if row.output == str(final) or row.status == "running":
                # Ours: the manifest says we wrote it, or an interrupted attempt did (an item is only
                # marked running when nothing foreign is in its way, see below).
                task.stale = final
            elif not overwrite:
                result = FileResult(
                    input=str(inp.path), relative=str(inp.relative), status="failed",
                    error=f"{final}: output exists; pass --overwrite to replace it", error_type="OutputError",
                )
                results[index] = result
                m.record(run_id, row.id, "failed", result, recipe_hash=recipe.hash)
                if on_result is not None:
                    on_result(result)
                continue
        same_recipe = row.recipe_hash == recipe.hash
        if resume and same_recipe and row.status in ("done", "failed") and final is not None:
            if row.status == "failed" and (retry_failed or row.error_type == OutputUnwritable.__name__):
                tasks.append(task)
                continue
            if row.status == "done" and not final.exists():
                tasks.append(task)
                continue
            with m._timed():  # noqa: SLF001 - the parent's hashing is part of the manifest's cost
                try:
                    unchanged = content_hash(storage.read_input(inp.path)) == row.content_hash
                except StudioError:
                    unchanged = False
            if unchanged:
                result = _result_from_row(row, inp, "skipped")
                results[index] = result
                m.record_skipped(run_id, row.id)
                if on_result is not None:
                    on_result(result)
                continue
            tasks.append(task)
            continue
        if resume and same_recipe and row.status == "running" and final is not None and final.exists():
            stat = _stat(inp.path)
            if stat is not None and stat == (row.input_bytes, row.input_mtime):
                task.adopt, task.stale = True, None
        tasks.append(task)
    for index, result in _run_jobs(jobs, tasks, workers, (m, run_id, recipe.hash, planned), runner):
        stop_if_unwritable(result)
        results[index] = result
        if on_result is not None:
            on_result(result)
    m.commit()


def _stat(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _result_from_row(row: Any, inp: InputFile, resumed: str) -> FileResult:
    return FileResult(
        input=str(inp.path), relative=str(inp.relative), status=row.status, output=row.output, error=row.error,
        error_type=row.error_type, seconds=row.seconds or 0.0, input_size=row.input_size, output_size=row.output_size,
        output_bytes=row.output_bytes, quality=row.quality, compliance=row.compliance, steps=row.timings or [],
        thumb_before=row.thumb_before, thumb_after=row.thumb_after, content_hash=row.content_hash, resumed=resumed,
    )


def _prepare(chunk: list[_Task], ctx: Any) -> None:
    """Before a chunk may write outputs: delete our stale outputs, then mark the items running
    (committed). The order matters: see the module's docstring."""
    if ctx is None or not chunk:
        return
    m, run_id, recipe_hash, planned = ctx
    fresh, adopting = [], []
    for task in chunk:
        if task.stale is not None:
            task.stale.unlink(missing_ok=True)
        size, mtime = _stat(planned[task.index][0].path) or (None, None)
        (adopting if task.adopt else fresh).append((task.item_id, size, mtime))
    if fresh:
        m.mark_running(run_id, recipe_hash, fresh)
    if adopting:
        m.mark_running(run_id, recipe_hash, adopting, count_attempt=False)


def _record(task: _Task, result: FileResult, ctx: Any) -> None:
    if ctx is None:
        return
    m, run_id, recipe_hash, _ = ctx
    if result.error_type == OutputUnwritable.__name__:
        return  # not a failure of this file: it stays to do, and the next run processes it
    outcome = "adopted" if result.resumed == "adopted" else ("processed" if result.status == "done" else "failed")
    m.record(run_id, task.item_id, outcome, result, recipe_hash=recipe_hash, extra_attempt=task.adopt and result.resumed != "adopted")


def _run_jobs(jobs: list[tuple], tasks: list[_Task], workers: int, ctx: Any, runner: Any = None) -> Iterator[tuple[int, FileResult]]:
    """Run ``tasks`` (indexes into ``jobs``), ``workers`` at a time; at most a window of items is
    marked running ahead of the workers. A ``runner`` replaces the pool (see process_batch)."""
    if not tasks:
        return
    if runner is not None:
        yield from runner(jobs, tasks, workers, ctx)
        return
    window = max(8, 4 * workers)
    queue = deque(tasks)

    def next_chunk(room: int) -> list[_Task]:
        chunk = [queue.popleft() for _ in range(min(room, len(queue)))]
        _prepare(chunk, ctx)
        return chunk

    if workers == 1 or len(tasks) == 1:
        while queue:
            for task in next_chunk(window):
                path, rel, recipe, out, kw = jobs[task.index]
                result = process_file(path, rel, recipe, out, **kw, adopt=task.adopt)
                _record(task, result, ctx)
                yield task.index, result
        return
    while queue:  # a new pool whenever a worker died (killed, out of memory) and broke the old one
        with ProcessPoolExecutor(max_workers=min(workers, len(queue)), mp_context=_pool_context(),
                                 initializer=_worker_init, initargs=(os.getpid(),)) as pool:
            inflight: dict[Any, _Task] = {}

            def submit(room: int) -> None:
                for task in next_chunk(room):
                    path, rel, recipe, out, kw = jobs[task.index]
                    inflight[pool.submit(process_file, path, rel, recipe, out, **kw, adopt=task.adopt)] = task

            submit(window)
            broken = False
            while inflight:
                finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for future in finished:
                    task = inflight.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # the worker died: record, go on
                        broken = True
                        path, rel = jobs[task.index][0], jobs[task.index][1]
                        result = FileResult(input=path, relative=rel, status="failed", error=f"worker process failed: {exc}", error_type=type(exc).__name__)
                    _record(task, result, ctx)
                    yield task.index, result
                if queue and not broken and len(inflight) <= window // 2:
                    submit(window - len(inflight))
