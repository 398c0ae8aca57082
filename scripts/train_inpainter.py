"""Reproduce the shipped inpainter (product_studio/weights/inpainter.safetensors).

    .venv/bin/python scripts/train_inpainter.py --out runs/inpainter_ns --threads 2
    .venv/bin/python scripts/train_inpainter.py --out runs/inpainter_ns2 --init runs/inpainter_ns/model.safetensors \
        --lr 1e-3 --threads 2 --ship

Two cosine cycles of 3,000 steps: the second starts from the first's best weights at half the peak
learning rate (``--init``, as for the denoiser).

The same code path as ``product-studio train inpainter`` (``train_repair_model("inpainter")``):
patches of the training-split photos, holes = synthetic scratch/stain/dust masks grown by 1 px plus
random strokes, boxes and letters; the best epoch chosen on the validation photos. ``--ship`` then
measures the held-out benchmark (benchmarks/restoration_repair.py: PSNR inside the mask, ours vs
Telea vs NS) and copies the weights into product_studio/weights/ with their manifest entry.
A killed run resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Where each model's run, weights and script are; its recipe (steps, batch size, lr, model) is restore.repair_training.RECIPES.
PLACES = {
    "detector": {"out": "runs/defect_detector", "file": "defect_detector.safetensors", "script": "scripts/train_defect_detector.py"},
    "inpainter": {"out": "runs/inpainter_ns", "file": "inpainter.safetensors", "script": "scripts/train_inpainter.py"},
}


def defaults(kind: str) -> dict:
    from product_studio.restore.repair_training import RECIPES

    return {**RECIPES[kind], **PLACES[kind]}


def run(kind: str, doc: str | None) -> None:
    from product_studio.restore.repair_training import train_repair_model

    d = defaults(kind)
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=d["out"], help="run folder (resumes if it holds a checkpoint)")
    parser.add_argument("--model", default=d["model"])
    parser.add_argument("--steps", type=int, default=d["steps"])
    parser.add_argument("--batch-size", type=int, default=d["batch_size"])
    parser.add_argument("--lr", type=float, default=d["lr"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 when other jobs share the cores)")
    parser.add_argument("--init", default=None, help="start from these weights (a second cycle at a lower --lr)")
    parser.add_argument("--collection", type=int, default=d["collection"],
                        help="train on the photo collections up to this one (restore.data; 2 adds the MATE photographs)")
    parser.add_argument("--edge-negatives", type=float, default=d["edge_negatives"],
                        help="share of the patches not centred on a defect that are centred on a strong edge instead")
    parser.add_argument("--ema", type=float, default=d["ema"],
                        help="decay of the weights' moving average that is evaluated and kept (0: off)")
    parser.add_argument("--ship", action="store_true", help="benchmark on the held-out photos, copy into product_studio/weights/")
    args = parser.parse_args()
    summary = train_repair_model(kind, args.out, model_name=args.model, steps=args.steps, batch_size=args.batch_size,
                                 lr=args.lr, threads=args.threads, init_weights=args.init,
                                 edge_negatives=args.edge_negatives, collection=args.collection, ema=args.ema)
    print(json.dumps(summary, indent=2))
    if args.ship:
        ship(kind, args, summary)


def _command(script: str, out: Any, steps: Any, batch_size: Any, lr: Any, threads: Any) -> str:
    return (f"nice -n 19 .venv/bin/python {script} --out {out} --steps {steps} "
            f"--batch-size {batch_size} --lr {lr} --threads {threads}")


def first_command(d: dict, args: argparse.Namespace, first: dict) -> str:
    """The command that trained ``--init``'s weights: rebuilt from the options its run recorded
    (config.json beside them) or, for a copy of shipped weights, the manifest entry with the same hash."""
    import hashlib

    from product_studio.models.registry import read_manifest

    run_config = Path(args.init).parent / "config.json"
    if run_config.is_file():
        trainer = json.loads(run_config.read_text())["trainer"]
        return _command(d["script"], Path(args.init).parent, trainer["steps"], trainer["batch_size"], trainer["lr"],
                        trainer["num_threads"])
    digest = hashlib.sha256(Path(args.init).read_bytes()).hexdigest()
    for entry in read_manifest()["weights"].values():
        if entry.get("sha256") == digest:
            return entry["command"]
    return _command(d["script"], "<unknown run>", first.get("steps"), args.batch_size, d["lr"], args.threads)


def ship(kind: str, args: argparse.Namespace, summary: dict) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from restoration_repair import held_out_metrics

    from product_studio.models.registry import ship_weights

    d = defaults(kind)
    metrics = {"validation": summary["metrics"], "held_out": held_out_metrics(kind, Path(summary["weights"]))}
    init = f" --init {args.init}" if args.init else ""
    init += f" --collection {args.collection}" if args.collection != d["collection"] else ""
    init += f" --edge-negatives {args.edge_negatives}" if args.edge_negatives != d["edge_negatives"] else ""
    init += f" --ema {args.ema}" if args.ema != d["ema"] else ""
    command = _command(d["script"], args.out, args.steps, args.batch_size, args.lr, args.threads) + f"{init} --ship"
    cli = "defect-detector" if kind == "detector" else "inpainter"
    entry = {
        "model": args.model,
        "command": command,
        "equivalent_cli": f"product-studio train {cli} -o {args.out} --steps {args.steps}{init}",
        "data": f"restore.data training split, photo collections 1-{args.collection} (its EVAL_NAMES held out) "
        f"minus repair_data.VALIDATION_NAMES ({', '.join(summary['validation_photos'])}: validation), each at 384/512/768 px, with synthetic scratches, stains and dust "
        "(restore/defects.py, density 4.0); " + ("128" if kind == "detector" else "64") + "-px patches, 70% centred on a defect"
        + (f", {args.edge_negatives:.0%} of the others centred on a strong edge" if args.edge_negatives else "")
        + ("; a quarter of the holes also get random strokes, boxes and letters" if kind == "inpainter" else ""),
        "steps": summary["metrics"]["steps"],
        "training_seconds": summary["train_seconds"],
        "training_hardware": f"2 shared CPU cores ({platform.processor() or platform.machine()}), torch.set_num_threads({args.threads})",
        "metrics": metrics,
    }
    if args.init:  # a second cycle: the totals count the first one too (its metrics are in its weight file)
        from product_studio.models.registry import read_metadata

        first = json.loads(read_metadata(args.init).get("metrics", "{}"))
        entry["cycles"] = [{"weights": args.init, "steps": first.get("steps"), "seconds": first.get("training_seconds")},
                           {"out": args.out, "steps": args.steps, "lr": args.lr, "seconds": summary["train_seconds"]}]
        entry["command"] = f"{first_command(d, args, first)} && {command}"
        entry["steps"] += first.get("steps") or 0
        entry["training_seconds"] = round(entry["training_seconds"] + (first.get("training_seconds") or 0.0), 1)
    target = ship_weights(summary["weights"], d["file"] if args.model == d["model"] else f"{args.model}.safetensors", entry)
    print(f"shipped {target}")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    run("inpainter", __doc__)
