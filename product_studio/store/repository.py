"""Repository functions over the tables; each opens its own short transaction.

The server calls these from worker threads; SQLAlchemy sessions are never shared between threads.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import UsageError
from .db import Database
from .models import Feedback, Job, Result, utcnow

VERDICTS = ("accept", "reject")
ACTIVE = ("queued", "running")


def new_id() -> str:
    """A random 32-hex id: result and job URLs cannot be guessed."""
    return uuid.uuid4().hex


INTERRUPTED = "interrupted: the server running this job stopped before it finished; submit it again"


def new_worker_id() -> str:
    """A server's name as the owner of jobs: ``host:pid:random``, different for every start (PIDs and host
    names repeat in containers, so they alone cannot tell a stopped server from a running one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- results


def add_result(db: Database, **fields: Any) -> Result:
    fields.setdefault("id", new_id())
    row = Result(**fields)
    with db.session() as s:
        s.add(row)
    return row


def get_result(db: Database, result_id: str) -> Result | None:
    with db.session() as s:
        return s.get(Result, result_id)


def delete_results(db: Database, result_ids: list[str]) -> int:
    """Delete result records; their feedback stays as anonymous votes (result_id and comment cleared) so the
    report and the tuning keep counting them. Returns how many records went."""
    if not result_ids:
        return 0
    try:
        with db.session() as s:
            s.execute(update(Feedback).where(Feedback.result_id.in_(result_ids)).values(result_id=None, comment=None))
    except IntegrityError:  # a database made before votes outlived results (feedback.result_id NOT NULL)
        with db.session() as s:
            s.execute(delete(Feedback).where(Feedback.result_id.in_(result_ids)))
    with db.session() as s:
        return int(s.execute(delete(Result).where(Result.id.in_(result_ids))).rowcount or 0)


def delete_jobs(db: Database, job_ids: list[str]) -> list[str]:
    """Delete job records and their results' records; returns the ids of the results that went."""
    if not job_ids:
        return []
    with db.session() as s:
        results = list(s.scalars(select(Result.id).where(Result.job_id.in_(job_ids))))
    delete_results(db, results)
    with db.session() as s:
        s.execute(delete(Job).where(Job.id.in_(job_ids)))
    return results


def expired(db: Database, *, before: dt.datetime) -> tuple[list[str], list[str]]:
    """(result ids, job ids) made before ``before``: results outside jobs, and jobs no longer running
    (a job's results go with it)."""
    with db.session() as s:
        results = list(s.scalars(select(Result.id).where(Result.created_at < before, Result.job_id.is_(None))))
        jobs = list(s.scalars(select(Job.id).where(Job.created_at < before, Job.status.not_in(ACTIVE))))
    return results, jobs


def known_owners(db: Database, ids: list[str]) -> set[str]:
    """Which of ``ids`` are results or jobs in the database."""
    with db.session() as s:
        found = set(s.scalars(select(Result.id).where(Result.id.in_(ids))))
        found |= set(s.scalars(select(Job.id).where(Job.id.in_(ids))))
    return found


# --- jobs


def create_job(db: Database, *, job_id: str, preset: str | None, recipe: dict[str, Any], inputs: list[dict[str, str]],
               worker: str, lease_s: float) -> Job:
    """A queued job owned by ``worker``, leased for ``lease_s`` seconds (the owner renews it: ``renew_leases``)."""
    row = Job(id=job_id, preset=preset, recipe=recipe, inputs=inputs, total=len(inputs), status="queued", worker=worker,
              lease_until=utcnow() + dt.timedelta(seconds=lease_s))
    with db.session() as s:
        s.add(row)
    return row


def get_job(db: Database, job_id: str) -> tuple[Job, list[Result]] | None:
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            return None
        results = list(s.scalars(select(Result).where(Result.job_id == job_id).order_by(Result.position)))
        return job, results


def list_jobs(db: Database, *, limit: int = 100) -> list[Job]:
    with db.session() as s:
        return list(s.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit)))


def set_job_status(db: Database, job_id: str, status: str, *, error: str | None = None) -> None:
    with db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(status=status, error=error, updated_at=utcnow()))


def count_job_progress(db: Database, job_id: str, *, failed: bool) -> None:
    values = {"done": Job.done + 1, "updated_at": utcnow()}
    if failed:
        values["failed"] = Job.failed + 1
    with db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(**values))


def count_active_jobs(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE))) or 0)


def renew_leases(db: Database, *, worker: str, lease_s: float) -> int:
    """Extend the lease of every active job ``worker`` owns to now + ``lease_s``; returns how many."""
    with db.session() as s:
        done = s.execute(update(Job).where(Job.worker == worker, Job.status.in_(ACTIVE))
                         .values(lease_until=utcnow() + dt.timedelta(seconds=lease_s)))
        return int(done.rowcount or 0)


def fail_expired_jobs(db: Database, *, worker: str | None = None) -> list[str]:
    """Mark failed every active job whose lease has run out (its server stopped: a restart, a crash, a
    container replaced) -- or, with ``worker``, every active job of that worker (it is stopping now).
    Jobs from before leases (no lease) count as expired. Returns the ids."""
    with db.session() as s:
        if worker is not None:
            stale = (Job.worker == worker)
        else:
            stale = or_(Job.lease_until.is_(None), Job.lease_until < utcnow())
        ids = list(s.scalars(select(Job.id).where(Job.status.in_(ACTIVE), stale)))
        if ids:
            s.execute(update(Job).where(Job.id.in_(ids), Job.status.in_(ACTIVE))
                      .values(status="failed", error=INTERRUPTED, updated_at=utcnow()))
    return ids


# --- feedback


def record_feedback(db: Database, *, result_id: str, verdict: str, comment: str | None = None) -> Feedback:
    """Store a verdict on a result with what produced it; a second verdict on the same result replaces the first."""
    if verdict not in VERDICTS:
        raise UsageError(f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}")
    with db.session() as s:
        result = s.get(Result, result_id)
        if result is None:
            raise LookupError(result_id)
        if result.status != "done":
            raise UsageError(f"result {result_id} failed ({result.error}); there is no image to rate")
        row = s.scalar(select(Feedback).where(Feedback.result_id == result_id))
        if row is None:
            row = Feedback(result_id=result_id)
            s.add(row)
        row.verdict = verdict
        row.comment = comment
        row.preset = result.preset
        row.ops = list(result.ops or [])
        row.models = list(result.models or [])
        row.variant = dict(result.variant or {})
        row.recipe_hash = result.recipe_hash
        row.updated_at = utcnow()
    return row


def iter_feedback(db: Database, *, preset: str | None = None) -> Iterator[Feedback]:
    with db.session() as s:
        query = select(Feedback).order_by(Feedback.id)
        if preset is not None:
            query = query.where(Feedback.preset == preset)
        rows = list(s.scalars(query))
    yield from rows
