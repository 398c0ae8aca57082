"""Training and evaluation photographs for the restoration models, and synthetic degradations.

Everything here is built from photographs that are already on the machine; nothing is downloaded.

Sources (each file's origin and licence is in ``PHOTOS`` below and in docs/restoration.md):

- scikit-image's bundled colour photographs (inside the ``scikit-image`` wheel, a dev dependency);
- scikit-learn's two sample images (``china.jpg``, ``flower.jpg``; CC-BY 2.0, inside the wheel);
- the photographs among Debian's ``plasma-workspace-wallpapers`` (``/usr/share/wallpapers``;
  renders and artwork are left out). Install them with
  ``apt-get install plasma-workspace-wallpapers`` (``make bench`` does);
- the twelve photographs of Debian's ``mate-backgrounds`` (``/usr/share/backgrounds/mate/nature``;
  GPL-2+), training photos of the second collection only (see ``restoration_photos``);
- the five photographs of Debian's ``palapeli-data`` (``/usr/share/palapeli/collection``; public
  domain or GNU FDL, each named below), training photos of the third collection only. The third
  collection also brings synthetic product shots (``scenes``), which the repair data adds.

The repository's ``samples/`` are crops of these same sources (see samples/SOURCES.md), so they are
not listed separately: a sample whose source is held out is held out with it.

The split is written down here and never computed: ``EVAL_NAMES`` are held out, every other photo is
for training. ``restoration_photos("train")`` and ``restoration_photos("eval")`` never share a source.

Degradations take and return RGB ``HxWx3`` arrays: ``float32`` in 0..1 for the noise and blur,
``uint8`` for JPEG (which is defined on 8-bit pixels). ``degrade_for_denoising`` is the mix the
denoiser is trained on.

    photos = [load_photo(p, max_side=1024) for p in restoration_photos("train")]
    rng = np.random.default_rng(0)
    clean = random_patches(photos, size=64, count=32, rng=rng)       # (32, 64, 64, 3) uint8
    noisy = add_gaussian_noise(to_float(clean), 25 / 255, rng)
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from ..errors import UsageError

WALLPAPERS_DIR = Path("/usr/share/wallpapers")
WALLPAPER_PACKAGE = "plasma-workspace-wallpapers"
MATE_DIR = Path("/usr/share/backgrounds/mate/nature")
MATE_PACKAGE = "mate-backgrounds"
PALAPELI_DIR = Path("/usr/share/palapeli/collection")
PALAPELI_PACKAGE = "palapeli-data"
COLLECTIONS = (1, 2, 3)
# Photographs that are plain files in a Debian package's folder: origin -> (folder, package, collection).
_PACKAGE_FOLDERS = {"mate": (MATE_DIR, MATE_PACKAGE, 2), "palapeli": (PALAPELI_DIR, PALAPELI_PACKAGE, 3)}

Split = Literal["train", "eval"]


@dataclass(frozen=True)
class PhotoSource:
    """One photograph: where it is on disk and who made it.

    ``origin`` is ``"skimage"`` (a file in ``skimage/data/``), ``"sklearn"`` (a file in
    ``sklearn/datasets/images/``), ``"wallpaper"`` (a folder under ``/usr/share/wallpapers``,
    of which the largest image is used), ``"mate"`` (a file in ``/usr/share/backgrounds/mate/nature``)
    or ``"palapeli"`` (a file in ``/usr/share/palapeli/collection``).
    ``product_like`` marks photos of one object on a plain or simple background, the kind of
    picture this project exists for. ``collection`` is the set the photo arrived with (1: the
    first eighteen; 2: the MATE photographs, added for the defect detector; 3: the Palapeli
    photographs, added with the product scenes).
    """

    name: str
    origin: Literal["skimage", "sklearn", "wallpaper", "mate", "palapeli"]
    file: str
    author: str
    licence: str
    description: str
    product_like: bool = False

    @property
    def collection(self) -> int:
        return _PACKAGE_FOLDERS[self.origin][2] if self.origin in _PACKAGE_FOLDERS else 1

    def _missing_package(self, package: str, path: Path) -> UsageError:
        return UsageError(f"the photograph {self.name!r} needs the Debian package {package} "
                          f"({path} is missing); install it with: apt-get install {package}")

    def path(self) -> Path:
        """The file on disk; raises ``UsageError`` saying what to install when it is missing."""
        if self.origin in _PACKAGE_FOLDERS:
            folder, package, _collection = _PACKAGE_FOLDERS[self.origin]
            path = folder / self.file
            if not path.is_file():
                raise self._missing_package(package, path)
            return path
        if self.origin == "wallpaper":
            folder = WALLPAPERS_DIR / self.file / "contents" / "images"
            files = sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png")) if folder.is_dir() else []
            if not files:
                raise self._missing_package(WALLPAPER_PACKAGE, folder)
            return max(files, key=_pixel_count_from_name)
        package = {"skimage": "skimage", "sklearn": "sklearn"}[self.origin]
        sub = {"skimage": "data", "sklearn": "datasets/images"}[self.origin]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            pip_name = {"skimage": "scikit-image", "sklearn": "scikit-learn"}[self.origin]
            raise UsageError(
                f"the photograph {self.name!r} ships inside the {pip_name} wheel, which is not installed; "
                f"install the dev dependencies: pip install -e '.[dev]'"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / sub / self.file
        if not path.is_file():
            raise UsageError(f"the photograph {self.name!r} is missing from the installed {package} ({path}); reinstall it")
        return path


def _pixel_count_from_name(path: Path) -> int:
    """Wallpaper files are named ``WIDTHxHEIGHT.ext``; pick the biggest."""
    try:
        width, height = path.stem.split("x")
        return int(width) * int(height)
    except ValueError:
        return 0


_KDE = "LGPL-3.0 (metadata.json); package GPL-2+ (Debian copyright)"
_MATE = "GPL-2+ (Debian mate-backgrounds copyright)"
_PALAPELI = "(the .desktop file beside it in palapeli-data)"

# Every photograph the restoration models may see. Renders, paintings and artwork among the
# wallpapers (Altai, Autumn, Canopee, Cascade, Cluster, Elarun, Flow, FlyingKonqui, Honeywave,
# IceCold, Kay, Kokkini, MilkyWay, Opal, PastelHills, Patak, SafeLanding, Shell, Volna) are left
# out, as are scikit-image's microscopy, astronomy and synthetic images.
PHOTOS: tuple[PhotoSource, ...] = (
    PhotoSource("astronaut", "skimage", "astronaut.png", "NASA (Eileen Collins)", "public domain",
                "portrait of an astronaut with a flag; skin, fabric, fine print"),
    PhotoSource("coffee", "skimage", "coffee.png", "Rachel Michetti, courtesy of Pikolo Espresso Bar", "CC0",
                "espresso cup on a saucer on a wooden table", product_like=True),
    PhotoSource("chelsea", "skimage", "chelsea.png", "Stefan van der Walt", "CC0",
                "a cat's head: fur and whiskers"),
    PhotoSource("rocket", "skimage", "rocket.jpg", "SpaceX", "public domain",
                "Falcon 9 on the launch pad against a blue sky", product_like=True),
    PhotoSource("motorcycle", "skimage", "motorcycle_left.png", "Middlebury stereo dataset (Scharstein et al.)",
                "free for research use, redistributed with scikit-image", "a motorcycle in a cluttered workshop"),
    PhotoSource("china", "sklearn", "china.jpg", "danielbuechele (Flickr)", "CC-BY-2.0",
                "a Chinese temple roof against trees"),
    PhotoSource("flower", "sklearn", "flower.jpg", "vultilion (Flickr)", "CC-BY-2.0",
                "a yellow flower close-up, blurred background", product_like=True),
    PhotoSource("by_the_water", "wallpaper", "BytheWater", "Maciej Wiklo", _KDE, "a wooden deck by a lake"),
    PhotoSource("cold_ripple", "wallpaper", "ColdRipple", "Risto Saukonpää", _KDE, "a jetty in fog, grey water"),
    PhotoSource("colorful_cups", "wallpaper", "ColorfulCups", "Dmitri Popov", _KDE,
                "many coloured cups on a shelf", product_like=True),
    PhotoSource("darkest_hour", "wallpaper", "DarkestHour", "Risto Saukonpää", _KDE, "a lake at dusk, islands"),
    PhotoSource("evening_glow", "wallpaper", "EveningGlow", "Ian Hex", _KDE, "rowing boats on a pebble shore"),
    PhotoSource("fallen_leaf", "wallpaper", "FallenLeaf", "Martin Klapetek", _KDE, "a maple leaf on leaves and grass"),
    PhotoSource("grey", "wallpaper", "Grey", "Sigi Sagi", _KDE, "wavy facade of a building, black and white"),
    PhotoSource("kite", "wallpaper", "Kite", "Risto Saukonpää", _KDE,
                "a rainbow kite against a blue sky", product_like=True),
    PhotoSource("one_stands_out", "wallpaper", "OneStandsOut", "Risto Saukonpää", _KDE, "moss sprouts, one orange"),
    PhotoSource("path", "wallpaper", "Path", "Risto Saukonpää", _KDE, "a path through a pine forest"),
    PhotoSource("summer_1am", "wallpaper", "summer_1am", "Risto Saukonpää", _KDE, "a lake at night, reeds"),
    # The second collection: Debian's mate-backgrounds, nature/ (authors from its copyright file).
    PhotoSource("aqua", "mate", "Aqua.jpg", "Charles Barbin", _MATE, "a water drop splashing, grey"),
    PhotoSource("blinds", "mate", "Blinds.jpg", "Lennart Poettering, Andrea Cimitan", _MATE,
                "a green leaf's veins close-up"),
    PhotoSource("dune", "mate", "Dune.jpg", "Marco Cogoni, Hylke Bons", _MATE, "dune grass against the sea"),
    PhotoSource("fresh_flower", "mate", "FreshFlower.jpg", "Jens Ansorg", _MATE, "an orange flower's petals close-up"),
    PhotoSource("garden", "mate", "Garden.jpg", "Charles Barbin", _MATE, "a red flower, blurred garden behind",
                product_like=True),
    PhotoSource("green_meadow", "mate", "GreenMeadow.jpg", "Timothy Schellhase, Lapo Calamandrei", _MATE,
                "dense green grass blades"),
    PhotoSource("lady_bird", "mate", "LadyBird.jpg", "Charles Barbin", _MATE, "a ladybird on a stem among small flowers"),
    PhotoSource("rain_drops", "mate", "RainDrops.jpg", "blackcombwhistler07", _MATE, "rain drops on leaves"),
    PhotoSource("storm", "mate", "Storm.jpg", "Sergey Nazarov", _MATE, "storm clouds over a road"),
    PhotoSource("two_wings", "mate", "TwoWings.jpg", "Charles Barbin, Hylke Bons", _MATE,
                "dandelion seeds against a blurred background", product_like=True),
    PhotoSource("wood", "mate", "Wood.jpg", "Jean-François Fortin Tam", _MATE,
                "weathered wooden planks, shallow focus"),
    PhotoSource("yellow_flower", "mate", "YellowFlower.jpg", "Charles Barbin", _MATE, "a yellow flower close-up",
                product_like=True),
    # The third collection: Debian's palapeli-data puzzle photographs (author and licence from each
    # photo's .desktop file).
    PhotoSource("castle", "palapeli", "castle-maintenon.jpg", "Eric Pouhier", f"GNU FDL {_PALAPELI}",
                "the castle of Maintenon: stone, roofs, a moat"),
    PhotoSource("bridge", "palapeli", "cincinnati-bridge.jpg", "Derek Jensen", f"public domain {_PALAPELI}",
                "the Roebling suspension bridge: cables, a river"),
    PhotoSource("citrus_fruits", "palapeli", "citrus-fruits.jpg", "US Department of Agriculture",
                f"public domain {_PALAPELI}", "whole and cut citrus fruits: glossy rims and pulp", product_like=True),
    PhotoSource("honey_bee", "palapeli", "european-honey-bee.jpg", "John Severns", f"public domain {_PALAPELI}",
                "a honey bee on a flower, close-up"),
    PhotoSource("chameleon", "palapeli", "panther-chameleon-female.jpg", "B. Navez and others", f"GNU FDL {_PALAPELI}",
                "a chameleon on a branch: scales, blurred background"),
)

# The held-out evaluation photographs: never used in training. Four are product-like (one
# object on a simple background: the cup, the cups, the kite, the flower close-up on a blurred
# background), one is a portrait, one dense texture (a forest). samples/coffee_cup.jpg,
# samples/colorful_cups.jpg and samples/kite_blue_sky.jpg are crops of held-out photos.
EVAL_NAMES: tuple[str, ...] = ("astronaut", "coffee", "flower", "colorful_cups", "kite", "path")


def restoration_photos(split: Split, *, collection: int = 1) -> list[PhotoSource]:
    """The photographs of ``split`` (``"train"`` or ``"eval"``), in a fixed order.

    The split is the fixed list ``EVAL_NAMES``; training gets every other photograph of the
    collections up to ``collection``. The denoiser and the upscaler were trained on collection 1;
    the defect detector on collections 1 and 2, then 1 to 3. Every held-out photo is in collection 1, so the
    evaluation split is the same for every collection.
    """
    if collection not in COLLECTIONS:
        raise UsageError(f"unknown photo collection {collection!r}; use one of {', '.join(map(str, COLLECTIONS))}")
    if split == "eval":
        return [p for p in PHOTOS if p.name in EVAL_NAMES]
    if split == "train":
        return [p for p in PHOTOS if p.name not in EVAL_NAMES and p.collection <= collection]
    raise UsageError(f"unknown split {split!r}; use 'train' or 'eval'")


def photo_source(name: str) -> PhotoSource:
    for p in PHOTOS:
        if p.name == name:
            return p
    raise UsageError(f"unknown photograph {name!r}; known: {', '.join(p.name for p in PHOTOS)}")


def load_photo(source: PhotoSource, *, max_side: int | None = None) -> np.ndarray:
    """The photograph as RGB, HxWx3, uint8; shrunk (area filter) so its longer side is at most
    ``max_side``. Shrinking large wallpapers also averages away their own noise and JPEG
    artefacts, which makes them cleaner training targets."""
    path = source.path()
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UsageError(f"cannot read the photograph {source.name!r} at {path}; reinstall its package")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if max_side is not None:
        if max_side < 16:
            raise UsageError(f"max_side must be at least 16; got {max_side}")
        scale = max_side / max(rgb.shape[:2])
        if scale < 1.0:
            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def load_photos(split: Split, *, max_side: int | None = None) -> list[np.ndarray]:
    return [load_photo(p, max_side=max_side) for p in restoration_photos(split)]


def random_patches(
    photos: list[np.ndarray], size: int, count: int, rng: np.random.Generator, *, augment: bool = True
) -> np.ndarray:
    """``count`` random ``size`` x ``size`` crops, as ``(count, size, size, 3)`` uint8.

    A photo is drawn with probability proportional to its pixel count (every pixel is equally
    likely), then a uniform crop position; with ``augment`` each crop also gets one of the eight
    flips/rotations. Deterministic for a given ``rng`` state.
    """
    usable = [p for p in photos if p.shape[0] >= size and p.shape[1] >= size]
    if not usable:
        raise UsageError(f"no photo is at least {size}x{size} pixels; use smaller patches or larger photos")
    if count < 0:
        raise UsageError(f"count must be >= 0; got {count}")
    areas = np.array([p.shape[0] * p.shape[1] for p in usable], np.float64)
    choice = rng.choice(len(usable), size=count, p=areas / areas.sum())
    out = np.empty((count, size, size, 3), np.uint8)
    for i, k in enumerate(choice):
        photo = usable[k]
        y = int(rng.integers(0, photo.shape[0] - size + 1))
        x = int(rng.integers(0, photo.shape[1] - size + 1))
        patch = photo[y : y + size, x : x + size]
        if augment:
            code = int(rng.integers(0, 8))
            patch = np.rot90(patch, code % 4)
            if code >= 4:
                patch = patch[:, ::-1]
        out[i] = patch
    return out


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` crop (the whole side where the image is smaller)."""
    h, w = image.shape[:2]
    th, tw = min(size, h), min(size, w)
    y, x = (h - th) // 2, (w - tw) // 2
    return np.ascontiguousarray(image[y : y + th, x : x + tw])


