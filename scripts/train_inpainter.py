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

# Where each model's run, weights and script are; its recipe (steps, batch size, lr, model) is train.repair.RECIPES.
PLACES = {
    "detector": {"out": "runs/defect_detector", "file": "defect_detector.safetensors", "script": "scripts/train_defect_detector.py"},
    "inpainter": {"out": "runs/inpainter_ns", "file": "inpainter.safetensors", "script": "scripts/train_inpainter.py"},
}


def defaults(kind: str) -> dict:
    from product_studio.train.repair import RECIPES

    return {**RECIPES[kind], **PLACES[kind]}


def run(kind: str, doc: str | None) -> None:
    from product_studio.errors import UsageError
    from product_studio.train.repair import train_repair_model

    d = defaults(kind)
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=d["out"], help="run folder (resumes if it holds a checkpoint)")
    parser.add_argument("--model", default=d["model"])
    parser.add_argument("--steps", type=int, default=d["steps"])
    parser.add_argument("--batch-size", type=int, default=d["batch_size"])
    parser.add_argument("--lr", type=float, default=d["lr"])
    parser.add_argument("--patch", type=int, default=d["patch_size"],
                        help="training patch side in px (smaller patches: more, cheaper steps in the same time)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 when other jobs share the cores)")
    parser.add_argument("--init", default=None, help="start from these weights (a second cycle at a lower --lr)")
    parser.add_argument("--collection", type=int, default=d["collection"],
                        help="train on the photo collections up to this one (train.restoration_data; 2 adds the MATE photographs, 3 the Palapeli ones and product shots)")
    parser.add_argument("--edge-negatives", type=float, default=d["edge_negatives"],
                        help="share of the patches not centred on a defect that are centred on a strong edge instead")
    parser.add_argument("--photo-jitter", type=float, default=d["photo_jitter"],
                        help="share of the training photos changed in light, colour and size before they are damaged")
    parser.add_argument("--ema", type=float, default=d["ema"],
                        help="decay of the weights' moving average that is evaluated and kept (0: off)")
    if kind == "detector":
        parser.add_argument("--ignore-band", type=int, default=d["ignore_band"],
                            help="px outside a defect left out of the loss (0: off; the measure forgives 2 px)")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=d["bf16"],
                        help="bfloat16 autocast where the CPU has it natively (2.2x faster steps on AVX512-BF16)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the patches' seed: a later cycle with another seed trains on new patches")
    parser.add_argument("--ship", action="store_true", help="benchmark on the held-out photos, copy into product_studio/weights/")
    args = parser.parse_args()
    try:
        summary = train_repair_model(kind, args.out, model_name=args.model, steps=args.steps, batch_size=args.batch_size,
                                     patch_size=args.patch, lr=args.lr, threads=args.threads, init_weights=args.init,
                                     edge_negatives=args.edge_negatives, photo_jitter=args.photo_jitter, collection=args.collection,
                                     ema=args.ema, seed=args.seed, ignore_band=getattr(args, "ignore_band", None), bf16=args.bf16)
    except UsageError as error:  # a value out of range: argparse's one-line message and exit status 2
        parser.error(str(error))
    print(json.dumps(summary, indent=2))
    if args.ship:
        ship(kind, args, summary)


def _command(script: str, out: Any, steps: Any, batch_size: Any, lr: Any, threads: Any) -> str:
    return (f"nice -n 19 .venv/bin/python {script} --out {out} --steps {steps} "
            f"--batch-size {batch_size} --lr {lr} --threads {threads}")


def _flags(d: dict, config: dict) -> str:
    """The options of a run (its config.json) that differ from the recipe, as written on a command line."""
    trainer, data = config["trainer"], config.get("data", {})
    collection, edge_negatives = data.get("photo_collection", d["collection"]), data.get("edge_negatives", d["edge_negatives"])
    ema, seed = trainer.get("ema_decay") or 0.0, trainer.get("seed", 0)
    photo_jitter = data.get("photo_jitter", d["photo_jitter"])
    ignore_band, bf16 = data.get("ignore_band"), trainer.get("autocast_bf16")
    patch = data.get("patch_size", d["patch_size"])
    flags = f" --patch {patch}" if patch != d["patch_size"] else ""
    flags += f" --collection {collection}" if collection != d["collection"] else ""
    flags += f" --edge-negatives {edge_negatives}" if edge_negatives != d["edge_negatives"] else ""
    flags += f" --photo-jitter {photo_jitter}" if photo_jitter != d["photo_jitter"] else ""
    flags += f" --ema {ema}" if ema != d["ema"] else ""
    flags += f" --ignore-band {ignore_band}" if ignore_band is not None and ignore_band != d["ignore_band"] else ""
    flags += (" --bf16" if bf16 else " --no-bf16") if bf16 is not None and bool(bf16) != d["bf16"] else ""
    return flags + (f" --seed {seed}" if seed else "")


