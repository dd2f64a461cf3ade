"""Image quality and colour metrics used to evaluate recoloring and colorization.

Definitions follow REFERENCES.md section 5 so that numbers are comparable with the papers:
PSNR on uint8 RGB, SSIM with the Gaussian 11x11 window of Wang et al. 2004, CIE76 and CIEDE2000
colour differences, Hasler and Suesstrunk's colourfulness, and Zhang et al.'s AuC on ab errors.
Images follow the package contract: (H, W, 3) float32 sRGB in [0, 1].

>>> image = np.full((16, 16, 3), 0.5, dtype=np.float32)
>>> psnr(image, image)
inf
>>> float(delta_e_ciede2000(image, image).max())
0.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from skimage.color import deltaE_cie76, deltaE_ciede2000
from skimage.metrics import structural_similarity

from colorlab.color import srgb_to_lab

# SSIM's Gaussian window (sigma 1.5, truncated at 3.5 sigma) is 11 pixels wide.
_SSIM_SIGMA = 1.5
_SSIM_WINDOW = 11


def _image(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{name} must be an (H, W, 3) sRGB image, got shape {image.shape}")
    return image


def _same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"the two inputs must have the same shape, got {a.shape} and {b.shape}")


def _image_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _image(a, "a"), _image(b, "b")
    _same_shape(a, b)
    return a, b


def _color_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    _same_shape(a, b)
    if a.ndim == 0 or a.shape[-1] != 3:
        raise ValueError(f"colours must have 3 channels in their last axis, got shape {a.shape}")
    return a, b


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all pixels and channels, on [0, 1] values (range [0, 1])."""
    a, b = _image_pair(a, b)
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, ``20 log10(255 / sqrt(MSE))`` on uint8 RGB.

    Both images are rounded to uint8 first, as the colorization papers measure saved 8-bit
    images; higher is better and identical images (after rounding) give ``inf``.
    """
    a, b = _image_pair(a, b)
    diff = _to_uint8(a).astype(np.float64) - _to_uint8(b).astype(np.float64)
    error = float(np.mean(diff * diff))
    if error == 0.0:
        return math.inf
    return 20.0 * math.log10(255.0 / math.sqrt(error))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity in [-1, 1] (1 for identical images), averaged over the channels.

    Uses the Gaussian 11x11 window with sigma 1.5 and population covariances of Wang et al.
    2004, not scikit-image's default 7x7 uniform window, so values match published tables.
    Both sides must be at least 11 pixels high and wide.
    """
    a, b = _image_pair(a, b)
    if min(a.shape[:2]) < _SSIM_WINDOW:
        raise ValueError(
            f"ssim needs images at least {_SSIM_WINDOW}x{_SSIM_WINDOW} pixels, "
            f"got {a.shape[1]}x{a.shape[0]}"
        )
    return float(
        structural_similarity(
            a,
            b,
            gaussian_weights=True,
            sigma=_SSIM_SIGMA,
            use_sample_covariance=False,
            channel_axis=-1,
            data_range=1.0,
        )
    )


