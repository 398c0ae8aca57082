"""Export a trained network to ONNX, check it against torch, and ship it beside its safetensors.

Torch is for training only: the runtime (ops/, vision/) runs every shipped network with
onnxruntime (``runtime.load_shipped``). A training script that ships a model exports it too::

    path = export_onnx(model, runs / "final.onnx", example, dynamic_hw=True)
    diff = verify(model, path, [held_out_1, held_out_2])   # max |torch - onnxruntime|
    ship_onnx(path, "upscaler_x2.onnx", source="upscaler_x2.safetensors", parity=diff)

``export_onnx`` uses the TorchScript exporter (``dynamo=False``: no onnxscript needed, one
self-contained file), opset 17, input ``x`` and output ``y``; ``dynamic_hw`` makes height and
width free (fully convolutional networks: any image size, tiles of any shape). The model's
preset name and config JSON are written into the ONNX metadata (``model``, ``config``), so the
runtime needs no torch module to know, say, an upscaler's scale. It needs the ``onnx`` package
(``pip install onnx``) only at export time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError

OPSET = 17


def export_onnx(
    model: Any,
    path: str | Path,
    example: Any,
    *,
    dynamic_hw: bool = True,
    input_names: Sequence[str] = ("x",),
    output_names: Sequence[str] = ("y",),
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``model`` (an eval-mode ``nn.Module``) as ONNX at ``path``; ``example`` is one input
    tensor or a tuple of them (batch 1). With ``dynamic_hw`` every input's and output's axes 2 and 3
    (height, width) and axis 0 (batch) are free. Records ``model``/``config`` metadata when the
    module was made by ``create_model``, plus ``metadata``."""
    import torch

    try:
        import onnx
    except ImportError:
        raise UsageError("exporting to ONNX needs the onnx package: pip install onnx") from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    args = example if isinstance(example, tuple) else (example,)
    if len(args) != len(input_names):
        raise UsageError(f"{len(args)} example inputs but {len(input_names)} input names")
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_hw else {0: "batch"}
    dynamic = {name: dict(axes) for name in (*input_names, *output_names)}
    model.eval()
    tmp = path.with_name(path.name + ".tmp")
    with torch.no_grad():
        torch.onnx.export(model, args, str(tmp), input_names=list(input_names), output_names=list(output_names),
                          opset_version=OPSET, dynamic_axes=dynamic, dynamo=False, do_constant_folding=True)
    graph = onnx.load(str(tmp))
    facts = dict(metadata or {})
    name, config = getattr(model, "model_name", None), getattr(model, "config", None)
    if name is not None and config is not None:
        from ..models.registry import config_to_json, model_entry

        facts.setdefault("model", name)
        facts.setdefault("family", model_entry(name).family)
    # What load_model read from the safetensors (a detector's threshold, a classifier's classes).
    for key in ("metrics", "class_names"):
        if getattr(model, key, None) is not None:
            facts.setdefault(key, json.dumps(getattr(model, key), sort_keys=True, default=float))
        facts.setdefault("config", config_to_json(config))
    del graph.metadata_props[:]
    for key, value in sorted(facts.items()):
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(graph, str(tmp))
    tmp.replace(path)
    return path


def verify(model: Any, path: str | Path, inputs: Sequence[Any], *, output: int = 0) -> float:
    """The largest |torch - onnxruntime| over ``inputs`` (each a tensor or tuple of tensors, batch 1)
    on output number ``output``, both in float32."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    worst = 0.0
    model.eval()
    for sample in inputs:
        args = sample if isinstance(sample, tuple) else (sample,)
        with torch.no_grad():
            expected = model(*args)
        if isinstance(expected, (tuple, list)):
            expected = expected[output]
        got = session.run(None, {n: a.detach().cpu().float().numpy() for n, a in zip(names, args, strict=True)})[output]
        worst = max(worst, float(np.max(np.abs(expected.detach().float().numpy() - got))))
    return worst


def ship_onnx(path: str | Path, file_name: str, *, source: str, parity: float | None = None,
              command: str = ".venv/bin/python scripts/export_onnx.py", extra: dict[str, Any] | None = None) -> Path:
    """Copy an exported ``.onnx`` into the shipped weights with a manifest entry naming the
    safetensors it was exported from (``exported_from``, with that file's sha256), the opset and
    the parity figure (max |torch - onnxruntime| on held-out inputs)."""
    from ..models.registry import read_manifest, ship_weights

    if not file_name.endswith(".onnx"):
        raise UsageError(f"an exported model ships as '*.onnx', not {file_name!r}")
    parent = read_manifest().get("weights", {}).get(source)
    if parent is None:
        raise UsageError(f"{source} is not a shipped weight; ship it before its ONNX export")
    entry = {
        "model": parent.get("model", Path(source).stem),
        "exported_from": source,
        "exported_from_sha256": parent["sha256"],
        "command": command,
        "format": f"onnx (opset {OPSET}), float32",
        "parity_max_abs_diff": None if parity is None else float(f"{parity:.3g}"),
        **(extra or {}),
    }
    return ship_weights(path, file_name, entry)


def config_of(path: str | Path) -> dict[str, Any]:
    """The ``config`` JSON recorded in an exported file's metadata (``{}`` when absent)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return json.loads(session.get_modelmeta().custom_metadata_map.get("config", "{}"))


def export_for_runtime(model: Any, path: str | Path) -> Path:
    """Export a network of a family the runtime runs (upscaler, denoiser, inpainter, defect detector)
    the way ops/ call it: the inputs each op feeds, the facts it needs in the metadata (``multiple``,
    ``receptive_radius``, ``ns_radius``), free height and width. The inpainter is exported from its
    pre-fill on (``GatedInpainter.refine``): its Navier-Stokes pre-fill runs in OpenCV at run time."""
    import torch

    from ..models.registry import model_entry

    family = model_entry(model.model_name).family
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    if family == "upscaler":
        return export_onnx(model, path, x)
    if family == "denoiser":
        facts = {"multiple": str(model.config.multiple), "receptive_radius": str(model.config.receptive_radius)}
        return export_onnx(model, path, (x, torch.full((1, 1, 64, 96), 0.1)), input_names=("noisy", "sigma"), metadata=facts)
    if family == "inpainter":
        from ..models.inpainter import NS_RADIUS, InpainterRefine, navier_stokes_fill

        if model.config.base != "navier-stokes":
            raise UsageError(f"{model.model_name}: only an inpainter over the Navier-Stokes pre-fill runs on onnxruntime; "
                             "train one with base navier-stokes")
        mask = (torch.rand(1, 1, 64, 96, generator=torch.Generator().manual_seed(1)) < 0.2).float()
        example = (x, mask, mask * 0.0, navier_stokes_fill(x, mask))
        facts = {"multiple": str(model.multiple), "ns_radius": str(NS_RADIUS)}
        return export_onnx(InpainterRefine(model).eval(), path, example,
                           input_names=("image", "mask", "trusted", "base"), metadata=facts)
    if family == "defect_detector":
        return export_onnx(model, path, x, metadata={"multiple": str(model.multiple)})
    raise UsageError(f"no runtime export for the {family} family (model {model.model_name!r})")
