"""The real server (uvicorn on a loopback port) driven over HTTP with httpx: the main flows, jobs and
feedback on SQLite and on a real PostgreSQL server, and the limits (413 streamed, 429, 504)."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import numpy as np
import pytest
from conftest import LiveServer, encode, product_photo  # tests/server/conftest.py

from product_studio.server import Settings

pytestmark = pytest.mark.slow  # the real server on loopback, under load and timeouts: `make test` runs it, `make test-fast` does not

GRABCUT_RECIPE = json.dumps({"steps": [{"op": "remove_background", "method": "grabcut"},
                                       {"op": "fit_to_canvas", "size": 800, "fill": 0.88},
                                       {"op": "white_background", "shadow": "none"}]})


def test_process_fetch_and_rate_over_http(live, photo_jpeg):
    with httpx.Client(base_url=live.url, timeout=60) as c:
        assert c.get("/v1/health").json()["status"] == "ok"
        r = c.post("/v1/process", files={"file": ("mug.jpg", photo_jpeg, "image/jpeg")}, data={"preset": "amazon-main"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["output"]["format"] == "jpeg" and body["output"]["width"] == body["output"]["height"]
        assert [s["op"] for s in body["steps"]] == ["enhance", "remove_background", "fit_to_canvas", "white_background"]
        assert body["compliance"]["rules"] and body["compliance"]["preset"] == "amazon-main"
        assert body["compliance"]["passed"] is True, body["compliance"]["failed"]
        out = c.get(body["output"]["url"])
        assert out.status_code == 200 and out.headers["content-type"] == "image/jpeg" and out.content[:3] == b"\xff\xd8\xff"
        assert body["input"]["url"] is None and c.get(f"/v1/results/{body['id']}/input").status_code == 404  # not kept
        fb = c.post("/v1/feedback", json={"result_id": body["id"], "verdict": "reject", "comment": "shadow too dark"})
        assert fb.status_code == 200 and fb.json()["ops"][0] == "enhance" and fb.json()["models"][0].startswith("u2netp@")
        report = c.get("/v1/feedback/report").json()
        assert report["total"]["votes"] == 1 and report["total"]["accepted"] == 0
        assert {r["key"] for r in report["by_op"]} == {"enhance", "remove_background", "fit_to_canvas", "white_background"}
        assert c.post("/v1/feedback", json={"result_id": "f" * 32, "verdict": "accept"}).status_code == 404
        assert c.post("/v1/feedback", json={"result_id": body["id"], "verdict": "meh"}).status_code == 422


def _wait_for(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_jobs_and_feedback_on_each_database(tmp_path, database_url, photo_jpeg, white_jpeg):
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, feedback_min_votes=2, feedback_cache_s=0)
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, timeout=60) as c:
        files = [("files", ("a.jpg", photo_jpeg, "image/jpeg")), ("files", ("broken.jpg", b"\xff\xd8\xffnot really", "image/jpeg")),
                 ("files", ("b.jpg", white_jpeg, "image/jpeg"))]
        r = c.post("/v1/jobs", files=files, data={"preset": "jd-main", "recipe": GRABCUT_RECIPE})
        assert r.status_code == 202 and r.json()["status"] == "queued", r.text
        job = _wait_for(c, r.json()["id"])
        assert job["status"] == "done" and job["progress"] == {"done": 3, "total": 3, "failed": 1}
        first, broken, second = job["results"]
        assert first["status"] == "done" and first["input_name"] == "a.jpg" and first["preset"] == "jd-main"
        assert broken["status"] == "failed" and "broken.jpg" in broken["error"] and "damaged" in broken["error"]
        assert c.get(second["output"]["url"]).headers["content-type"] == "image/jpeg"
        assert [j["id"] for j in c.get("/v1/jobs").json()] == [job["id"]]
        assert c.get("/v1/jobs/" + "0" * 32).status_code == 404

        # feedback is stored on this database and moves jd-main's default shadow from contact to none
        assert c.get("/v1/presets/jd-main").json()["recipe"]["steps"][-1]["shadow"] == "contact"
        for result, verdict in ((first, "accept"), (second, "accept")):  # both made with shadow none
            assert c.post("/v1/feedback", json={"result_id": result["id"], "verdict": verdict}).status_code == 200
        contact = []
        for _ in range(2):
            r = c.post("/v1/process", files={"file": ("c.jpg", white_jpeg)}, data={"preset": "jd-main", "recipe": json.dumps(
                {"steps": [{"op": "remove_background", "method": "grabcut"}, {"op": "white_background", "shadow": "contact"}]})})
            contact.append(r.json()["id"])
        for rid in contact:
            c.post("/v1/feedback", json={"result_id": rid, "verdict": "reject"})
        report = c.get("/v1/feedback/report").json()
        variants = {row["key"]: (row["votes"], row["accepted"]) for row in report["by_variant"]}
        assert variants == {"jd-main white_background.shadow=none": (2, 2), "jd-main white_background.shadow=contact": (2, 0)}
        decision = next(d for d in report["defaults"] if d["preset"] == "jd-main")
        assert decision["chosen"] == "none", decision
        assert c.get("/v1/presets/jd-main").json()["recipe"]["steps"][-1]["shadow"] == "none"
        r = c.post("/v1/process", files={"file": ("d.jpg", white_jpeg)}, data={"preset": "jd-main"})
        assert r.json()["recipe"]["variant"] == {"white_background.shadow": "none"}  # the default recipe now uses it


def _raw_request(port: int, head: bytes, chunks, *, pause: float = 0.0) -> tuple[bytes, int]:
    """Send a request by hand; stop sending once the server answers. Returns (response, body bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head)
    sent = 0
    sock.settimeout(0.001)
    response = b""
    try:
        for chunk in chunks:
            try:
                response += sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                pass
            if response:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(chunk)
            if pause:
                time.sleep(pause)
        sock.settimeout(10)
        while True:  # the server closes the connection after a 413
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            response += data
        return response, sent
    finally:
        sock.close()