def ssim_lightness(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of the two images' CIELAB lightness (L / 100): structure kept, whatever the colours.

    Recoloring should change colour and nothing else, so this compares an output with its
    source; same window and constants as :func:`ssim`.
    """
    a, b = _image_pair(a, b)
    lightness = [np.repeat(srgb_to_lab(x)[..., :1] / 100, 3, axis=-1) for x in (a, b)]
    return ssim(*lightness)


def delta_e_cie76_lab(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIE76 colour difference (Euclidean distance in Lab) of (..., 3) Lab arrays, shape (...)."""
    lab1, lab2 = _color_pair(lab1, lab2)
    return deltaE_cie76(lab1, lab2, channel_axis=-1)


def delta_e_ciede2000_lab(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of (..., 3) Lab arrays, shape (...); about 1 is just noticeable.

    kL = kC = kH = 1 (graphic arts reference conditions), as in Sharma et al. 2005.
    """
    lab1, lab2 = _color_pair(lab1, lab2)
    return deltaE_ciede2000(lab1, lab2, channel_axis=-1)


def delta_e_cie76(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel CIE76 difference of two sRGB arrays (..., 3) in [0, 1]; shape (...), Lab units."""
    a, b = _color_pair(a, b)
    return delta_e_cie76_lab(srgb_to_lab(a), srgb_to_lab(b))


def delta_e_ciede2000(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 difference of two sRGB arrays (..., 3) in [0, 1]; shape (...).

    Take ``.mean()`` of the map for a single score.
    """
    a, b = _color_pair(a, b)
    return delta_e_ciede2000_lab(srgb_to_lab(a), srgb_to_lab(b))


def colorfulness(image: np.ndarray) -> float:
    """Hasler and Suesstrunk's 2003 colourfulness on 0-255 values; 0 for grey, roughly 0-300.

    With rg = R - G and yb = (R + G) / 2 - B over all pixels,
    CF = sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2). It tells whether a
    colorization is as vivid as real photos, which PSNR cannot.
    """
    rgb = _image(image, "image").astype(np.float64) * 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = (r + g) / 2.0 - b
    spread = math.hypot(float(rg.std()), float(yb.std()))
    offset = math.hypot(float(rg.mean()), float(yb.mean()))
    return spread + 0.3 * offset


def delta_colorfulness(outputs: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> float:
    """|mean colourfulness of outputs - mean colourfulness of references|; 0 is best."""
    if not outputs or not references:
        raise ValueError("delta_colorfulness needs at least one output and one reference image")
    mean_out = float(np.mean([colorfulness(image) for image in outputs]))
    mean_ref = float(np.mean([colorfulness(image) for image in references]))
    return abs(mean_out - mean_ref)


def auc(
    ab_pred: np.ndarray,
    ab_true: np.ndarray,
    weights: np.ndarray | None = None,
    max_threshold: int = 150,
) -> float:
    """Area under the cumulative ab-error curve of Zhang et al. 2016, in [0, 1]; 1 is perfect.

    For each pixel d = ||ab_pred - ab_true|| (Euclidean, Lab units), acc(t) is the (weighted)
    share of pixels with d <= t for integer thresholds t = 0 .. max_threshold, and the result is
    the trapezoid-rule area under acc(t) divided by max_threshold. ``ab_pred`` and ``ab_true``
    have shape (..., 2); ``weights`` (shape (...), non-negative) gives the rebalanced variant,
    e.g. 1 / prior of each pixel's ab bin.
    """
    ab_pred, ab_true = np.asarray(ab_pred), np.asarray(ab_true)
    _same_shape(ab_pred, ab_true)
    if ab_pred.ndim == 0 or ab_pred.shape[-1] != 2:
        raise ValueError(f"ab arrays must have 2 channels in their last axis, got {ab_pred.shape}")
    if not isinstance(max_threshold, int) or max_threshold < 1:
        raise ValueError(f"max_threshold must be a positive integer, got {max_threshold!r}")
    diff = ab_pred.astype(np.float64) - ab_true.astype(np.float64)
    distance = np.sqrt(np.sum(diff * diff, axis=-1))
    if weights is None:
        weights = np.ones_like(distance)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != distance.shape:
        raise ValueError(
            f"weights must have shape {distance.shape} (one per pixel), got {weights.shape}"
        )
    if np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    # For integer t, d <= t exactly when ceil(d) <= t, so one weighted histogram of ceil(d)
    # (errors above max_threshold pooled in the last bin) gives acc(t) by a cumulative sum.
    bins = np.minimum(np.ceil(distance), max_threshold + 1).astype(np.int64)
    counts = np.bincount(bins.ravel(), weights=weights.ravel(), minlength=max_threshold + 2)
    accuracy = np.cumsum(counts)[: max_threshold + 1] / weights.sum()
    return float(np.trapezoid(accuracy) / max_threshold)


def lab_statistics_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mean_a - mean_b|| + ||cov_a - cov_b||_F of the two images' Lab colours; 0 is identical.

    How far apart two images' colour statistics are, whatever their sizes or contents: the
    score a colour transfer (task ``stylize``) should shrink between its output and the style.
    Means in Lab units, covariances (3 x 3, sample covariance over pixels) in Lab units squared,
    so the covariance term dominates for all but near-identical palettes.
    """
    stats = []
    for name, image in (("a", a), ("b", b)):
        lab = srgb_to_lab(_image(image, name)).reshape(-1, 3).astype(np.float64)
        stats.append((lab.mean(axis=0), np.cov(lab.T)))
    (mean_a, cov_a), (mean_b, cov_b) = stats
    return float(np.linalg.norm(mean_a - mean_b) + np.linalg.norm(cov_a - cov_b))
