"""`product-studio anonymize` end to end on the privacy test set: after it, no metadata remains, the
face detector finds no face where it found one, OCR finds no personal text, and the brand name and
the price are still readable. The inputs are never touched and the report holds counts, not data."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from product_studio.cli.app import app
from product_studio.imageio import load_image
from product_studio.metadata import inspect_metadata
from product_studio.ops.personal_text import find_personal_text
from product_studio.vision.faces import detect_faces
from product_studio.vision.ocr import read_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from privacy_set import assert_no_metadata, build_privacy_set

pytestmark = pytest.mark.slow  # OCR and face detection on whole photos, through the CLI in subprocesses: `make test` runs it, `make test-fast` does not

runner = CliRunner()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def anonymized(tmp_path_factory):
    """Six images (JPEG, PNG, WebP; four with a face; every kind of personal text), anonymized once."""
    root = tmp_path_factory.mktemp("privacy")
    images = build_privacy_set(root / "in", 6)
    before = {im.path.name: _digest(im.path) for im in images}
    result = runner.invoke(app, ["anonymize", str(root / "in"), "-o", str(root / "out"), "--json"])
    return images, root / "out", result, before


def test_anonymize_exits_zero_and_reports_counts_only(anonymized):
    images, out, result, before = anonymized
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"] == {**doc["summary"], "inputs": 6, "done": 6, "failed": 0}
    assert doc["recipe"]["steps"][0]["op"] == "anonymize" and (out / "report.html").is_file()
    by_name = {Path(r["input"]).name: r for r in doc["results"]}
    for im in images:
        report = by_name[im.path.name]
        assert report["metadata_removed"]["exif"] >= 8 and report["metadata_removed"]["gps"] == 6
        assert report["metadata_removed"]["thumbnail"] == 1 and report["metadata_removed"]["xmp"] == 1
        assert report["steps"][0]["model"]  # the face cascades and OCR ran
    # The report never repeats the personal data itself.
    for im in images:
        for lines in im.personal.values():
            for text in lines:
                digits = "".join(c for c in text if c.isdigit())
                assert (len(digits) < 6 or digits not in result.stdout) and text not in result.stdout
    # Inputs untouched; outputs keep name and format.
    for im in images:
        assert _digest(im.path) == before[im.path.name]
        assert (out / im.path.name).is_file()


def test_no_metadata_remains(anonymized):
    images, out, _, _ = anonymized
    for im in images:
        assert any(inspect_metadata(im.path).values())
        assert_no_metadata((out / im.path.name).read_bytes())


def test_faces_are_gone_where_they_were(anonymized):
    images, out, _, _ = anonymized
    checked = 0
    for im in images:
        faces_before = detect_faces(load_image(im.path).pixels)
        if im.face:
            assert faces_before, f"the set's face on {im.path.name} is not found before anonymize"
        after = detect_faces(load_image(out / im.path.name).pixels)
        for x0, y0, x1, y1 in after:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            assert not any(a <= cx <= c and b <= cy <= d for a, b, c, d in faces_before), (im.path.name, after)
        checked += bool(faces_before)
    assert checked >= 3


def test_ocr_finds_no_personal_text_but_reads_the_public_text(anonymized):
    images, out, _, _ = anonymized
    for im in images:
        lines_before = read_text(load_image(im.path).pixels)
        assert {m.kind for m in find_personal_text(lines_before)} == set(im.personal), im.path.name
        lines = read_text(load_image(out / im.path.name).pixels)
        assert find_personal_text(lines) == [], (im.path.name, [line.text for line in lines])
        read = " ".join(line.text for line in lines).replace(" ", "")
        for text in im.public:  # the brand name and the price stay readable
            assert text.replace(" ", "") in read, (im.path.name, text, read)


def test_no_faces_no_text_still_strips_metadata_and_keeps_pixels(tmp_path):
    (image,) = build_privacy_set(tmp_path / "in", 1)
    out = tmp_path / "out"
    result = runner.invoke(app, ["anonymize", str(image.path), "-o", str(out), "--no-faces", "--no-text", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["results"][0]
    assert report["steps"][0]["params"]["faces"] is False and report["steps"][0]["model"] is None
    assert_no_metadata((out / image.path.name).read_bytes())
    # a second run skips what is done; a file the manifest does not know is not replaced without --overwrite
    again = runner.invoke(app, ["anonymize", str(image.path), "-o", str(out), "--no-faces", "--no-text"])
    assert again.exit_code == 0 and "skipped 1 input(s)" in again.output
    other = tmp_path / "other"
    other.mkdir()
    (other / image.path.name).write_bytes(b"someone else's file")
    kept = runner.invoke(app, ["anonymize", str(image.path), "-o", str(other), "--no-faces", "--no-text"])
    assert kept.exit_code == 1 and "--overwrite" in kept.output


def test_bad_inputs_and_usage(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    result = runner.invoke(app, ["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--no-text", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["results"][0]["error_type"] == "CorruptImageError"
    usage = runner.invoke(app, ["anonymize", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "out")])
    assert usage.exit_code == 2 and "no such file" in usage.output
    bad = runner.invoke(app, ["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--method", "swirl"])
    assert bad.exit_code == 2 and "pixelate" in bad.output
    named = runner.invoke(app, ["anonymize", str(tmp_path / "in"), "-o", str(tmp_path / "out.jpg")])
    assert named.exit_code == 2 and "-o takes a folder" in named.output
