"""Data for the repair models: photos with synthetic scratches, stains and dust, and their masks.

The photographs and their train/evaluation split are ``restoration_data``'s (``EVAL_NAMES`` are held
out and never seen in training). The training photos are split once more, by name, so the
detector's threshold and the best epoch are chosen on photos the optimiser never saw:

- ``VALIDATION_NAMES`` (training-split photos: two of collection 1, two more of collection 2, one
  of collection 3): validation (threshold, epoch selection) for the models trained on their collection;
- every other training-split photo: the optimiser's data.

From collection 3 on, synthetic product shots (``scenes``: photographed objects on studio
backdrops) join both parts, built from disjoint sets of stamps: ``SCENES_PER_SIDE`` per training
size for fitting, ``VALIDATION_SCENES`` at the validation size for validation.

A whole photo is damaged first (``add_defects`` at ``TRAIN_DENSITY``, so defects have the size they
have on a photo, not on a patch), then patches are cut from it, most of them centred on a defect.
Photos are used at several sizes (``TRAIN_SIDES``) so the models see defects at several scales.

The benchmark (``benchmark_set``) damages the held-out photos, shrunk to 512 px on the longer
side, at ``EVAL_DENSITY`` with fixed seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import torch

from ..errors import UsageError
from ..item import check_rgb
from .restoration_data import load_photo, restoration_photos
from .defects import KINDS, add_defects
from .scenes import scene_photos

# china and evening_glow validate the models trained on collection 1; a model trained on collection
# 2 is validated on all four (lady_bird: thin stems and small flowers; garden: one flower on a
# blurred background, product-like), so its epoch and threshold are chosen on more than two photos;
# collection 3 adds citrus_fruits (glossy rims, the clean structure most mistaken for scratches).
VALIDATION_NAMES: tuple[str, ...] = ("china", "evening_glow", "lady_bird", "garden", "citrus_fruits")
SCENES_FROM_COLLECTION = 3
SCENES_PER_SIDE = 12
VALIDATION_SCENES = 3
VALIDATION_SCENE_SEED = 1000  # validation scenes' seeds start here (their stamps differ anyway)
TRAIN_SIDES: tuple[int, ...] = (384, 512, 768)
TRAIN_DENSITY = 4.0
EVAL_DENSITY = 2.0
EVAL_SIDE = 512
EVAL_SEEDS: tuple[int, ...] = (0, 1)
HOLE_GROW = 1  # px: the repair hole is the defect mask grown by this much (covers the faint fringe)

Part = Literal["fit", "validation"]


def training_photos(part: Part, *, sides: tuple[int, ...] = TRAIN_SIDES, collection: int = 1) -> list[np.ndarray]:
    """The training-split photos of ``part`` ("fit" or "validation") from the photo collections up
    to ``collection`` (``restoration_data.restoration_photos``), each at every size in ``sides``."""
    if part not in ("fit", "validation"):
        raise UsageError(f"part must be 'fit' or 'validation'; got {part!r}")
    sources = [p for p in restoration_photos("train", collection=collection)
               if (p.name in VALIDATION_NAMES) == (part == "validation")]
    photos = [load_photo(p, max_side=side) for p in sources for side in sides]
    if collection >= SCENES_FROM_COLLECTION:
        count, first = (SCENES_PER_SIDE, 0) if part == "fit" else (VALIDATION_SCENES, VALIDATION_SCENE_SEED)
        photos += [scene for _name, scene in scene_photos(part, count, sides, first_seed=first)]
    return photos


def grow(mask: np.ndarray, pixels: int = HOLE_GROW) -> np.ndarray:
    """``mask`` (HxW uint8) dilated by a disk of radius ``pixels``."""
    if pixels <= 0:
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask, kernel)


# photo_jitter's ranges: a photo seen again under other light, on another camera, at another size
JITTER_GAIN = (0.85, 1.15)  # per channel: white balance
JITTER_GAMMA_SIGMA = 0.25  # log-normal exposure curve, clipped to JITTER_GAMMA
JITTER_GAMMA = (0.65, 1.5)
JITTER_CONTRAST = (0.75, 1.25)
JITTER_SATURATION = (0.5, 1.4)
JITTER_SCALE = (0.6, 1.0)  # shrink only: enlarging would soften the photo under sharp synthetic defects


def jitter_photo(photo: np.ndarray, rng: np.random.Generator, *, min_side: int = 1) -> np.ndarray:
    """A variant of a clean photo (RGB uint8): another white balance, exposure, contrast and saturation,
    and shrunk by a random factor as long as its shorter side stays at least ``min_side`` px.

    The detector trained on a hundred photographs learns those photographs' clean structures by
    heart; seen under other light and at other sizes, the same scenes teach it more. The defects are
    drawn afterwards, so they keep their own colours and sizes."""
    check_rgb(photo)
    h, w = photo.shape[:2]
    factor = rng.uniform(*JITTER_SCALE)
    if min(h, w) * factor >= min_side and factor < 0.98:
        photo = cv2.resize(photo, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    out = photo.astype(np.float32) / 255.0
    out *= rng.uniform(*JITTER_GAIN, 3).astype(np.float32)
    gamma = float(np.clip(np.exp(rng.normal(0.0, JITTER_GAMMA_SIGMA)), *JITTER_GAMMA))
    out = np.clip(out, 0.0, 1.0) ** gamma
    mean = float(out.mean())
    out = (out - mean) * rng.uniform(*JITTER_CONTRAST) + mean
    grey = out @ np.array([0.299, 0.587, 0.114], np.float32)
    out = grey[..., None] + (out - grey[..., None]) * rng.uniform(*JITTER_SATURATION)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


@dataclass
class DamagedSample:
    name: str
    seed: int
    clean: np.ndarray
    damaged: np.ndarray
    mask: np.ndarray


def damaged_set(photos: list[tuple[str, np.ndarray]], seeds: tuple[int, ...], density: float,
                kinds: tuple[str, ...] = KINDS) -> list[DamagedSample]:
    out = []
    for k, (name, photo) in enumerate(photos):
        for seed in seeds:
            damaged, mask = add_defects(photo, 10_000 * seed + k, density=density, kinds=kinds)
            out.append(DamagedSample(name, seed, photo, damaged, mask))
    return out


def benchmark_set(*, side: int = EVAL_SIDE, seeds: tuple[int, ...] = EVAL_SEEDS, density: float = EVAL_DENSITY,
                  kinds: tuple[str, ...] = KINDS) -> list[DamagedSample]:
    """The held-out photos (``restoration_data`` eval split) at ``side`` px, damaged with fixed seeds
    (``kinds``: only these defect kinds, e.g. ``("stain",)`` for the per-kind figures)."""
    photos = [(p.name, load_photo(p, max_side=side)) for p in restoration_photos("eval")]
    return damaged_set(photos, seeds, density, kinds)


def validation_set(*, side: int = EVAL_SIDE, seeds: tuple[int, ...] = (0, 1), density: float = EVAL_DENSITY,
                   collection: int = 1) -> list[DamagedSample]:
    """The validation photos of the collections up to ``collection`` (training split, never
    optimised on), damaged like the benchmark."""
    sources = [p for p in restoration_photos("train", collection=collection) if p.name in VALIDATION_NAMES]
    photos = [(p.name, load_photo(p, max_side=side)) for p in sources]
    if collection >= SCENES_FROM_COLLECTION:
        photos += scene_photos("validation", VALIDATION_SCENES, (side,), first_seed=VALIDATION_SCENE_SEED)
    return damaged_set(photos, seeds, density)


def _random_strokes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Free-form holes: thick random strokes, boxes, or a few letters (overlaid text)."""
    mask = np.zeros((size, size), np.uint8)
    kind = rng.random()
    if kind < 0.4:
        for _ in range(int(rng.integers(1, 4))):
            points = np.cumsum(rng.normal(0, size / 6, (int(rng.integers(2, 6)), 2)), 0) + rng.uniform(0, size, 2)
            cv2.polylines(mask, [points.astype(np.int32)], False, 255, int(rng.integers(2, 10)), cv2.LINE_8)
    elif kind < 0.6:
        w, h = rng.integers(3, size // 4, 2)
        x, y = rng.integers(0, size - w), rng.integers(0, size - h)
        mask[y : y + h, x : x + w] = 255
    else:
        letters = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(2, 7))))
        scale = rng.uniform(0.5, 1.4)
        thickness = int(rng.integers(1, 4))
        origin = (int(rng.integers(0, size // 2)), int(rng.integers(size // 4, size)))
        cv2.putText(mask, letters, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness, cv2.LINE_8)
        mask = grow(mask, 1)
    return mask


def _edge_cdf(photo: np.ndarray) -> np.ndarray:
    """The cumulative Sobel edge strength of a photo, flattened and normalised to end at 1."""
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
    strength = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    cdf = np.cumsum(strength.ravel(), dtype=np.float64)
    return cdf / cdf[-1] if cdf[-1] > 0 else np.linspace(0.0, 1.0, cdf.size)


class DamagedPatches:
    """A training set the Trainer can batch: ``get_batch(indices)`` -> (damaged, mask, clean, defect) tensors.

    damaged and clean: N×3×S×S float in [0, 1]; mask: N×1×S×S float (1 = defect or free-form hole);
    defect: N×1×S×S, the synthetic defects alone (their pixels are the damaged photo's). The batch is a
    function of the indices and ``seed`` only (so a resumed run sees the same data). ``length`` is
    the nominal number of samples (one epoch = length / batch size steps). With ``free_form`` a
    share of the patches also gets thick strokes, boxes or letters added to the mask (inpainter
    training: the hole's contents do not matter there, so the mask alone is changed). With
    ``edge_negatives`` that share of the patches not centred on a defect is centred on a strong
    edge of the clean photo instead of anywhere (rims, outlines, fine texture: the clean structure
    a detector mistakes for scratches), drawn with probability proportional to the edge strength.
    With ``photo_jitter`` that share of the photos is changed by ``jitter_photo`` (light, colour,
    size) before it is damaged.
    """

    def __init__(self, photos: list[np.ndarray], *, size: int = 96, length: int = 4096, density: float = TRAIN_DENSITY,
                 photos_per_batch: int = 4, centred_share: float = 0.7, free_form: float = 0.0,
                 edge_negatives: float = 0.0, photo_jitter: float = 0.0, seed: int = 0) -> None:
        usable = [p for p in photos if min(p.shape[:2]) >= size]
        if not usable:
            raise UsageError(f"no training photo is at least {size}x{size} pixels")
        if not 0.0 <= edge_negatives <= 1.0:
            raise UsageError(f"edge_negatives is a share between 0 and 1; got {edge_negatives}")
        if not 0.0 <= photo_jitter <= 1.0:
            raise UsageError(f"photo_jitter is a share between 0 and 1; got {photo_jitter}")
        self.photos, self.size, self.length, self.density = usable, size, length, density
        self.photos_per_batch, self.centred_share, self.free_form, self.seed = photos_per_batch, centred_share, free_form, seed
        self.edge_negatives, self.photo_jitter = edge_negatives, photo_jitter
        self._edges: dict[int, np.ndarray] = {}

    def _edge_cdf(self, index: int) -> np.ndarray:
        """The cumulative edge strength of photo ``index`` (flattened; computed once per photo)."""
        if index not in self._edges:
            self._edges[index] = _edge_cdf(self.photos[index])
        return self._edges[index]

    def __len__(self) -> int:
        return self.length

    def get_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = [int(i) for i in indices]
        rng = np.random.default_rng([self.seed, len(idx), *idx[:8]])
        n, s = len(idx), self.size
        per_photo = -(-n // self.photos_per_batch)
        damaged = np.empty((n, s, s, 3), np.uint8)
        clean = np.empty((n, s, s, 3), np.uint8)
        masks = np.empty((n, s, s), np.uint8)
        defects = np.empty((n, s, s), np.uint8)
        i = 0
        while i < n:
            index = int(rng.integers(len(self.photos)))
            photo = self.photos[index]
            jittered = bool(self.photo_jitter) and rng.random() < self.photo_jitter
            if jittered:
                photo = jitter_photo(photo, rng, min_side=s)
            edges = None  # this photo's edge CDF, computed when a patch first needs it
            bad, mask = add_defects(photo, rng, density=self.density)
            ys, xs = np.nonzero(mask)
            h, w = mask.shape
            for _ in range(min(per_photo, n - i)):
                if len(ys) and rng.random() < self.centred_share:
                    j = int(rng.integers(len(ys)))
                    y = int(np.clip(ys[j] - s // 2 + rng.integers(-s // 4, s // 4 + 1), 0, h - s))
                    x = int(np.clip(xs[j] - s // 2 + rng.integers(-s // 4, s // 4 + 1), 0, w - s))
                elif self.edge_negatives and rng.random() < self.edge_negatives:
                    if edges is None:
                        edges = _edge_cdf(photo) if jittered else self._edge_cdf(index)
                    cy, cx = divmod(int(np.searchsorted(edges, rng.random())), w)
                    y, x = int(np.clip(cy - s // 2, 0, h - s)), int(np.clip(cx - s // 2, 0, w - s))
                else:
                    y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
                code = int(rng.integers(8))
                crops = [a[y : y + s, x : x + s] for a in (bad, photo, mask)]
                crops = [np.rot90(a, code % 4) for a in crops]
                if code >= 4:
                    crops = [a[:, ::-1] for a in crops]
                damaged[i], clean[i], masks[i] = crops
                defects[i] = masks[i]
                if self.free_form and rng.random() < self.free_form:
                    masks[i] = np.maximum(masks[i], _random_strokes(rng, s))
                i += 1
        to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().div_(255)
        as_mask = lambda a: torch.from_numpy(a > 0).float().unsqueeze(1)
        return to_t(damaged), as_mask(masks), to_t(clean), as_mask(defects)
