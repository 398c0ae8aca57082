"""`process` into a read-only or full folder: one line naming the folder and the cause, exit 1, no traceback."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from run_cli import cli
from small_disk import remount, small_disk


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", "400k") as folder:
        yield folder


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return folder


@pytest.mark.parametrize("state, cause", [("ro", "the file system is read-only"), ("full", "the disk is full")])
def test_process_to_an_unwritable_folder_is_one_line(disk, photos, state, cause):
    if state == "ro":
        remount(disk, "ro")
    done = cli("upscale", str(photos), "-o", str(disk / "out"), "--scale", "2", "--method", "bicubic", "-q")
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"cannot write to {disk / 'out'}" in errors[0] and cause in errors[0]
    assert "Traceback" not in done.stderr
