"""The crash test of issue 3: `product-studio process` on 50 images, killed with SIGKILL twice
mid-way (as a real subprocess), then rerun to completion. Every input ends processed exactly once.

Recipe: the real amazon-main preset (enhance, U2-Net-p cut-out, fit to canvas, white background,
JPEG under 9 MB) on small generated 300x300 JPEGs, so the whole test stays well under a minute.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from product_studio.batch.manifest import default_manifest_path
from product_studio.imageio import load_image
from product_studio.marketplaces import check_file, load_preset

pytestmark = pytest.mark.slow  # batches killed with kill -9 and rerun, in subprocesses: `make test` runs it, `make test-fast` does not

COUNT = 50
WINDOW = 8  # items the local engine marks running ahead of 2 workers (max(8, 4 x workers))


def _inputs(folder: Path) -> list[Path]:
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True)
    paths = []
    for i in range(COUNT):
        grey = int(rng.integers(170, 230))
        im = Image.new("RGB", (300, 300), (grey, grey, grey - 10))
        draw = ImageDraw.Draw(im)
        x0, y0 = (int(v) for v in rng.integers(30, 90, size=2))
        x1, y1 = (int(v) for v in rng.integers(210, 270, size=2))
        colour = tuple(int(v) for v in rng.integers(0, 140, size=3))
        if i % 2:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rounded_rectangle((x0, y0, x1, y1), radius=25, fill=colour)
        path = folder / f"shot_{i:03d}.jpg"
        im.save(path, quality=92)
        paths.append(path)
    return paths


def _command(src: Path, out: Path) -> list[str]:
    script = Path(sys.executable).parent / "product-studio"
    base = [str(script)] if script.exists() else [sys.executable, "-c", "from product_studio.cli.app import main; main()"]
    return base + ["process", str(src), "-o", str(out), "--preset", "amazon-main", "--workers", "2", "-q", "--json"]


def _outputs(out: Path) -> list[Path]:
    return sorted(out.glob("shot_*.jpg"))


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _start_and_kill(src: Path, out: Path, when_outputs: int, *, whole_group: bool) -> None:
    proc = subprocess.Popen(_command(src, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_outputs(out)) < when_outputs:
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.02)
    if whole_group:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 of the job: parent and workers
    else:
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 of the parent: the workers must die with it
    proc.wait()
    deadline = time.monotonic() + 10
    while not _gone(proc.pid):
        assert time.monotonic() < deadline, "worker processes outlived their killed parent"
        time.sleep(0.05)


def test_killed_twice_then_rerun_processes_every_input_exactly_once(tmp_path):
    src, out = tmp_path / "shots", tmp_path / "ready"
    inputs = _inputs(src)

    _start_and_kill(src, out, 10, whole_group=False)
    first = len(_outputs(out))
    assert 10 <= first < COUNT
    _start_and_kill(src, out, first + 12, whole_group=True)
    assert len(_outputs(out)) < COUNT

    final = subprocess.run(_command(src, out), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    doc = json.loads(final.stdout)
    assert doc["summary"]["inputs"] == COUNT and doc["summary"]["done"] == COUNT and doc["summary"]["compliant"] == COUNT
    assert doc["summary"]["skipped"] > 0  # the killed runs' finished work was not done again

    # one output per input, complete, passing its preset; nothing half-written anywhere
    outputs = _outputs(out)
    assert [p.stem for p in outputs] == [p.stem for p in inputs]
    preset = load_preset("amazon-main")
    for path in outputs:
        item = load_image(path)
        assert item.width == item.height >= 500
        assert check_file(path, preset).passed, path
    assert not list(out.rglob("*.part"))

    db = sqlite3.connect(default_manifest_path(out))
    runs = db.execute("SELECT id, state FROM runs ORDER BY id").fetchall()
    assert [state for _, state in runs] == ["interrupted", "interrupted", "finished"]
    items = db.execute("SELECT id, status, recipe_hash, attempts, output FROM items").fetchall()
    assert len(items) == COUNT
    assert {status for _, status, _, _, _ in items} == {"done"}
    assert {h for _, _, h, _, _ in items} == {preset.recipe().hash}
    assert sorted(Path(o).name for *_, o in items) == [p.name for p in outputs]
    # Exactly once: each input was made (processed, or an interrupted run's output adopted) in
    # exactly one run, and every later run skipped it.
    history: dict[int, list[tuple[int, str]]] = {}
    for run_id, item_id, outcome in db.execute("SELECT run_id, item_id, outcome FROM run_items ORDER BY run_id"):
        history.setdefault(item_id, []).append((run_id, outcome))
    for item_id, *_ in items:
        made = [run_id for run_id, outcome in history[item_id] if outcome in ("processed", "adopted")]
        assert len(made) == 1, history[item_id]
        later = [outcome for run_id, outcome in history[item_id] if run_id > made[0]]
        assert set(later) <= {"skipped"}, history[item_id]
    # Work started again only for items caught in flight by a kill: at most a window per kill.
    attempts = sum(a for *_, a, _ in items)
    assert COUNT <= attempts <= COUNT + 2 * WINDOW
    db.close()


def test_reports_after_a_resume_cover_every_input(tmp_path):
    """A second, fully resumed run still reports every input, marked as skipped."""
    src, out = tmp_path / "shots", tmp_path / "ready"
    src.mkdir()
    for i in range(2):
        im = Image.new("RGB", (200, 200), (220, 220, 220))
        ImageDraw.Draw(im).ellipse((50, 40, 150, 170), fill=(20, 60, 160))
        im.save(src / f"s{i}.jpg")
    for _ in range(2):
        result = subprocess.run(_command(src, out), capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    assert "skipped 2 input(s) finished by an earlier run" in result.stderr
    doc = json.loads((out / "report.json").read_text())
    assert [r["resumed"] for r in doc["results"]] == ["skipped", "skipped"] and doc["summary"]["done"] == 2
    rows = (out / "report.csv").read_text().splitlines()
    assert len(rows) == 3 and all(",done,skipped," in row for row in rows[1:])
    html = (out / "report.html").read_text()
    assert html.count('alt="before"') == 2 and "2</b> skipped as done" in html
