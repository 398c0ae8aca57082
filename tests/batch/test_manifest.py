"""The job manifest on real SQLite files: skip finished work, redo changed inputs, retry failures
on request, redo everything for a new recipe, adopt or redo an interrupted item, one writer."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from PIL import Image

from product_studio import Recipe
from product_studio.batch import process_batch
from product_studio.batch.manifest import Manifest, default_manifest_path
from product_studio.errors import UsageError
from product_studio.inputs import expand_inputs

RECIPE = Recipe.from_dict({"name": "shrink", "steps": [{"op": "resize", "max_side": 64}], "output": {"format": "jpeg"}})
OTHER = Recipe.from_dict({"name": "shrink", "steps": [{"op": "resize", "max_side": 48}], "output": {"format": "jpeg"}})


def _photo(path: Path, colour=(200, 40, 40), size=(120, 90)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


@pytest.fixture()
def folder(tmp_path) -> Path:
    src = tmp_path / "in"
    for i in range(5):
        _photo(src / f"p{i}.jpg", colour=(40 * i, 100, 200))
    (src / "bad.jpg").write_text("not an image")
    return src


def run(src: Path, out: Path, recipe: Recipe = RECIPE, **kw):
    return process_batch(expand_inputs([src]), recipe, out, workers=1, manifest=default_manifest_path(out), **kw)


def rows(out: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(default_manifest_path(out))
    db.row_factory = sqlite3.Row
    found = {Path(r["input"]).name: r for r in db.execute("SELECT * FROM items")}
    db.close()
    return found


def outcomes(out: Path, run_id: int) -> dict[str, str]:
    db = sqlite3.connect(default_manifest_path(out))
    found = {
        Path(name).name: outcome
        for name, outcome in db.execute(
            "SELECT i.input, r.outcome FROM run_items r JOIN items i ON i.id = r.item_id WHERE r.run_id = ?", (run_id,)
        )
    }
    db.close()
    return found


def test_manifest_file_schema_and_wal(folder, tmp_path):
    out = tmp_path / "out"
    report = run(folder, out)
    path = default_manifest_path(out)
    assert path == out / ".product-studio" / "manifest.sqlite" and report.manifest == str(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "items", "run_items"} <= tables
    run_row = db.execute("SELECT state, recipe_hash, inputs, done, failed, engine FROM runs").fetchone()
    assert run_row == ("finished", RECIPE.hash, 6, 5, 1, "local")
    db.close()
    found = rows(out)
    assert found["p0.jpg"]["status"] == "done" and found["p0.jpg"]["attempts"] == 1
    assert len(found["p0.jpg"]["content_hash"]) == 64 and found["p0.jpg"]["recipe_hash"] == RECIPE.hash
    assert found["p0.jpg"]["output_bytes"] == (out / "p0.jpg").stat().st_size
    assert found["bad.jpg"]["status"] == "failed" and found["bad.jpg"]["error_type"] == "UnsupportedFormatError"


def test_rerun_skips_done_and_keeps_failures_unless_asked(folder, tmp_path):
    out = tmp_path / "out"
    first = run(folder, out)
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}
    second = run(folder, out)
    s = second.summary()
    assert s["inputs"] == 6 and s["skipped"] == 6 and s["processed"] == 0 and s["done"] == 5 and s["failed"] == 1
    assert all(r.resumed == "skipped" for r in second.results)
    # the skipped results carry the recorded details into the report
    by_name = {Path(r.input).name: r for r in second.results}
    assert by_name["p1.jpg"].output_size == [64, 48] and by_name["p1.jpg"].thumb_after
    assert by_name["bad.jpg"].error_type == "UnsupportedFormatError"
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")} == mtimes  # nothing rewritten
    assert set(outcomes(out, second.run_id).values()) == {"skipped"}
    # --retry-failed processes the failure again (and only it)
    (folder / "bad.jpg").unlink()
    _photo(folder / "bad.jpg", colour=(0, 0, 0))
    third = run(folder, out, retry_failed=True)
    assert outcomes(out, third.run_id) == {**{f"p{i}.jpg": "skipped" for i in range(5)}, "bad.jpg": "processed"}
    assert rows(out)["bad.jpg"]["status"] == "done" and rows(out)["bad.jpg"]["attempts"] == 2
    assert first.run_id < second.run_id < third.run_id


def test_changed_input_is_redone(folder, tmp_path):
    out = tmp_path / "out"
    run(folder, out)
    before = rows(out)["p2.jpg"]["content_hash"]
    _photo(folder / "p2.jpg", colour=(0, 255, 0), size=(100, 100))
    report = run(folder, out)
    assert outcomes(out, report.run_id)["p2.jpg"] == "processed"
    assert report.summary()["skipped"] == 5
    row = rows(out)["p2.jpg"]
    assert row["content_hash"] != before and row["attempts"] == 2
    with Image.open(out / "p2.jpg") as im:
        assert im.size == (64, 64) and im.convert("RGB").getpixel((32, 32))[1] > 200


def test_recipe_change_redoes_everything_and_no_resume_redoes_too(folder, tmp_path):
    out = tmp_path / "out"
    run(folder, out)
    report = run(folder, out, OTHER)
    assert report.summary()["processed"] == 6 and report.summary()["skipped"] == 0
    with Image.open(out / "p0.jpg") as im:
        assert im.size == (48, 36)  # our old output was replaced, no --overwrite needed
    assert {r["recipe_hash"] for r in rows(out).values()} == {OTHER.hash}
    again = run(folder, out, OTHER, resume=False)
    assert again.summary()["processed"] == 6 and rows(out)["p0.jpg"]["attempts"] == 3


def test_output_not_ours_is_never_replaced_without_overwrite(folder, tmp_path):
    out = tmp_path / "out"
    _photo(out / "p0.jpg", colour=(1, 2, 3))
    report = run(folder, out)
    p0 = next(r for r in report.results if Path(r.input).name == "p0.jpg")
    assert p0.error_type == "OutputError" and "--overwrite" in p0.error
    with Image.open(out / "p0.jpg") as im:
        assert im.size == (120, 90)
    assert run(folder, out, overwrite=True, retry_failed=True).failed[0].input.endswith("bad.jpg")


def test_interrupted_item_output_is_adopted_when_complete(folder, tmp_path):
    """Killed between os.replace and the commit: the item is 'running' and its output exists."""
    out = tmp_path / "out"
    run(folder, out)
    db = sqlite3.connect(default_manifest_path(out))
    db.execute("UPDATE items SET status = 'running' WHERE input LIKE '%p1.jpg' OR input LIKE '%p3.jpg'")
    db.commit()
    db.close()
    (out / "p3.jpg").write_bytes((out / "p3.jpg").read_bytes()[:200])  # p3's output is not complete
    mtime = (out / "p1.jpg").stat().st_mtime_ns
    report = run(folder, out)
    got = outcomes(out, report.run_id)
    assert got["p1.jpg"] == "adopted" and got["p3.jpg"] == "processed" and got["p0.jpg"] == "skipped"
    assert (out / "p1.jpg").stat().st_mtime_ns == mtime  # adopted, not rewritten
    assert rows(out)["p1.jpg"]["attempts"] == 1 and rows(out)["p3.jpg"]["attempts"] == 2
    with Image.open(out / "p3.jpg") as im:
        im.load()
        assert im.size == (64, 48)
    assert report.summary()["adopted"] == 1


def test_interrupted_item_with_changed_input_is_redone(folder, tmp_path):
    out = tmp_path / "out"
    run(folder, out)
    db = sqlite3.connect(default_manifest_path(out))
    db.execute("UPDATE items SET status = 'running' WHERE input LIKE '%p1.jpg'")
    db.commit()
    db.close()
    time.sleep(0.01)
    _photo(folder / "p1.jpg", colour=(0, 0, 250), size=(80, 80))
    report = run(folder, out)
    assert outcomes(out, report.run_id)["p1.jpg"] == "processed"
    with Image.open(out / "p1.jpg") as im:
        assert im.size == (64, 64)


def test_leftover_part_files_are_removed(folder, tmp_path):
    out = tmp_path / "out"
    run(folder, out)
    junk = out / "sub" / ".p9.jpg.abc12345.part"
    junk.parent.mkdir()
    junk.write_bytes(b"half")
    report = run(folder, out)
    assert report.partial_files_removed == 1 and not list(out.rglob("*.part"))


def test_one_writer_at_a_time(tmp_path):
    path = tmp_path / "m.sqlite"
    with Manifest(path):
        with pytest.raises(UsageError, match="in use by another run"):
            Manifest(path)
        with Manifest(path, readonly=True) as reader:  # readers are never blocked
            assert reader.runs() == []
    with Manifest(path):
        pass


def test_manifest_cost_per_image_is_under_2_ms(tmp_path):
    src = tmp_path / "in"
    for i in range(300):
        _photo(src / f"{i:03d}.png", colour=(i % 256, 0, 0), size=(8, 8))
    out = tmp_path / "out"
    report = process_batch(expand_inputs([src]), RECIPE, out, workers=1, thumbnails=False, manifest=default_manifest_path(out))
    assert report.all_good
    assert report.summary()["manifest_ms_per_image"] < 2.0, report.summary()
    resumed = process_batch(expand_inputs([src]), RECIPE, out, workers=1, thumbnails=False, manifest=default_manifest_path(out))
    assert resumed.summary()["skipped"] == 300 and resumed.summary()["manifest_ms_per_image"] < 2.0


def test_another_engine_plugs_in_as_a_runner(folder, tmp_path):
    from product_studio.batch import process_file
    from product_studio.batch.local import _prepare, _record

    seen = []

    def runner(jobs, tasks, workers, ctx):
        _prepare(tasks, ctx)
        for task in tasks:
            path, rel, recipe, out, kw = jobs[task.index]
            seen.append(task.index)
            result = process_file(path, rel, recipe, out, **kw, adopt=task.adopt)
            _record(task, result, ctx)
            yield task.index, result

    out = tmp_path / "out"
    first = process_batch(expand_inputs([folder]), RECIPE, out, manifest=default_manifest_path(out), runner=runner, engine="test")
    assert first.summary()["done"] == 5 and len(seen) == 6
    again = process_batch(expand_inputs([folder]), RECIPE, out, manifest=default_manifest_path(out), runner=runner, engine="test")
    assert again.summary()["skipped"] == 6 and len(seen) == 6
    with Manifest(default_manifest_path(out), readonly=True) as m:
        assert [r["engine"] for r in m.runs()] == ["test", "test"]
