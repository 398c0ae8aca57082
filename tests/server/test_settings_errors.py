"""A bad setting stops `product-studio serve` with one line naming the variable and what it takes, exit 2
(it was a pydantic traceback); the same check as `load_settings`, which the app factory uses too."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from product_studio.errors import UsageError
from product_studio.server.settings import load_settings

SECRET = "shortkey"


def _serve(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCT_STUDIO_")}
    environ.update({"PRODUCT_STUDIO_DATA_DIR": str(tmp_path / "data"), **env})
    code = "from product_studio.cli.app import main; main()"
    return subprocess.run([sys.executable, "-c", code, "serve"], env=environ, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        ({"PRODUCT_STUDIO_MAX_UPLOAD_BYTES": "abc"},
         ["PRODUCT_STUDIO_MAX_UPLOAD_BYTES='abc'", "valid integer", "it takes a whole number > 0", "request body cap"]),
        ({"PRODUCT_STUDIO_API_KEYS": f"good-key-0123456789,{SECRET}"}, ["PRODUCT_STUDIO_API_KEYS", "at least 16 characters"]),
        ({"PRODUCT_STUDIO_PORT": "99999"}, ["PRODUCT_STUDIO_PORT='99999'", "from 0 to 65535"]),
        ({"PRODUCT_STUDIO_ALLOW_URL_FETCH": "maybe"}, ["PRODUCT_STUDIO_ALLOW_URL_FETCH='maybe'", "true or false"]),
        ({"PRODUCT_STUDIO_KEY_FILE_IS_OPEN": "1"}, ["PRODUCT_STUDIO_ENCRYPTION_KEY_FILE=", "has mode 0644", "chmod 600"]),
    ],
    ids=["bytes-abc", "short-api-key", "port-out-of-range", "bool-maybe", "key-file-0644"],
)
def test_serve_reports_a_bad_setting_in_one_line(tmp_path, env, fragments):
    if "PRODUCT_STUDIO_KEY_FILE_IS_OPEN" in env:
        key_file = tmp_path / "keys"
        key_file.write_text("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")
        key_file.chmod(0o644)
        env = {"PRODUCT_STUDIO_ENCRYPTION_KEY_FILE": str(key_file)}
    done = _serve(env, tmp_path)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "pydantic" not in done.stderr and "validation error" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert SECRET not in lines[0]  # a key is never echoed


def test_load_settings_names_every_bad_setting_once(monkeypatch, tmp_path):
    monkeypatch.setenv("PRODUCT_STUDIO_CPU_SLOTS", "0")
    monkeypatch.setenv("PRODUCT_STUDIO_REQUEST_TIMEOUT_S", "-1")
    with pytest.raises(UsageError) as caught:
        load_settings(data_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "PRODUCT_STUDIO_CPU_SLOTS='0'" in message and "whole number >= 1" in message
    assert "PRODUCT_STUDIO_REQUEST_TIMEOUT_S='-1'" in message and "number > 0" in message
    monkeypatch.delenv("PRODUCT_STUDIO_CPU_SLOTS")
    monkeypatch.delenv("PRODUCT_STUDIO_REQUEST_TIMEOUT_S")
    assert load_settings(data_dir=tmp_path).cpu_slots >= 1
