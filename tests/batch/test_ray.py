"""The Ray engine on a real local Ray cluster (2 CPUs, started once per test session): the same
inputs through the local engine and through Ray give the same outputs and the same summary; a bad
file is reported and the rest finish; S3 in and out when the local engine reads through storage."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from product_studio import storage
from product_studio.batch import local as local_engine
from product_studio.batch import process_batch
from product_studio.inputs import expand_inputs
from product_studio.marketplaces import load_preset
from product_studio.pipeline import check_output

ray = pytest.importorskip("ray")
from product_studio.batch.ray_engine import plan_actors, process_batch_ray

pytestmark = pytest.mark.slow  # a local Ray cluster: `make test` runs it, `make test-fast` does not

ROOT = Path(__file__).resolve().parents[2]
RECIPE = load_preset("amazon-main").recipe()  # the real thing: enhance, u2netp cut-out, fit, white + shadow
LOCAL_ENGINE_SPEAKS_STORAGE = "storage." in inspect.getsource(local_engine)


@pytest.fixture(scope="session")
def ray_cluster():
    """A 2-CPU local Ray cluster for the whole session (about 4 s to start); shut down at the end."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Four small product photos (crops of the bundled samples) in two folders, and one bad file."""
    root = tmp_path_factory.mktemp("ray_in")
    sources = ["boot_on_deck.jpg", "coffee_cup.jpg", "colorful_cups.jpg", "teddy_bear.png"]
    for i, name in enumerate(sources):
        with Image.open(ROOT / "samples" / name) as im:
            im = im.convert("RGB")
            side = min(im.size)
            im = im.crop((0, 0, side, side)).resize((400, 400))
            target = root / ("cups" if "cup" in name else "misc") / f"p{i}.jpg"
            target.parent.mkdir(exist_ok=True)
            im.save(target, quality=92)
    (root / "misc" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def outputs(folder: Path) -> dict[str, np.ndarray]:
    found = {}
    for p in sorted(folder.rglob("*.jpg")):
        rel = p.relative_to(folder).as_posix()
        if not rel.startswith("report_files/"):
            with Image.open(p) as im:
                found[rel] = np.asarray(im.convert("RGB"), np.int16)
    return found


def comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("seconds", "images_per_second")}


def test_ray_gives_the_local_engines_outputs_and_summary(ray_cluster, shots, tmp_path):
    inputs = expand_inputs([shots])
    local = process_batch(inputs, RECIPE, tmp_path / "local", workers=2)
    seen = []
    remote = process_batch_ray(inputs, RECIPE, tmp_path / "ray", on_result=seen.append)

    assert comparable(remote.summary()) == comparable(local.summary())
    assert remote.summary()["done"] == 4 and remote.summary()["failed"] == 1 and len(seen) == 5
    assert [r.relative for r in remote.results] == [r.relative for r in local.results]  # input order
    bad = next(r for r in remote.results if r.relative.endswith("broken.jpg"))
    assert bad.status == "failed" and bad.error_type == "CorruptImageError" and "broken.jpg" in bad.error

    a, b = outputs(tmp_path / "local"), outputs(tmp_path / "ray")
    assert sorted(a) == sorted(b) == ["cups/p1.jpg", "cups/p2.jpg", "misc/p0.jpg", "misc/p3.jpg"]
    for rel in a:
        assert a[rel].shape == b[rel].shape
        assert np.abs(a[rel] - b[rel]).max() <= 8, rel  # same work; JPEG and float noise at most
    for r in remote.results:
        if r.status == "done":
            assert r.compliant, r.compliance
            assert (tmp_path / "ray" / r.thumb_after).is_file()
    assert not list((tmp_path / "ray").rglob("*.part"))
    # one actor per CPU; each opened the model once and kept it (runtime's per-process cache)
    assert remote.workers == 2
    labels = {s.get("model") for r in remote.results if r.status == "done" for s in r.steps if s["op"] == "remove_background"}
    assert len(labels) == 1 and next(iter(labels)).startswith("u2netp@")


def test_actor_sizing_leaves_cpu_for_ray_data():
    assert plan_actors(2) == (2, 0.75)
    n, per = plan_actors(48)
    assert n == 48 and n * per <= 48 - 0.5
    with pytest.raises(Exception, match="claim"):
        plan_actors(2, actors=2, cpus_per_actor=1.0)


