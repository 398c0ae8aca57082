"""Shared fixtures: small, deterministic test pictures made on the spot (no files in the repo)."""

from __future__ import annotations

import numpy as np
import pytest

# --- the fast loop: `make test-fast` runs `pytest -m "not slow"`; `make test` and CI run everything ---------
#
# A test is slow when it starts a browser, a Ray cluster or a PostgreSQL server, trains a model, or
# fuzzes (hypothesis). These are marked here, so a new test inherits the mark: a test that uses one of
# SLOW_FIXTURES or the PostgreSQL side of `database_url`, a hypothesis test, and a test named
# `test_train_*` (it runs a `train` command or function). Modules that only train carry
# `pytestmark = pytest.mark.slow` themselves.
SLOW_FIXTURES = frozenset({"browser", "page", "ray_cluster", "postgres_server"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (
            SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            or params.get("database_url") == "postgresql"  # the PostgreSQL side of `database_url`
            or getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
            or item.name.startswith("test_train_")
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def photo() -> np.ndarray:
    """RGB, 48x64, uint8: smooth gradients with a pure red 8x8 block in the top-left corner.

    Smooth, so lossy codecs keep it close; the corner block tells which way up it is.
    """
    h, w = 48, 64
    y, x = np.mgrid[0:h, 0:w]
    image = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full((h, w), 128)], axis=-1).astype(np.uint8)
    image[:8, :8] = (255, 0, 0)
    return image


@pytest.fixture
def noisy_photo() -> np.ndarray:
    """RGB, 300x400, uint8 with fine detail, so JPEG size depends clearly on quality."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:300, 0:400]
    base = np.stack([x * 255 // 399, y * 255 // 299, (x + y) * 255 // 698], axis=-1).astype(np.int16)
    noise = rng.integers(-40, 41, size=base.shape, dtype=np.int16)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible server (moto's ThreadedMotoServer) on loopback, once per test session.

    s3fs runs on aiobotocore, which moto's decorators do not reach: the tests talk HTTP to this
    server exactly as they would to S3 or MinIO. Yields the endpoint URL.
    """
    import logging

    moto_server = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch, request):
    """A fresh, empty bucket on the loopback S3 server, with the AWS_* environment pointing at it.

    Yields the bucket name; ``s3://<name>/...`` URLs then work through ``product_studio.storage``.
    """
    import re

    import boto3

    for key, value in {
        "AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-") + f"-{id(request) % 100000}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    yield name


# --- the store and the server: a throwaway PostgreSQL server, and a database URL per backend ---------------

import glob as _glob  # noqa: E402
import os as _os  # noqa: E402
import shutil as _shutil  # noqa: E402
import socket as _socket  # noqa: E402
import subprocess as _subprocess  # noqa: E402
import tempfile as _tempfile  # noqa: E402
import uuid as _uuid  # noqa: E402
from pathlib import Path as _Path  # noqa: E402


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster of our own (initdb + pg_ctl in a temporary folder, a free port on 127.0.0.1),
    stopped and deleted at the end. Yields (host, port, superuser). As root the server runs as the
    ``postgres`` user (via runuser); otherwise as the current user. Fails -- never skips -- without the
    binaries: ``make test`` installs them (apt: postgresql)."""
    initdbs = sorted(_glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(_Path(p).parts[-3].split(".")[0]))
    if not initdbs:
        pytest.fail("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; run `make test` "
                    "(it installs the Debian package postgresql) or `apt-get install postgresql`")
    bindir = _Path(initdbs[-1]).parent
    as_root = _os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    root = _Path(_tempfile.mkdtemp(prefix="studio-pg-"))
    if as_root:
        _shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", free_port()

    def run(*args: str) -> None:
        done = _subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}\n{tail}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        yield "127.0.0.1", port, "postgres"
    finally:
        _subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        _shutil.rmtree(root, ignore_errors=True)


def _new_postgres_database(server) -> str:
    import psycopg

    host, port, user = server
    name = f"studio_{_uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{user}@{host}:{port}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database on each backend: a SQLite file, and a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studio.sqlite'}"
    return _new_postgres_database(request.getfixturevalue("postgres_server"))
