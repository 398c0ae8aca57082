"""How the batch engines scale on this machine, all on the same images in one run.

local-1    the local engine, 1 worker process
local-2    the local engine, 2 worker processes
ray-2      the Ray engine on a local 2-CPU Ray cluster (2 actors)
ray start  Ray's fixed start-up: ``ray.init(num_cpus=2)``; and for every engine the time from a
           job's start to its first result (pool start, opening the model, one image)

Throughput "after start-up" is (images - 1) / (last result - first result) of each job; the
figure with start-up is images / wall time. The images are split into ``--rounds`` slices and
the engines run in turn on each slice (order rotated every round), so every engine processes
every image once and load from other work on the machine falls on all of them alike.
manifest   the SQLite manifest's own time per image (``report.manifest_seconds``) on a first run
           (hash, mark running, record) and on a rerun where everything is skipped (hash + lookup)

Every engine runs the amazon-main preset recipe (enhance, u2netp cut-out, fit to 2000, white +
contact shadow, JPEG, compliance check, report thumbnails) from a cold start: worker processes or
actors are started by the run being timed. The inputs are JPEGs (quality 92) made from crops of
samples/*.jpg with a little noise, so every file is different.

Goals (issue 3): local-2 >= 1.7 x local-1; ray-2 within 1.3 x of local-2 (after start-up);
manifest <= 2 ms per image.

    python benchmarks/batch_scaling.py [--images 200] [--side 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from product_studio import Recipe
from product_studio.batch import process_batch
from product_studio.inputs import expand_inputs
from product_studio.marketplaces import load_preset


def make_inputs(folder: Path, count: int, side: int) -> None:
    """``count`` side x side JPEGs: random square crops (at least half the short side) of the
    bundled sample photos, resized, with mild noise; in 4 sub-folders."""
    sources = sorted(p for p in (ROOT / "samples").iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    if not sources:
        raise SystemExit("no samples/*.jpg to build inputs from")
    images = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in sources]
    rng = np.random.default_rng(0)
    for i in range(count):
        src = images[i % len(images)]
        h, w = src.shape[:2]
        s = int(min(h, w) * rng.uniform(0.6, 1.0))
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        img = cv2.resize(src[y : y + s, x : x + s], (side, side), interpolation=cv2.INTER_AREA if s > side else cv2.INTER_CUBIC)
        img = np.clip(img.astype(np.int16) + rng.normal(0, 2.0, img.shape).astype(np.int16), 0, 255).astype(np.uint8)
        target = folder / f"set{i % 4}" / f"in_{i:04d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), img, [cv2.IMWRITE_JPEG_QUALITY, 92])


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--side", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (the images are split between them)")
    args = parser.parse_args()

    recipe = load_preset("amazon-main").recipe()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="batch_scaling_") as tmp:
        tmp_path = Path(tmp)
        make_inputs(tmp_path / "in", args.images, args.side)
        inputs = expand_inputs([tmp_path / "in"])
        n = len(inputs)
        print(f"{n} inputs, {args.side}x{args.side} JPEG, recipe {recipe.name} ({recipe.hash})", file=sys.stderr)

        rows: list[tuple[str, str, str]] = []

        import ray

        from product_studio.batch.ray_engine import process_batch_ray

        _, ray_init = timed(lambda: ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False))
        engines = {
            "local-1": lambda part, out: process_batch(part, recipe, out, workers=1, on_result=mark),
            "local-2": lambda part, out: process_batch(part, recipe, out, workers=2, on_result=mark),
            "ray-2": lambda part, out: process_batch_ray(part, recipe, out, on_result=mark),
        }
        # Interleaved rounds over disjoint slices: every engine sees all the images once, and load from
        # other work on the machine falls on all engines alike (the order rotates every round).
        totals = {name: {"n": 0, "wall": 0.0, "steady_n": 0, "steady": 0.0, "first": []} for name in engines}
        stamps: list[float] = []

        def mark(_result) -> None:
            stamps.append(time.perf_counter())

        names = list(engines)
        for r in range(args.rounds):
            part = inputs[r * n // args.rounds : (r + 1) * n // args.rounds]
            for name in names[r % len(names):] + names[: r % len(names)]:
                stamps.clear()
                start = time.perf_counter()
                report = engines[name](part, tmp_path / f"{name}_{r}")
                wall = time.perf_counter() - start
                assert report.summary()["done"] == len(part), report.summary()
                t = totals[name]
                t["n"] += len(part)
                t["wall"] += wall
                t["steady_n"] += len(part) - 1
                t["steady"] += stamps[-1] - stamps[0]
                t["first"].append(stamps[0] - start)
            print(f"round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
        _, ray_stop = timed(ray.shutdown)
        rate = {name: t["n"] / t["wall"] for name, t in totals.items()}
        steady = {name: t["steady_n"] / t["steady"] for name, t in totals.items()}
        first = {name: sum(t["first"]) / len(t["first"]) for name, t in totals.items()}

        manifest_first = manifest_rerun = None
        try:
            from product_studio.batch.manifest import Manifest  # noqa: F401

            cheap = Recipe.from_dict({"name": "shrink", "steps": [{"op": "resize", "max_side": 256}]})
            db = tmp_path / "manifest.sqlite"
            first_run = process_batch(inputs, cheap, tmp_path / "manifest_out", workers=2, manifest=db, thumbnails=False)
            rerun = process_batch(inputs, cheap, tmp_path / "manifest_out", workers=2, manifest=db, thumbnails=False)
            assert rerun.summary().get("skipped") == n, rerun.summary()
            manifest_first = 1000 * first_run.manifest_seconds / n
            manifest_rerun = 1000 * rerun.manifest_seconds / n
        except ImportError:
            pass  # TODO: no manifest in this tree yet

        rows.append(("local engine, 1 worker", f"{steady['local-1']:.2f} images/s ({rate['local-1']:.2f} with start-up)", "1.00"))
        rows.append(("local engine, 2 workers", f"{steady['local-2']:.2f} images/s ({rate['local-2']:.2f} with start-up)",
                     f"{steady['local-2'] / steady['local-1']:.2f} x local-1 (goal >= 1.7)"))
        rows.append(("Ray, 2 CPUs (2 actors), after start-up", f"{steady['ray-2']:.2f} images/s ({rate['ray-2']:.2f} with start-up)",
                     f"{steady['ray-2'] / steady['local-2']:.2f} x local-2 (goal >= 1/1.3 = 0.77)"))
        rows.append(("Ray fixed start-up: ray.init(num_cpus=2)", f"{ray_init:.2f} s", f"once per process; shutdown {ray_stop:.2f} s"))
        rows.append(("job start -> first result (pool start, model load, 1 image)",
                     f"local-1 {first['local-1']:.2f} s, local-2 {first['local-2']:.2f} s, ray-2 {first['ray-2']:.2f} s", "per job"))
        if manifest_first is not None:
            rows.append(("manifest, first run (hash, mark running, record)", f"{manifest_first:.3f} ms/image", "goal <= 2 ms"))
            rows.append(("manifest, rerun, all skipped (hash + lookup)", f"{manifest_rerun:.3f} ms/image", "goal <= 2 ms"))
        else:
            rows.append(("manifest", "TODO: batch/manifest.py not present", ""))

        load_after = os.getloadavg()[0]
        print(f"\n{n} images, {args.side}x{args.side} JPEG, recipe amazon-main, {os.cpu_count()} cores; "
              f"1-minute load average {load_before:.1f} at the start, {load_after:.1f} at the end "
              f"(above {os.cpu_count()}: other work shared the cores and the figures are low and noisy)\n")
        print("| measure | value | ratio / note |")
        print("|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
