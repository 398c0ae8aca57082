"""crypto.py: AES-256-GCM sealing, keyrings, key files, and the `keys` command."""

from __future__ import annotations

import base64
import json
import os

import pytest
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.crypto import (
    HEADER_BYTES,
    DecryptionError,
    Keyring,
    generate_key,
    key_id,
    parse_key,
    read_key_file,
)
from product_studio.errors import UsageError

PLAIN = b"\xff\xd8\xff\xe0 a jpeg, as far as anyone can tell" * 10


def test_seal_open_round_trip_and_header():
    ring = Keyring([parse_key(generate_key())])
    sealed = ring.seal(PLAIN, "ab/input.jpg")
    assert sealed[:5] == b"PSENC" and sealed[5] == 1 and sealed[6:14] == ring.current_id
    assert len(sealed) == HEADER_BYTES + len(PLAIN) + 16
    assert b"\xff\xd8\xff" not in sealed and b"jpeg" not in sealed
    assert ring.open(sealed, "ab/input.jpg") == PLAIN
    assert ring.seal(PLAIN, "ab/input.jpg") != sealed  # a fresh nonce every time


def test_wrong_key_tampering_and_renaming_are_detected():
    ring = Keyring([parse_key(generate_key())])
    sealed = ring.seal(PLAIN, "ab/input.jpg")
    with pytest.raises(DecryptionError, match="not among the configured keys"):
        Keyring([parse_key(generate_key())]).open(sealed, "ab/input.jpg")
    flipped = bytearray(sealed)
    flipped[HEADER_BYTES + 3] ^= 0x01
    with pytest.raises(DecryptionError, match="integrity check"):
        ring.open(bytes(flipped), "ab/input.jpg")
    with pytest.raises(DecryptionError, match="integrity check"):
        ring.open(sealed, "ab/output.jpg")  # the name is associated data: no swapping files
    with pytest.raises(DecryptionError, match="truncated"):
        ring.open(sealed[: HEADER_BYTES + 5], "ab/input.jpg")
    header = bytearray(sealed)
    header[HEADER_BYTES - 1] ^= 0x80  # the nonce
    with pytest.raises(DecryptionError, match="integrity check"):
        ring.open(bytes(header), "ab/input.jpg")
    with pytest.raises(DecryptionError, match="not an encrypted blob"):
        ring.open(PLAIN, "ab/input.jpg")


def test_rotation_keyring_writes_with_newest_reads_with_any():
    old, new = parse_key(generate_key()), parse_key(generate_key())
    sealed_old = Keyring([old]).seal(PLAIN, "x/y")
    ring = Keyring([old, new])
    assert ring.current_id == key_id(new)
    assert ring.open(sealed_old, "x/y") == PLAIN
    assert ring.needs_rewrap(sealed_old) and not ring.needs_rewrap(ring.seal(PLAIN, "x/y"))
    assert ring.needs_rewrap(PLAIN)


@pytest.mark.parametrize("text, reason", [("not base64!!", "not valid base64"), ("c2hvcnQ=", "decodes to 5 bytes")])
def test_bad_keys_are_usage_errors_without_echoing_the_key(text, reason):
    with pytest.raises(UsageError, match=reason) as info:
        parse_key(text)
    assert text not in str(info.value)


def test_key_file_must_be_private(tmp_path):
    path = tmp_path / "keys"
    path.write_text("# comment\n" + generate_key() + "\n" + generate_key() + "\n")
    path.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        read_key_file(path)
    path.chmod(0o600)
    assert len(read_key_file(path)) == 2
    with pytest.raises(UsageError, match="does not exist"):
        read_key_file(tmp_path / "missing")
    (tmp_path / "empty").write_text("# nothing\n")
    (tmp_path / "empty").chmod(0o600)
    with pytest.raises(UsageError, match="holds no key"):
        read_key_file(tmp_path / "empty")


def test_keyring_from_sources(tmp_path, monkeypatch):
    assert Keyring.from_sources(None, None) is None
    a, b = generate_key(), generate_key()
    ring = Keyring.from_sources(f"{a}, {b}")
    assert ring.current_id == key_id(parse_key(b))


def test_keys_generate_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("PRODUCT_STUDIO_ENCRYPTION_KEY_FILE", raising=False)
    runner = CliRunner()
    printed = runner.invoke(app, ["keys", "generate"])
    assert printed.exit_code == 0 and len(parse_key(printed.stdout.strip())) == 32
    path = tmp_path / "conf" / "keys"
    for _ in range(2):
        result = runner.invoke(app, ["keys", "generate", "--key-file", str(path)])
        assert result.exit_code == 0, result.output
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert len(read_key_file(path)) == 2
    path.chmod(0o640)  # a loosened file is refused, not appended to
    assert runner.invoke(app, ["keys", "generate", "--key-file", str(path)]).exit_code == 2


