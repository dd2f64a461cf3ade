"""Colour transfer: give a content image the colour statistics of a style image.

Four classic ways, from the crudest match to the fullest, all in CIELAB and all plain numpy:

- :func:`reinhard` matches each channel's mean and standard deviation (Reinhard et al. 2001);
- :func:`mkl` matches the mean and the covariance with the linear optimal-transport map (Pitie
  and Kokaram 2007), so correlated colours move together;
- :func:`idt` matches the whole 3-D colour distribution by iterative 1-D matching along random
  axes (Pitie, Kokaram and Dahyot 2005/2007), optionally followed by their regrain;
- :func:`histogram` matches each channel's histogram (``skimage.exposure.match_histograms``).

Each takes two (H, W, 3) float32 sRGB images in [0, 1] of any sizes and returns one of the
content's size. ``strength`` in [0, 1] blends the result with the content in Lab (0 returns the
content itself); ``preserve_lightness`` transfers only a and b, keeping the content's L exactly.
The ``match_*`` functions below are the cores: they work on Lab arrays of shape (..., d), the
colour in the last axis, and are what :func:`transfer_in_lab` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage.exposure import match_histograms

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.errors import InvalidParameterError

RIDGE = 1e-3  # Lab units squared: the least variance assumed, so one-colour images stay finite
IDT_SAMPLE = 65_536  # pixels of each image the IDT mapping is fitted on (then applied to all)


def _image(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidParameterError(f"{name} must be an (H, W, 3) sRGB image, got {image.shape}")
    if image.size == 0:
        raise InvalidParameterError(f"{name} is empty ({image.shape[1]}x{image.shape[0]} pixels)")
    return image


def transfer_in_lab(
    content: np.ndarray,
    style: np.ndarray,
    match: Callable[[np.ndarray, np.ndarray], np.ndarray],
    strength: float = 1.0,
    preserve_lightness: bool = False,
) -> np.ndarray:
    """Run ``match(content_lab, style_lab)`` on an sRGB pair; blend by ``strength``; -> sRGB.

    With ``preserve_lightness`` only the a and b channels are handed to ``match`` (so a 2-D
    distribution is matched, not a 3-D one with L dropped afterwards) and the content's L is
    kept exactly: out-of-gamut results are desaturated toward grey, not clipped.
    """
    content, style = _image(content, "content"), _image(style, "style")
    if not 0 <= strength <= 1:
        raise InvalidParameterError(f"strength must be in [0, 1], got {strength}")
    if strength == 0:  # skip the Lab round trip, which is exact only to float32 precision
        return content.copy()
    content_lab, style_lab = srgb_to_lab(content), srgb_to_lab(style)
    channels = slice(1, 3) if preserve_lightness else slice(0, 3)
    source = content_lab[..., channels]
    moved = match(source, style_lab[..., channels])
    content_lab[..., channels] = source + np.float32(strength) * (moved - source)
    return lab_to_srgb(content_lab, keep_lightness=preserve_lightness)


def match_mean_std(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` (..., d) shifted and scaled per channel to ``target``'s mean and std."""
    axes = tuple(range(source.ndim - 1))
    scale = target.std(axis=axes) / np.maximum(source.std(axis=axes), np.sqrt(RIDGE))
    return (source - source.mean(axis=axes)) * scale + target.mean(axis=axes)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def linear_transport(source_cov: np.ndarray, target_cov: np.ndarray) -> np.ndarray:
    """The symmetric T with T S_s T = S_t that moves points least (linear Monge-Kantorovich).

    T = S_s^-1/2 (S_s^1/2 S_t S_s^1/2)^1/2 S_s^-1/2 (Pitie and Kokaram 2007). A small ridge
    keeps it finite when the source covariance is singular (a grey or one-colour image).
    """
    source_cov = source_cov + RIDGE * np.eye(len(source_cov))
    values, vectors = np.linalg.eigh(source_cov)
    root = (vectors * np.sqrt(values)) @ vectors.T
    inverse_root = (vectors / np.sqrt(values)) @ vectors.T
    return inverse_root @ _sqrtm(root @ target_cov @ root) @ inverse_root


