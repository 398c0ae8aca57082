"""The image work behind the routes, run in worker threads: ``pipeline.process`` (decode within the
server's limits, the recipe, encode, check), then the files and the result row stored. Shared by the
request routes and the job runner."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import StudioError
from ..imageio import load_image, sniff_format
from ..limits import Limits
from ..marketplaces import check_image, load_preset
from ..pipeline import Outcome, process
from ..recipe import Recipe
from ..store import BlobStore, Database, decide, new_id, tune_recipe, variant_of
from ..store import repository as repo
from ..store.models import Result, utcnow
from .limits import CpuLimiter, current_cancel
from .settings import Settings

log = logging.getLogger("product_studio.server")

INPUT_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "tiff": ".tif", "bmp": ".bmp", "gif": ".gif", "heif": ".heic"}
OUTPUT_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".tif": "image/tiff",
                 ".bmp": "image/bmp", ".gif": "image/gif", ".heic": "image/heic"}
# An output in the upload's own format where it can be one; TIFF, BMP and GIF keep their pixels exactly in
# PNG; HEIC becomes JPEG (as the CLI does).
SAME_FORMAT = {"jpeg": "jpeg", "png": "png", "webp": "webp", "heif": "jpeg"}


def output_format_like(data: bytes) -> str:
    """The output format that keeps an upload's kind (judged by its magic bytes; PNG when unknown)."""
    return SAME_FORMAT.get(sniff_format(data[:64]) or "", "png")


