"""Output sizes of a preset's default recipe on the bundled samples, before and after it reaches the
preset's target size with the learned upscaler (issue 30 item 2), both measured in the same run.

before   the recipe as it was: an ``upscale`` step to the preset's minimum first, then
         ``fit_to_canvas`` with ``upscale: to_minimum`` and ``min_size`` = the minimum (the product
         was never enlarged past the minimum canvas)
after    the shipped recipe: ``fit_to_canvas`` with ``upscale: learned`` towards ``target_side``,
         at most x4 in all; the largest honest size and a warning when x4 is not enough

Per file: the source size, each recipe's output side, the advice it gets (a recommended or zoom size
not met), its warnings, and CPU and wall seconds per image through ``pipeline.process`` (one
process, one thread each for onnxruntime and torch, as a batch worker runs). ``--tiny`` adds a 60x40
shrink of a sample (the x4 cap). Then the summary line each recipe would print.

``--quality`` adds why the learned path is worth its time: held-out photos
(``restoration_photos("eval")``, never trained on) shrunk by a factor k with an area filter, then
enlarged back by Lanczos and by the learned path ``fit_to_canvas`` takes (the x2 or x4 network,
then area-averaged to the size): PSNR against the original, per k.

``--big 16`` runs instead on process_throughput.py's inputs (16 JPEGs of 3000x3000 made from the samples):
what the learned enlargement costs on the README's throughput figure.

    python benchmarks/zoom_sizes.py [--preset amazon-main] [--tiny] [--quality] [--big 16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from product_studio.batch.report import advice_phrase, warnings_phrase  # noqa: E402
from product_studio.batch.worker import tune_worker_process  # noqa: E402
from product_studio.imageio import encode_image  # noqa: E402
from product_studio.item import ImageItem  # noqa: E402
from product_studio.limits import Limits  # noqa: E402
from product_studio.marketplaces import load_preset  # noqa: E402
from product_studio.marketplaces.checks import failure_labels  # noqa: E402
from product_studio.pipeline import process  # noqa: E402
from product_studio.recipe import Recipe  # noqa: E402


def before_recipe(preset) -> Recipe:  # noqa: ANN001
    """The preset's recipe as it was before the target size: upscale to the minimum, fit to_minimum."""
    data = preset.recipe().resolved()
    minimum = preset.min_side or preset.min_long_side or 0
    steps = []
    if preset.min_side or preset.min_long_side:
        step = {"op": "upscale"}
        if preset.min_side:
            step["min_side"] = preset.min_side
        if preset.min_long_side:
            step["min_long_side"] = preset.min_long_side
        steps.append(step)
    for step in data["steps"]:
        options = {k: v for k, v in step.items() if k != "op"}
        if step["op"] == "fit_to_canvas":
            options.update(upscale="to_minimum", min_size=minimum)
            options.pop("max_enlargement", None)
        steps.append({"op": step["op"], **options})
    return Recipe.from_dict({"name": f"{preset.name}-before", "preset": preset.name, "steps": steps,
                             "output": data["output"]})


def tiny_source(path: Path) -> bytes:
    """A 60x40 shrink of ``path``, as PNG bytes."""
    image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    small = cv2.resize(image, (60, 40), interpolation=cv2.INTER_AREA)
    return encode_image(ImageItem(pixels=small), format="png")[0]


def run(data: bytes, name: str, recipe: Recipe) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = process(data, recipe, Limits(), name=name)
    return {
        "side": outcome.output_size[0], "advice": outcome.compliance["advice"], "failed": outcome.compliance["failed"],
        "warnings": outcome.facts.get("warnings", []), "enlargement": outcome.facts.get("enlargement"),
        "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
    }


def summary_line(preset, results: list[dict]) -> str:  # noqa: ANN001
    names = [n for r in results for n in r["advice"]]
    counts = {n: names.count(n) for n in dict.fromkeys(names)}
    labels = failure_labels(preset, counts)
    summary = {"with_advice": sum(1 for r in results if r["advice"]), "warnings": sum(1 for r in results if r["warnings"]),
               "advice": [{"rule": n, "label": labels[n], "files": c} for n, c in counts.items()]}
    passing = sum(1 for r in results if not r["failed"])
    notes = "; ".join(p for p in (advice_phrase(summary), warnings_phrase(summary)) if p)
    return f"{passing}/{len(results)} pass {preset.name}" + (f", {notes}" if notes else "")


