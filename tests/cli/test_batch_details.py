"""Small things a batch user meets (issue 32.14): a user's own `.part` file under -o survives, every
failure line names its file, Pillow's warnings about damaged EXIF stay off stderr, and a link to another
input is processed once, under the real name, and said."""

from __future__ import annotations

import io
import json
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image

from product_studio.batch.local import clean_partial_files
from product_studio.imageio import load_image
from run_cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def damaged_exif_jpeg() -> bytes:
    """A good picture whose EXIF claims 60000 bytes for a tag holding 70: Pillow warns "Truncated File Read"."""
    exif = Image.Exif()
    exif[0x0110] = "Model X" * 10  # a value stored at an offset
    buf = io.BytesIO()
    with Image.open(SAMPLES / "coffee_cup.jpg") as photo:
        photo.convert("RGB").save(buf, "JPEG", exif=exif.tobytes())
    raw = bytearray(buf.getvalue())
    tiff = raw.find(b"Exif\x00\x00") + 6
    order = "<" if raw[tiff:tiff + 2] == b"II" else ">"
    entry = tiff + 8 + 2  # IFD0's first (only) entry: tag, type, count, offset
    assert struct.unpack(order + "H", raw[entry:entry + 2])[0] == 0x0110
    raw[entry + 4:entry + 8] = struct.pack(order + "I", 60000)
    return bytes(raw)


def test_only_the_engines_own_temporary_files_are_cleaned(tmp_path):
    mine = [tmp_path / ".notes.part", tmp_path / ".draft.part", tmp_path / "sub" / ".x.txt.abcd1234.part"]
    ours = [tmp_path / ".coffee_cup.jpg.k2j_h4g5.part", tmp_path / "report_files" / ".a.after.jpg.0a1b2c3d.part",
            tmp_path / ".report.json.zz99yy88.part"]
    for p in mine + ours:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    assert clean_partial_files(tmp_path) == 3
    assert all(p.exists() for p in mine) and not any(p.exists() for p in ours)


def test_damaged_exif_is_a_note_in_the_metadata_not_a_warning(recwarn):
    item = load_image(damaged_exif_jpeg(), name="shot.jpg")
    assert item.width > 100 and item.metadata["decode_warnings"] == ["Truncated File Read"]
    assert not [w for w in recwarn if "Truncated" in str(w.message)]


@pytest.mark.slow  # the CLI several times in subprocesses
def test_a_batch_names_every_failure_keeps_a_users_part_file_and_prints_no_pillow_warning(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "coffee_cup.jpg", src / "coffee_cup.jpg")
    (src / "alias.jpg").symlink_to("coffee_cup.jpg")  # sorts before the real name
    Image.new("RGB", (1, 1), (255, 0, 0)).save(src / "tiny.png")
    (src / "exif.jpg").write_bytes(damaged_exif_jpeg())
    out = tmp_path / "out"
    out.mkdir()
    (out / ".notes.part").write_text("my notes")
    recipe = tmp_path / "r.yaml"  # enlarge only what is below 100 px: a 1x1 pixel cannot be
    recipe.write_text("name: at-least-100\nsteps:\n  - op: upscale\n    min_side: 100\noutput:\n  format: jpeg\n")
    result = cli("process", str(src), "-o", str(out), "-r", str(recipe), "-j", "1", "--json", "-q")
    doc = json.loads(result.stdout)
    names = {Path(r["input"]).name: r for r in doc["results"]}
    assert sorted(names) == ["coffee_cup.jpg", "exif.jpg", "tiny.png"]  # the link once, under the real name
    assert (out / "coffee_cup.jpg").is_file() and not (out / "alias.jpg").exists()
    assert f"skipped {src / 'alias.jpg'}: the same file as {src / 'coffee_cup.jpg'}" in result.stderr
    tiny = names["tiny.png"]
    assert tiny["status"] == "failed" and tiny["error"].startswith(str(src / "tiny.png") + ": ")
    assert names["exif.jpg"]["status"] == "done"
    assert "Warning" not in result.stderr and "Truncated" not in result.stderr, result.stderr
    assert (out / ".notes.part").read_text() == "my notes"
    assert "removed" not in result.stderr  # nothing of ours was left to clean
