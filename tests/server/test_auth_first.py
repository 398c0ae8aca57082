"""Authentication first, on the real server (uvicorn on loopback): a request without a valid key is
answered 401 from its headers, before its body is received; keys are taken from headers only and never
appear in the access log."""

from __future__ import annotations

import logging
import socket
import time

import httpx
from conftest import KEY, LiveServer  # tests/server/conftest.py

from product_studio.server import Settings

BODY = 20_000_000  # under the 25 MB body cap: only the key check can stop it early


def _upload_without_reading_the_answer_first(port: int, head: bytes, total: int) -> tuple[bytes, int]:
    """Send ``head`` and then up to ``total`` body bytes in 64 KB pieces, stopping as soon as the server
    answers. Returns (the answer, body bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent, answer = 0, b""
    piece = b"\xff" * 65536
    try:
        sock.sendall(head)
        sock.setblocking(False)
        deadline = time.monotonic() + 60
        while sent < total and time.monotonic() < deadline:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            if answer:
                break
            try:
                sent += sock.send(piece[: total - sent])
            except BlockingIOError:
                time.sleep(0.002)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.0005)
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return answer, sent
    finally:
        sock.close()


def _head(path: str, length: int, key: str | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {length}",
             "Content-Type: multipart/form-data; boundary=XyZ"]
    if key:
        lines.append(f"X-API-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(tmp_path):
    with LiveServer(Settings(data_dir=tmp_path, api_keys=KEY, max_upload_bytes=25_000_000)) as live:
        for path in ("/v1/process", "/v1/jobs", "/v1/check"):
            for key in (None, "wrong-key-0123456789abcdef"):
                answer, sent = _upload_without_reading_the_answer_first(live.port, _head(path, BODY, key), BODY)
                assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
                assert b"missing or wrong API key" in answer and b"www-authenticate: bearer" in answer.lower()
                # what the kernel's socket buffers on loopback take in before the answer is seen (a few MB under
                # load); a server that reads the body takes all 20 MB
                assert sent < 8_000_000, f"{path}: the server took {sent:,} of {BODY:,} bytes before answering 401"
        with httpx.Client(base_url=live.url) as c:  # the server is fine and a keyed request still works
            assert c.get("/v1/health").status_code == 200
            assert c.get("/v1/presets", headers={"X-API-Key": KEY}).status_code == 200
            assert c.get("/v1/presets", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
            assert c.get("/docs").status_code == 200 and c.get("/openapi.json").status_code == 200  # public


def test_keys_in_the_url_are_refused_and_never_logged(tmp_path):
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect()
    access = logging.getLogger("uvicorn.access")
    try:
        with LiveServer(Settings(data_dir=tmp_path, api_keys=KEY), log_level="info") as live:
            access.addHandler(handler)  # after uvicorn configured its loggers
            with httpx.Client(base_url=live.url) as c:
                r = c.get(f"/v1/presets?api_key={KEY}")
                assert r.status_code == 401 and "in the URL is refused" in r.json()["detail"]
                r = c.get(f"/v1/results/{'0' * 32}/output?token={KEY}", headers={"X-API-Key": KEY})
                assert r.status_code == 401
                assert c.get(f"/v1/health?api_key={KEY}").status_code == 200  # public, yet logged without the key
                assert c.get("/v1/presets", headers={"X-API-Key": KEY}).status_code == 200
            deadline = time.monotonic() + 5
            while len(lines) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        access.removeHandler(handler)
    assert len(lines) >= 4, lines
    assert not [line for line in lines if KEY in line], lines
    assert any("api_key=[redacted]" in line for line in lines), lines
