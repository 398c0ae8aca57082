"""Batches: POST files, poll the job for status, progress and results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from ...store import new_id
from ...store import repository as repo
from ..deps import display_name, get_studio, known_preset, parse_recipe_field, require_api_key
from ..limits import TooBusy
from ..work import Studio, job_dict
from .images import PRESET_FIELD, RECIPE_FIELD

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[Depends(require_api_key)])


@router.post("", status_code=202, summary="Queue a batch: every file through one recipe, in the background")
async def create_job(
    files: list[UploadFile] = File(..., description="the photos (repeat the `files` field)"),
    preset: str = PRESET_FIELD,
    recipe: str | None = RECIPE_FIELD,
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    settings = studio.settings
    if len(files) > settings.max_job_files:
        raise HTTPException(413, f"{len(files)} files is over the limit of {settings.max_job_files} per job; split the batch")
    chosen = parse_recipe_field(recipe, preset, studio.limits)
    preset_name = known_preset(preset)
    uploads = []
    for index, upload in enumerate(files):
        uploads.append((display_name(upload.filename, f"file-{index}"), await upload.read()))

    def submit() -> dict[str, Any]:
        studio.jobs.expire()  # an interrupted job never holds a place in the queue
        if repo.count_active_jobs(studio.db) >= settings.max_queued_jobs:
            raise TooBusy(settings.retry_after_s, "job queue")
        recipe_obj = chosen if chosen is not None else studio.default_recipe(preset_name)[0]
        job_id = new_id()
        inputs = []
        for index, (name, data) in enumerate(uploads):
            path = studio.blobs.put(job_id, f"upload-{index:05d}", data)
            inputs.append({"name": name, "blob": str(path)})
        job = repo.create_job(studio.db, job_id=job_id, preset=recipe_obj.preset, recipe=recipe_obj.resolved(), inputs=inputs,
                              worker=studio.jobs.worker, lease_s=studio.jobs.lease_s)
        studio.jobs.submit(job_id)
        return {"id": job.id, "status": "queued", "progress": {"done": 0, "total": len(inputs), "failed": 0}}

    return await run_in_threadpool(submit)


@router.get("", summary="Recent jobs, newest first (without their results)")
def list_jobs(limit: int = 100, studio: Studio = Depends(get_studio)) -> list[dict[str, Any]]:
    return [job_dict(job) for job in repo.list_jobs(studio.db, limit=max(1, min(limit, 1000)))]


@router.get("/{job_id}", summary="A job: status (queued|running|done|failed), progress and results in input order")
def get_job(job_id: str, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    found = repo.get_job(studio.db, job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id}")
    return job_dict(*found)
