"""The local engine end to end on real files: continues past bad inputs, keeps paths, never
overwrites inputs, writes the three reports."""

import csv
import json
import zlib
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from product_studio import Recipe
from product_studio.batch import plan_outputs, process_batch, process_file
from product_studio.batch.report import write_reports
from product_studio.inputs import expand_inputs

# No model, no preset: the engine's own behaviour, fast.
RECIPE = Recipe.from_dict({"name": "shrink", "steps": [{"op": "resize", "max_side": 64}], "output": {"format": "jpeg"}})


def _photo(path: Path, size=(120, 90), colour=(200, 40, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _png_bomb(path: Path, side=30000) -> Path:
    """A small PNG whose header claims side x side pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00" * (side + 1) * 64, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


@pytest.fixture()
def mixed_folder(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.jpg")
    _photo(src / "shoes" / "b.png", colour=(10, 200, 10))
    _photo(src / "shoes" / "deep" / "c.webp", size=(300, 200))
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.jpg").write_text("this is not an image")
    good = (src / "a.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(good[: len(good) // 2])
    _png_bomb(src / "bomb.png")
    return src


def test_batch_continues_past_bad_files_and_reports_each(mixed_folder, tmp_path):
    out = tmp_path / "out"
    seen = []
    report = process_batch(expand_inputs([mixed_folder]), RECIPE, out, workers=2, on_result=seen.append)
    by_name = {Path(r.relative).name: r for r in report.results}
    assert len(seen) == 7
    assert {n for n, r in by_name.items() if r.status == "done"} == {"a.jpg", "b.png", "c.webp"}
    assert by_name["empty.jpg"].error_type == "EmptyFileError"
    assert by_name["notes.jpg"].error_type == "UnsupportedFormatError"
    assert by_name["truncated.jpg"].error_type == "CorruptImageError"
    assert by_name["bomb.png"].error_type == "ImageTooLargeError"
    assert all(r.input in r.error or Path(r.input).name in r.error for r in report.failed)  # errors name the file
    # relative paths kept, extension follows the output format
    assert (out / "shoes" / "deep" / "c.jpg").is_file()
    with Image.open(out / "shoes" / "deep" / "c.jpg") as im:
        assert im.size == (64, 43)
    assert not report.all_good and report.summary()["failed"] == 4


def test_reports_json_csv_html(mixed_folder, tmp_path):
    out = tmp_path / "out"
    report = process_batch(expand_inputs([mixed_folder]), RECIPE, out, workers=1)
    paths = write_reports(report, out)
    doc = json.loads(paths["json"].read_text())
    assert doc["summary"]["inputs"] == 7 and doc["summary"]["done"] == 3
    assert doc["recipe_hash"] == RECIPE.hash
    rows = list(csv.DictReader(paths["csv"].open()))
    assert len(rows) == 7 and {r["status"] for r in rows} == {"done", "failed"}
    html = paths["html"].read_text()
    assert html.count('alt="before"') == 3 and "FAILED" in html and "ImageTooLargeError" in html
    assert 'href="./shoes/deep/c.jpg"' in html  # links are relative: the folder can be moved or served
    for r in report.results:
        if r.status == "done":
            assert (out / r.thumb_before).is_file() and (out / r.thumb_after).is_file()


def test_existing_outputs_are_kept_unless_overwrite(tmp_path):
    src = _photo(tmp_path / "in" / "a.jpg")
    out = tmp_path / "out"
    first = process_batch(expand_inputs([src]), RECIPE, out, workers=1)
    assert first.all_good
    second = process_batch(expand_inputs([src]), RECIPE, out, workers=1)
    assert second.results[0].error_type == "OutputError" and "--overwrite" in second.results[0].error
    third = process_batch(expand_inputs([src]), RECIPE, out, workers=1, overwrite=True)
    assert third.all_good


def test_input_is_never_overwritten_even_with_overwrite(tmp_path):
    src = _photo(tmp_path / "a.jpg")
    before = src.read_bytes()
    report = process_batch(expand_inputs([src]), RECIPE, tmp_path, workers=1, overwrite=True)
    assert report.results[0].error_type == "OutputError" and "overwrite its input" in report.results[0].error
    assert src.read_bytes() == before


def test_hostile_relative_name_is_refused_and_nothing_escapes(tmp_path):
    src = _photo(tmp_path / "in" / "a.jpg")
    out = tmp_path / "out"
    result = process_file(src, "../../evil.jpg", RECIPE, out)
    assert result.status == "failed" and result.error_type == "OutputError" and "leave the output folder" in result.error
    assert not (tmp_path / "evil.jpg").exists() and not list(tmp_path.parent.glob("evil*"))


def test_name_clashes_keep_both_outputs(tmp_path):
    _photo(tmp_path / "in" / "a.jpg")
    _photo(tmp_path / "in" / "a.png")
    inputs = expand_inputs([tmp_path / "in"])
    planned = [t.name for _, t in plan_outputs(inputs, tmp_path / "out", "jpeg")]
    assert sorted(planned) == ["a_jpg.jpg", "a_png.jpg"]
    report = process_batch(inputs, RECIPE, tmp_path / "out", workers=1)
    assert report.all_good and len(list((tmp_path / "out").glob("a_*.jpg"))) == 2


def test_no_partial_files_left(mixed_folder, tmp_path):
    out = tmp_path / "out"
    process_batch(expand_inputs([mixed_folder]), RECIPE, out, workers=2)
    assert not list(out.rglob("*.part"))


def test_output_pixels_follow_the_recipe(tmp_path):
    src = _photo(tmp_path / "in" / "red.png", size=(200, 100), colour=(250, 0, 0))
    out = tmp_path / "out"
    report = process_batch(expand_inputs([src]), RECIPE, out, workers=1)
    assert report.results[0].output_size == [64, 32]
    with Image.open(out / "red.jpg") as im:
        arr = np.asarray(im.convert("RGB"))
        assert "icc_profile" in im.info and "exif" not in im.info
    assert abs(int(arr[..., 0].mean()) - 250) <= 3 and arr[..., 1].mean() < 5


def test_two_worker_batch_runs_after_the_parent_started_model_threads(tmp_path):
    """A parent that already runs onnxruntime and torch threads (the server, a notebook) must still
    get working workers: they are spawned, not forked with some thread's lock held."""
    import threading

    import torch

    from product_studio.batch.local import _pool_context
    from product_studio.runtime import predict_saliency_320

    assert _pool_context().get_start_method() == "spawn"
    torch.set_num_threads(2)
    torch.ones(256, 256) @ torch.ones(256, 256)  # starts torch's thread pool in this process
    predict_saliency_320(np.zeros((64, 64, 3), np.uint8))  # and onnxruntime's
    busy = threading.Event()
    spinner = threading.Thread(target=lambda: [np.linalg.svd(np.ones((64, 64))) for _ in range(200) if not busy.is_set()], daemon=True)
    spinner.start()  # a thread in flight while the pool starts
    src = tmp_path / "in"
    for i in range(6):
        _photo(src / f"p{i}.jpg", colour=(40 * i, 90, 200))
    report = process_batch(expand_inputs([src]), RECIPE, tmp_path / "out", workers=2)
    busy.set()
    assert [r.status for r in report.results] == ["done"] * 6
    assert all(Image.open(tmp_path / "out" / f"p{i}.jpg").size == (64, 48) for i in range(6))
