"""Hostile uploads: formats and bombs through the routes, polyglots served safely, multipart fuzzing,
hostile names, huge fields, and SSRF through the URL fetch (a real local HTTP server)."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from product_studio.server import Settings, create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_hostile_inputs import SEEDS, bombs, mutate, polyglots, unsupported_files  # noqa: E402

OK_STATUSES = {200, 400, 413, 415, 422}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile") / "data"


@pytest.fixture(scope="module")
def client(data_dir):
    # keep_inputs: the polyglot and file-name tests look at the stored uploads
    with TestClient(create_app(Settings(data_dir=data_dir, cpu_slots=1, max_upload_bytes=3_000_000,
                                        max_pixels=20_000_000, keep_inputs=True))) as c:
        yield c


def _outside_files(data_dir: Path) -> list[Path]:
    """Files of ours outside the data folder: none may ever appear."""
    root = data_dir.parent
    return [p for p in root.rglob("*") if p.is_file() and data_dir not in p.parents]


@pytest.mark.parametrize("kind", sorted(unsupported_files()))
def test_unsupported_uploads_are_415(client, kind):
    r = client.post("/v1/check", files={"file": ("photo.jpg", unsupported_files()[kind], "image/jpeg")})
    assert r.status_code == 415 and "not a supported image" in r.json()["detail"], r.text


def test_bomb_uploads_are_refused_fast(client):
    for name, (data, error) in bombs().items():
        if len(data) > 3_000_000:
            continue
        start = time.perf_counter()
        r = client.post("/v1/check", files={"file": ("b.png", data, "application/octet-stream")})
        assert time.perf_counter() - start < 3.0, name
        expected = {"ImageTooLargeError": 413, "CorruptImageError": 422, None: 200}[error.__name__ if error else None]
        assert r.status_code == expected, (name, r.status_code, r.text[:300])


def test_repair_mask_of_another_format_or_a_bomb_is_refused(client):
    image = SEEDS["png"]
    r = client.post("/v1/repair", files={"file": ("s.png", image), "mask": ("m.png", unsupported_files()["psd"])})
    assert r.status_code == 415, r.text
    r = client.post("/v1/repair", files={"file": ("s.png", image), "mask": ("m.png", bombs()["gif canvas 65535x65535, 1x1 frame"][0])})
    assert r.status_code == 413, r.text


@pytest.mark.parametrize("kind", sorted(polyglots()))
def test_polyglot_is_stored_and_served_as_an_image_only(client, kind):
    data = polyglots()[kind]
    r = client.post("/v1/process", files={"file": ("x.html", data, "text/html")},
                    data={"recipe": json.dumps({"steps": [{"op": "fit_to_canvas", "size": 200}]})})
    assert r.status_code == 200, r.text
    doc = r.json()
    want = "image/jpeg" if kind.startswith("jpeg") else "image/png"
    served = client.get(doc["input"]["url"])
    assert served.headers["content-type"] == want and served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.content == data  # kept as sent, but never labelled as anything but an image
    out = client.get(doc["output"]["url"])
    assert out.headers["content-type"] == "image/jpeg" and out.headers["x-content-type-options"] == "nosniff"
    assert b"<script" not in out.content and b"PK\x03\x04" not in out.content  # re-encoded: the payload is gone


HOSTILE_NAMES = ["../../x", "..\\..\\x.jpg", "/etc/passwd", "a\x00.jpg", "x" * 5000 + ".jpg", "\u202egpj.exe",
                 "con.jpg", "", ".", "..", "~/.ssh/id_rsa", "a/../../b.jpg", "\r\nX-Injected: 1"]


def test_hostile_filenames_never_reach_the_filesystem(client, data_dir):
    for name in HOSTILE_NAMES:
        r = client.post("/v1/process", files={"file": (name, SEEDS["jpeg"], "image/jpeg")},
                        data={"recipe": json.dumps({"steps": [{"op": "fit_to_canvas", "size": 100}]})})
        assert r.status_code in (200, 400, 422), (name[:40], r.text[:200])  # "" is a form field, not a file: 422
        if r.status_code == 200:
            stored = sorted(p.name for p in (data_dir / "blobs").rglob("*") if p.is_file() and r.json()["id"] in str(p))
            assert stored == ["input.jpg", "output.jpg"]
            assert "x-injected" not in {k.lower() for k in client.get(r.json()["output"]["url"]).headers}
    names = [n for n in HOSTILE_NAMES if 0 < len(n) < 1000]  # a 5000-character name is refused by the multipart parser
    r = client.post("/v1/jobs", files=[("files", (n, SEEDS["png"], "image/png")) for n in names],
                    data={"recipe": json.dumps({"steps": [{"op": "fit_to_canvas", "size": 64}]})})
    assert r.status_code == 202, r.text
    for _ in range(100):
        job = client.get(f"/v1/jobs/{r.json()['id']}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    kept = [item["input_name"] for item in job["results"]]
    assert len(kept) == len(names) and all(item["status"] == "done" for item in job["results"])
    assert kept[:3] == ["x", "x.jpg", "passwd"] and kept[6:8] == ["file-6", "file-7"] and kept[9] == "b.jpg"
    assert all("/" not in k and "\\" not in k and k.isprintable() and "\u202e" not in k for k in kept), kept
    # httpx escapes NUL and CR/LF in file names; a raw request does not.
    boundary = "hostile0boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a\x00b\x1b[31m.jpg\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode("latin-1") + SEEDS["png"] + f"\r\n--{boundary}--\r\n".encode()
    r = client.post("/v1/jobs", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 202, r.text
    for _ in range(100):
        job = client.get(f"/v1/jobs/{r.json()['id']}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["results"][0]["input_name"] == "ab[31m.jpg"
    assert _outside_files(data_dir) == []


def test_huge_form_fields_and_bodies(client):
    r = client.post("/v1/check", files={"file": ("a.jpg", SEEDS["jpeg"])}, data={"preset": "p" * 1_000_000})
    assert r.status_code == 400 and "unknown preset" in r.json()["detail"]
    deep = "[" * 100_000 + "]" * 100_000
    r = client.post("/v1/process", files={"file": ("a.jpg", SEEDS["jpeg"])}, data={"recipe": deep})
    assert r.status_code == 400 and "nests too deeply" in r.text, r.text[:200]
    r = client.post("/v1/process/json", content=('{"recipe": ' + deep + "}").encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text[:200]
    r = client.post("/v1/process", files={"file": ("a.jpg", SEEDS["jpeg"])},
                    data={"recipe": json.dumps({"steps": [{"op": "fit_to_canvas", "size": 10**30}]})})
    assert r.status_code == 400, r.text[:200]
    r = client.post("/v1/check", files={"file": ("big.jpg", b"\xff\xd8\xff" + bytes(3_100_000))})
    assert r.status_code == 413
    r = client.post("/v1/process/json", json={"image_base64": "A" * 5_000_000})
    assert r.status_code == 413


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    body=st.one_of(
        st.binary(max_size=2048),
        st.builds(mutate, st.sampled_from(list(SEEDS.values())), st.sampled_from(("bitflip", "truncate", "header", "insert")),
                  st.integers(0, 2**20), st.integers(0, 255), st.integers(0, 2**16)),
    ),
    filename=st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=300)),
    preset=st.one_of(st.just("amazon-main"), st.text(max_size=50)),
    route=st.sampled_from(["/v1/check", "/v1/check", "/v1/process"]),
)
def test_fuzz_upload_route(client, data_dir, body, filename, preset, route):
    start = time.perf_counter()
    r = client.post(route, files={"file": (filename, body, "application/octet-stream")}, data={"preset": preset})
    assert r.status_code in OK_STATUSES, (r.status_code, r.text[:300])
    assert time.perf_counter() - start < 5.0
    assert r.headers["content-type"].startswith("application/json")


def test_fuzzing_left_nothing_outside_the_data_folder(client, data_dir):
    assert _outside_files(data_dir) == []


# --------------------------------------------------------------------------------------------
# SSRF: the URL fetch, against a real HTTP server on loopback

class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Handler.hits.append(self.path)
        if self.path.startswith("/trickle"):  # a valid image, one byte every 50 ms: each read is quick, the whole is not
            body = SEEDS["jpeg"]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:  # the client hung up
                pass
            return
        if self.path.startswith("/slow-headers"):
            try:
                for line in [b"HTTP/1.1 200 OK\r\n"] + [b"X-Pad: %d\r\n" % i for i in range(90)]:
                    for byte in line:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.05)
            except OSError:
                pass
            return
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = SEEDS["jpeg"]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _fetch(tmp_path, url: str, **options):
    with TestClient(create_app(Settings(data_dir=tmp_path / "d", **options))) as c:
        return c.post("/v1/process/json", json={"image_url": url, "recipe": {"steps": [{"op": "fit_to_canvas", "size": 64}]}})


def test_url_fetch_is_off_by_default(tmp_path, http_server):
    _Handler.hits.clear()
    r = _fetch(tmp_path, f"{http_server}/a.jpg")
    assert r.status_code == 403 and "off" in r.json()["detail"] and _Handler.hits == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "2130706433", "169.254.169.254",
                                  "10.0.0.1", "192.168.1.1"])
def test_url_fetch_refuses_private_loopback_and_link_local(tmp_path, http_server, host):
    _Handler.hits.clear()
    port = http_server.rsplit(":", 1)[1]
    r = _fetch(tmp_path, f"http://{host}:{port}/a.jpg", allow_url_fetch=True)
    assert r.status_code == 403 and "non-public address" in r.json()["detail"], r.text
    assert _Handler.hits == []  # refused before any connection


def test_url_fetch_refuses_redirects_and_other_schemes(tmp_path, http_server):
    _Handler.hits.clear()
    r = _fetch(tmp_path, f"{http_server}/a.jpg", allow_url_fetch=True, url_fetch_allow_private=True)
    assert r.status_code == 200, r.text  # the server itself works when private addresses are allowed
    r = _fetch(tmp_path, f"{http_server}/redirect", allow_url_fetch=True, url_fetch_allow_private=True)
    assert r.status_code == 400 and "redirects" in r.json()["detail"]
    for url in ("file:///etc/passwd", "gopher://127.0.0.1/", "ftp://example.invalid/a.jpg"):
        r = _fetch(tmp_path, url, allow_url_fetch=True)
        assert r.status_code == 400 and "http://" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/trickle.jpg", "/slow-headers"])
def test_url_fetch_has_a_total_deadline(tmp_path, http_server, path):
    """A server that trickles its answer (each read well under any per-read timeout) is cut off at the
    fetch's total deadline; it used to hold the CPU slot for as long as it kept trickling."""
    started = time.monotonic()
    r = _fetch(tmp_path, f"{http_server}{path}", allow_url_fetch=True, url_fetch_allow_private=True, url_fetch_timeout_s=1)
    elapsed = time.monotonic() - started
    assert r.status_code == 400 and "took longer than 1 s" in r.json()["detail"], r.text
    assert elapsed < 5, f"the fetch took {elapsed:.1f} s with a 1 s deadline"