@dataclass
class Studio:
    """Everything one app instance holds: settings, database, blob store, limits, jobs, tuned defaults."""

    settings: Settings
    db: Database
    blobs: BlobStore
    limiter: CpuLimiter
    jobs: JobRunner | None = None
    _defaults: dict[str, tuple[float, Recipe, list[dict[str, Any]]]] = field(default_factory=dict)
    _defaults_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- recipes

    def default_recipe(self, preset_name: str) -> tuple[Recipe, list[dict[str, Any]]]:
        """The preset's default recipe as the server runs it: tuned by the feedback (store.feedback)."""
        preset = load_preset(preset_name)
        now = time.monotonic()
        with self._defaults_lock:
            cached = self._defaults.get(preset.name)
            if cached and now - cached[0] < self.settings.feedback_cache_s:
                return cached[1], cached[2]
        base = preset.recipe()
        decisions = decide(preset.name, base, self.db, min_votes=self.settings.feedback_min_votes)
        recipe = tune_recipe(base, decisions)
        tuning = [d.to_dict() for d in decisions]
        with self._defaults_lock:
            self._defaults[preset.name] = (now, recipe, tuning)
        return recipe, tuning

    def forget_defaults(self) -> None:
        with self._defaults_lock:
            self._defaults.clear()

    @functools.cached_property
    def limits(self) -> Limits:
        """The limits every image request and job runs under (``pipeline.process`` enforces them)."""
        s = self.settings
        return Limits(max_input_pixels=s.max_pixels, max_input_bytes=s.max_upload_bytes, max_output_pixels=s.max_output_pixels,
                      max_steps=s.max_recipe_steps, seconds_per_file=s.request_timeout_s)

    # --- work (call from a worker thread)

    def decode(self, data: bytes, name: str):
        return load_image(data, name=name, max_pixels=self.limits.max_input_pixels, max_bytes=self.limits.max_input_bytes)

    def check_bytes(self, data: bytes, name: str, preset: str) -> dict[str, Any]:
        chosen = load_preset(preset)
        item = self.decode(data, name)
        report = check_image(item, chosen, file_bytes=len(data), file_format=item.metadata["source_format"],
                             file_mode=item.metadata.get("source_mode"))
        return report.to_dict()

    def run(self, data: bytes, *, name: str, recipe: Recipe) -> Outcome:
        """``pipeline.process`` under the server's limits; stopped between steps once its request timed out."""
        return process(data, recipe, self.limits, name=name, cancel=current_cancel())

    def store(
        self,
        outcome: Outcome,
        *,
        name: str,
        recipe: Recipe,
        kind: str = "process",
        upload: bytes | None = None,
        result_id: str | None = None,
        job_id: str | None = None,
        position: int | None = None,
    ) -> Result:
        """Store an outcome's output (and ``upload``, the input, when given) and its result row."""
        rid = result_id or new_id()
        source_format = outcome.source.metadata["source_format"]
        try:
            input_path = self.keep_input(rid, source_format, upload)
            output_path = self.blobs.put(rid, f"output{OUTPUT_EXTENSIONS[outcome.format]}", outcome.data)
            final = outcome.item
            return repo.add_result(
                self.db,
                id=rid, kind=kind, status="done", job_id=job_id, position=position, input_name=name,
                preset=recipe.preset, recipe=recipe.resolved(), recipe_hash=recipe.hash,
                ops=[s.op for s in final.log], models=outcome.models, variant=variant_of(recipe), steps=outcome.steps,
                input_path=str(input_path) if input_path is not None else None, input_format=source_format,
                input_width=outcome.source.width, input_height=outcome.source.height,
                output_path=str(output_path), output_format=outcome.format, output_width=final.width, output_height=final.height,
                output_bytes=len(outcome.data), compliance=outcome.compliance, passed=outcome.passed, seconds=outcome.seconds,
            )
        except BaseException:
            shutil.rmtree(self.blobs.folder(rid), ignore_errors=True)
            raise

    def keep_input(self, result_id: str, source_format: str, upload: bytes | None):  # -> Path | None
        """Store a result's raw upload as ``input.<ext>`` -- only when the keep_inputs setting asks for it:
        by default an upload (with its metadata, faces, GPS) lives in memory for its request only."""
        if upload is None or not self.settings.keep_inputs:
            return None
        return self.blobs.put(result_id, f"input{INPUT_EXTENSIONS[source_format]}", upload)

    def delete_result(self, result_id: str) -> bool:
        """Delete a result's files (input, output, mask) and its record; False when there is no such result."""
        if repo.get_result(self.db, result_id) is None:
            return False
        self.blobs.remove(result_id)
        repo.delete_results(self.db, [result_id])
        return True

    def sweep(self) -> dict[str, int]:
        """Delete what is older than the retention: results (files and records), finished jobs with their
        results and uploads, and blob folders no record names (left by a crash). Nothing with
        retention_days = 0. Returns the counts."""
        days = self.settings.retention_days
        if days <= 0:
            return {"results": 0, "jobs": 0, "folders": 0}
        cutoff = utcnow() - dt.timedelta(days=days)
        result_ids, job_ids = repo.expired(self.db, before=cutoff)
        for owner in result_ids + job_ids:
            self.blobs.remove(owner)
        repo.delete_results(self.db, result_ids)
        for rid in repo.delete_jobs(self.db, job_ids):
            self.blobs.remove(rid)
        stale = [owner for owner, folder in self.blobs.owners() if folder.stat().st_mtime < cutoff.timestamp()]
        known = repo.known_owners(self.db, stale) if stale else set()
        folders = sum(self.blobs.remove(owner) for owner in stale if owner not in known)
        if result_ids or job_ids or folders:
            log.info("retention: deleted %d result(s), %d job(s), %d stray folder(s) older than %g days",
                     len(result_ids), len(job_ids), folders, days)
        return {"results": len(result_ids), "jobs": len(job_ids), "folders": folders}

    def process_bytes(self, data: bytes, *, name: str, recipe: Recipe, **row: Any) -> Result:
        """Run ``recipe`` on an upload (``run``) and store the upload, the output and the row (``store``);
        ``row``: ``store``'s kind, result_id, job_id and position."""
        outcome = self.run(data, name=name, recipe=recipe)
        return self.store(outcome, name=name, recipe=recipe, upload=data, **row)


def result_dict(result: Result) -> dict[str, Any]:
    """A result as the API returns it (/v1/process, /v1/results/{id}, the items of /v1/jobs/{id})."""
    if result.status != "done":
        return {"id": result.id, "status": result.status, "input_name": result.input_name, "error": result.error}
    base = f"/v1/results/{result.id}"
    input_ref = {"url": f"{base}/input" if result.input_path else None, "width": result.input_width,
                 "height": result.input_height, "format": result.input_format}
    return {
        "id": result.id,
        "status": "done",
        "kind": result.kind,
        "input_name": result.input_name,
        "preset": result.preset,
        "recipe": {"name": (result.recipe or {}).get("name"), "hash": result.recipe_hash, "variant": result.variant or {}},
        "input": input_ref,  # url None: the upload was not kept (keep_inputs off)
        "output": {"url": f"{base}/output", "width": result.output_width, "height": result.output_height,
                   "bytes": result.output_bytes, "format": result.output_format},
        "compliance": result.compliance,
        "steps": result.steps or [],
        "models": result.models or [],
        "seconds": result.seconds,
    }


