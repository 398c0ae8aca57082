"""Torch is for training only: the runtime commands run the shipped ONNX models on onnxruntime and
never import torch (issue 33). Each command runs in a fresh interpreter whose ``torch`` is a stub
that records the import and fails, as on an install without the [train] extra; the commands must
succeed and the stub must never be imported, in the main process or a worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "autumn_leaf.jpg"

pytestmark = pytest.mark.slow  # a few CLI runs in fresh interpreters


@pytest.fixture
def no_torch(tmp_path):
    """An environment whose ``import torch`` writes a marker file and raises ImportError."""
    stub = tmp_path / "stub" / "torch"
    stub.mkdir(parents=True)
    marker = tmp_path / "torch_was_imported"
    (stub / "__init__.py").write_text(
        "import traceback\n"
        f"open({str(marker)!r}, 'a').write(''.join(traceback.format_stack()) + '\\n')\n"
        "raise ImportError('torch is not installed (stub)')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stub.parent), str(ROOT)])}
    return env, marker


def test_ops_and_pipeline_run_the_learned_models_without_torch(no_torch):
    env, marker = no_torch
    code = (
        "import sys, numpy as np\n"
        "import product_studio.ops, product_studio.pipeline\n"
        "from product_studio.item import ImageItem\n"
        "from product_studio.ops import apply_op\n"
        "item = ImageItem(pixels=np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8))\n"
        "for op, options in [('upscale', {'scale': 2}), ('upscale', {'scale': 4}), ('denoise', {}), ('repair_defects', {})]:\n"
        "    out = apply_op(item, op, options)\n"
        "    assert out.log[-1].model, (op, 'ran without its network')\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr[-3000:]
    assert not marker.exists(), marker.read_text()[-3000:]


@pytest.mark.parametrize("command", [
    ["upscale", "--scale", "2"],
    ["denoise"],
    ["repair", "--auto"],
    ["process"],
])
def test_runtime_commands_never_import_torch(no_torch, tmp_path, command):
    env, marker = no_torch
    source = tmp_path / "in" / "one.jpg"
    source.parent.mkdir()
    from PIL import Image

    Image.open(SAMPLE).convert("RGB").resize((240, 180)).save(source, quality=92)
    out = tmp_path / "out"
    argv = ["product-studio", command[0], str(source), *command[1:], "-o", str(out)]
    code = f"import sys; sys.argv = {argv!r}; from product_studio.cli.app import main; main()"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert not marker.exists(), marker.read_text()[-3000:]
