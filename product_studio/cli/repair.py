"""`product-studio repair`: remove scratches, stains, dust and overlaid text; `train inpainter` / `train defect-detector`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .batch_run import BatchOptions, Runs, image_command, run_op
from .common import (
    EXIT_OK, FreshOption, InputsArgument, JsonOption, LearningRateOption, QuietOption, RunFolderOption, ThreadsOption,
    handle_errors, info, print_json,
)
from .options import OptionValues
from .train import train_app

InitOption = typer.Option(None, "--init", help="Start from these weights (the same preset), e.g. a second cycle at a lower --lr.")


MODES = {"--mask": "inpaint", "--auto": "repair_defects", "--remove-text": "remove_text"}  # how the holes are found -> op


def register(app: typer.Typer) -> None:
    image_command(
        app, "repair", list(MODES.values()), body=repair, flags={"mask_path": ("--mask",), "match": ("--text",)},
        labels={op: mode for mode, op in MODES.items()},
        help=(
            "Repair photos: fill the defects a mask marks, or find scratches, stains and dust automatically (--auto), "
            "or remove overlaid text and watermarks found by OCR (--remove-text). The inputs are never changed.\n\n"
            "Each mode is one step (inpaint, repair_defects, remove_text) run like `process`: a folder gets "
            "report.html and resumes. The filling is done by OpenCV's Navier-Stokes method for a mask and text "
            "(--method auto: the best on the held-out repair benchmark, docs/repair.md) and by the network for "
            "--auto; --method learned|telea|ns chooses. --show-mask writes the mask that was used (white = filled) "
            "so you can look at it, paint on it in any editor and run again with --mask.\n\n"
            "Examples:\n\n"
            "  product-studio repair photo.jpg --auto --show-mask photo.mask.png\n\n"
            "  product-studio repair photo.jpg --mask photo.mask.png -o fixed.png\n\n"
            "  product-studio repair photo.jpg --remove-text --text 'SAMPLE' -o clean.jpg\n\n"
            "  product-studio repair shots/ --auto -o repaired/ --detector classical --method telea --json"
        ),
    )
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


def repair(
    inputs: list[str] = InputsArgument,
    output: Path | None = typer.Option(
        None, "-o", "--output", help="A folder, or the repaired file for one input (default: PHOTO.repaired.<ext> beside it)."
    ),
    auto: bool = typer.Option(False, "--auto", help="Find scratches, stains and dust automatically."),
    remove_text: bool = typer.Option(False, "--remove-text", help="Find text with OCR and remove its letters (watermarks, captions)."),
    show_mask: Path | None = typer.Option(None, "--show-mask", help="Write the mask used (PNG, white = filled) here (one input)."),
    options: OptionValues = None,  # generated from the three ops' options models
    batch: BatchOptions = None,
) -> None:
    from ..errors import UsageError
    from ..inputs import expand_inputs

    mask = options.given.get("mask_path")
    sources = [name for name, on in (("--mask", mask is not None), ("--auto", auto), ("--remove-text", remove_text)) if on]
    if len(sources) != 1:
        raise UsageError("give exactly one of --mask FILE, --auto or --remove-text" + (f" (got {', '.join(sources)})" if sources else ""))
    op = MODES[sources[0]]
    chosen = options.validate(op, where=f"with {sources[0]}")
    files = expand_inputs(inputs)
    for flag, given in (("--mask", mask), ("--show-mask", show_mask)):
        if given is not None and len(files) > 1:
            raise UsageError(f"{flag} is one photo's mask but {len(files)} inputs were given; run one photo at a time with {flag}")
    if output is None:
        if len(files) > 1 or not isinstance(files[0].path, Path):
            raise UsageError(f"say where the repaired images go: -o FOLDER ({len(files)} inputs)" if len(files) > 1
                             else "an s3:// input needs -o for its output")
        output = _default_output(files[0].path)
    inputs_and_mask = [f.path for f in files if isinstance(f.path, Path)] + ([Path(mask)] if mask else [])
    if mask is not None and output.resolve() == Path(mask).resolve():
        raise UsageError("-o must name a file other than the --mask")
    if show_mask is not None and show_mask.resolve() in {output.resolve(), *(p.resolve() for p in inputs_and_mask)}:
        raise UsageError("--show-mask must name a file other than the input, the --mask and the output")
    after = (lambda runs: _write_mask(runs, op, chosen, show_mask, batch.overwrite)) if show_mask is not None else None
    run_op(op, files, output, [(chosen, "", {})], batch, after=after)


def _default_output(path: Path) -> Path:
    suffix = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp") else ".png"
    return path.with_name(f"{path.stem}.repaired{suffix}")


def _write_mask(runs: Runs, op: str, options: dict[str, Any], target: Path, overwrite: bool) -> None:
    """--show-mask: the mask the step filled, found again from the input (white = filled)."""
    import cv2
    import numpy as np

    from .. import storage
    from ..errors import StudioError
    from ..imageio import load_image, save_image
    from ..ops.repair import detect_defects, load_mask, resolve_detect_method, text_mask

    ((result, extra),) = zip(runs.report.results, runs.extras)
    if result.status != "done":
        return
    try:
        pixels = load_image(storage.read_input(result.input), name=result.input).pixels
        if op == "inpaint":
            fill, size = load_mask(options["mask_path"], pixels.shape), 2 * options["dilate"] + 1
            fill = cv2.dilate(fill, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))) if options["dilate"] else fill
        elif op == "repair_defects":
            fill = detect_defects(pixels, method=resolve_detect_method(options["detector"]), threshold=options["threshold"],
                                  grow=options["grow"], min_area=options["min_area"])
        else:
            fill = text_mask(pixels, match=options["match"], min_confidence=options["min_confidence"], grow=options["grow"])[0]
        saved = save_image(np.dstack([fill] * 3), target, format="png", overwrite=overwrite, protect=(result.input,))
    except StudioError as exc:
        info(f"failed: --show-mask {target}: {exc}")
        return
    extra.update(mask_output=str(saved.path), filled_pixels=int(np.count_nonzero(fill)))


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
