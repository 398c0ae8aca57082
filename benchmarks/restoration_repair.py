"""Repair benchmark: defect detection and inpainting on held-out photos with synthetic damage.

    .venv/bin/python benchmarks/restoration_repair.py            # both tables, markdown
    .venv/bin/python benchmarks/restoration_repair.py --figures  # also docs/images/repair_*.png

The set: the held-out photographs of ``train.restoration_data`` (``EVAL_NAMES``: astronaut, coffee, flower,
colorful_cups, kite, path), shrunk to 512 px on the longer side, each damaged twice (seeds 0 and 1)
with ``train.defects.add_defects`` at density 2.0 (scratches, stains and dust). None of these
photos is used in training (the models train on the other photos; their threshold and epoch are
chosen on further training-split photos: four for the shipped detector, two for the inpainter).

Detection: pixel-level precision, recall and F1 summed over the set, with a 2-px tolerance (a
detected pixel counts as right when a true defect pixel lies within 2 px of it, and a true pixel
as found when a detected one does), and without tolerance. Baseline: black-hat + top-hat
morphology (``ops.repair.classical_defects``). A second table repeats the detection on the same
photos and seeds damaged with one kind of defect at a time (scratches, stains, dust), at the
threshold chosen on the validation photos. A third gives the learned detector's figures photo by
photo, to show where its false alarms come from.

Repair: every method fills the same hole (the true defect mask grown by 1 px); PSNR is measured
over the hole's pixels only, against the clean photo. "ours" fills from the surroundings only, as
Telea and NS do; "ours, seeing through the defect" also reads the damaged pixels under the hole
(what ``repair --auto`` does: a stain or a faint scratch tints the real image rather than hiding
it). Both "ours" rows run the network twice, on the photo and on its mirror image, and average
(as ``inpaint`` does by default); "Navier-Stokes averaged with its mirror-image fill" gives the
classical fill the same second pass, to show what of the gain is the network's. The shipped
network corrects a Navier-Stokes fill, so the Navier-Stokes row is its starting point. Also
shown: normalised convolution (the first network's pre-fill) and whole chains (a
detector's mask, grown by 1 px, then a fill; ``repair --auto`` is the learned detector with
the network seeing through what it found), measured inside the true hole.

Seconds per megapixel: wall time for the whole 512-px image divided by its megapixels, one
thread (``torch.set_num_threads(1)``), on this machine at the time of the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from product_studio.train.defects import KINDS
from product_studio.train.metrics import detection_counts, psnr, scores_from_counts
from product_studio.train.repair_data import EVAL_DENSITY, EVAL_SEEDS, EVAL_SIDE, benchmark_set, damaged_set, grow

TOLERANCE = 2


def telea(px: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The baseline a user would run: OpenCV's Telea fill, radius 3."""
    return cv2.inpaint(px, (hole > 0).astype(np.uint8), 3, cv2.INPAINT_TELEA)


