"""The noise level of a photo, measured from the photo itself.

``estimate_noise_sigma`` gives the standard deviation of additive white noise in 0..255 levels
(Immerkaer's method with a robust median). It sets the denoisers' strength (``ops.denoise``) and
is one of the quality figures (``understand.quality``). About 10 ms per megapixel on one core.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_rgb

# Immerkaer's noise kernel: the difference of two Laplacians, blind to any locally planar
# (and most smooth) signal. Its response to white noise of std sigma has std 6 * sigma.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_KERNEL_NORM = 6.0
_MAD_TO_SIGMA = 1.0 / 0.6744897501960817  # median(|N(0, 1)|)
_MAX_RESPONSES = 1_000_000


def estimate_noise_sigma(pixels: np.ndarray) -> float:
    """Standard deviation (in 0..255 levels) of additive white noise per channel, estimated blind.

    pixels: RGB, HxWx3, uint8, at least 3x3. Each channel is filtered with Immerkaer's
    3x3 kernel, which cancels smooth image content, and the noise level is read from the
    median absolute response (robust to the edges and texture that remain), averaged over the
    channels. On Gaussian noise over a smooth image it is within a few percent of the truth;
    strong fine texture reads as extra noise. A clean smooth 8-bit image gives well under 1.
    """
    check_rgb(pixels)
    if pixels.shape[0] < 3 or pixels.shape[1] < 3:
        raise UsageError(f"estimating the noise needs at least 3x3 pixels; got {pixels.shape[1]}x{pixels.shape[0]}")
    # Integer responses (|r| <= 16 * 255 fits int16); only interior ones: the border would see
    # reflected, not real, neighbours.
    response = cv2.filter2D(pixels, cv2.CV_16S, _NOISE_KERNEL)[1:-1, 1:-1]
    step = max(1, int(math.sqrt(response.shape[0] * response.shape[1] / _MAX_RESPONSES)))
    magnitudes = np.abs(response[::step, ::step].reshape(-1, 3))
    sigmas = [_grouped_median(magnitudes[:, c]) * _MAD_TO_SIGMA / _KERNEL_NORM for c in range(3)]
    return float(np.mean(sigmas))


def _grouped_median(values: np.ndarray) -> float:
    """Median of non-negative integers that are rounded continuous values, interpolated within its bin.

    A plain median of integers is coarse (a noise sigma of 2 has a median |response| near 8, so
    one step is 12%); spreading each bin's count evenly over the values that round to it is not.
    """
    counts = np.bincount(values.astype(np.intp))
    cumulative = np.cumsum(counts)
    half = values.size / 2.0
    k = int(np.searchsorted(cumulative, half))
    below = cumulative[k] - counts[k]
    low, width = (0.0, 0.5) if k == 0 else (k - 0.5, 1.0)  # |x| rounds to 0 only from [0, 0.5)
    return low + (half - below) / counts[k] * width
