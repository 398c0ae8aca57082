"""The shipped ONNX files are the shipped torch weights: onnxruntime gives the torch model's outputs on
held-out inputs within 1e-4 (float32 rounding; measured 1e-7 to 1.5e-5, scripts/export_onnx.py), each
file says which safetensors it came from, and that file has not changed since (else re-export)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from product_studio.models.registry import WEIGHTS_DIR, load_model, read_manifest, sha256_file
from product_studio.train.export import export_for_runtime, verify

TOLERANCE = 1e-4  # on 0..1 images (logits for the detector): far below one grey level (0.0039)
SHIPPED = ("upscaler_x2", "upscaler_x4", "denoiser_unet", "inpainter", "defect_detector")


def held_out(h: int, w: int) -> torch.Tensor:
    """A crop of a held-out photograph (never trained on), float32 1x3xHxW in 0..1, of an odd size."""
    from product_studio.train.restoration_data import eval_crops

    crop = eval_crops(128)["coffee"][:h, :w]
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))).float().div(255)[None]


def inputs_for(stem: str, model) -> tuple[object, list]:
    """The module ONNX holds and held-out inputs for it (sizes that are multiples of the network's grid)."""
    x = held_out(72, 104)
    if stem.startswith("upscaler") or stem == "defect_detector":
        return model, [x]
    if stem == "denoiser_unet":
        noisy = (x + 25 / 255 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
        return model, [(noisy, torch.full((1, 1, 72, 104), 25 / 255))]
    from product_studio.models.inpainter import InpainterRefine, navier_stokes_fill

    mask = torch.zeros(1, 1, 72, 104)
    mask[..., 30:40, 10:90] = 1
    return InpainterRefine(model).eval(), [(x, mask, mask, navier_stokes_fill(x, mask))]


@pytest.mark.parametrize("stem", SHIPPED)
def test_the_shipped_onnx_gives_the_torch_outputs_on_held_out_inputs(stem):
    entry = read_manifest()["weights"][f"{stem}.onnx"]
    source = WEIGHTS_DIR / entry["exported_from"]
    assert sha256_file(source) == entry["exported_from_sha256"], "the safetensors changed: run scripts/export_onnx.py"
    model = load_model(source)
    module, inputs = inputs_for(stem, model)
    assert verify(module, WEIGHTS_DIR / f"{stem}.onnx", inputs) < TOLERANCE


def test_export_for_runtime_makes_a_file_the_runtime_opens(tmp_path):
    """A freshly trained (here: freshly built) network exported the way `train ... --ship` does runs
    on onnxruntime with the same outputs, on a size the export never saw."""
    pytest.importorskip("onnx")
    from product_studio.models import create_model
    from product_studio.runtime import open_onnx

    torch.manual_seed(0)
    model = create_model("upscaler_tiny").eval()
    path = export_for_runtime(model, tmp_path / "tiny.onnx")
    loaded = open_onnx(path, family="upscaler")
    assert loaded.model_name == "upscaler_tiny" and loaded.config["scale"] == 2
    x = held_out(37, 53)
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.abs(loaded.run(x.numpy())[0] - expected).max() < TOLERANCE
