"""Torch or onnxruntime for the shipped restoration models (issue 33 item 4): inference time, parity, start-up.

    nice .venv/bin/python benchmarks/onnx_runtime.py [--before DIR] [--repeats 3]

1. Per model, one input of a typical size (a 256x256 held-out crop: what the upscalers see in one tile;
   512x512 for the denoiser and the detector; a 256x256 window with a stroke for the inpainter), one
   thread each (``torch.set_num_threads(1)``; onnxruntime's ``intra_op_num_threads`` 1, the runtime's
   default): torch float32, torch bfloat16 (autocast, what the runtime used before where the CPU has
   bf16 instructions: ``runtime.native_bf16()`` is printed), onnxruntime float32 (what it runs now).
   Median of ``--repeats`` after a warm-up; max |torch fp32 - onnxruntime| on the same input.
2. Start-up: wall time of ``product-studio upscale one.jpg`` and ``product-studio process one.jpg``
   (a 240x180 sample, fresh interpreter, one worker) with this tree, and with ``--before DIR`` (a
   checkout of the tree before the ONNX runtime, e.g. ``git archive 9c0b7c5 | tar -x -C DIR``) in the
   same run (``--after DIR``: a checkout of the tree to measure as "after", default this one); whether
   torch was imported by any of the run's processes (a second run with ``PYTHONPROFILEIMPORTTIME``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def model_table(repeats: int) -> list[str]:
    import torch

    from product_studio.models.inpainter import InpainterRefine, navier_stokes_fill
    from product_studio.models.registry import WEIGHTS_DIR, load_model
    from product_studio.runtime import load_shipped, native_bf16
    from product_studio.train.restoration_data import eval_crops

    torch.set_num_threads(1)
    crop = eval_crops(512, max_side=1024)["astronaut"]

    def tensor(size: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(crop[:size, :size].transpose(2, 0, 1))).float().div(255)[None]

    mask = torch.zeros(1, 1, 256, 256)
    mask[..., 120:132, 20:236] = 1
    x256, x512 = tensor(256), tensor(512)
    cases = {
        "upscaler_x2": (x256,),
        "upscaler_x4": (x256,),
        "denoiser_unet": (x512, torch.full((1, 1, 512, 512), 25 / 255)),
        "inpainter": (x256, mask, mask, navier_stokes_fill(x256, mask)),
        "defect_detector": (x512,),
    }
    rows = [f"native bf16 on this CPU: {native_bf16()}; one thread each; median of {repeats}",
            f"{'model':<16} {'input':>9} {'torch fp32 s':>13} {'torch bf16 s':>13} {'ort fp32 s':>11} "
            f"{'ort/fp32':>9} {'ort/bf16':>9} {'max|diff|':>10}"]
    for stem, args in cases.items():
        model = load_model(WEIGHTS_DIR / f"{stem}.safetensors")
        module = InpainterRefine(model).eval() if stem == "inpainter" else model
        session = load_shipped(WEIGHTS_DIR / f"{stem}.onnx", threads=1)
        names = [i.name for i in session.session.get_inputs()]
        feed = {n: a.numpy() for n, a in zip(names, args, strict=True)}

        def run_torch(bf16: bool):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return module(*args).float()

        t32 = median_seconds(lambda: run_torch(False), repeats)
        t16 = median_seconds(lambda: run_torch(True), repeats)
        tort = median_seconds(lambda: session.session.run(None, feed), repeats)
        diff = float(np.abs(run_torch(False).numpy() - session.session.run(None, feed)[0]).max())
        size = "x".join(str(v) for v in args[0].shape[-2:])
        rows.append(f"{stem:<16} {size:>9} {t32:>13.3f} {t16:>13.3f} {tort:>11.3f} {tort / t32:>9.2f} {tort / t16:>9.2f} {diff:>10.1e}")
    return rows


def startup(tree: Path, command: list[str], source: Path) -> tuple[float, bool]:
    """Wall seconds of one CLI run with ``tree`` first on the path, and whether torch was imported."""
    with tempfile.TemporaryDirectory() as out:
        argv = ["product-studio", command[0], str(source), *command[1:], "-o", str(Path(out) / "o"), "--workers", "1"]
        code = f"import sys; sys.argv = {argv!r}; from product_studio.cli.app import main; main()"
        env = {**os.environ, "PYTHONPATH": str(tree)}
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600, cwd=out)
        seconds = time.perf_counter() - start
        # Whether any process of the run (workers included) imports torch: a second, untimed run
        # with Python's import log on.
        traced = subprocess.run([sys.executable, "-c", code.replace(str(Path(out) / "o"), str(Path(out) / "t"))],
                                env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True, timeout=600, cwd=out)
    if run.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(command)} failed: {run.stderr[-2000:]}")
    return seconds, any(line.split("|")[-1].strip() == "torch" for line in traced.stderr.splitlines())


def startup_table(before: Path | None, after: Path) -> list[str]:
    from PIL import Image

    folder = Path(tempfile.mkdtemp())
    source = folder / "one.jpg"
    Image.open(ROOT / "samples" / "autumn_leaf.jpg").convert("RGB").resize((240, 180)).save(source, quality=92)
    trees = [("before", before)] if before else []
    trees.append(("after" if after != ROOT else "after (this tree)", after))
    rows = [f"{'command':<22} {'tree':<18} {'wall s':>7} {'torch imported':>15}"]
    for command in (["upscale", "--scale", "2"], ["process"]):
        for label, tree in trees:
            runs = [startup(tree, command, source) for _ in range(3)]
            seconds = min(r[0] for r in runs)
            rows.append(f"{'product-studio ' + command[0]:<22} {label:<18} {seconds:>7.2f} {str(runs[0][1]):>15}")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the tree before the ONNX runtime (for the start-up rows)")
    parser.add_argument("--after", type=Path, default=ROOT, help="the tree to measure as 'after' (default: this one)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-models", action="store_true")
    args = parser.parse_args()
    if not args.skip_models:
        print("\n".join(model_table(args.repeats)))
        print()
    print("\n".join(startup_table(args.before, args.after)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
