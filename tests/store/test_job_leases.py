"""Jobs are leased: an active job whose server stopped ends "failed" once its lease runs out, whatever its
PID or host name said (PID 1 in a container is always alive, a new container has a new host name), on SQLite
and on a real PostgreSQL server; a running server renews its own jobs' leases. Orphan detection used to
trust PID liveness on the same host name, so such jobs stayed "running" forever and filled the queue."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from sqlalchemy import text
from fastapi.testclient import TestClient

from product_studio.server import Settings, create_app
from product_studio.store import Job, new_id, open_database
from product_studio.store import repository as repo
from product_studio.store.models import utcnow

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def db(database_url):
    database = open_database(database_url)
    yield database
    database.dispose()


def _job(db, *, worker: str, status: str = "running", lease: dt.timedelta | None = dt.timedelta(seconds=-5)) -> str:
    """A job row as another server left it: its owner, its status and when its lease ends (None: no lease)."""
    job_id = new_id()
    with db.session() as s:
        s.add(Job(id=job_id, preset="amazon-main", recipe={"steps": []}, inputs=[{"name": "a.jpg", "blob": "x"}],
                  total=1, status=status, worker=worker, lease_until=None if lease is None else utcnow() + lease))
    return job_id


def _status(db, job_id: str) -> tuple[str, str | None]:
    job, _ = repo.get_job(db, job_id)
    return job.status, job.error


def test_expired_leases_fail_and_live_ones_are_kept(db):
    here = socket.gethostname()
    pid_one = _job(db, worker=f"{here}:1")  # a container's server: PID 1 is alive in the new container too
    renamed = _job(db, worker="old-container-3f2a:4242", status="queued")  # the host name changed
    no_lease = _job(db, worker=f"{here}:1", lease=None)  # written before leases existed
    live = _job(db, worker="sibling:77:abcd", lease=dt.timedelta(seconds=30))  # another server, alive
    finished = _job(db, worker=f"{here}:1", status="done")
    assert sorted(repo.fail_expired_jobs(db)) == sorted([pid_one, renamed, no_lease])
    for job_id in (pid_one, renamed, no_lease):
        status, error = _status(db, job_id)
        assert status == "failed" and "interrupted" in error and "submit it again" in error
    assert _status(db, live) == ("running", None) and _status(db, finished) == ("done", None)
    assert repo.count_active_jobs(db) == 1


def test_the_owner_renews_its_leases_and_fails_its_own_jobs_when_it_stops(db):
    owner = repo.new_worker_id()
    assert owner != repo.new_worker_id()  # a new name at every start, even in the same process
    job = repo.create_job(db, job_id=new_id(), preset=None, recipe={"steps": []}, inputs=[], worker=owner, lease_s=1)
    time.sleep(0.6)
    assert repo.renew_leases(db, worker=owner, lease_s=1) == 1
    time.sleep(0.6)  # 1.2 s after creation: alive only through the renewal
    assert repo.fail_expired_jobs(db) == []
    assert repo.fail_expired_jobs(db, worker=owner) == [job.id]
    assert _status(db, job.id)[0] == "failed"


def test_a_restarted_server_fails_the_interrupted_jobs_and_accepts_new_ones(db, database_url, tmp_path):
    """64 jobs left "running" by a server that was PID 1 of its container filled the queue (429 for every
    new job). The next server fails them at start-up and takes new jobs."""
    here = socket.gethostname()
    stuck = [_job(db, worker=f"{here}:1") for _ in range(4)]
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, max_queued_jobs=4, job_lease_s=30)
    with TestClient(create_app(settings)) as c:
        assert all(_status(db, job_id)[0] == "failed" for job_id in stuck)
        r = c.post("/v1/jobs", files=[("files", ("a.jpg", b"\xff\xd8\xffnot an image", "image/jpeg"))])
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while _status(db, job_id)[0] in repo.ACTIVE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _status(db, job_id)[0] == "failed"  # its only file is broken: the job ran to its end


def test_the_heartbeat_fails_a_stopped_servers_job_without_a_restart(db, database_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, job_lease_s=1)
    with TestClient(create_app(settings)):
        # another server sharing the database took a job, then died: its lease ends in 1 s
        other = _job(db, worker="sibling:77:abcd", lease=dt.timedelta(seconds=1))
        deadline = time.monotonic() + 10
        while _status(db, other)[0] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        status, error = _status(db, other)
        assert status == "failed" and "interrupted" in error


def test_an_older_database_gets_the_lease_column(database_url):
    db = open_database(database_url)
    with db.engine.begin() as conn:
        conn.execute(text('ALTER TABLE jobs DROP COLUMN lease_until'))
    db.dispose()
    db = open_database(database_url)  # adds the column back; the old rows count as expired
    try:
        assert _job(db, worker="old:1", lease=None) in repo.fail_expired_jobs(db)
    finally:
        db.dispose()