@pytest.mark.skipif(not LOCAL_ENGINE_SPEAKS_STORAGE, reason="batch/local.py does not read and write through storage yet")
@pytest.mark.parametrize("out_kind", ["s3", "local"])
def test_local_engine_s3_in(shots, s3_bucket, tmp_path, out_kind):
    for p in sorted(shots.rglob("*.jpg")):
        storage.write_output(f"s3://{s3_bucket}/in/{p.relative_to(shots).as_posix()}", p.read_bytes())
    out = f"s3://{s3_bucket}/ready" if out_kind == "s3" else tmp_path / "ready"
    report = process_batch(expand_inputs([f"s3://{s3_bucket}/in/"]), RECIPE, out, workers=2)
    assert report.summary()["done"] == 4 and report.summary()["failed"] == 1
    for r in report.results:
        if r.status == "done":
            data = storage.read_input(r.output)
            with Image.open(io.BytesIO(data)) as im:
                assert im.format == "JPEG"
            assert check_output(data, "amazon-main")["passed"]
    if out_kind == "s3":
        assert sorted(rel for _, rel in storage.list_images(out)) == [
            "cups/p1.jpg", "cups/p2.jpg", "misc/p0.jpg", "misc/p3.jpg",
            "report_files/cups/p1.after.jpg", "report_files/cups/p1.before.jpg",
            "report_files/cups/p2.after.jpg", "report_files/cups/p2.before.jpg",
            "report_files/misc/p0.after.jpg", "report_files/misc/p0.before.jpg",
            "report_files/misc/p3.after.jpg", "report_files/misc/p3.before.jpg",
        ]


RUNNER_HOOK = "runner" in inspect.signature(local_engine.process_batch).parameters


@pytest.mark.skipif(not RUNNER_HOOK, reason="batch/local.py's process_batch has no runner hook yet")
def test_ray_writes_the_manifest_and_a_rerun_skips_everything(ray_cluster, shots, tmp_path):
    from product_studio.batch.manifest import Manifest

    inputs = expand_inputs([shots])
    db = tmp_path / "manifest.sqlite"
    first = process_batch_ray(inputs, RECIPE, tmp_path / "out", manifest=db)
    assert first.summary()["done"] == 4 and first.summary()["failed"] == 1 and first.manifest == str(db)
    again = process_batch_ray(inputs, RECIPE, tmp_path / "out", manifest=db)
    assert again.summary()["skipped"] == 5 and again.summary()["processed"] == 0  # the failure too, unless retried
    with Manifest(db, readonly=True) as m:
        assert [r["engine"] for r in m.runs()] == ["ray", "ray"]
        assert m.status_counts() == {"done": 4, "failed": 1}


CLI_HAS_ENGINE = "--engine" in (ROOT / "product_studio" / "cli" / "process.py").read_text()


@pytest.mark.skipif(not CLI_HAS_ENGINE, reason="cli/process.py has no --engine option yet")
def test_cli_engine_ray_on_s3_in_and_out(ray_cluster, shots, s3_bucket):
    """`product-studio process s3://.../in/ -o s3://.../out --engine ray`, in process (so it joins the
    session's Ray cluster): outputs and the three reports land in the bucket; exit 1 for the bad file."""
    import json

    from typer.testing import CliRunner

    from product_studio.cli.app import app

    for p in sorted(shots.rglob("*.jpg")):
        storage.write_output(f"s3://{s3_bucket}/in/{p.relative_to(shots).as_posix()}", p.read_bytes())
    result = CliRunner().invoke(app, ["process", f"s3://{s3_bucket}/in/", "-o", f"s3://{s3_bucket}/out", "--engine", "ray", "-q", "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(storage.read_input(f"s3://{s3_bucket}/out/report.json"))
    assert doc["summary"]["done"] == 4 and doc["summary"]["failed"] == 1
    assert storage.exists(f"s3://{s3_bucket}/out/report.html")
    for r in doc["results"]:
        if r["status"] == "done":
            assert r["output"].startswith(f"s3://{s3_bucket}/out/") and r["compliance"]["passed"]
            with Image.open(io.BytesIO(storage.read_input(r["output"]))) as im:
                assert im.format == "JPEG" and max(im.size) >= 500


def test_cli_rejects_an_unknown_engine_and_address_without_ray():
    from product_studio.batch.ray_engine import select_engine
    from product_studio.errors import UsageError

    with pytest.raises(UsageError, match="unknown engine 'spark'"):
        select_engine("spark")
    with pytest.raises(UsageError, match="--address is for --engine ray"):
        select_engine("local", "auto")
