"""Export MTCNN's P-, R- and O-nets from the facenet-pytorch wheel to ONNX (run once; torch only here).

The weights come from facenet-pytorch 2.6.0 (MIT licence, Tim Esler; the nets are the MTCNN of
Zhang et al. 2016, ported from the authors' Caffe release by David Sandberg's facenet, MIT). The
wheel is read from a folder where ``pip download --no-deps facenet-pytorch==2.6.0`` put it:

    .venv/bin/pip download --no-deps facenet-pytorch==2.6.0 -d /tmp/faces
    .venv/bin/python scripts/export_mtcnn_onnx.py /tmp/faces/facenet_pytorch-2.6.0-py3-none-any.whl

Writes product_studio/weights/mtcnn_{pnet,rnet,onet}.onnx and prints their sha256 for manifest.json.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import io
import re
import sys
import zipfile
from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).resolve().parents[1] / "product_studio" / "weights"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("facenet_pytorch/models/mtcnn.py").decode()
        states = {k: torch.load(io.BytesIO(zf.read(f"facenet_pytorch/data/{k}.pt")), map_location="cpu", weights_only=True)
              for k in ("pnet", "rnet", "onet")}
    source = re.sub(r"^from \.utils.*$", "", source, flags=re.M)
    space: dict = {"__name__": "mtcnn_nets", "__file__": "mtcnn.py"}
    exec(compile(source, "facenet_pytorch/models/mtcnn.py", "exec"), space)  # the wheel's own class definitions
    nets = {"pnet": space["PNet"](pretrained=False), "rnet": space["RNet"](pretrained=False), "onet": space["ONet"](pretrained=False)}
    shapes = {"pnet": (1, 3, 64, 64), "rnet": (4, 3, 24, 24), "onet": (4, 3, 48, 48)}
    outputs = {"pnet": ["reg", "prob"], "rnet": ["reg", "prob"], "onet": ["reg", "points", "prob"]}
    for key, net in nets.items():
        net.load_state_dict(states[key])
        net.eval()
        dims = {"x": {0: "n", 2: "h", 3: "w"}} if key == "pnet" else {"x": {0: "n"}}
        for name in outputs[key]:
            dims[name] = {0: "n", 2: "h", 3: "w"} if key == "pnet" else {0: "n"}
        path = WEIGHTS / f"mtcnn_{key}.onnx"
        torch.onnx.export(net, torch.zeros(shapes[key]), str(path), input_names=["x"], output_names=outputs[key],
                          dynamic_axes=dims, opset_version=17, dynamo=False)
        print(f"{path.name} {path.stat().st_size} sha256={hashlib.sha256(path.read_bytes()).hexdigest()}")
        record(path, key)


def record(path: Path, key: str) -> None:
    """Add the file's entry (sha256, bytes, source, licence) to weights/manifest.json, under its lock."""
    with open(WEIGHTS / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest_path = WEIGHTS / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest.setdefault("weights", {})[path.name] = {
            "file": path.name,
            "model": f"mtcnn_{key}",
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
            "command": ".venv/bin/pip download --no-deps facenet-pytorch==2.6.0 -d /tmp/faces && "
            ".venv/bin/python scripts/export_mtcnn_onnx.py /tmp/faces/facenet_pytorch-2.6.0-py3-none-any.whl "
            "(needs the onnx package for torch.onnx.export)",
            "source": f"facenet-pytorch 2.6.0 wheel (PyPI), facenet_pytorch/data/{key}.pt, exported to ONNX (opset 17) with torch 2.13.0",
            "licence": "MIT (facenet-pytorch, Copyright (c) 2019 Timothy Esler); MTCNN: Zhang, Zhang, Li, Qiao, "
            "'Joint Face Detection and Alignment using Multi-task Cascaded Convolutional Networks', 2016",
            "data": "not trained here: MTCNN's published weights (WIDER FACE, CelebA)",
            "metrics": {"measured_by": "benchmarks/privacy.py --faces (recall by pose and size, judged by dlib's HOG detector)"},
        }
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(manifest_path)


if __name__ == "__main__":
    main(sys.argv[1])