def quality_table(factors: list[float], max_side: int) -> str:
    from product_studio.ops.layout import resize_rgba
    from product_studio.ops.upscale import learned_scale, upscale_rgba
    from product_studio.train.metrics import psnr
    from product_studio.train.restoration_data import load_photo, restoration_photos

    photos = [load_photo(p, max_side=max_side) for p in restoration_photos("eval")]
    rows = []
    for k in factors:
        scores: dict[str, list[float]] = {"lanczos": [], "learned": []}
        seconds = {"lanczos": 0.0, "learned": 0.0}
        for truth in photos:
            h, w = truth.shape[:2]
            low = cv2.resize(truth, (round(w / k), round(h / k)), interpolation=cv2.INTER_AREA)
            alpha = np.full(low.shape[:2], 255, np.uint8)
            start = time.process_time()
            lanczos = cv2.resize(low, (w, h), interpolation=cv2.INTER_LANCZOS4)
            seconds["lanczos"] += time.process_time() - start
            start = time.process_time()
            big, big_alpha, _, _ = upscale_rgba(low, alpha, scale=learned_scale(k))
            learned, _ = resize_rgba(big, big_alpha, (w, h))
            seconds["learned"] += time.process_time() - start
            border = int(np.ceil(k))
            scores["lanczos"].append(psnr(lanczos, truth, border=border))
            scores["learned"].append(psnr(learned, truth, border=border))
        lz, ln = np.mean(scores["lanczos"]), np.mean(scores["learned"])
        rows.append(f"| x{k:g} | {lz:.2f} | {ln:.2f} | {ln - lz:+.2f} | {seconds['learned'] / len(photos):.2f} |")
    head = (f"\nEnlarging {len(photos)} held-out photos (longer side {max_side}) shrunk by k (area filter) back to their "
            "size; PSNR dB against the original:\n\n| k | Lanczos | learned (x2/x4 network, then area) | gain | "
            "learned CPU s / photo |\n|---|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="amazon-main")
    parser.add_argument("--inputs", type=Path, default=ROOT / "samples")
    parser.add_argument("--tiny", action="store_true", help="add a 60x40 shrink of the first sample")
    parser.add_argument("--quality", action="store_true", help="add the learned-vs-Lanczos table on held-out photos")
    parser.add_argument("--factors", default="1.1,1.25,1.5,2,3,4")
    parser.add_argument("--max-side", type=int, default=768)
    parser.add_argument("--big", type=int, default=0, help="use this many of process_throughput.py's 3000x3000 JPEGs")
    args = parser.parse_args()
    if args.big:
        import tempfile

        sys.path.insert(0, str(ROOT / "benchmarks"))
        from process_throughput import make_inputs

        import atexit
        import shutil

        args.inputs = Path(tempfile.mkdtemp(prefix="zoom_sizes_"))
        atexit.register(shutil.rmtree, args.inputs, True)
        make_inputs(args.inputs, args.big, 3000)

    tune_worker_process()
    import torch

    torch.set_num_threads(1)
    preset = load_preset(args.preset)
    recipes = {"before": before_recipe(preset), "after": preset.recipe()}
    files = sorted(p for p in args.inputs.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    sources = [(p.name, p.read_bytes()) for p in files]
    if args.tiny:
        sources.append((f"{files[0].stem}_60x40.png", tiny_source(files[0])))
    run(sources[0][1], "warm-up", recipes["after"])  # models loaded once, as in a worker

    print(f"{preset.name}: target {preset.target} px, zoom {preset.zoom_side} px, recommended {preset.recommended_side} px; "
          "one process, one thread\n")
    print("| file | source | before: side | after: side | after: enlargement | after: advice | after: warning | "
          "CPU s before | CPU s after | wall s after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    results: dict[str, list[dict]] = {"before": [], "after": []}
    for name, data in sources:
        from product_studio.imageio import image_size

        size = image_size(data, name=name)
        row = {key: run(data, name, recipe) for key, recipe in recipes.items()}
        for key in row:
            results[key].append(row[key])
        a, b = row["after"], row["before"]
        advice = ", ".join(failure_labels(preset, a["advice"]).values()) or "-"
        print(f"| {name} | {size[0]}x{size[1]} | {b['side']}{' (fails: ' + ', '.join(b['failed']) + ')' if b['failed'] else ''} "
              f"| {a['side']}{' (fails: ' + ', '.join(a['failed']) + ')' if a['failed'] else ''} | x{a['enlargement']:.2f} "
              f"| {advice} | {'yes' if a['warnings'] else '-'} | {b['cpu']:.2f} | {a['cpu']:.2f} | {a['wall']:.2f} |")
    n = len(sources)
    for key in ("before", "after"):
        cpu = sum(r["cpu"] for r in results[key]) / n
        wall = sum(r["wall"] for r in results[key]) / n
        sides = sorted(r["side"] for r in results[key])
        print(f"\n{key}: {summary_line(preset, results[key])}; sides {sides[0]}-{sides[-1]} px, "
              f"{sum(s >= (preset.zoom_side or 0) for s in sides)}/{n} at zoom size; "
              f"{cpu:.2f} CPU s / image, {wall:.2f} wall s / image")
    ratio = sum(r["cpu"] for r in results["after"]) / max(1e-9, sum(r["cpu"] for r in results["before"]))
    print(f"after / before CPU time: {ratio:.2f}x")
    if args.quality:
        print(quality_table([float(f) for f in args.factors.split(",")], args.max_side))


if __name__ == "__main__":
    main()
