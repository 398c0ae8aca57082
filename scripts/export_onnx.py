"""Export the shipped torch weights to ONNX (what the runtime runs with onnxruntime) and check parity.

    .venv/bin/python scripts/export_onnx.py                 # every model in EXPORTS
    .venv/bin/python scripts/export_onnx.py upscaler_x2     # some of them

For each model: rebuild it from its shipped safetensors (float16 files load into float32), export it
with ``train.export.export_onnx`` (opset 17, free height and width), measure the largest
|torch - onnxruntime| on held-out inputs (crops of the held-out photographs of
``train/restoration_data.py`` at two sizes), and ship ``<name>.onnx`` with a manifest entry naming the
safetensors it came from and that figure. Prints one line per model. Needs torch and onnx (``pip install onnx``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from product_studio.models.registry import WEIGHTS_DIR, load_model  # noqa: E402
from product_studio.train.export import export_for_runtime, ship_onnx, verify  # noqa: E402


def held_out_tensors(sizes=((64, 96), (72, 56))):
    """float32 1x3xHxW tensors in 0..1 cut from the held-out photographs (never trained on)."""
    import torch

    from product_studio.train.restoration_data import eval_crops

    crops = list(eval_crops(128).values())
    out = []
    for i, (h, w) in enumerate(sizes):
        crop = crops[i % len(crops)][:h, :w]
        out.append(torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))).float().div(255)[None])
    return out


def upscaler_inputs(model):
    return held_out_tensors(), held_out_tensors()[0], {}


def denoiser_inputs(model):
    import torch

    m = model.config.multiple if hasattr(model.config, "multiple") else 8
    rng = np.random.default_rng(0)
    samples = []
    for x, sigma in zip(held_out_tensors(((64, 96), (48, 80))), (15 / 255, 35 / 255), strict=True):
        noisy = (x + torch.from_numpy(rng.normal(0, sigma, x.shape).astype(np.float32))).clamp(0, 1)
        samples.append((noisy, torch.full((1, 1, *x.shape[-2:]), sigma)))
    assert all(s[0].shape[-1] % m == 0 and s[0].shape[-2] % m == 0 for s in samples)
    # What the runtime needs and the config JSON lacks (properties of the torch module's config).
    facts = {"multiple": str(model.config.multiple), "receptive_radius": str(model.config.receptive_radius)}
    return samples, samples[0], facts


def inpainter_inputs(model):
    """(image, mask, trusted, base) on held-out crops with random strokes as holes; exports
    ``GatedInpainter.refine`` (the Navier-Stokes pre-fill runs in OpenCV outside the network)."""
    import cv2
    import torch

    from product_studio.models.inpainter import NS_RADIUS, navier_stokes_fill

    if model.config.base != "navier-stokes":
        raise SystemExit("only an inpainter over the Navier-Stokes pre-fill runs on onnxruntime (its prefill is not exported)")
    rng = np.random.default_rng(1)
    samples = []
    for x in held_out_tensors():
        h, w = x.shape[-2:]
        hole = np.zeros((h, w), np.uint8)
        for _ in range(4):
            p0, p1 = rng.integers(0, (w, h), 2), rng.integers(0, (w, h), 2)
            cv2.line(hole, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 1, int(rng.integers(2, 7)))
        mask = torch.from_numpy(hole).float()[None, None]
        trusted = mask * torch.from_numpy((rng.random((h, w)) < 0.5).astype(np.float32))[None, None]
        samples.append((x, mask, trusted, navier_stokes_fill(x, mask)))
    facts = {"multiple": str(model.multiple), "ns_radius": str(NS_RADIUS)}
    return samples, samples[0], facts


def detector_inputs(model):
    return held_out_tensors(), held_out_tensors()[0], {"multiple": str(model.multiple)}


# file stem -> (safetensors, input names, how to make held-out inputs and the example)
EXPORTS = {
    "upscaler_x2": ("upscaler_x2.safetensors", ("x",), upscaler_inputs),
    "upscaler_x4": ("upscaler_x4.safetensors", ("x",), upscaler_inputs),
    "denoiser_unet": ("denoiser_unet.safetensors", ("noisy", "sigma"), denoiser_inputs),
    "inpainter": ("inpainter.safetensors", ("image", "mask", "trusted", "base"), inpainter_inputs),
    "defect_detector": ("defect_detector.safetensors", ("x",), detector_inputs),
}


def export_one(stem: str, folder: Path) -> tuple[float, int]:
    source, names, make_inputs = EXPORTS[stem]
    model = load_model(WEIGHTS_DIR / source)
    inputs, _, _ = make_inputs(model)
    path = export_for_runtime(model, folder / f"{stem}.onnx")
    if stem == "inpainter":
        from product_studio.models.inpainter import InpainterRefine

        model = InpainterRefine(model).eval()
    diff = verify(model, path, inputs)
    shipped = ship_onnx(path, f"{stem}.onnx", source=source, parity=diff,
                        command=f".venv/bin/python scripts/export_onnx.py {stem}")
    return diff, shipped.stat().st_size


def ship_exported(safetensors_name: str) -> None:
    """What a training script's ``--ship`` calls after shipping ``safetensors_name``: export the
    runtime's ONNX copy of it, check parity on held-out inputs and ship it (a name with no runtime
    ONNX is left alone)."""
    stems = [stem for stem, (source, _, _) in EXPORTS.items() if source == safetensors_name]
    if not stems:
        print(f"{safetensors_name}: no runtime ONNX to export")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for stem in stems:
            diff, size = export_one(stem, Path(tmp))
            print(f"exported {stem}.onnx ({size:,} bytes), max |torch - onnxruntime| {diff:.2e} on held-out inputs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"which (default all): {', '.join(EXPORTS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models) - set(EXPORTS))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {', '.join(EXPORTS)}")
    print(f"{'model':<18} {'max |torch-ort|':>16} {'onnx bytes':>11} {'safetensors bytes':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for stem in args.models or list(EXPORTS):
            diff, size = export_one(stem, Path(tmp))
            source = WEIGHTS_DIR / EXPORTS[stem][0]
            print(f"{stem:<18} {diff:>16.2e} {size:>11,} {source.stat().st_size:>18,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