def match_mean_covariance(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` (..., d) moved by the linear OT map onto ``target``'s mean and covariance."""
    points = source.reshape(-1, source.shape[-1]).astype(np.float64)
    goal = target.reshape(-1, target.shape[-1]).astype(np.float64)
    transport = linear_transport(np.cov(points.T, bias=True), np.cov(goal.T, bias=True))
    moved = (points - points.mean(axis=0)) @ transport + goal.mean(axis=0)
    return moved.reshape(source.shape).astype(np.float32)


def _random_rotation(rng: np.random.Generator, dims: int) -> np.ndarray:
    """A uniformly random orthonormal (dims, dims) matrix: QR of a Gaussian, signs fixed."""
    q, r = np.linalg.qr(rng.standard_normal((dims, dims)))
    return q * np.sign(np.diag(r))


def _match_marginal(source: np.ndarray, target: np.ndarray, bins: int) -> tuple:
    """The 1-D CDF-matching map from ``source``'s values to ``target``'s, as a uniform table.

    Returns (low, step, values): the map sends low + i * step to values[i], linear in between.
    """
    low = min(source.min(), target.min())
    step = max(max(source.max(), target.max()) - low, 1e-6) / bins
    edges = low + step * np.arange(bins + 1)
    cdfs = []
    for values in (source, target):
        index = np.minimum((values - low) / step, bins - 1).astype(np.intp)
        cdfs.append(np.concatenate([[0], np.cumsum(np.bincount(index, minlength=bins))]))
    # Empty bins make a CDF flat; a tiny ramp makes it strictly increasing, so invertible.
    ramp = np.arange(bins + 1) / bins * 1e-6
    return low, step, np.interp(cdfs[0] / len(source) + ramp, cdfs[1] / len(target) + ramp, edges)


def _apply_marginal(values: np.ndarray, table: tuple) -> np.ndarray:
    """Evaluate a :func:`_match_marginal` table at ``values``, clamped to its range."""
    low, step, mapped = table
    # Node i's segment as offset + position * slope, so one gather pair does the interpolation.
    slope = np.append(np.diff(mapped), 0)
    offset = (mapped - np.arange(len(mapped)) * slope).astype(np.float32)
    position = (values - np.float32(low)) * np.float32(1 / step)
    np.clip(position, 0, len(mapped) - 1, out=position)
    index = position.astype(np.int32)
    return offset.take(index) + position * slope.astype(np.float32).take(index)


def match_distribution(
    source: np.ndarray, target: np.ndarray, iterations: int = 20, bins: int = 300, seed: int = 0
) -> np.ndarray:
    """``source`` (..., d) moved so its whole colour distribution approaches ``target``'s.

    Iterative distribution transfer (Pitie et al. 2005/2007): each iteration rotates the
    colours into a random orthonormal basis, matches each of the d 1-D marginals to the
    target's by CDF matching over ``bins`` bins, and rotates back. The sequence of maps is
    fitted on at most :data:`IDT_SAMPLE` pixels of each image and then applied to every pixel,
    which keeps a megapixel at about half a second. Deterministic for a given ``seed``.
    """
    dims = source.shape[-1]
    rng = np.random.default_rng(seed)
    points = source.reshape(-1, dims).T.astype(np.float32)  # (d, N): each axis contiguous
    goal = target.reshape(-1, dims).T.astype(np.float32)
    sample, goal = (
        x[:, rng.choice(x.shape[1], IDT_SAMPLE, replace=False)] if x.shape[1] > IDT_SAMPLE else x
        for x in (points, goal)
    )
    basis = np.eye(dims, dtype=np.float32)  # the one `points` and `sample` are written in
    for _ in range(iterations):
        rotation = _random_rotation(rng, dims).astype(np.float32)
        turn = rotation @ basis.T  # straight from the last basis to the new one
        sample, points, turned_goal = turn @ sample, turn @ points, rotation @ goal
        for axis in range(dims):
            table = _match_marginal(sample[axis], turned_goal[axis], bins)
            sample[axis] = _apply_marginal(sample[axis], table)
            points[axis] = _apply_marginal(points[axis], table)
        basis = rotation
    return (basis.T @ points).T.reshape(source.shape)


def _neighbours(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """``x`` shifted by one pixel right, down, left and up, edges repeated."""
    return (
        np.concatenate([x[:, 1:], x[:, -1:]], axis=1),
        np.concatenate([x[1:], x[-1:]], axis=0),
        np.concatenate([x[:, :1], x[:, :-1]], axis=1),
        np.concatenate([x[:1], x[:-1]], axis=0),
    )


def _halve(x: np.ndarray) -> np.ndarray:
    """(H, W, d) -> (ceil(H/2), ceil(W/2), d) by 2x2 means, an odd last row or column repeated."""
    x = np.pad(x, ((0, x.shape[0] % 2), (0, x.shape[1] % 2), (0, 0)), mode="edge")
    return 0.25 * (x[::2, ::2] + x[1::2, ::2] + x[::2, 1::2] + x[1::2, 1::2])


def _double(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bilinear 2x upsampling, the inverse geometry of :func:`_halve`, cut to ``shape``."""
    for axis in (0, 1):
        size = x.shape[axis]
        before = np.take(x, np.r_[0, : size - 1], axis=axis)
        after = np.take(x, np.r_[1:size, size - 1], axis=axis)
        pairs = np.stack([0.75 * x + 0.25 * before, 0.75 * x + 0.25 * after], axis=axis + 1)
        x = pairs.reshape(x.shape[:axis] + (2 * size,) + x.shape[axis + 1 :])
    return x[: shape[0], : shape[1]]


# Jacobi iterations per scale, finest first, as in Pitie's reference implementation.
REGRAIN_ITERATIONS = (4, 4, 16, 32, 64, 128, 128)


def regrain(
    original: np.ndarray, graded: np.ndarray, iterations: tuple[int, ...] = REGRAIN_ITERATIONS
) -> np.ndarray:
    """``graded``'s colours with ``original``'s gradients (Pitie, Kokaram and Dahyot 2007).

    Distribution transfer stretches colours and with them noise and JPEG blocks ("grain").
    This finds the J that minimises sum psi |J - graded|^2 + phi |grad J - grad original|^2
    with phi = 30 / (1 + 10 |grad original|) and psi = min(|grad original| / 5, 1), gradients of
    the lightly blurred original on the paper's 0-255 scale: in flat areas J follows the
    original's (smooth) variation, at edges the graded colours. It is solved coarse to fine
    (``iterations[i]`` damped Jacobi steps at scale 1 / 2^i) in the difference J - original,
    as Pitie's code does. Arrays are (H, W, d) float32 on about a unit range (Lab / 100 here).
    """
    difference = np.zeros_like(original)
    if len(iterations) > 1 and min(original.shape[:2]) > 41:  # the coarse level > 20 px
        smaller = _halve(original)
        coarse = regrain(smaller, _halve(graded), iterations[1:])
        difference = _double(coarse - smaller, original.shape)
    blurred = gaussian_filter(original, sigma=(1, 1, 0), truncate=2.0)
    right, down = _neighbours(blurred)[:2]
    gradient = 255 * np.sqrt(((right - blurred) ** 2 + (down - blurred) ** 2).sum(axis=-1))
    phi = 30 / (1 + 10 * gradient)
    psi = np.minimum(gradient / 5, 1)[..., None]
    weights = [((phi + shifted) / 2)[..., None] for shifted in _neighbours(phi)]
    # Each step: J <- 0.8 * (psi graded + sum_k w_k (J_k - original_k + original)) / total
    # + 0.2 * J, written in the difference J - original, damping 1/5 as in the reference.
    scale = 0.8 / (psi + sum(weights))
    weights = [w * scale for w in weights]
    target = psi * scale * (graded - original)
    for _ in range(iterations[0]):
        neighbours = _neighbours(difference)
        difference = (
            target + 0.2 * difference + sum(w * n for w, n in zip(weights, neighbours, strict=True))
        )
    return (original + difference).astype(np.float32)


def _idt_lab(
    source: np.ndarray, target: np.ndarray, iterations: int, bins: int, seed: int, regrained: bool
) -> np.ndarray:
    moved = match_distribution(source, target, iterations, bins, seed)
    return 100 * regrain(source / 100, moved / 100) if regrained else moved


def reinhard(
    content: np.ndarray, style: np.ndarray, strength: float = 1.0, preserve_lightness: bool = False
) -> np.ndarray:
    """Match the Lab mean and standard deviation of each channel (Reinhard et al. 2001)."""
    return transfer_in_lab(content, style, match_mean_std, strength, preserve_lightness)


def mkl(
    content: np.ndarray, style: np.ndarray, strength: float = 1.0, preserve_lightness: bool = False
) -> np.ndarray:
    """Match the Lab mean and covariance with the linear Monge-Kantorovich map."""
    return transfer_in_lab(content, style, match_mean_covariance, strength, preserve_lightness)


def idt(
    content: np.ndarray,
    style: np.ndarray,
    strength: float = 1.0,
    preserve_lightness: bool = False,
    iterations: int = 20,
    bins: int = 300,
    regrain: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """Match the whole Lab distribution by iterative 1-D transfers; ``regrain`` removes grain."""
    if iterations < 1 or bins < 2:
        raise InvalidParameterError(
            f"iterations must be at least 1 and bins at least 2, got {iterations} and {bins}"
        )
    match = partial(_idt_lab, iterations=iterations, bins=bins, seed=seed, regrained=regrain)
    return transfer_in_lab(content, style, match, strength, preserve_lightness)


def histogram(
    content: np.ndarray, style: np.ndarray, strength: float = 1.0, preserve_lightness: bool = False
) -> np.ndarray:
    """Match each Lab channel's histogram (exact 1-D matching; channels stay independent)."""
    match = partial(match_histograms, channel_axis=-1)
    return transfer_in_lab(content, style, match, strength, preserve_lightness)
