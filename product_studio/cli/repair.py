"""`product-studio repair`: remove scratches, stains, dust and overlaid text; `train inpainter` / `train defect-detector`."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import (
    EXIT_OK, FreshOption, JsonOption, LearningRateOption, OverwriteOption, QuietOption, RunFolderOption,
    ThreadsOption, handle_errors, info, print_json,
)
from .train import train_app

InitOption = typer.Option(None, "--init", help="Start from these weights (the same preset), e.g. a second cycle at a lower --lr.")


def register(app: typer.Typer) -> None:
    app.command(
        "repair",
        help=(
            "Repair a photo: fill the defects a mask marks, or find scratches, stains and dust automatically (--auto), "
            "or remove overlaid text and watermarks found by OCR (--remove-text). The input is never changed.\n\n"
            "The filling is done by OpenCV's Navier-Stokes method (--method auto: the best on the held-out repair "
            "benchmark, docs/repair.md); --method learned|telea|ns chooses. --show-mask writes the mask that was used (white = "
            "filled) so you can look at it, paint on it in any editor and run again with --mask.\n\n"
            "Examples:\n\n"
            "  product-studio repair photo.jpg --auto --show-mask photo.mask.png\n\n"
            "  product-studio repair photo.jpg --mask photo.mask.png -o fixed.png\n\n"
            "  product-studio repair photo.jpg --remove-text --text 'SAMPLE' -o clean.jpg\n\n"
            "  product-studio repair photo.jpg --auto --detector classical --method telea --json"
        ),
    )(repair)
    train_app.command(
        "defect-detector",
        help=(
            "Train the scratch/stain/dust detector (a small U-Net) on the training photos with synthetic defects. "
            "The threshold is chosen for the best F1 on the validation photos and stored in OUTPUT/model.safetensors; "
            "rerunning with the same -o resumes a stopped run.\n\n"
            "Examples:\n\n"
            "  product-studio train defect-detector -o runs/defect_detector\n\n"
            "  product-studio train defect-detector -o runs/quick --model defect_unet_tiny --steps 200"
        ),
    )(train_defect_detector)
    train_app.command(
        "inpainter",
        help=(
            "Train the inpainter (a gated-convolution U-Net) to fill synthetic scratch, stain and dust holes, "
            "strokes, boxes and letters in the training photos; the best epoch on the validation photos is kept in "
            "OUTPUT/model.safetensors. Rerunning with the same -o resumes a stopped run.\n\n"
            "Examples:\n\n"
            "  product-studio train inpainter -o runs/inpainter\n\n"
            "  product-studio train inpainter -o runs/quick --model inpaint_gated_tiny --steps 200"
        ),
    )(train_inpainter)


def _default_output(path: Path) -> Path:
    suffix = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp") else ".png"
    return path.with_name(f"{path.stem}.repaired{suffix}")


@handle_errors
def repair(
    image: Path = typer.Argument(..., help="The photo to repair (any format load_image reads)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Repaired image file (default: PHOTO.repaired.<ext> beside it)."),
    mask: Path | None = typer.Option(None, "--mask", help="Mask of the image's size: white (or opaque) = fill."),
    auto: bool = typer.Option(False, "--auto", help="Find scratches, stains and dust automatically."),
    remove_text: bool = typer.Option(False, "--remove-text", help="Find text with OCR and remove its letters (watermarks, captions)."),
    text: str | None = typer.Option(None, "--text", help="With --remove-text: only lines containing this (case-insensitive)."),
    show_mask: Path | None = typer.Option(None, "--show-mask", help="Write the mask used (PNG, white = filled) here."),
    method: str = typer.Option("auto", "--method", help="auto | learned | telea | ns: how holes are filled (auto: the network for --auto, which looks through found stains; Navier-Stokes for --mask and --remove-text)."),
    detector: str = typer.Option("auto", "--detector", help="auto | learned | classical: how --auto finds defects (auto = the learned U-Net when its weights load, else classical; --threshold is then a probability)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Detector cut (a probability for learned, grey levels for classical)."),
    grow: int = typer.Option(1, "--grow", min=0, max=20, help="Grow the found mask by this many pixels before filling."),
    overwrite: bool = OverwriteOption,
    json_out: bool = JsonOption,
) -> None:
    import time

    import numpy as np

    from ..errors import UsageError
    from ..imageio import load_image, read_bytes, save_image
    from ..ops.repair import (
        DETECT_METHODS,
        INPAINT_METHODS,
        detect_defects,
        inpaint,
        load_mask,
        resolve_inpaint_method,
        text_mask,
    )

    sources = [name for name, on in (("--mask", mask is not None), ("--auto", auto), ("--remove-text", remove_text)) if on]
    if len(sources) != 1:
        raise UsageError("give exactly one of --mask FILE, --auto or --remove-text" + (f" (got {', '.join(sources)})" if sources else ""))
    if method not in INPAINT_METHODS:
        raise UsageError(f"--method must be one of {', '.join(INPAINT_METHODS)}; got '{method}'")
    if detector not in DETECT_METHODS:
        raise UsageError(f"--detector must be one of {', '.join(DETECT_METHODS)}; got '{detector}'")
    if text is not None and not remove_text:
        raise UsageError("--text only applies with --remove-text")
    item = load_image(read_bytes(image), name=str(image))
    output = output or _default_output(image)
    protect = (image,) + ((mask,) if mask is not None else ())
    if show_mask is not None and show_mask.resolve() in {output.resolve(), *(p.resolve() for p in protect)}:
        raise UsageError("--show-mask must name a file other than the input, the --mask and the output")
    started = time.perf_counter()
    removed: list[str] = []
    if mask is not None:
        fill = load_mask(mask, item.pixels.shape)
    elif auto:
        if not json_out:
            info("finding defects...")
        fill = detect_defects(item.pixels, method=detector, threshold=threshold, grow=grow)  # type: ignore[arg-type]
    else:
        if not json_out:
            info("reading the text (OCR)...")
        fill, lines = text_mask(item.pixels, match=text, grow=max(grow, 2))
        removed = [line.text for line in lines]
    found = time.perf_counter()
    # Found defects may be seen through (a stain tints what is under it); a painted mask or text may not.
    used = resolve_inpaint_method(method, see_through=auto)  # type: ignore[arg-type]
    trusted = fill if auto else None
    pixels = inpaint(item.pixels, fill, method=used, trusted=trusted) if fill.any() else item.pixels.copy()  # type: ignore[arg-type]
    finished = time.perf_counter()
    saved = save_image(item.replace(pixels=pixels), output, overwrite=overwrite, protect=protect)
    mask_saved = None
    if show_mask is not None:
        mask_saved = save_image(np.dstack([fill] * 3), show_mask, format="png", overwrite=overwrite, protect=protect).path
    result = {
        "input": str(image),
        "output": str(saved.path),
        "mask_source": sources[0].lstrip("-"),
        "mask_output": str(mask_saved) if mask_saved else None,
        "filled_pixels": int(np.count_nonzero(fill)),
        "filled_fraction": round(float(np.count_nonzero(fill)) / fill.size, 6),
        "method": used,
        "detector": detector if auto else None,
        "removed_text": removed if remove_text else None,
        "seconds_finding": round(found - started, 3),
        "seconds_filling": round(finished - found, 3),
    }
    if json_out:
        print_json(result)
    else:
        what = f"{result['filled_pixels']:,} px filled ({100 * result['filled_fraction']:.2f}%) with {used}"
        if remove_text:
            what += f"; text removed: {', '.join(removed) or 'none found'}"
        info(f"{image} -> {saved.path}: {what}" + (f"; mask: {mask_saved}" if mask_saved else ""))
    raise typer.Exit(EXIT_OK)


def _train(kind: str, output: Path, model: str | None, steps: int | None, batch_size: int | None, lr: float | None,
           init: Path | None, threads: int, fresh: bool, quiet: bool, json_out: bool, *,
           collection: int | None = None, edge_negatives: float | None = None, ema: float | None = None,
           seed: int = 0, ignore_band: int | None = None, bf16: bool | None = None, photo_jitter: float | None = None,
           patch: int | None = None) -> None:
    from ..train.repair import train_repair_model

    options = {k: v for k, v in {"steps": steps, "batch_size": batch_size, "lr": lr, "collection": collection,
                                 "edge_negatives": edge_negatives, "ema": ema, "ignore_band": ignore_band,
                                 "bf16": bf16, "photo_jitter": photo_jitter, "patch_size": patch}.items() if v is not None}
    if bf16:
        import torch

        from ..runtime import BF16_ENV
        from ..train.trainer import bf16_autocast_pays

        if not bf16_autocast_pays(torch.device("cpu")):  # the repair models train on the CPU
            info(f"--bf16: bfloat16 is off here (this CPU has no AVX512-BF16 or AMX instructions, or {BF16_ENV}=0), so the "
                 "training runs in float32: on a CPU with AVX2 only, about 4x the time per step of docs/repair.md's timings")
    summary = train_repair_model(kind, output, model_name=model, resume=not fresh, progress=not (quiet or json_out),
                                 threads=threads, init_weights=init, seed=seed, **options)
    if json_out:
        print_json(summary)
    else:
        m = summary["metrics"]
        score = f"F1 {m['f1']:.3f} at threshold {m['threshold']}" if kind == "detector" else f"PSNR in the holes {m['psnr_mask']:.2f} dB"
        info(f"validation {score} (epoch {m['best_epoch']}), {summary['train_seconds']:.0f} s; weights: {summary['weights']}")
    raise typer.Exit(EXIT_OK)


@handle_errors
def train_defect_detector(
    output: Path = RunFolderOption,
    model: str | None = typer.Option(None, "--model", "-m", help="Preset (default defect_unet_s; defect_unet_tiny for quick runs)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimiser steps (default 4000; the shipped detector: five cycles with --bf16, 42000 steps in all; docs/repair.md gives the commands)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Patches per step (default 12)."),
    patch: int | None = typer.Option(
        None, "--patch", min=32, max=384,
        help="Training patch side in px (default 128). 96-px patches take 1.5x the steps in the same time: a "
             "first cycle may use them, later cycles (--init) the default."),
    lr: float | None = LearningRateOption,
    init: Path | None = InitOption,
    collection: int | None = typer.Option(
        None, "--collection", min=1, max=3,
        help="Train on the photo collections up to this one (default 1; 2 adds the MATE photographs: "
             "apt-get install mate-backgrounds; 3 adds five Palapeli photographs and synthetic product shots: "
             "apt-get install palapeli-data tuxpaint-stamps-default)."),
    edge_negatives: float | None = typer.Option(
        None, "--edge-negatives", min=0.0, max=1.0,
        help="Share of the patches not centred on a defect that are centred on a strong edge of the clean photo "
             "(rims, outlines, texture: what the detector must learn to leave alone). Default 0."),
    photo_jitter: float | None = typer.Option(
        None, "--photo-jitter", min=0.0, max=1.0,
        help="Share of the training photos shown in other light, colour and size (white balance, exposure, contrast, "
             "saturation, shrunk up to 40%) before they are damaged: fewer clean structures learnt by heart. Default 0."),
    ema: float | None = typer.Option(
        None, "--ema", min=0.0, max=0.9999,
        help="Keep a moving average of the weights with this decay (e.g. 0.998) and evaluate that instead of the "
             "raw weights: steadier from one evaluation to the next. Default 0 (off)."),
    ignore_band: int | None = typer.Option(
        None, "--ignore-band", min=0, max=4,
        help="Leave the clean pixels within this many px of a defect out of the loss: the F1 measure forgives "
             "a 2-px miss, so the network need not fight over where a soft stain ends. Default 0 (off)."),
    bf16: bool | None = typer.Option(
        None, "--bf16/--no-bf16",
        help="bfloat16 autocast where the CPU has it natively (AVX512-BF16 or AMX: about 2x faster steps); "
             "float32 elsewhere, and a note says so. Default off."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the training patches: a later cycle (--init) with another seed sees new patches."),
    threads: int = ThreadsOption,
    fresh: bool = FreshOption,
    quiet: bool = QuietOption,
    json_out: bool = JsonOption,
) -> None:
    _train("detector", output, model, steps, batch_size, lr, init, threads, fresh, quiet, json_out,
           collection=collection, edge_negatives=edge_negatives, ema=ema, seed=seed, ignore_band=ignore_band, bf16=bf16,
           photo_jitter=photo_jitter, patch=patch)


@handle_errors
def train_inpainter(
    output: Path = RunFolderOption,
    model: str | None = typer.Option(None, "--model", "-m", help="Preset (default inpaint_gated_ns_s; inpaint_gated_tiny for quick runs)."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimiser steps (default 3000; the shipped inpainter is two cycles of 3000, the second with --init and --lr 1e-3)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Patches per step (default 16)."),
    lr: float | None = LearningRateOption,
    init: Path | None = InitOption,
    threads: int = ThreadsOption,
    fresh: bool = FreshOption,
    quiet: bool = QuietOption,
    json_out: bool = JsonOption,
) -> None:
    _train("inpainter", output, model, steps, batch_size, lr, init, threads, fresh, quiet, json_out)