def job_dict(job, results: list[Result] | None = None) -> dict[str, Any]:
    out = {
        "id": job.id,
        "status": job.status,
        "progress": {"done": job.done, "total": job.total, "failed": job.failed},
        "preset": job.preset,
        "error": job.error,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "updated_at": job.updated_at.isoformat() if job.updated_at else None,
    }
    if results is not None:
        out["results"] = [result_dict(r) for r in results]
    return out


class JobRunner:
    """Runs /v1/jobs batches in a few threads; every image takes a CPU slot like a request does.

    Jobs are leased, not trusted to a PID: the runner owns its jobs under a name new at every start
    (``worker``) and a heartbeat thread renews their leases every ``lease_s / 3`` seconds. The same thread
    fails any active job whose lease ran out (its server stopped, in any environment: a container's PID 1,
    a new host name), so an interrupted job ends "failed" within ``lease_s`` of its server's stop, and never
    holds a place in the job queue. On a clean shutdown the runner fails its own unfinished jobs at once."""

    def __init__(self, studio: Studio, *, workers: int, lease_s: float) -> None:
        self.studio = studio
        self.lease_s = lease_s
        self.worker = repo.new_worker_id()
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="studio-job")
        self.heartbeat = threading.Thread(target=self._beat, name="studio-job-lease", daemon=True)
        self.heartbeat.start()

    def submit(self, job_id: str) -> None:
        self.pool.submit(self._run_safely, job_id)

    def expire(self) -> list[str]:
        """Fail the active jobs whose lease ran out (other servers' interrupted jobs); returns their ids."""
        expired = repo.fail_expired_jobs(self.studio.db)
        for job_id in expired:
            self.studio.blobs.remove(job_id)  # its uploads
        if expired:
            log.warning("%d interrupted job(s) of a stopped server marked failed", len(expired))
        return expired

    def _beat(self) -> None:
        while not self.stopping.wait(self.lease_s / 3):
            try:
                repo.renew_leases(self.studio.db, worker=self.worker, lease_s=self.lease_s)
                self.expire()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat
                log.exception("renewing job leases failed; retrying")

    def shutdown(self) -> None:
        self.stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.heartbeat.join(timeout=10)
        for job_id in repo.fail_expired_jobs(self.studio.db, worker=self.worker):  # queued behind the running one
            self.studio.blobs.remove(job_id)

    def _run_safely(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            repo.set_job_status(self.studio.db, job_id, "failed", error=f"unexpected {type(exc).__name__}: {exc}")
        finally:  # the job's uploads are not kept once it ended (each result keeps its input if keep_inputs asks)
            self.studio.blobs.remove(job_id)

    def _run(self, job_id: str) -> None:
        studio = self.studio
        found = repo.get_job(studio.db, job_id)
        if found is None:
            return
        job, _ = found
        repo.set_job_status(studio.db, job_id, "running")
        recipe = Recipe.from_dict(job.recipe, source=f"job {job_id} recipe")
        failures = 0
        for position, entry in enumerate(job.inputs):
            if self.stopping.is_set():
                repo.set_job_status(studio.db, job_id, "failed", error="the server stopped before the job finished; submit it again")
                return
            name = entry["name"]
            try:
                path = studio.blobs.path(entry["blob"])
                if path is None:
                    raise StudioError("the uploaded file is gone from the store", path=name)
                data = studio.blobs.read(path)  # decrypted when encryption at rest is on
                work = functools.partial(studio.process_bytes, data, name=name, recipe=recipe, job_id=job_id, position=position)
                studio.limiter.run_in_slot(work)  # queued with the requests' work, in the same CPU threads
                failed = False
            except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
                failed = True
                failures += 1
                message = str(exc) if isinstance(exc, StudioError) else f"unexpected {type(exc).__name__}: {exc}"
                repo.add_result(studio.db, kind="process", status="failed", error=message, job_id=job_id,
                                position=position, input_name=name, preset=recipe.preset, recipe_hash=recipe.hash)
            repo.count_job_progress(studio.db, job_id, failed=failed)
        status = "failed" if failures == len(job.inputs) else "done"
        error = "every input failed; see each result's error" if status == "failed" else None
        repo.set_job_status(studio.db, job_id, status, error=error)
