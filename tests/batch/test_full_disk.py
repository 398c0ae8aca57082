"""A full disk or a read-only output folder is one typed error naming the folder; a full disk stops
the batch, and the files it could not write are processed by the next run (not reported failed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from product_studio import Recipe
from product_studio.batch import process_batch
from product_studio.errors import OutputUnwritable
from product_studio.inputs import expand_inputs
from small_disk import remount, small_disk

# Noise does not compress: each PNG output is about 270 kB, so a 1 MB disk fills after a few.
RECIPE = Recipe.from_dict({"name": "png", "steps": [{"op": "resize", "max_side": 300}], "output": {"format": "png"}})


@pytest.fixture
def disk(tmp_path):
    """A 1 MB disk for the outputs."""
    with small_disk(tmp_path / "disk", "1m") as folder:
        yield folder


def noise_photos(folder: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir()
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return folder


def test_a_full_disk_stops_the_batch_and_the_next_run_does_the_rest(tmp_path, disk):
    inputs = expand_inputs([str(noise_photos(tmp_path / "in", 8))])
    manifest = tmp_path / "manifest.sqlite"  # on a disk with room: what was done is remembered
    with pytest.raises(OutputUnwritable, match=r"cannot write to .*out.*: the disk is full; free space"):
        process_batch(inputs, RECIPE, disk / "out", workers=1, manifest=manifest)
    written = sorted(p.name for p in (disk / "out").glob("p*.png"))
    assert 0 < len(written) < 8
    assert not list((disk / "out").rglob("*.part"))

    remount(disk, "size=8m")
    report = process_batch(inputs, RECIPE, disk / "out", workers=1, manifest=manifest)
    summary = report.summary()
    assert summary["failed"] == 0 and summary["done"] == 8
    assert sum(1 for r in report.results if r.resumed == "skipped") == len(written)


def test_a_full_disk_under_the_manifest_is_the_same_error(tmp_path, disk):
    inputs = expand_inputs([str(noise_photos(tmp_path / "in", 8))])
    with pytest.raises(OutputUnwritable, match="the disk is full"):
        process_batch(inputs, RECIPE, disk / "out", workers=2, manifest=disk / "out" / ".product-studio" / "m.sqlite")


def test_a_read_only_output_folder_is_one_line(tmp_path, disk):
    remount(disk, "ro")
    inputs = expand_inputs([str(noise_photos(tmp_path / "in", 2))])
    with pytest.raises(OutputUnwritable, match="the file system is read-only; choose a writable folder with -o"):
        process_batch(inputs, RECIPE, disk / "out", workers=1, manifest=disk / "out" / "m.sqlite")
