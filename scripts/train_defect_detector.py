"""Reproduce the shipped defect detector (product_studio/weights/defect_detector.safetensors).

    nice -n 19 .venv/bin/python scripts/train_defect_detector.py --out runs/defect_detector --ship

The same code path as ``product-studio train defect-detector`` (``train_repair_model("detector")``):
patches of the training-split photos with synthetic scratches, stains and dust; best epoch and
threshold chosen on the validation photos. ``--ship`` then measures the held-out benchmark
(benchmarks/restoration_repair.py: detection P/R/F1 with a 2-px tolerance) and copies the weights
into product_studio/weights/ with their manifest entry. A killed run resumes from its checkpoint.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train_inpainter import run

if __name__ == "__main__":
    run("detector", __doc__)
