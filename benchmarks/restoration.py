"""Restoration benchmark: the learned denoiser and upscalers against classical baselines, on the
held-out photographs only (``product_studio.train.restoration_data.restoration_photos("eval")``: astronaut,
coffee, flower, colorful_cups, kite, path; never seen in training).

Denoising (``--only denoise``): each held-out photo is shrunk to ``--max-side`` and centre-cropped
to ``--crop`` (256 by default, so BM3D finishes in minutes); Gaussian noise of sigma 15, 25, 50
(0..255 levels) is added, the noisy image clipped and rounded to 8 bits (what a camera or a file
holds), with a fixed seed. Rows:

- noisy input;
- OpenCV non-local means (``fastNlMeansDenoisingColored``), ``h`` = ``hColor`` tuned per sigma
  on these very crops (the best of a small grid: a generous baseline);
- BM3D: ``bm3d.bm3d_rgb`` (CBM3D: BM3D in the opponent colour space, both stages, told the true
  sigma), bm3d 4.0.3;
- ours, told the true sigma, and ours blind (sigma estimated by ``estimate_noise_sigma``).

PSNR (dB, RGB, 0..255) and SSIM (scikit-image, colour, data range 255) are averaged over the
photos; seconds per megapixel are wall time on one thread (``torch.set_num_threads(1)``,
``cv2.setNumThreads(1)``) on this machine, all methods in the same run.

Upscaling (``--only upscale``): each held-out photo shrunk to ``--max-side``, cropped to a multiple
of 4, is the high-resolution truth; the input is that image shrunk x2 or x4 with the antialiased
bicubic filter the upscalers were trained with (``train.restoration_data.downscale``). Rows: bicubic and
Lanczos (OpenCV) and ours; PSNR/SSIM on RGB with a border of ``scale`` pixels left out.

Repair (``--only repair``): the table of ``benchmarks/restoration_repair.py`` when that file exists.

``--pictures`` also writes the before/after pictures docs/images/restore_denoise.png and
docs/images/restore_upscale.png.

    .venv/bin/python benchmarks/restoration.py [--only denoise,upscale,repair] [--crop 256] [--pictures]

Needs the dev dependencies (scikit-image, bm3d) and plasma-workspace-wallpapers (``make bench``
installs it).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from product_studio.train.metrics import psnr
from product_studio.train.restoration_data import (
    center_crop,
    downscale,
    eval_crops,
    load_photo,
    photo_source,
    restoration_photos,
    to_uint8,
)

NLM_GRID = (0.6, 0.8, 1.0, 1.2)  # h / sigma tried for non-local means


def ssim(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    from skimage.metrics import structural_similarity

    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def add_noise(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return to_uint8(clean.astype(np.float32) / 255 + rng.standard_normal(clean.shape, dtype=np.float32) * sigma / 255)


def nlm(noisy: np.ndarray, h: float) -> np.ndarray:
    bgr = cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h=h, hColor=h, templateWindowSize=7, searchWindowSize=21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def bm3d_rgb(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return to_uint8(np.clip(bm3d.bm3d_rgb(noisy.astype(np.float32) / 255, sigma / 255), 0, 1))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def denoise_tables(args: argparse.Namespace) -> str:
    from product_studio.ops.denoise import denoise_cnn, load_denoiser
    from product_studio.vision.noise import estimate_noise_sigma

    model = load_denoiser(args.denoiser)
    crops = eval_crops(args.crop, max_side=args.max_side)
    megapixels = sum(c.shape[0] * c.shape[1] for c in crops.values()) / 1e6
    out = [(f"Denoising: {len(crops)} held-out crops of {args.crop}x{args.crop} ({', '.join(crops)}), "
            f"Gaussian noise, clipped to 8 bits; model {Path(model.weight_path).name}\n")]
    rows, summary = [], {}
    for sigma in args.sigmas:
        noisy = {k: add_noise(c, sigma, seed=1000 * i + int(sigma)) for i, (k, c) in enumerate(crops.items())}
        results: dict[str, tuple[list[float], list[float], float]] = {}

        def score(label: str, outputs: dict[str, np.ndarray], seconds: float,
                  results: dict[str, tuple[list[float], list[float], float]] = results) -> None:
            results[label] = ([psnr(outputs[k], crops[k]) for k in crops], [ssim(outputs[k], crops[k]) for k in crops], seconds)

        score("noisy input", noisy, 0.0)
        best = None
        for share in NLM_GRID:
            outs, secs = {}, 0.0
            for k in crops:
                outs[k], s = timed(nlm, noisy[k], share * sigma)
                secs += s
            value = np.mean([psnr(outs[k], crops[k]) for k in crops])
            if best is None or value > best[0]:
                best = (value, share, outs, secs)
        score(f"OpenCV NLM (h = {best[1]:.1f} sigma)", best[2], best[3])
        if not args.skip_bm3d:
            outs, secs = {}, 0.0
            for k in crops:
                outs[k], s = timed(bm3d_rgb, noisy[k], sigma)
                secs += s
            score("BM3D (bm3d_rgb, true sigma)", outs, secs)
        outs, secs = {}, 0.0
        for k in crops:
            outs[k], s = timed(denoise_cnn, noisy[k], sigma=sigma, model=model)
            secs += s
        score("ours, true sigma", outs, secs)
        outs, secs, estimates = {}, 0.0, []
        for k in crops:
            estimates.append(estimate_noise_sigma(noisy[k]))
            outs[k], s = timed(denoise_cnn, noisy[k], model=model)
            secs += s
        score(f"ours, blind (sigma estimated: mean {np.mean(estimates):.1f})", outs, secs)
        for label, (p, s, secs) in results.items():
            rows.append([f"{sigma:g}", label, f"{np.mean(p):.2f}", f"{np.mean(s):.4f}", f"{secs / megapixels:.2f}" if secs else "-"])
            summary[(sigma, label.split(" (")[0])] = (float(np.mean(p)), secs / megapixels)
    out.append(table(["sigma", "method", "PSNR dB", "SSIM", "s / MP"], rows))
    if not args.skip_bm3d:
        for sigma in args.sigmas:
            ours, bm3d_ = summary.get((sigma, "ours, true sigma")), summary.get((sigma, "BM3D"))
            if ours and bm3d_:
                out.append(f"\nsigma {sigma:g}: ours (true sigma) - BM3D = {ours[0] - bm3d_[0]:+.2f} dB; "
                           f"ours is {bm3d_[1] / max(ours[1], 1e-9):.0f}x faster")
    return "\n".join(out)


def upscale_tables(args: argparse.Namespace) -> str:
    from product_studio.ops.upscale import load_upscaler, upscale_image

    photos = {p.name: load_photo(p, max_side=args.max_side) for p in restoration_photos("eval")}
    out = [(f"Upscaling: {len(photos)} held-out photos, longer side {args.max_side}, input = photo shrunk with "
            "antialiased bicubic\n")]
    rows = []
    for scale in (2, 4):
        model = load_upscaler(scale)
        scores: dict[str, list[tuple[float, float]]] = {"bicubic": [], "lanczos": [], "ours": []}
        seconds: dict[str, float] = {"bicubic": 0.0, "lanczos": 0.0, "ours": 0.0}
        out_mp = 0.0
        for photo in photos.values():
            h, w = (photo.shape[0] // 4) * 4, (photo.shape[1] // 4) * 4
            truth = photo[:h, :w]
            low = downscale(truth, scale)
            out_mp += h * w / 1e6
            for method in ("bicubic", "lanczos", "cnn"):
                big, s = timed(upscale_image, low, scale=scale, method=method, model=model if method == "cnn" else None)
                key = "ours" if method == "cnn" else method
                seconds[key] += s
                scores[key].append((psnr(big, truth, border=scale), ssim(big, truth, scale)))
        for key, label in (("bicubic", "bicubic (OpenCV)"), ("lanczos", "Lanczos-4 (OpenCV)"), ("ours", f"ours ({model.model_name})")):
            p = np.mean([v[0] for v in scores[key]])
            s = np.mean([v[1] for v in scores[key]])
            rows.append([f"x{scale}", label, f"{p:.2f}", f"{s:.4f}", f"{seconds[key] / out_mp:.3f}"])
        gain = np.mean([v[0] for v in scores["ours"]]) - np.mean([v[0] for v in scores["bicubic"]])
        rows.append([f"x{scale}", "ours - bicubic", f"{gain:+.2f}", "", ""])
    out.append(table(["scale", "method", "PSNR dB", "SSIM", "s / output MP"], rows))
    return "\n".join(out)


def repair_section(args: argparse.Namespace) -> str | None:
    path = REPO / "benchmarks" / "restoration_repair.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("restoration_repair", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.repair_tables(args)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 26), (255, 255, 255), -1)
    cv2.putText(out, text, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def _save(path: Path, panels: list[np.ndarray]) -> None:
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.hstack(row), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def write_pictures(args: argparse.Namespace) -> list[str]:
    """Before/after of each tool on a held-out sample (samples/coffee_cup.jpg and kite_blue_sky.jpg
    are crops of held-out photos)."""
    from product_studio.imageio import load_image
    from product_studio.ops.denoise import denoise_cnn
    from product_studio.ops.upscale import upscale_image

    written = []
    cup = load_image(REPO / "samples" / "coffee_cup.jpg").pixels
    clean = center_crop(cup, 320)
    noisy = add_noise(clean, 25, seed=7)
    ours = denoise_cnn(noisy, sigma=25)
    panels = [_label(noisy, f"noisy, sigma 25 ({psnr(noisy, clean):.1f} dB)"), _label(ours, f"ours ({psnr(ours, clean):.1f} dB)"),
              _label(clean, "clean")]
    target = REPO / "docs" / "images" / "restore_denoise.png"
    _save(target, panels)
    written.append(str(target))
    kite = load_photo(photo_source("kite"), max_side=1280)
    truth = kite[150:406, 740:996]  # the kite and some cloud
    low = downscale(truth, 4)
    bicubic = upscale_image(low, scale=4, method="bicubic")
    ours = upscale_image(low, scale=4)
    nearest = cv2.resize(low, (256, 256), interpolation=cv2.INTER_NEAREST)
    panels = [_label(nearest, "input 64x64 (x4)"), _label(bicubic, f"bicubic ({psnr(bicubic, truth, border=4):.1f} dB)"),
              _label(ours, f"ours ({psnr(ours, truth, border=4):.1f} dB)"), _label(truth, "original")]
    target = REPO / "docs" / "images" / "restore_upscale.png"
    _save(target, panels)
    written.append(str(target))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="denoise,upscale,repair", help="comma-separated: denoise, upscale, repair")
    parser.add_argument("--crop", type=int, default=256, help="denoising crop side")
    parser.add_argument("--max-side", type=int, default=768, help="held-out photos are shrunk to this longer side first")
    parser.add_argument("--sigmas", default="15,25,50", help="noise levels (0..255)")
    parser.add_argument("--skip-bm3d", action="store_true", help="leave BM3D out (it takes minutes)")
    parser.add_argument("--denoiser", default=None, help="score this denoiser (an .onnx exported with scripts/export_onnx.py) instead of the shipped one")
    parser.add_argument("--pictures", action="store_true", help="write docs/images/restore_*.png")
    args = parser.parse_args()
    args.sigmas = [float(s) for s in args.sigmas.split(",")]
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = parts - {"denoise", "upscale", "repair"}
    if unknown:
        parser.error(f"unknown --only part(s): {', '.join(sorted(unknown))}")
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    print(f"torch {torch.__version__}, 1 thread; {time.strftime('%Y-%m-%d %H:%M')}\n")
    if "denoise" in parts:
        print(denoise_tables(args) + "\n")
    if "upscale" in parts:
        print(upscale_tables(args) + "\n")
    if "repair" in parts:
        section = repair_section(args)
        print(section + "\n" if section else "repair: benchmarks/restoration_repair.py not found; skipped\n")
    if args.pictures:
        for path in write_pictures(args):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