def test_keys_rotate_cli_reencrypts_every_blob(tmp_path, monkeypatch):
    from product_studio.store import BlobStore

    monkeypatch.delenv("PRODUCT_STUDIO_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("PRODUCT_STUDIO_ENCRYPTION_KEY_FILE", raising=False)
    runner = CliRunner()
    keys = tmp_path / "keys"
    assert runner.invoke(app, ["keys", "generate", "--key-file", str(keys)]).exit_code == 0
    first = Keyring(read_key_file(keys))
    plain_store = BlobStore(tmp_path / "data" / "blobs")
    legacy = plain_store.put("a" * 32, "input.jpg", PLAIN)  # stored before encryption was on
    sealed_store = BlobStore(tmp_path / "data" / "blobs", keyring=first)
    sealed = sealed_store.put("b" * 32, "output.png", b"\x89PNG\r\n\x1a\n" + PLAIN)

    result = runner.invoke(app, ["keys", "rotate", "--data-dir", str(tmp_path / "data"), "--key-file", str(keys), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["rewrapped"], doc["encrypted"], doc["current"], doc["failed"]) == (1, 1, 0, [])
    ring = Keyring(read_key_file(keys))
    assert len(ring.keys) == 2 and doc["current_key"] == ring.current_id.hex() != first.current_id.hex()
    store = BlobStore(tmp_path / "data" / "blobs", keyring=ring)
    assert store.read(legacy) == PLAIN and store.read(sealed) == b"\x89PNG\r\n\x1a\n" + PLAIN
    for path in (legacy, sealed):
        raw = path.read_bytes()
        assert raw[6:14] == ring.current_id and b"\xff\xd8\xff" not in raw and b"PNG" not in raw
    assert not list(tmp_path.glob("data/blobs/*/*/.*"))  # no temporary files left

    again = runner.invoke(app, ["keys", "rotate", "--data-dir", str(tmp_path / "data"), "--key-file", str(keys),
                                "--no-new-key", "--drop-old", "--json"])
    doc = json.loads(again.stdout)
    assert again.exit_code == 0 and doc["current"] == 2 and doc["dropped_old_keys"]
    assert read_key_file(keys) == [ring.keys[-1]]
    with pytest.raises(DecryptionError):
        BlobStore(tmp_path / "data" / "blobs", keyring=first).read(legacy)  # the retired key opens nothing


def test_keys_rotate_without_a_data_dir_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["keys", "rotate", "--data-dir", str(tmp_path / "nope"), "--key-file", str(tmp_path / "k")])
    assert result.exit_code == 2


def test_a_running_server_follows_the_key_file_so_rotation_in_any_order_loses_nothing(tmp_path, monkeypatch):
    """`keys rotate`, then `keys rotate --no-new-key --drop-old`, all while the server runs: the
    server's store (a keyring from the key file, as ``Settings.keyring`` makes it) reads what the
    rotation re-encrypted, writes with the new key at once, and everything opens after a restart."""
    from product_studio.store import BlobStore

    monkeypatch.delenv("PRODUCT_STUDIO_ENCRYPTION_KEY", raising=False)
    runner = CliRunner()
    keys = tmp_path / "keys"
    assert runner.invoke(app, ["keys", "generate", "--key-file", str(keys)]).exit_code == 0
    server = BlobStore(tmp_path / "data" / "blobs", keyring=Keyring.from_sources(None, keys))
    before = server.put("a" * 32, "result.png", PLAIN)

    rotate = ["keys", "rotate", "--data-dir", str(tmp_path / "data"), "--key-file", str(keys), "--json"]
    assert runner.invoke(app, rotate).exit_code == 0
    assert server.read(before) == PLAIN  # re-encrypted under a key the server was not started with
    between = server.put("b" * 32, "result.png", PLAIN + b"2")
    assert between.read_bytes()[6:14] == Keyring(read_key_file(keys)).current_id  # the new key, at once

    dropped = runner.invoke(app, rotate + ["--no-new-key", "--drop-old"])
    assert dropped.exit_code == 0 and json.loads(dropped.stdout)["dropped_old_keys"]
    after = server.put("c" * 32, "result.png", PLAIN + b"3")
    restarted = BlobStore(tmp_path / "data" / "blobs", keyring=Keyring.from_sources(None, keys))
    assert [restarted.read(p) for p in (before, between, after)] == [PLAIN, PLAIN + b"2", PLAIN + b"3"]


def test_drop_old_is_refused_while_files_stay_under_an_old_key(tmp_path, monkeypatch):
    """A blob under a key the key file does not hold cannot be re-encrypted: old keys are kept and
    the command says why (exit 2)."""
    from product_studio.store import BlobStore

    monkeypatch.delenv("PRODUCT_STUDIO_ENCRYPTION_KEY", raising=False)
    runner = CliRunner()
    keys = tmp_path / "keys"
    assert runner.invoke(app, ["keys", "generate", "--key-file", str(keys)]).exit_code == 0
    stranger = Keyring([base64.b64decode(generate_key())])  # e.g. a server given its key in the environment
    BlobStore(tmp_path / "data" / "blobs", keyring=stranger).put("d" * 32, "input.jpg", PLAIN)
    result = runner.invoke(app, ["keys", "rotate", "--data-dir", str(tmp_path / "data"), "--key-file", str(keys),
                                 "--drop-old"])
    assert result.exit_code == 2 and "old keys kept" in result.output
    assert len(read_key_file(keys)) == 2
