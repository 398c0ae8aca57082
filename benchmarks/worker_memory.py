"""Peak memory of one local-engine worker on very large inputs (issue 3: "a worker handles inputs up
to 100 MP within a fixed, documented budget").

How it is measured: every row runs in a fresh Python process (``subprocess.run``), which imports
the package, loads the model on a tiny warm-up image, then runs ``process_file`` (decode, the
amazon-main recipe, encode, compliance check, thumbnails) on ONE input. The child reads its own
peak resident set size from ``/proc/self/status`` (``VmHWM``, the kernel's high-water mark of RSS)
before the big image (baseline: interpreter + numpy/OpenCV + onnxruntime + model) and after it
(peak), and cross-checks with ``resource.getrusage(RUSAGE_SELF).ru_maxrss``. ``VmPeak`` (virtual
size) is printed too: it is why the budget is not enforced with ``RLIMIT_AS`` (see the README).

Inputs are generated JPEGs (quality 90): a coloured product shape on a textured background, so
the cut-out has real edges. Rows:

    full       load_image at full resolution, as before issue 3 (``budget=False``)
    budgeted   the engine's default: reduced-scale decode and an early downscale to what the
               recipe's canvas needs (``product_studio.batch.local.source_budget``)

With ``--recipes restore`` a second recipe is measured: amazon-main with ``denoise`` (the U-Net,
in tiles of at most 512x512) and ``repair_defects`` (the learned detector and inpainter) before
it, the heaviest models a recipe can run.

    python benchmarks/worker_memory.py [--sizes 50,100] [--recipes main,restore --noise 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pathlib import Path

def status_mb(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")

from product_studio.batch.local import process_file
from product_studio.marketplaces import load_preset

from product_studio.recipe import Recipe

src, out, warm, budget, which = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5]
recipe = load_preset("amazon-main").recipe()
if which == "restore":
    data = recipe.resolved()
    data["steps"] = [{"op": "denoise"}, {"op": "repair_defects"}, *data["steps"]]
    recipe = Recipe.from_dict(data)
w = process_file(warm, "warm.jpg", recipe, out + "/warm", budget=budget, overwrite=True)  # model loaded
assert w.status == "done", w.error
base = status_mb("VmHWM")
start = time.perf_counter()
r = process_file(src, Path(src).name, recipe, out, budget=budget, overwrite=True)
seconds = time.perf_counter() - start
import resource
print(json.dumps({"base_mb": base, "peak_mb": status_mb("VmHWM"), "vmpeak_mb": status_mb("VmPeak"),
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": seconds, "status": r.status,
                  "error": r.error, "input_size": r.input_size, "output_size": r.output_size,
                  "passed": (r.compliance or {}).get("passed")}))
"""


def make_input(path: Path, megapixels: float, *, seed: int = 0, noise: float = 0.0) -> Path:  # noqa: D417
    """A 3:2 JPEG of ``megapixels``: a textured grey-beige background, a red rounded box and a
    blue ellipse (the product) covering about 60% of the frame's longer side; with ``noise``,
    Gaussian noise of that std (grey levels) on top, so that ``denoise`` has work to do."""
    w = int(math.sqrt(megapixels * 1e6 * 3 / 2))
    h = int(megapixels * 1e6 // w)
    rng = np.random.default_rng(seed)
    small = rng.integers(150, 200, size=(h // 64 + 1, w // 64 + 1, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    cx, cy = w // 2, h // 2
    cv2.rectangle(img, (cx - int(0.3 * w), cy - int(0.25 * h)), (cx, cy + int(0.3 * h)), (40, 40, 200), -1)
    cv2.ellipse(img, (cx + int(0.12 * w), cy), (int(0.15 * w), int(0.3 * h)), 0, 0, 360, (190, 80, 20), -1)
    for y in range(0, h, 512) if noise else ():  # in bands: a 100 MP float copy would not fit beside the image
        band = img[y : y + 512].astype(np.float32) + rng.normal(0, noise, img[y : y + 512].shape).astype(np.float32)
        img[y : y + 512] = np.clip(band, 0, 255).astype(np.uint8)
    if path.suffix == ".png":
        cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    else:
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def measure(src: Path, out: Path, warm: Path, budget: bool, recipe: str = "main") -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(out), str(warm), "1" if budget else "0", recipe],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,100", help="input sizes in megapixels, comma separated")
    parser.add_argument("--modes", default="full,budgeted", help="full, budgeted or both")
    parser.add_argument("--formats", default="jpg", help="jpg, png or both (PNG has no reduced-scale decode)")
    parser.add_argument("--recipes", default="main", help="main (amazon-main), restore (denoise + repair_defects first) or both")
    parser.add_argument("--noise", type=float, default=0.0, help="Gaussian noise std added to the inputs (8 for the restore rows)")
    parser.add_argument("--keep", type=Path, help="keep the generated inputs and outputs here")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        warm = make_input(work / "warm.jpg", 0.3, noise=args.noise)
        rows = []
        for fmt in formats:
            for mp in sizes:
                t = time.perf_counter()
                src = make_input(work / f"in_{mp:g}mp.{fmt}", mp, noise=args.noise)
                print(f"made {src.name} ({src.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
                for which in args.recipes.split(","):
                    for mode in modes:
                        doc = measure(src, work / f"out_{which}_{mode}", warm, mode == "budgeted", which)
                        rows.append((f"{mp:g} MP {fmt.upper()}", which, mode, doc))
                        print(f"  {which} {mode}: {doc}", file=sys.stderr)
                src.unlink()
    print()
    print("Peak RSS of one worker process (a fresh process per row; VmHWM from /proc/self/status); recipe main = amazon-main, "
          "restore = denoise + repair_defects + amazon-main")
    print(f"{'input':>13} {'recipe':>7} {'size':>12} {'mode':>9} {'baseline MB':>12} {'peak MB':>8} {'image MB':>9} {'ru_maxrss':>10} {'VmPeak MB':>10} {'s':>5}  output")
    for label, which, mode, d in rows:
        size = "x".join(map(str, d["input_size"] or [])) or "?"
        out = "x".join(map(str, d["output_size"] or [])) if d["status"] == "done" else f"FAILED {d['error']}"
        passed = "" if d["passed"] is None else (" pass" if d["passed"] else " FAIL")
        print(f"{label:>13} {which:>7} {size:>12} {mode:>9} {d['base_mb']:>12.0f} {d['peak_mb']:>8.0f} {d['peak_mb'] - d['base_mb']:>9.0f} "
              f"{d['maxrss_mb']:>10.0f} {d['vmpeak_mb']:>10.0f} {d['seconds']:>5.1f}  {out}{passed}")


if __name__ == "__main__":
    main()
