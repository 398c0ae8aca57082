"""Uploads and results do not linger: raw uploads are kept only when keep_inputs asks for it (an anonymize
recipe posted to /v1/process used to keep the original, GPS and all); DELETE /v1/results/{id} removes the
files and the record; results older than retention_days are swept at start-up and periodically; a multipart
upload over 1 MB is never spooled to a plain temporary file."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tempfile
import threading
import time

import numpy as np
import pytest
from conftest import KEY, encode, product_photo  # tests/server/conftest.py
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update

from product_studio.server import Settings, create_app
from product_studio.store import Feedback, Result, acceptance_report, open_database
from product_studio.store import repository as repo

SMALL = json.dumps({"steps": [{"op": "fit_to_canvas", "size": 200}]})


def _photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.0)
    buf = io.BytesIO()
    Image.fromarray(product_photo(400, 300)).save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


def _stored(data_dir) -> list[str]:
    return sorted(str(p.relative_to(data_dir / "blobs")) for p in (data_dir / "blobs").rglob("*") if p.is_file())


def _wait_for_job(client, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(job)


def test_uploads_are_not_kept_by_default(tmp_path):
    data = _photo_with_gps()
    data_dir = tmp_path / "data"
    with TestClient(create_app(Settings(data_dir=data_dir))) as c:
        recipe = json.dumps({"steps": [{"op": "anonymize"}, {"op": "fit_to_canvas", "size": 300}]})
        r = c.post("/v1/process", files={"file": ("holiday.jpg", data, "image/jpeg")}, data={"recipe": recipe})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["input"]["url"] is None and body["input"]["width"] == 400  # described, not kept
        answer = c.get(f"/v1/results/{body['id']}/input")
        assert answer.status_code == 404 and "keep_inputs" in answer.json()["detail"]
        assert c.get(body["output"]["url"]).status_code == 200
        job = c.post("/v1/jobs", files=[("files", ("a.jpg", data, "image/jpeg")), ("files", ("b.jpg", data, "image/jpeg"))],
                     data={"recipe": SMALL})
        assert job.status_code == 202
        done = _wait_for_job(c, job.json()["id"])
        assert done["status"] == "done" and all(item["input"]["url"] is None for item in done["results"])
        stored = _stored(data_dir)
    # outputs only: no input.*, no job upload left, and the upload's bytes are nowhere in the data folder
    assert stored and all(name.rsplit("/", 1)[-1].startswith("output.") for name in stored), stored
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".sqlite-wal":
            assert data[len(data) // 2: len(data) // 2 + 64] not in path.read_bytes(), path  # the scan data


def test_delete_removes_input_output_and_record_and_keeps_the_vote(tmp_path):
    data_dir = tmp_path / "data"
    headers = {"X-API-Key": KEY}
    with TestClient(create_app(Settings(data_dir=data_dir, keep_inputs=True, api_keys=KEY))) as c:
        data = _photo_with_gps()
        body = c.post("/v1/process", files={"file": ("p.jpg", data)}, data={"recipe": SMALL}, headers=headers).json()
        assert c.get(body["input"]["url"], headers=headers).content == data  # kept: the setting asks for it
        other = c.post("/v1/process", files={"file": ("q.jpg", data)}, data={"recipe": SMALL}, headers=headers).json()
        assert c.post("/v1/feedback", json={"result_id": body["id"], "verdict": "accept", "comment": "my address is ..."},
                      headers=headers).status_code == 200
        assert c.delete(f"/v1/results/{body['id']}").status_code == 401  # the key is needed to delete too
        r = c.delete(f"/v1/results/{body['id']}", headers=headers)
        assert r.status_code == 204 and r.content == b""
        for url in (f"/v1/results/{body['id']}", body["input"]["url"], body["output"]["url"]):
            assert c.get(url, headers=headers).status_code == 404, url
        assert c.delete(f"/v1/results/{body['id']}", headers=headers).status_code == 404
        assert c.delete("/v1/results/not-an-id", headers=headers).status_code == 404
        assert not any(body["id"] in name for name in _stored(data_dir))
        assert any(other["id"] in name for name in _stored(data_dir))  # only that one went
        report = c.get("/v1/feedback/report", headers=headers).json()
        assert report["total"]["votes"] == 1  # the vote is counted, anonymously
    db = open_database(Settings(data_dir=data_dir).resolved_database_url)
    try:
        with db.session() as s:
            (vote,) = list(s.query(Feedback))
            assert vote.result_id is None and vote.comment is None and vote.verdict == "accept"
            assert s.get(Result, body["id"]) is None and s.get(Result, other["id"]) is not None
        assert acceptance_report(db)["total"]["votes"] == 1
    finally:
        db.dispose()


def _age(db_url: str, result_ids: list[str], days: float) -> None:
    db = open_database(db_url)
    try:
        with db.session() as s:
            s.execute(update(Result).where(Result.id.in_(result_ids))
                      .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days)))
    finally:
        db.dispose()


def test_results_expire_at_start_up_and_periodically(tmp_path):
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, keep_inputs=True, retention_days=7, retention_sweep_s=1)
    data = encode(product_photo(300, 300))
    with TestClient(create_app(settings)) as c:
        ids = [c.post("/v1/process", files={"file": ("p.jpg", data)}, data={"recipe": SMALL}).json()["id"] for _ in range(3)]
    old, fresh, later = ids
    _age(settings.resolved_database_url, [old], days=8)
    stray = data_dir / "blobs" / "ab" / ("ab" + "0" * 30)  # a folder no record names (a crash between file and row)
    stray.mkdir(parents=True)
    (stray / "output.jpg").write_bytes(data)
    week_ago = time.time() - 8 * 86400
    os.utime(stray, (week_ago, week_ago))
    with TestClient(create_app(settings)) as c:
        assert c.get(f"/v1/results/{old}").status_code == 404  # swept at start-up, files too
        assert not any(old in name for name in _stored(data_dir)) and not stray.exists()
        assert c.get(f"/v1/results/{fresh}").status_code == 200
        _age(settings.resolved_database_url, [later], days=7.5)  # expires while the server runs
        deadline = time.monotonic() + 10
        while c.get(f"/v1/results/{later}").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c.get(f"/v1/results/{later}").status_code == 404, "the periodic sweep did not run"
        assert not any(later in name for name in _stored(data_dir))
        assert c.get(f"/v1/results/{fresh}").status_code == 200
    with TestClient(create_app(Settings(data_dir=data_dir, retention_days=0))) as c:  # 0: kept until deleted
        _age(settings.resolved_database_url, [fresh], days=400)
        assert c.get(f"/v1/results/{fresh}").status_code == 200


def test_a_large_upload_is_not_spooled_to_a_plain_temporary_file(tmp_path, monkeypatch):
    """Starlette spools multipart files over 1 MB to a temporary file (unnamed, in the temp folder): the
    upload in plain on disk, outside the data folder. Watch the process's open files during the request."""
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    rng = np.random.default_rng(1)
    big = encode(rng.integers(0, 256, (1000, 1000, 3), dtype=np.uint8), "PNG")
    assert len(big) > 2_000_000
    slow = json.dumps({"steps": [{"op": "denoise", "strength": 1.0}, {"op": "fit_to_canvas", "size": 300}]})
    seen: set[str] = set()
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", max_upload_bytes=5_000_000))) as c:
        answer = {}
        request = threading.Thread(target=lambda: answer.setdefault(
            "r", c.post("/v1/process", files={"file": ("big.png", big, "image/png")}, data={"recipe": slow})))
        request.start()
        while request.is_alive():
            for fd in os.listdir("/proc/self/fd"):
                try:
                    target = os.readlink(f"/proc/self/fd/{fd}")
                except OSError:
                    continue
                if target.startswith(str(spool)):
                    seen.add(target)
            time.sleep(0.002)
        request.join()
    assert answer["r"].status_code == 200, answer["r"].text
    assert seen == set(), f"the upload was spooled to disk: {seen}"