def eval_crops(size: int = 256, *, max_side: int = 768) -> dict[str, np.ndarray]:
    """The held-out photographs, each shrunk to ``max_side`` and centre-cropped to ``size``:
    the fixed benchmark images (``{name: RGB uint8}``)."""
    return {p.name: center_crop(load_photo(p, max_side=max_side), size) for p in restoration_photos("eval")}


# ---- degradations -------------------------------------------------------------------------


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 0..1 (any shape)."""
    return pixels.astype(np.float32) / 255.0


def to_uint8(values: np.ndarray) -> np.ndarray:
    """float 0..1 -> uint8 0..255, rounded and clipped (any shape)."""
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def add_gaussian_noise(image: np.ndarray, sigma: float | np.ndarray, rng: np.random.Generator, *, clip: bool = True) -> np.ndarray:
    """``image`` (float 0..1) plus white Gaussian noise of std ``sigma`` (0..1 units; a scalar or
    one value per leading batch item), independent per pixel and channel; clipped to 0..1 unless
    ``clip`` is False (a real camera's pixels are clipped)."""
    sigma = np.asarray(sigma, np.float32)
    if np.any(sigma < 0):
        raise UsageError("sigma must be >= 0")
    if sigma.ndim == 1:
        sigma = sigma.reshape((-1,) + (1,) * (image.ndim - 1))
    noisy = image + rng.standard_normal(image.shape, dtype=np.float32) * sigma
    return np.clip(noisy, 0.0, 1.0) if clip else noisy.astype(np.float32)


def add_poisson_noise(image: np.ndarray, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise: each value becomes ``Poisson(value * peak) / peak`` (float 0..1 in and out).
    ``peak`` is the photon count of a full-white pixel: lower is noisier (at mid-grey the std is
    ``sqrt(0.5 / peak)``; peak 100 is about 18/255)."""
    if peak <= 0:
        raise UsageError(f"peak must be > 0; got {peak}")
    return np.clip(rng.poisson(np.clip(image, 0, 1) * peak).astype(np.float32) / peak, 0.0, 1.0)


def poisson_sigma(peak: float) -> float:
    """The std of Poisson noise at mid-grey (0..1 units) for ``peak``: an equivalent Gaussian sigma."""
    return float(np.sqrt(0.5 / peak))


def jpeg_compress(pixels: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip RGB uint8 ``pixels`` (HxWx3) through JPEG at ``quality`` (1..100, 4:2:0 chroma)."""
    if not 1 <= int(quality) <= 100:
        raise UsageError(f"JPEG quality must be 1..100; got {quality}")
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise UsageError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of std ``sigma`` pixels (HxWxC, any dtype OpenCV takes); 0 returns a copy."""
    if sigma < 0:
        raise UsageError(f"blur sigma must be >= 0; got {sigma}")
    if sigma == 0:
        return image.copy()
    return cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)


def downscale(pixels: np.ndarray, scale: int, *, method: Literal["bicubic", "area"] = "bicubic") -> np.ndarray:
    """Shrink HxWxC ``pixels`` by an integer ``scale`` (the image is first cropped to a multiple of
    ``scale``). ``bicubic`` (with antialiasing, like MATLAB's ``imresize``, the super-resolution
    convention) or ``area`` (box average)."""
    if scale < 1:
        raise UsageError(f"scale must be >= 1; got {scale}")
    h, w = (pixels.shape[0] // scale) * scale, (pixels.shape[1] // scale) * scale
    if h == 0 or w == 0:
        raise UsageError(f"a {pixels.shape[1]}x{pixels.shape[0]} image is too small to shrink by {scale}")
    pixels = pixels[:h, :w]
    if scale == 1:
        return pixels.copy()
    if method == "area":
        return cv2.resize(pixels, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
    if method != "bicubic":
        raise UsageError(f"unknown downscale method {method!r}; use bicubic or area")
    # Antialiased bicubic: blur with the bicubic kernel widened by ``scale`` = Gaussian of about
    # 0.4 * scale px before sampling; close to MATLAB's imresize(..., 1/scale).
    blurred = gaussian_blur(pixels.astype(np.float32), 0.4 * scale)
    small = cv2.resize(blurred, (w // scale, h // scale), interpolation=cv2.INTER_CUBIC)
    return np.clip(np.rint(small), 0, 255).astype(np.uint8) if pixels.dtype == np.uint8 else small


def degrade_for_denoising(
    clean: np.ndarray, rng: np.random.Generator, *, max_sigma: float = 55.0, jpeg_share: float = 0.2, poisson_share: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """The denoiser's training mix on a batch of clean patches ``(N, H, W, 3)`` uint8.

    Each patch gets Gaussian noise with sigma uniform in 0..``max_sigma`` levels, or (a
    ``poisson_share`` of them) Poisson noise of the same mid-grey std; then a ``jpeg_share`` of the
    patches is re-saved as JPEG at quality 60..95 (noise baked into JPEG, as a phone does).
    The noisy patch is clipped and rounded to 8 bits. Returns ``(noisy float32 0..1, sigma in
    0..1 units per patch)``; the sigma is what the denoiser is told.
    """
    n = clean.shape[0]
    sigmas = rng.uniform(0.0, max_sigma, size=n).astype(np.float32) / 255.0
    images = to_float(clean)
    out = np.empty_like(images)
    for i in range(n):
        if rng.random() < poisson_share and sigmas[i] > 1e-3:
            noisy = add_poisson_noise(images[i], 0.5 / float(sigmas[i]) ** 2, rng)
        else:
            noisy = add_gaussian_noise(images[i], float(sigmas[i]), rng)
        noisy_u8 = to_uint8(noisy)
        if rng.random() < jpeg_share:
            noisy_u8 = jpeg_compress(noisy_u8, int(rng.integers(60, 96)))
        out[i] = to_float(noisy_u8)
    return out, sigmas


def degrade_for_upscaling(clean: np.ndarray, scale: int, rng: np.random.Generator, *, jpeg_share: float = 0.0) -> np.ndarray:
    """Low-resolution inputs for the upscaler: each patch ``(N, H, W, 3)`` uint8 shrunk by
    ``scale`` (antialiased bicubic), a ``jpeg_share`` of them re-saved as JPEG q75..95.
    Returns ``(N, H/scale, W/scale, 3)`` uint8."""
    out = []
    for patch in clean:
        small = downscale(patch, scale)
        if jpeg_share and rng.random() < jpeg_share:
            small = jpeg_compress(small, int(rng.integers(75, 96)))
        out.append(small)
    return np.stack(out)
