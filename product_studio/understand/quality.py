"""Image quality scores: sharpness, exposure, noise level and BRISQUE.

- Sharpness: variance of the Laplacian of the grey image at a fixed working size (long side
  512 px, so the figure does not depend on the photo's resolution), measured where the product
  is when a mask is given; ``sharpness_score`` maps it to 0..1 as ``v / (v + 100)`` (0.5 at a
  variance of 100, the usual "blurry below" threshold of this measure).
- Exposure: shares of clipped pixels (grey <= 2 or >= 253) and the mean CIELAB lightness L*
  (0..100), on the product's pixels when a mask is given (a white background is clipped on
  purpose and says nothing about the exposure of the product).
- Noise: ``vision.noise.estimate_noise_sigma`` (Immerkaer), in 0..255 levels.
- BRISQUE (Mittal, Moorthy, Bovik 2012): a no-reference score, about 0 (pristine) to 100 (bad).
  The 36 natural-scene-statistics features are computed here (below), scaled with the range
  file and fed to the support-vector regressor trained on the LIVE database that OpenCV ships
  (Debian package ``opencv-data``: ``brisque_model_live.yml``, ``brisque_range_live.yml``).
  Our OpenCV has no contrib ``quality`` module, so the SVR (RBF kernel) is evaluated in numpy.

BRISQUE features, per scale (the image and its half-size copy), 18 each:
  MSCN coefficients ``(I - mu) / (sigma + 1/255)`` with a 7x7 Gaussian window (sigma 7/6) on the
  grey image in 0..1; an asymmetric generalised Gaussian (AGGD) fit of the MSCN map gives its
  shape and mean variance (2 features); the products of each coefficient with its neighbour in
  four directions (horizontal, vertical, both diagonals) each get an AGGD fit: shape, mean,
  left variance, right variance (4 x 4 features). AGGD shape is found by moment matching on a
  grid of 0.2 .. 10 in steps of 0.001, as in the reference implementation. Paired products use
  the overlapping pixels only (the reference pads with zeros); the difference is negligible.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import ModelError, UsageError
from ..item import check_mask, check_rgb
from ..vision.noise import estimate_noise_sigma

WORK_SIDE = 512  # sharpness is measured at this long side
BRISQUE_SIDE = 768  # BRISQUE is computed on the image shrunk to at most this long side
SHARPNESS_HALF = 100.0  # sharpness_score = v / (v + SHARPNESS_HALF)
CLIP_LOW, CLIP_HIGH = 2, 253
BRISQUE_DIRS = (
    Path(os.environ.get("PRODUCT_STUDIO_BRISQUE_DIR", "/usr/share/opencv4/quality")),
    Path("/usr/share/opencv/quality"),
    Path("/usr/local/share/opencv4/quality"),
)
gamma_fn = np.vectorize(math.gamma, otypes=[np.float64])
_GAMMA_GRID = np.arange(0.2, 10.0, 0.001)
_R_GAMMA = gamma_fn(2.0 / _GAMMA_GRID) ** 2 / (gamma_fn(1.0 / _GAMMA_GRID) * gamma_fn(3.0 / _GAMMA_GRID))


@dataclass(frozen=True)
class Exposure:
    clipped_dark: float  # share of pixels with grey <= 2
    clipped_bright: float  # share of pixels with grey >= 253
    mean_l: float  # mean CIELAB L*, 0..100

    @property
    def verdict(self) -> str:
        if self.clipped_bright > 0.05 or self.mean_l > 85:
            return "overexposed"
        if self.clipped_dark > 0.05 or self.mean_l < 20:
            return "underexposed"
        return "ok"


@dataclass(frozen=True)
class Quality:
    sharpness: float  # variance of the Laplacian at a 512 px long side
    sharpness_score: float  # 0..1
    exposure: Exposure
    noise_sigma: float  # 0..255 levels
    brisque: float | None  # ~0 (pristine) .. 100 (bad); None when the model files are missing

    def to_dict(self) -> dict:
        out = asdict(self)
        out["exposure"]["verdict"] = self.exposure.verdict
        return out


def _grey(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)


def _shrink(image: np.ndarray, side: int, interpolation: int = cv2.INTER_AREA) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=interpolation), scale


def _region(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    check_mask(mask, shape)
    region = mask >= 128
    return region if region.sum() >= 64 else None


def sharpness(pixels: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the grey image at a 512 px long side (higher = sharper).

    With a mask (HxW uint8, 255 = product) it is measured on the product, slightly eroded so the
    product's own outline against the background does not count as detail.
    """
    check_rgb(pixels)
    grey, _ = _shrink(_grey(pixels), WORK_SIDE)
    lap = cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F, ksize=1)
    region = _region(mask, pixels.shape[:2])
    if region is not None:
        small = cv2.resize(region.astype(np.uint8), (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_NEAREST)
        inner = cv2.erode(small, np.ones((5, 5), np.uint8)) > 0
        if inner.sum() >= 64:
            return float(lap[inner].var())
    return float(lap.var())


def sharpness_score(variance: float) -> float:
    """Variance of the Laplacian -> 0..1 (0.5 at 100)."""
    return float(variance / (variance + SHARPNESS_HALF))


def exposure(pixels: np.ndarray, mask: np.ndarray | None = None) -> Exposure:
    """Clipped shares and mean lightness, on the product's pixels when a mask is given."""
    check_rgb(pixels)
    small, _scale = _shrink(pixels, 1024)
    grey = _grey(small)
    lightness = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]
    region = _region(mask, pixels.shape[:2])
    if region is not None:
        sel = cv2.resize(region.astype(np.uint8), (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        if sel.sum() >= 16:
            grey, lightness = grey[sel], lightness[sel]
    return Exposure(
        clipped_dark=round(float(np.mean(grey <= CLIP_LOW)), 4),
        clipped_bright=round(float(np.mean(grey >= CLIP_HIGH)), 4),
        mean_l=round(float(np.mean(lightness)), 2),
    )


# ----------------------------------------------------------------------------------------------
# BRISQUE


def _aggd_fit(x: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian fit by moment matching: (shape, left sigma, right sigma)."""
    x = x.ravel().astype(np.float64)
    neg = x[x < 0]
    pos = x[x > 0]
    left = math.sqrt(float(np.mean(neg * neg))) if len(neg) else 1e-6
    right = math.sqrt(float(np.mean(pos * pos))) if len(pos) else 1e-6
    left, right = max(left, 1e-6), max(right, 1e-6)
    ratio = left / right
    mean_abs = float(np.mean(np.abs(x)))
    mean_sq = float(np.mean(x * x))
    if mean_sq <= 0:
        return float(_GAMMA_GRID[-1]), left, right
    r_hat = mean_abs**2 / mean_sq
    r_norm = r_hat * (ratio**3 + 1.0) * (ratio + 1.0) / (ratio**2 + 1.0) ** 2
    shape = float(_GAMMA_GRID[int(np.argmin(np.abs(_R_GAMMA - r_norm)))])
    return shape, left, right


def _mscn(grey01: np.ndarray) -> np.ndarray:
    mu = cv2.GaussianBlur(grey01, (7, 7), 7.0 / 6.0, borderType=cv2.BORDER_REPLICATE)
    var = cv2.GaussianBlur(grey01 * grey01, (7, 7), 7.0 / 6.0, borderType=cv2.BORDER_REPLICATE) - mu * mu
    return (grey01 - mu) / (np.sqrt(np.maximum(var, 0.0)) + 1.0 / 255.0)


def brisque_features(pixels: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features (float64) of an RGB uint8 image (see the module's docstring)."""
    check_rgb(pixels)
    if min(pixels.shape[:2]) < 16:
        raise UsageError(f"BRISQUE needs at least 16x16 pixels; got {pixels.shape[1]}x{pixels.shape[0]}")
    grey = _grey(pixels).astype(np.float64) / 255.0
    features: list[float] = []
    for scale in range(2):
        if scale:
            h, w = grey.shape
            grey = cv2.resize(grey, (w // 2, h // 2), interpolation=cv2.INTER_CUBIC)
        m = _mscn(grey)
        shape, left, right = _aggd_fit(m)
        features += [shape, (left * left + right * right) / 2.0]
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            h, w = m.shape
            x0, x1 = max(0, -dx), w - max(0, dx)
            a = m[: h - dy, x0:x1]
            b = m[dy:, x0 + dx : x1 + dx]
            product = a * b
            shape, left, right = _aggd_fit(product)
            mean = (right - left) * (gamma_fn(2.0 / shape) / gamma_fn(1.0 / shape)) * math.sqrt(
                gamma_fn(1.0 / shape) / gamma_fn(3.0 / shape)
            )
            features += [shape, mean, left * left, right * right]
    return np.array(features, np.float64)


@dataclass(frozen=True)
class BrisqueModel:
    """An RBF support-vector regressor and the feature range it was trained on."""

    support_vectors: np.ndarray  # (n, 36)
    coefficients: np.ndarray  # (n,)  alpha_i (signed)
    rho: float
    gamma: float
    feature_min: np.ndarray  # (36,)
    feature_max: np.ndarray  # (36,)
    source: str

    def predict(self, features: np.ndarray) -> float:
        """Scale to [-1, 1] with the range, then ``sum_i alpha_i exp(-gamma |x - sv_i|^2) - rho``."""
        x = -1.0 + 2.0 * (features - self.feature_min) / (self.feature_max - self.feature_min)
        d2 = np.sum((self.support_vectors - x) ** 2, axis=1)
        return float(self.coefficients @ np.exp(-self.gamma * d2) - self.rho)


def find_brisque_files() -> tuple[Path, Path] | None:
    """(model, range) YAML files of OpenCV's LIVE-trained BRISQUE, or None when not installed."""
    for folder in BRISQUE_DIRS:
        model, ranges = folder / "brisque_model_live.yml", folder / "brisque_range_live.yml"
        if model.is_file() and ranges.is_file():
            return model, ranges
    return None


@functools.cache
def load_brisque_model() -> BrisqueModel:
    """Read OpenCV's ``brisque_model_live.yml`` / ``brisque_range_live.yml`` (opencv-data).

    ModelError telling how to install them when they are missing or do not parse.
    """
    files = find_brisque_files()
    if files is None:
        raise ModelError(
            "the BRISQUE model files (brisque_model_live.yml, brisque_range_live.yml) were not found in "
            + ", ".join(str(d) for d in BRISQUE_DIRS)
            + "; install them with `apt-get install opencv-data` or set PRODUCT_STUDIO_BRISQUE_DIR"
        )
    model_path, range_path = files
    try:
        fs = cv2.FileStorage(str(model_path), cv2.FILE_STORAGE_READ)
        svm = fs.getNode("opencv_ml_svm")
        if svm.getNode("svmType").string() != "EPS_SVR" or svm.getNode("kernel").getNode("type").string() != "RBF":
            raise ValueError("not an RBF epsilon-SVR")
        gamma = svm.getNode("kernel").getNode("gamma").real()
        sv_node = svm.getNode("support_vectors")
        vectors = np.array([_seq(sv_node.at(i)) for i in range(sv_node.size())])
        decision = svm.getNode("decision_functions").at(0)
        rho = decision.getNode("rho").real()
        alpha = _seq(decision.getNode("alpha"))
        fs.release()
        rs = cv2.FileStorage(str(range_path), cv2.FILE_STORAGE_READ)
        ranges = rs.getNode("range").mat().astype(np.float64)
        rs.release()
    except (cv2.error, ValueError, AttributeError, IndexError) as exc:
        raise ModelError(f"cannot read the BRISQUE model ({exc}); reinstall opencv-data", path=str(model_path)) from None
    if vectors.ndim != 2 or vectors.shape[1] != 36 or len(alpha) != len(vectors) or ranges.shape != (2, 36):
        raise ModelError(
            f"unexpected BRISQUE model shape: vectors {vectors.shape}, alpha {len(alpha)}, range {ranges.shape}",
            path=str(model_path),
        )
    return BrisqueModel(
        support_vectors=vectors.astype(np.float64),
        coefficients=np.asarray(alpha, np.float64),
        rho=float(rho),
        gamma=float(gamma),
        feature_min=ranges[0],
        feature_max=ranges[1],
        source=str(model_path),
    )


def _seq(node: cv2.FileNode) -> np.ndarray:
    return np.array([node.at(i).real() for i in range(node.size())], np.float64)


def brisque(pixels: np.ndarray, *, max_side: int = BRISQUE_SIDE) -> float:
    """BRISQUE score of an RGB uint8 image: about 0 (pristine) .. 100 (heavily distorted).

    The image is first shrunk (area averaging) to at most ``max_side`` on its long side, the
    scale the LIVE training images had. ModelError when opencv-data is not installed.
    """
    check_rgb(pixels)
    small, _ = _shrink(pixels, max_side)
    return load_brisque_model().predict(brisque_features(small))


def assess_quality(pixels: np.ndarray, mask: np.ndarray | None = None, *, with_brisque: bool = True) -> Quality:
    """Every quality figure at once (see the module's docstring). BRISQUE is None when its model
    files are missing (the other figures do not need them)."""
    check_rgb(pixels)
    variance = sharpness(pixels, mask)
    score = None
    if with_brisque:
        try:
            score = round(brisque(pixels), 2)
        except ModelError:
            score = None
    return Quality(
        sharpness=round(variance, 2),
        sharpness_score=round(sharpness_score(variance), 4),
        exposure=exposure(pixels, mask),
        noise_sigma=round(estimate_noise_sigma(pixels), 3),
        brisque=score,
    )