def lineage(d: dict, weights: str | Path) -> list[dict]:
    """The training cycles that made ``weights``, oldest first, each with its command, steps and seconds.

    A run folder's config.json gives its options and its own ``--init`` (followed back in turn); a
    copy of shipped weights is found in the manifest by its hash, and the next command's ``--init``
    then names the file that the manifest's command writes (``<its --out>/model.safetensors``)."""
    import hashlib
    import re

    from product_studio.models.registry import read_manifest, read_metadata

    weights = Path(weights)
    run_config = weights.parent / "config.json"
    if run_config.is_file():
        config = json.loads(run_config.read_text())
        trainer = config["trainer"]
        earlier = lineage(d, config["init_weights"]) if config.get("init_weights") else []
        command = _command(d["script"], weights.parent, trainer["steps"], trainer["batch_size"], trainer["lr"], trainer["num_threads"])
        if earlier:
            command += f" --init {earlier[-1]['writes']}"
        command += _flags(d, config)
        metrics = json.loads(read_metadata(weights).get("metrics", "{}"))
        return [*earlier, {"command": command, "writes": str(weights.parent / "model.safetensors"),
                           "steps": metrics.get("steps"), "seconds": metrics.get("training_seconds")}]
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    for entry in read_manifest()["weights"].values():
        if entry.get("sha256") == digest:
            out = re.search(r"--out (\S+)(?!.*--out )", entry["command"])
            writes = f"{out.group(1)}/model.safetensors" if out else str(weights)
            return [{"command": entry["command"].removesuffix(" --ship"), "writes": writes,
                     "steps": entry.get("steps"), "seconds": entry.get("training_seconds")}]
    raise SystemExit(f"{weights}: neither a run folder's weights (no config.json beside them) nor a copy of shipped "
                     "weights; pass the run's own model.safetensors to --init so the manifest can say how it was made")


def ship(kind: str, args: argparse.Namespace, summary: dict) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from restoration_repair import held_out_metrics

    from product_studio.models.registry import ship_weights
    from product_studio.train.repair_data import SCENES_FROM_COLLECTION, SCENES_PER_SIDE

    d = defaults(kind)
    metrics = {"validation": summary["metrics"], "held_out": held_out_metrics(kind, Path(summary["weights"]))}
    earlier = lineage(d, args.init) if args.init else []
    # the run's options as the Trainer recorded them; bf16_autocast_used is what it really ran (--bf16
    # falls back to float32 on a CPU without bf16 instructions)
    run_config = json.loads((Path(args.out) / "config.json").read_text())
    init = f" --init {earlier[-1]['writes']}" if earlier else ""
    init += _flags(d, run_config)
    command = _command(d["script"], args.out, args.steps, args.batch_size, args.lr, args.threads) + f"{init} --ship"
    cli = "defect-detector" if kind == "detector" else "inpainter"
    entry = {
        "model": args.model,
        "command": command,
        "equivalent_cli": f"product-studio train {cli} -o {args.out} --steps {args.steps}"
        + (f" --batch-size {args.batch_size}" if args.batch_size != d["batch_size"] else "")
        + (f" --lr {args.lr}" if args.lr != d["lr"] else "") + init,
        "data": f"train.restoration_data training split, photo collections 1-{args.collection} (its EVAL_NAMES held out) "
        f"minus repair_data.VALIDATION_NAMES ({', '.join(summary['validation_photos'])}: validation), each at 384/512/768 px"
        + (f", and {SCENES_PER_SIDE} synthetic product shots per size (train/scenes.py)" if args.collection >= SCENES_FROM_COLLECTION else "")
        + ", with synthetic scratches, stains and dust "
        f"(train/defects.py, density 4.0); {args.patch}-px patches, 70% centred on a defect"
        + (f", {args.edge_negatives:.0%} of the others centred on a strong edge" if args.edge_negatives else "")
        + (f"; {args.photo_jitter:.0%} of the photos changed in light, colour and size first (repair_data.jitter_photo)"
           if args.photo_jitter else "")
        + ("; a quarter of the holes also get random strokes, boxes and letters" if kind == "inpainter" else ""),
        "steps": summary["metrics"]["steps"],
        "training_seconds": summary["train_seconds"],
        "training_hardware": f"2 shared CPU cores ({platform.processor() or platform.machine()}), torch.set_num_threads({args.threads})"
        + (" in the last cycle (each cycle's --threads in its command)" if earlier else "")
        + (", bfloat16 autocast" if run_config.get("bf16_autocast_used") else ""),
        "metrics": metrics,
    }
    if earlier:  # later cycles: the command runs them all, and the totals count every cycle
        entry["cycles"] = [{"command": c["command"], "steps": c["steps"], "seconds": c["seconds"]} for c in earlier]
        entry["cycles"].append({"out": args.out, "steps": args.steps, "lr": args.lr, "seconds": summary["train_seconds"]})
        entry["command"] = " && ".join([*(c["command"] for c in earlier), command])
        entry["steps"] += sum(c["steps"] or 0 for c in earlier)
        entry["training_seconds"] = round(entry["training_seconds"] + sum(c["seconds"] or 0.0 for c in earlier), 1)
    target = ship_weights(summary["weights"], d["file"] if args.model == d["model"] else f"{args.model}.safetensors", entry)
    print(f"shipped {target}")
    from export_onnx import ship_exported  # scripts/export_onnx.py: the runtime runs the ONNX copy

    ship_exported(target.name)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    run("inpainter", __doc__)
