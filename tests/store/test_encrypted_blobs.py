"""The blob store with encryption at rest: the server's uploads and results unreadable without the key."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from product_studio.crypto import DecryptionError, Keyring, generate_key, parse_key
from product_studio.server import Settings, create_app
from product_studio.store import BlobStore

MAGICS = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"GIF8", b"II*\x00", b"MM\x00*")


def _jpeg() -> bytes:
    y, x = np.mgrid[0:300, 0:300]
    pixels = np.stack([x % 256, y % 256, np.full_like(x, 200)], -1).astype(np.uint8)
    pixels[80:220, 100:200] = (190, 30, 35)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_plain_store_is_unchanged_and_refuses_sealed_blobs(tmp_path):
    store = BlobStore(tmp_path)
    path = store.put("c" * 32, "input.jpg", b"\xff\xd8\xffdata")
    assert path.read_bytes() == b"\xff\xd8\xffdata" and store.read(path) == b"\xff\xd8\xffdata"
    with store.readable(path) as plain:
        assert plain == path
    sealed = BlobStore(tmp_path, keyring=Keyring([parse_key(generate_key())]))
    other = sealed.put("d" * 32, "input.jpg", b"\xff\xd8\xffdata")
    with pytest.raises(DecryptionError, match="has no key"):
        store.read(other)


def test_encrypted_store_round_trip_readable_copy_and_clear_errors(tmp_path):
    ring = Keyring([parse_key(generate_key())])
    store = BlobStore(tmp_path, keyring=ring)
    path = store.put("e" * 32, "mask.png", b"\x89PNG\r\n\x1a\nmask")
    assert not path.read_bytes().startswith(b"\x89PNG") and store.read(path) == b"\x89PNG\r\n\x1a\nmask"
    with store.readable(path) as plain:
        assert plain != path and plain.read_bytes() == b"\x89PNG\r\n\x1a\nmask" and (plain.stat().st_mode & 0o077) == 0
    assert not plain.exists()
    wrong = BlobStore(tmp_path, keyring=Keyring([parse_key(generate_key())]))
    with pytest.raises(DecryptionError, match="not among the configured keys"):
        wrong.read(path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(DecryptionError, match="integrity check"):
        store.read(path)
    legacy = BlobStore(tmp_path).put("f" * 32, "input.jpg", b"\xff\xd8\xff")
    with pytest.raises(DecryptionError, match="keys rotate"):
        store.read(legacy)
    with pytest.raises(ValueError, match="unsafe blob name"):
        store.put("f" * 32, "../x", b"")
    with pytest.raises(ValueError, match="unsafe blob name"):
        store.put("f" * 32, "a\x00b", b"")


def test_server_encrypts_uploads_and_results_at_rest(tmp_path):
    key = generate_key()
    data = _jpeg()
    settings = Settings(data_dir=tmp_path, encryption_key=key, keep_inputs=True)
    with TestClient(create_app(settings)) as client:
        r = client.post("/v1/process", files={"file": ("p.jpg", data, "image/jpeg")},
                        data={"recipe": '{"steps": [{"op": "fit_to_canvas", "size": 400}]}'})
        assert r.status_code == 200, r.text
        doc = r.json()
        served_in = client.get(doc["input"]["url"])
        served_out = client.get(doc["output"]["url"])
        job = client.post("/v1/jobs", files=[("files", ("a.jpg", data, "image/jpeg"))])
        assert job.status_code == 202
    assert served_in.content == data and served_in.headers["content-type"] == "image/jpeg"
    assert served_in.headers["x-content-type-options"] == "nosniff"
    assert served_out.content.startswith(b"\xff\xd8\xff")
    stored = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(stored) >= 2  # input, output (and the job's result; its upload is deleted once the job ended)
    for path in stored:
        raw = path.read_bytes()
        assert raw.startswith(b"PSENC") and not any(m in raw[:64] for m in MAGICS), path
        assert data[100:164] not in raw
    # The key is never kept beside the data, and nothing stored opens without it.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes() and base64.b64decode(key) not in path.read_bytes()
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        denied = client.get(doc["input"]["url"])
    assert denied.status_code == 500 and "encrypted and the server has no key" in denied.json()["detail"]
    with TestClient(create_app(Settings(data_dir=tmp_path, encryption_key=generate_key()))) as client:
        wrong = client.get(doc["output"]["url"])
    assert wrong.status_code == 500 and "not among the configured keys" in wrong.json()["detail"]


def test_server_repair_with_encryption_uses_a_private_copy_of_the_mask(tmp_path):
    data = _jpeg()
    mask = np.zeros((300, 300), np.uint8)
    mask[140:160, 140:160] = 255
    buf = io.BytesIO()
    Image.fromarray(mask).save(buf, "PNG")
    with TestClient(create_app(Settings(data_dir=tmp_path, encryption_key=generate_key(), keep_inputs=True))) as client:
        r = client.post("/v1/repair", files={"file": ("p.jpg", data, "image/jpeg"), "mask": ("m.png", buf.getvalue(), "image/png")})
        assert r.status_code == 200, r.text
        out = client.get(r.json()["output"]["url"])
    assert out.status_code == 200 and out.content.startswith(b"\x89PNG")
    stored_mask = next((tmp_path / "blobs").rglob("mask.png"))
    assert stored_mask.read_bytes().startswith(b"PSENC")


def test_settings_refuse_a_bad_key_or_an_open_key_file(tmp_path):
    with pytest.raises(ValueError, match="not valid base64"):
        Settings(data_dir=tmp_path, encryption_key="nope nope")
    path = tmp_path / "keys"
    path.write_text(generate_key() + "\n")
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        Settings(data_dir=tmp_path, encryption_key_file=path)
    path.chmod(0o600)
    assert Settings(data_dir=tmp_path, encryption_key_file=path).keyring() is not None
    assert Settings(data_dir=tmp_path).keyring() is None
    key = generate_key()
    assert key not in repr(Settings(data_dir=tmp_path, encryption_key=key))  # a SecretStr: never printed