def test_413_on_a_streamed_upload_before_the_body_is_read(tmp_path):
    limit = 200_000
    with LiveServer(Settings(data_dir=tmp_path, max_upload_bytes=limit)) as live:
        boundary = b"XyZ"
        head = (b"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n\r\n")
        part = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n\r\n"
        piece = b"\xff" * 16384

        def chunks():
            yield b"%x\r\n%s\r\n" % (len(part), part)
            for _ in range(10_000):  # 160 MB if the server read it all
                yield b"%x\r\n%s\r\n" % (len(piece), piece)

        response, sent = _raw_request(live.port, head, chunks(), pause=0.001)
        assert response.startswith(b"HTTP/1.1 413"), response[:200]
        assert sent < 20 * limit, f"the server let {sent:,} bytes through before answering"
        # a declared Content-Length over the limit is refused before any of the body is sent
        head = (b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n"
                b"Content-Type: multipart/form-data; boundary=XyZ\r\n\r\n")
        response, sent = _raw_request(live.port, head, [])
        assert response.startswith(b"HTTP/1.1 413") and b"over the limit of 200,000 bytes" in response
        with httpx.Client(base_url=live.url) as c:
            r = c.post("/v1/check", files={"file": ("big.jpg", b"\xff" * (limit + 1))})
            assert r.status_code == 413 and "max_upload_bytes" in r.json()["detail"]
            assert c.get("/v1/health").status_code == 200  # the server is fine


def _slow_recipe() -> str:
    return json.dumps({"steps": [{"op": "denoise", "strength": 1.0}, {"op": "denoise", "strength": 1.0}], "output": {"format": "png"}})


def test_429_when_concurrency_is_exceeded_and_504_on_timeout(tmp_path, white_jpeg):
    # Noisy, so that the denoise steps really filter (a clean photo is returned as is, fast).
    noise = np.random.default_rng(0).normal(0, 12, (1600, 1600, 3))
    big = encode(np.clip(product_photo(1600, 1600) + noise, 0, 255).astype(np.uint8), quality=90)
    settings = Settings(data_dir=tmp_path, max_concurrency=1, cpu_slots=1, retry_after_s=3)
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, timeout=120) as c:
        outcome = {}

        def slow():
            outcome["slow"] = c.post("/v1/process", files={"file": ("big.jpg", big)}, data={"recipe": _slow_recipe()})

        worker = threading.Thread(target=slow)
        worker.start()
        deadline = time.monotonic() + 10
        while live.app.state.studio.limiter.admitted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        busy = c.post("/v1/check", files={"file": ("w.jpg", white_jpeg)})
        worker.join()
        assert busy.status_code == 429 and busy.headers["retry-after"] == "3" and "busy" in busy.json()["detail"]
        assert outcome["slow"].status_code == 200
        assert c.post("/v1/check", files={"file": ("w.jpg", white_jpeg)}).status_code == 200  # capacity is back

    with LiveServer(Settings(data_dir=tmp_path, request_timeout_s=0.2)) as live, httpx.Client(base_url=live.url, timeout=60) as c:
        r = c.post("/v1/process", files={"file": ("big.jpg", big)}, data={"recipe": _slow_recipe()})
        assert r.status_code == 504 and "longer than the server's limit of 0.2 s" in r.json()["detail"]