def ns(px: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """OpenCV's Navier-Stokes fill, radius 3."""
    return cv2.inpaint(px, (hole > 0).astype(np.uint8), 3, cv2.INPAINT_NS)


def _megapixels(a: np.ndarray) -> float:
    return a.shape[0] * a.shape[1] / 1e6


def _load(kind: str, path: Path | None) -> Any:
    from product_studio.ops import repair

    if path is not None:
        from product_studio.models.registry import load_model

        return load_model(path)
    return repair.load_defect_detector() if kind == "detector" else repair.load_inpainter()


def detection_rows(samples: list, detector: Any = None) -> list[dict[str, Any]]:
    """P/R/F1 (2-px tolerance and exact) and seconds per megapixel for the classical and learned detectors."""
    from product_studio.ops.repair import classical_defects, defect_probability

    methods = {"classical (black-hat + top-hat)": lambda px: classical_defects(px)}
    if detector is not None:
        cut = float(detector.metrics.get("threshold", 0.5))
        methods[f"learned U-Net (threshold {cut:.2f})"] = lambda px: (defect_probability(px, model=detector) >= cut).astype(np.uint8) * 255
    rows = []
    for name, detect in methods.items():
        tol, exact, seconds, mp = np.zeros(4, np.int64), np.zeros(4, np.int64), 0.0, 0.0
        for s in samples:
            started = time.perf_counter()
            mask = detect(s.damaged)
            seconds += time.perf_counter() - started
            mp += _megapixels(s.damaged)
            tol += detection_counts(mask, s.mask, tolerance=TOLERANCE)
            exact += detection_counts(mask, s.mask, tolerance=0)
        t = scores_from_counts(*map(int, tol), tolerance=TOLERANCE)
        e = scores_from_counts(*map(int, exact), tolerance=0)
        rows.append({"method": name, "precision": t.precision, "recall": t.recall, "f1": t.f1,
                     "f1_exact": e.f1, "seconds_per_mp": seconds / mp})
    return rows


def detection_by_photo(samples: list, detector: Any) -> list[dict[str, Any]]:
    """The learned detector's P/R/F1 (2-px tolerance) per damaged photo: where its false alarms are."""
    from product_studio.ops.repair import defect_probability

    cut = float(detector.metrics.get("threshold", 0.5))
    rows = []
    for s in samples:
        found = (defect_probability(s.damaged, model=detector) >= cut).astype(np.uint8) * 255
        r = scores_from_counts(*map(int, detection_counts(found, s.mask, tolerance=TOLERANCE)), tolerance=TOLERANCE)
        rows.append({"photo": f"{s.name} (seed {s.seed})", "true": int((s.mask > 0).sum()), "found": int((found > 0).sum()),
                     "precision": r.precision, "recall": r.recall, "f1": r.f1})
    return rows


def repair_rows(samples: list, inpainter: Any = None, detector: Any = None) -> list[dict[str, Any]]:
    """Mean PSNR inside the (true) hole and seconds per megapixel for each way of filling it."""
    import torch

    from product_studio.models.inpainter import prefill
    from product_studio.ops.repair import defect_probability, learned_inpaint

    def prefill_only(px: np.ndarray, hole: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(px).permute(2, 0, 1).float().div(255)[None]
        m = torch.from_numpy(hole > 0).float()[None, None]
        scales = inpainter.config.prefill_scales if inpainter is not None else (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
        with torch.inference_mode():
            out = prefill(x, m, scales)[0].permute(1, 2, 0).numpy()
        return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)

    def ns_mirrored(px: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """Navier-Stokes averaged with its fill of the mirror image: what our mirrored pass gains for it alone."""
        mirror = ns(np.ascontiguousarray(px[:, ::-1]), np.ascontiguousarray(hole[:, ::-1]))[:, ::-1]
        return np.rint((ns(px, hole).astype(np.float32) + mirror) / 2).astype(np.uint8)

    methods = {
        "Telea (OpenCV, radius 3)": telea,
        "Navier-Stokes (OpenCV, radius 3)": ns,
        "Navier-Stokes averaged with its mirror-image fill": ns_mirrored,
        "pre-fill only (normalised convolution)": prefill_only,
    }
    if inpainter is not None:
        methods["ours: gated U-Net"] = lambda px, hole: learned_inpaint(px, hole, model=inpainter)
        if getattr(inpainter.config, "content_input", False):
            methods["ours, seeing through the defect"] = lambda px, hole: learned_inpaint(px, hole, model=inpainter, trusted=hole)
    rows = []
    for name, fill in methods.items():
        values, seconds, mp = [], 0.0, 0.0
        for s in samples:
            hole = grow(s.mask)
            started = time.perf_counter()
            out = fill(s.damaged, hole)
            seconds += time.perf_counter() - started
            mp += _megapixels(s.damaged)
            values.append(psnr(out, s.clean, mask=hole))
        rows.append({"method": name, "psnr_mask": float(np.mean(values)), "seconds_per_mp": seconds / mp})
    if inpainter is not None:
        from product_studio.ops.repair import classical_defects

        learned_fill = lambda px, hole: learned_inpaint(px, hole, model=inpainter, trusted=hole)
        chains = {"classical detector + ours": (classical_defects, learned_fill)}
        if detector is not None:
            cut = float(detector.metrics.get("threshold", 0.5))
            learned_find = lambda px: ((defect_probability(px, model=detector) >= cut) * 255).astype(np.uint8)
            chains["learned detector + ours, seeing through (repair --auto)"] = (learned_find, learned_fill)
            chains["learned detector + Navier-Stokes"] = (learned_find, ns)
        for name, (find, fill) in chains.items():
            values, seconds, mp = [], 0.0, 0.0
            for s in samples:
                started = time.perf_counter()
                found = grow(find(s.damaged))
                out = fill(s.damaged, found) if found.any() else s.damaged.copy()
                seconds += time.perf_counter() - started
                mp += _megapixels(s.damaged)
                values.append(psnr(out, s.clean, mask=grow(s.mask)))
            rows.append({"method": name, "psnr_mask": float(np.mean(values)), "seconds_per_mp": seconds / mp})
    rows.append({"method": "(not repaired)", "psnr_mask": float(np.mean([psnr(s.damaged, s.clean, mask=grow(s.mask)) for s in samples])),
                 "seconds_per_mp": 0.0})
    return rows


def watermark_rows(inpainter: Any = None) -> list[dict[str, Any]]:
    """Each held-out photo with a semi-transparent caption: OCR finds it, ``text_mask`` masks the
    letters, each method fills them. PSNR inside the mask against the photo without the caption,
    and how many photos OCR still reads the caption on afterwards."""
    from product_studio.ops.repair import learned_inpaint, text_mask
    from product_studio.train.restoration_data import load_photo, restoration_photos
    from product_studio.vision.ocr import read_text

    methods = {
        "Telea (OpenCV, radius 3)": telea,
        "Navier-Stokes (OpenCV, radius 3)": ns,
    }
    if inpainter is not None:
        methods["ours: gated U-Net"] = lambda px, m: learned_inpaint(px, m, model=inpainter)
    results: dict[str, dict[str, list]] = {name: {"psnr": [], "read": []} for name in ["(not repaired)", *methods]}
    found = 0
    photos = [load_photo(p, max_side=EVAL_SIDE) for p in restoration_photos("eval")]
    for clean in photos:
        marked = watermark(clean)
        mask, _lines = text_mask(marked, match="STUDIO")
        if not mask.any():
            continue
        found += 1
        for name, fill in [("(not repaired)", lambda px, m: px), *methods.items()]:
            out = fill(marked, mask)
            results[name]["psnr"].append(psnr(out, clean, mask=mask))
            results[name]["read"].append(any("STUDIO" in line.text.upper() for line in read_text(out)))
    return [{"method": name, "photos": f"{found}/{len(photos)}", "psnr_mask": float(np.mean(r["psnr"])) if r["psnr"] else float("nan"),
             "still_read": f"{sum(r['read'])}/{len(r['read'])}"} for name, r in results.items()]


def held_out_metrics(kind: str, weights: Path) -> dict[str, Any]:
    """The benchmark figures a shipped weight's manifest entry records."""
    import torch

    torch.set_num_threads(1)
    samples = benchmark_set()
    model = _load(kind, weights)
    note = {"set": f"train.restoration_data eval split at {EVAL_SIDE} px, seeds {list(EVAL_SEEDS)}, density {EVAL_DENSITY}",
            "images": len(samples)}
    if kind == "detector":
        rows = detection_rows(samples, model)
        learned, classical = rows[-1], rows[0]
        return {**note, "tolerance_px": TOLERANCE, "precision": learned["precision"], "recall": learned["recall"],
                "f1": learned["f1"], "f1_exact": learned["f1_exact"], "threshold": float(model.metrics.get("threshold", 0.5)),
                "classical_f1": classical["f1"], "seconds_per_mp": learned["seconds_per_mp"]}
    rows = {r["method"]: r for r in repair_rows(samples, model)}
    ours = rows["ours: gated U-Net"]
    telea_row = rows["Telea (OpenCV, radius 3)"]
    out = {**note, "hole": "true defect mask grown by 1 px", "psnr_mask": ours["psnr_mask"], "telea_psnr_mask": telea_row["psnr_mask"],
           "ns_psnr_mask": rows["Navier-Stokes (OpenCV, radius 3)"]["psnr_mask"],
           "ns_mirrored_psnr_mask": rows["Navier-Stokes averaged with its mirror-image fill"]["psnr_mask"],
           "prefill_psnr_mask": rows["pre-fill only (normalised convolution)"]["psnr_mask"],
           "gain_over_telea_db": ours["psnr_mask"] - telea_row["psnr_mask"], "seconds_per_mp": ours["seconds_per_mp"]}
    seeing = rows.get("ours, seeing through the defect")
    if seeing is not None:
        out.update(psnr_mask_seeing_through=seeing["psnr_mask"], gain_over_telea_db_seeing_through=seeing["psnr_mask"] - telea_row["psnr_mask"],
                   seconds_per_mp_seeing_through=seeing["seconds_per_mp"])
    return out


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(title for _, title, _ in columns) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|"
    lines = [head, rule]
    for r in rows:
        lines.append("| " + " | ".join(format(r[key], fmt) if fmt else str(r[key]) for key, _, fmt in columns) + " |")
    return "\n".join(lines)


def repair_tables(args: Any = None) -> str:
    """Both tables as markdown (called by benchmarks/restoration.py). Uses the shipped weights when
    they load; ``args.detector`` / ``args.inpainter`` (paths) override them."""
    import torch

    from product_studio.errors import ModelError

    torch.set_num_threads(1)
    samples = benchmark_set()
    models = {}
    for kind in ("detector", "inpainter"):
        path = getattr(args, kind, None) if args is not None else None
        try:
            models[kind] = _load(kind, Path(path) if path else None)
        except ModelError as exc:
            print(f"note: no {kind} ({exc}); its rows are left out", file=sys.stderr)
            models[kind] = None
    n = len(samples)
    header = (f"Held-out photos (train.restoration_data eval split, {EVAL_SIDE} px), {n} images with synthetic scratches, stains and "
              f"dust (density {EVAL_DENSITY}, seeds {list(EVAL_SEEDS)}); 1 thread.")
    columns = [("precision", f"precision (±{TOLERANCE} px)", ".3f"), ("recall", f"recall (±{TOLERANCE} px)", ".3f"),
               ("f1", f"F1 (±{TOLERANCE} px)", ".3f"), ("f1_exact", "F1 (exact)", ".3f")]
    detection = _table(detection_rows(samples, models["detector"]), [("method", "detector", ""), *columns,
                                                                      ("seconds_per_mp", "s / MP", ".2f")])
    photos = [(s.name, s.clean) for s in samples[:: len(EVAL_SEEDS)]]  # the held-out photos, loaded once
    by_kind = _table([{**row, "kind": kind} for kind in KINDS
                      for row in detection_rows(damaged_set(photos, EVAL_SEEDS, EVAL_DENSITY, (kind,)), models["detector"])],
                     [("kind", "defects", ""), ("method", "detector", ""), *columns])
    by_photo = "(no learned detector)" if models["detector"] is None else _table(
        detection_by_photo(samples, models["detector"]),
        [("photo", "photo", ""), ("true", "defect px", ""), ("found", "detected px", ""), *columns[:3]])
    repair = _table(repair_rows(samples, models["inpainter"], models["detector"]), [
        ("method", "fill", ""), ("psnr_mask", "PSNR in the hole (dB)", ".2f"), ("seconds_per_mp", "s / MP", ".2f")])
    marks = _table(watermark_rows(models["inpainter"]), [
        ("method", "fill", ""), ("photos", "caption found by OCR", ""), ("psnr_mask", "PSNR in the letters (dB)", ".2f"),
        ("still_read", "OCR still reads it", "")])
    return (f"{header}\n\n**Defect detection** (pixel level)\n\n{detection}\n\n**Detection by kind** (the same photos and "
            f"seeds, one kind of defect at a time)\n\n{by_kind}\n\n**Learned detection by photo** (the first table's set, "
            f"photo by photo)\n\n{by_photo}\n\n**Repair** (hole = true mask grown by 1 px)"
            f"\n\n{repair}\n\n**Watermark removal** (the held-out photos with a 55 %-opaque white caption 'SAMPLE (c) STUDIO'; "
            f"mask = ``text_mask``'s letters)\n\n{marks}\n")


# ---- figures ----------------------------------------------------------------------------------------------


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (min(out.shape[1], 12 + 9 * len(text)), 22), (0, 0, 0), -1)
    cv2.putText(out, text, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _save(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def watermark(photo: np.ndarray, text: str = "SAMPLE (c) STUDIO", opacity: float = 0.55) -> np.ndarray:
    """``photo`` with a semi-transparent white caption across its lower third."""
    layer = np.zeros(photo.shape[:2], np.uint8)
    scale = photo.shape[1] / 520
    size, _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, max(1, int(2 * scale)))
    origin = ((photo.shape[1] - size[0]) // 2, int(photo.shape[0] * 0.72))
    cv2.putText(layer, text, origin, cv2.FONT_HERSHEY_DUPLEX, scale, 255, max(1, int(2 * scale)), cv2.LINE_AA)
    a = (layer.astype(np.float32) / 255 * opacity)[..., None]
    return np.clip(photo * (1 - a) + 255 * a, 0, 255).astype(np.uint8)


def figures(out_dir: Path = ROOT / "docs" / "images", *, sample: str = "coffee", seed: int = 3) -> list[Path]:
    """docs/images/repair_before_after.png (damaged | detected mask | Navier-Stokes | learned (auto) | clean) and
    docs/images/repair_watermark.png (watermarked | text mask | filled)."""
    from product_studio.ops.repair import detect_defects, inpaint, text_mask
    from product_studio.train.restoration_data import load_photo, photo_source
    from product_studio.train.defects import add_defects

    clean = load_photo(photo_source(sample), max_side=EVAL_SIDE)
    damaged, truth = add_defects(clean, seed, density=EVAL_DENSITY * 1.5)
    found = detect_defects(damaged, method="auto", grow=1)
    navier = inpaint(damaged, found, method="ns")
    ours = inpaint(damaged, found, method="learned", trusted=found)  # as `repair --auto` does
    mask_view = np.dstack([found] * 3)
    mask_view[(truth > 0) & (found == 0)] = (255, 60, 60)  # missed defect pixels in red
    tiles = [_label(damaged, "damaged"), _label(mask_view, "detected (red: missed)"), _label(navier, "Navier-Stokes"),
             _label(ours, "learned (auto)"), _label(clean, "clean")]
    paths = [out_dir / "repair_before_after.png"]
    _save(paths[0], np.hstack(tiles))
    marked = watermark(load_photo(photo_source("kite"), max_side=EVAL_SIDE))
    mask, lines = text_mask(marked)
    removed = inpaint(marked, mask, method="auto") if mask.any() else marked
    paths.append(out_dir / "repair_watermark.png")
    _save(paths[1], np.hstack([_label(marked, "watermarked"), _label(np.dstack([mask] * 3), f"text mask ({len(lines)} line(s))"),
                               _label(removed, "filled (auto: Navier-Stokes)")]))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", default=None, help="detector weights (default: the shipped ones)")
    parser.add_argument("--inpainter", default=None, help="inpainter weights (default: the shipped ones)")
    parser.add_argument("--figures", action="store_true", help="also write docs/images/repair_*.png")
    args = parser.parse_args()
    print(repair_tables(args))
    if args.figures:
        for path in figures():
            print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
