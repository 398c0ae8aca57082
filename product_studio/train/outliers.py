"""Outlier exposure (Hendrycks et al. 2019): images that are none of a classifier's categories, and the loss
that teaches the classifier to say so.

    images, info = build_outliers(channels=1, size=28, exclude_words=CLOTHING_WORDS)
    mixed = OutlierMix(splits["train"], images, ratio=0.5)       # each batch gets 64 outliers per 128 images
    trainer = Trainer(model, mixed, loss_fn=outlier_exposure_loss(0.5, label_smoothing=0.1), ...)

The outliers come from Debian packages installed offline (``OUTLIER_SOURCES``; nothing is downloaded):
photographs (plasma-workspace-wallpapers, mate-backgrounds, palapeli-data) and Tux Paint stamps
(tuxpaint-stamps-default: objects with a transparent background). Every one is turned into the model's
input the way ``classify`` turns a product photo into it (``understand.classify.model_input``): for the
grayscale 28×28 models the product is cut out with u2netp (the stamps bring their own alpha), turned
grey, trimmed, fitted and inverted; an RGB model gets the resized frame. A photograph gives several
views: the whole frame and two random crops, each cut out on its own, plus sub-crops of their masks.

What never goes in: the wallpapers the bundled samples were cut from (``HELD_OUT_WALLPAPERS``: the
samples are evaluation images); every fifth stamp by a hash of its path (``stamp_files("held_out")``,
kept for evaluation); stamps whose folder or file name holds one of ``exclude_words`` (for Fashion-MNIST
``CLOTHING_WORDS``: the whole ``clothes/`` and ``people/`` folders and any clothing, shoe or bag word;
for a user's catalogue the words of its category names), so no image of a known category is taught
as unknown. openclipart is never used here: it is evaluation data only (benchmarks/classifier_ood.py).

The loss is the classification cross-entropy on the in-distribution images plus ``weight`` times the
cross-entropy from the outliers' softmax to the uniform distribution (-mean of the log-softmax).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import UsageError


@dataclass(frozen=True)
class OutlierSource:
    name: str
    folder: str
    kind: str  # photographs | stamps
    package: str
    licence: str


OUTLIER_SOURCES = (
    OutlierSource("wallpapers", "/usr/share/wallpapers", "photographs", "plasma-workspace-wallpapers",
                  "GPL-2+ (Debian copyright); LGPLv3 per image (metadata.json)"),
    OutlierSource("mate", "/usr/share/backgrounds/mate", "photographs", "mate-backgrounds", "GPL-2+ (Debian copyright)"),
    OutlierSource("palapeli", "/usr/share/palapeli/collection", "photographs", "palapeli-data", "GPL-2+ (Debian copyright)"),
    OutlierSource("stamps", "/usr/share/tuxpaint/stamps", "stamps", "tuxpaint-stamps-default", "GPL-2 (Debian copyright)"),
)
# The bundled samples (samples/SOURCES.md) were cut from these wallpapers: they stay out of training.
HELD_OUT_WALLPAPERS = ("FallenLeaf", "ColorfulCups", "Kite", "EveningGlow", "BytheWater")
# Stamps in these top folders are never outliers for Fashion-MNIST (clothes; people wear clothes).
CLOTHING_FOLDERS = ("clothes", "people")
CLOTHING_WORDS = (
    "apron", "backpack", "bag", "bikini", "blouse", "boot", "cap", "cardigan", "clothes", "clothespin", "clothing",
    "coat", "costume", "dress", "glove", "handbag", "hat", "hoodie", "jacket", "jeans", "mitten", "pants", "polo",
    "poloshirt", "purse", "sandal", "scarf", "shirt", "shoe", "skirt", "slipper", "sneaker", "sock", "suit",
    "sweater", "swimsuit", "tie", "top", "trouser", "tshirt", "uniform", "pullover", "wallet",
)
STAMP_HOLD_OUT = 5  # every 5th stamp (by a hash of its path) is kept for evaluation
PHOTO_SIDE = 640  # photographs are shrunk to this long side before they are cut up
BUILD_VERSION = 1  # bump when the way outliers are made changes (invalidates cached sets)


def words_of(text: str) -> set[str]:
    """Lower-case words of a path or a name, each also without a plural 's' ("t_shirts" -> t, shirt, shirts)."""
    words = {w for w in re.split(r"[^a-z]+", text.lower()) if w}
    return words | {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}


def _excluded(relative: str, exclude_words: set[str], exclude_folders: tuple[str, ...]) -> bool:
    parts = Path(relative).parts
    if parts and parts[0] in exclude_folders:
        return True
    return bool(words_of(relative) & exclude_words)


def _held_out(relative: str) -> bool:
    return int(hashlib.sha1(relative.encode()).hexdigest(), 16) % STAMP_HOLD_OUT == 0


def stamp_files(split: str = "train", *, exclude_words: tuple[str, ...] | set[str] = CLOTHING_WORDS,
                exclude_folders: tuple[str, ...] = CLOTHING_FOLDERS, root: str | Path | None = None) -> list[Path]:
    """Tux Paint stamp PNGs of ``split`` ("train", "held_out" or "all"), minus the excluded folders and words."""
    if split not in {"train", "held_out", "all"}:
        raise UsageError(f"unknown stamp split {split!r}; use train, held_out or all")
    folder = Path(root or OUTLIER_SOURCES[3].folder)
    excluded = {w for word in exclude_words for w in words_of(word)}
    out = []
    for path in sorted(folder.rglob("*.png")):
        relative = path.relative_to(folder).as_posix()
        if path.name.endswith(("_mirror.png", "_back.png")) or _excluded(relative, excluded, exclude_folders):
            continue
        if split == "all" or _held_out(relative) == (split == "held_out"):
            out.append(path)
    return out


def _wallpaper_image(folder: Path) -> Path | None:
    """The smallest image of a KDE wallpaper folder that is at least 1280 px wide (else the largest)."""
    images = [p for p in (folder / "contents" / "images").glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}]
    sized = []
    for p in images:
        match = re.fullmatch(r"(\d+)x(\d+)", p.stem)
        if match:
            sized.append((int(match.group(1)) * int(match.group(2)), int(match.group(1)), p))
    if not sized:
        return images[0] if images else None
    wide = sorted(s for s in sized if s[1] >= 1280)
    return (wide[0] if wide else max(sized))[2]


def photo_files() -> list[Path]:
    """The training photographs: one image per KDE wallpaper (not the samples' ones), the MATE backgrounds
    (one size each), the Palapeli puzzle photos. Missing packages are skipped."""
    out: list[Path] = []
    wallpapers = Path(OUTLIER_SOURCES[0].folder)
    if wallpapers.is_dir():
        for folder in sorted(p for p in wallpapers.iterdir() if p.is_dir() and p.name not in HELD_OUT_WALLPAPERS):
            image = _wallpaper_image(folder)
            if image is not None:
                out.append(image)
    mate = Path(OUTLIER_SOURCES[1].folder)
    if mate.is_dir():
        seen = set()
        for path in sorted(mate.rglob("*")):
            stem = re.sub(r"_\d+x\d+$", "", path.stem)
            if path.suffix.lower() in {".jpg", ".jpeg", ".png"} and (path.parent, stem) not in seen:
                seen.add((path.parent, stem))
                out.append(path)
    palapeli = Path(OUTLIER_SOURCES[2].folder)
    if palapeli.is_dir():
        out += sorted(palapeli.glob("*.jpg"))
    return out


def _random_box(h: int, w: int, rng: np.random.Generator, smallest: float) -> tuple[int, int, int, int]:
    side = min(h, w) * rng.uniform(smallest, 1.0)
    aspect = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
    bh, bw = min(h, max(8, round(side / np.sqrt(aspect)))), min(w, max(8, round(side * np.sqrt(aspect))))
    y0, x0 = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    return y0, x0, y0 + bh, x0 + bw


def build_outliers(*, channels: int, size: int, exclude_words: tuple[str, ...] | set[str] = CLOTHING_WORDS,
                   exclude_folders: tuple[str, ...] = CLOTHING_FOLDERS, seed: int = 0, sub_crops: int = 4,
                   limit: int | None = None, progress: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """Outlier images (uint8 N×C×size×size) in a model's input domain, and what they were made from.

    ``channels == 1``: the Fashion-MNIST domain (cut out, grey, trimmed, inverted: ``to_fashion_mnist``);
    else the RGB frame resized square, as ``classify`` feeds such a model. Raises UsageError when none of
    the source packages is installed. ``limit`` takes only the first ``limit`` photographs and stamps (quick runs).
    """
    import cv2
    from tqdm import tqdm

    from ..imageio import load_image
    from ..item import ImageItem
    from ..understand.classify import ModelInput, model_input

    domain = ModelInput(channels=channels, size=size)
    rng = np.random.default_rng(seed)
    photos, stamps = photo_files(), stamp_files("train", exclude_words=exclude_words, exclude_folders=exclude_folders)
    if limit is not None:
        photos, stamps = photos[:limit], stamps[:limit]
    if not photos and not stamps:
        raise UsageError("no outlier images found: install the Debian packages plasma-workspace-wallpapers, mate-backgrounds, "
                         "palapeli-data or tuxpaint-stamps-default (make apt), or train with outlier weight 0")
    images: list[np.ndarray] = []
    bar = tqdm(total=len(photos) + len(stamps), desc="outliers", disable=not progress)
    for path in photos:
        pixels = load_image(path).pixels
        scale = PHOTO_SIDE / max(pixels.shape[:2])
        if scale < 1:
            pixels = cv2.resize(pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        h, w = pixels.shape[:2]
        views = [(0, 0, h, w)] + [_random_box(h, w, rng, 0.5) for _ in range(2)]
        for y0, x0, y1, x1 in views:
            view = np.ascontiguousarray(pixels[y0:y1, x0:x1])
            item = ImageItem(view)
            images.append(model_input(item, domain, cut_out=False))  # the whole frame (--no-cut-out)
            if channels == 1:
                from ..vision.segmentation import segment_product

                alpha = segment_product(view)
                images.append(model_input(item.replace(alpha=alpha), domain))
                for _ in range(sub_crops):
                    a, b, c, d = _random_box(view.shape[0], view.shape[1], rng, 0.3)
                    crop = ImageItem(np.ascontiguousarray(view[a:c, b:d]), alpha=np.ascontiguousarray(alpha[a:c, b:d]))
                    images.append(model_input(crop, domain))
            else:
                for _ in range(sub_crops):
                    a, b, c, d = _random_box(view.shape[0], view.shape[1], rng, 0.3)
                    images.append(model_input(ImageItem(np.ascontiguousarray(view[a:c, b:d])), domain, cut_out=False))
        bar.update(1)
    for path in stamps:
        item = load_image(path)
        images.append(model_input(item, domain))  # its own alpha: the cut-out path
        bar.update(1)
    bar.close()
    stacked = np.stack([im if im.ndim == 3 else im[:, :, None] for im in images]).transpose(0, 3, 1, 2)
    info = {
        "count": int(len(stacked)),
        "photographs": len(photos),
        "stamps": len(stamps),
        "sources": [f"{s.package} ({s.folder}; {s.licence})" for s in OUTLIER_SOURCES],
        "held_out": {"wallpapers (the samples' sources)": list(HELD_OUT_WALLPAPERS),
                     "stamps": f"every {STAMP_HOLD_OUT}th by the sha1 of its path (evaluation)"},
        "excluded_folders": list(exclude_folders),
        "excluded_words": sorted(exclude_words),
        "build_version": BUILD_VERSION,
        "seed": seed,
        **({"limit": limit} if limit is not None else {}),
    }
    return np.ascontiguousarray(stacked), info


def load_or_build_outliers(cache: str | Path, **options: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """``build_outliers(**options)``, kept in ``cache`` (an .npz) and reused while the options are the same."""
    import json

    cache = Path(cache)
    key = json.dumps({k: (sorted(v) if isinstance(v, (set, tuple, list)) else v) for k, v in options.items() if k != "progress"},
                     sort_keys=True) + f"|v{BUILD_VERSION}"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            if str(stored["key"]) == key:
                return stored["images"], json.loads(str(stored["info"]))
    images, info = build_outliers(**options)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez_compressed(tmp, images=images, key=np.array(key), info=np.array(json.dumps(info)))
    tmp.replace(cache)
    return images, info


class OutlierMix:
    """A classification dataset whose batches also carry outliers, labelled -1.

    ``get_batch(indices)`` gives the base images at ``indices`` followed by ``round(ratio * len(indices))``
    outliers drawn with a generator seeded by the indices (a resumed run draws the same ones); the Trainer's
    augmentation then applies to both. ``len`` and ``class_names`` are the base dataset's.
    """

    def __init__(self, base: Any, outliers: np.ndarray | torch.Tensor, *, ratio: float = 0.5) -> None:
        outliers = torch.as_tensor(np.asarray(outliers))
        if outliers.ndim != 4 or outliers.dtype != torch.uint8 or len(outliers) == 0:
            raise UsageError(f"outliers must be a non-empty uint8 N×C×H×W array; got {tuple(outliers.shape)} {outliers.dtype}")
        if tuple(outliers.shape[1:]) != tuple(base.images.shape[1:]):
            raise UsageError(f"outliers of shape {tuple(outliers.shape[1:])} do not fit images of shape {tuple(base.images.shape[1:])}")
        if ratio <= 0:
            raise UsageError(f"ratio must be positive; got {ratio}")
        self.base, self.outliers, self.ratio = base, outliers, ratio
        self.class_names = base.class_names
        self.labels = base.labels

    def __len__(self) -> int:
        return len(self.base)

    def get_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.base.get_batch(indices)
        n = max(1, round(self.ratio * len(indices)))
        g = torch.Generator().manual_seed(int(indices.long().sum()) * 1_000_003 + int(indices[0]))
        pick = torch.randint(0, len(self.outliers), (n,), generator=g)
        x_out = self.outliers[pick].float().div_(255.0)
        return torch.cat([x, x_out]), torch.cat([y, torch.full((n,), -1, dtype=y.dtype)])


def outlier_exposure_loss(weight: float = 0.5, *, label_smoothing: float = 0.0):
    """Loss on ``(images, labels)`` where label -1 marks an outlier: cross-entropy on the others plus
    ``weight`` × the cross-entropy from each outlier's softmax to the uniform distribution."""

    def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
        x, y = batch
        logits = model(x).float()
        known = y >= 0
        loss = nn.functional.cross_entropy(logits[known], y[known], label_smoothing=label_smoothing)
        if (~known).any():
            loss = loss + weight * -logits[~known].log_softmax(1).mean(1).mean()
        return loss

    return loss_fn


@torch.no_grad()
def ood_threshold(model: nn.Module, data: Any, *, keep: float = 0.98, batch_size: int = 500) -> dict[str, Any]:
    """The score threshold that keeps at least ``keep`` of ``data`` (in-distribution validation images) known.

    The score is what ``classify`` computes: the largest softmax probability, averaged with the mirror image.
    """
    from ..understand.classify import OOD_SCORE, ood_scores

    if not 0 < keep < 1:
        raise UsageError(f"keep must be between 0 and 1; got {keep}")
    from .datasets import get_batch

    model.eval()
    scores = torch.cat([ood_scores(model, get_batch(data, torch.arange(i, min(i + batch_size, len(data))))[0])
                        for i in range(0, len(data), batch_size)])
    ordered = scores.sort().values
    threshold = math.floor(float(ordered[int(np.floor((1 - keep) * len(ordered)))]) * 1e6) / 1e6  # never above a kept score
    return {"score": OOD_SCORE, "threshold": threshold, "keep": keep,
            "val_kept": float((scores >= threshold).float().mean()), "val_size": int(len(scores))}
