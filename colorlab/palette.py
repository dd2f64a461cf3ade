"""Palette extraction after Chang et al. 2015: binned, weighted k-means in CIELAB.

Pixels are binned on a 16 x 16 x 16 sRGB grid, so the k-means runs on at most 4096 weighted
points whatever the image size; the one pass over the pixels (the binning) dominates the cost.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from colorlab.color import lab_to_srgb, srgb_to_lab, to_hex
from colorlab.errors import InvalidParameterError

BINS_PER_CHANNEL = 16
# The palette sizes of every recolor method (PaletteNet has 8 slots), for the CLI, the app and
# the API alike; 5 is Chang et al.'s default.
MIN_K, MAX_K = 2, 8
DEFAULT_K = 5
SIGMA_A = 80.0  # Lab distance over which a chosen centre discounts its neighbours (Chang: 80)
LLOYD_ITERATIONS = 20


@dataclass(frozen=True)
class Palette:
    """An image's dominant colours.

    ``colors``: (n, 3) float32 sRGB in [0, 1], sorted from dark to light (CIELAB L).
    ``weights``: (n,) float32 share of the image's pixels nearest to each colour; sums to 1.
    """

    colors: np.ndarray
    weights: np.ndarray

    def to_hex(self) -> list[str]:
        return [to_hex(c) for c in self.colors]

    def __len__(self) -> int:
        return len(self.colors)


def retarget(palette: Palette, colors: Sequence[np.ndarray | None]) -> np.ndarray:
    """The palette's colours with entry i replaced by ``colors[i]``; ``None`` keeps an entry.

    Entries beyond ``colors`` keep their colour. More colours than entries is an error, since an
    image with few distinct colours yields a short palette.
    """
    if len(colors) > len(palette):
        raise InvalidParameterError(
            f"the image yields only {len(palette)} palette colours but {len(colors)} were "
            f"given: give at most {len(palette)}"
        )
    target = palette.colors.copy()
    for i, color in enumerate(colors):
        if color is not None:
            target[i] = color
    return target


def color_histogram(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-empty bins of the 16^3 sRGB grid: their mean colour (Lab) and pixel counts.

    A bin's colour is the mean sRGB of its pixels converted to Lab; inside a 1/16 cube this
    differs from the mean of the pixels' Lab values by far less than a just-noticeable difference,
    and it avoids converting every pixel to Lab.
    """
    pixels = image.reshape(-1, 3)
    quantised = np.minimum(pixels * BINS_PER_CHANNEL, BINS_PER_CHANNEL - 1).astype(np.int32)
    index = (quantised[:, 0] * BINS_PER_CHANNEL + quantised[:, 1]) * BINS_PER_CHANNEL
    index += quantised[:, 2]
    size = BINS_PER_CHANNEL**3
    counts = np.bincount(index, minlength=size)
    occupied = np.flatnonzero(counts)
    sums = np.stack(
        [np.bincount(index, weights=pixels[:, c], minlength=size)[occupied] for c in range(3)],
        axis=1,
    )
    means = (sums / counts[occupied, None]).astype(np.float32)
    return srgb_to_lab(means), counts[occupied].astype(np.float64)


def _initial_centres(bins_lab: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Chang's greedy seeding: heaviest bin first, then discount bins near each chosen centre."""
    remaining = weights.copy()
    centres = []
    for _ in range(k):
        best = int(np.argmax(remaining))
        if remaining[best] <= 0:
            break
        centres.append(bins_lab[best])
        distance2 = np.sum((bins_lab - bins_lab[best]) ** 2, axis=1)
        remaining *= 1 - np.exp(-distance2 / SIGMA_A**2)
    return np.array(centres, dtype=np.float64)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    distance2 = np.sum((points[:, None, :] - centres[None, :, :]) ** 2, axis=2)
    return np.argmin(distance2, axis=1)


def palette_size(k: object, name: str = "k") -> int:
    """``k`` checked to be a palette size, a whole number from ``MIN_K`` to ``MAX_K``.

    A whole float (4.0) is taken, as JSON clients send one; a bool or text is not.
    """
    number = isinstance(k, numbers.Real) and not isinstance(k, bool)
    if number and math.isfinite(k) and k == int(k) and MIN_K <= k <= MAX_K:
        return int(k)
    shown = repr(k) if number else f"a {type(k).__name__}"
    raise InvalidParameterError(
        f"{name} must be a whole number from {MIN_K} to {MAX_K}, got {shown}"
    )


def extract_palette(image: np.ndarray, k: int = DEFAULT_K) -> Palette:
    """The ``k`` dominant colours of an image (Chang et al. 2015), deterministic.

    Weighted Lloyd iterations run over the colour bins with Lab black as an extra, fixed centre,
    which keeps dark shades from crowding the palette; black is dropped at the end. An image with
    fewer than ``k`` distinct colours (bins) gets a shorter palette, one entry per colour, and a
    centre that ends up owning no bin is dropped too, so the result never holds duplicates.

    ``image``: (H, W, 3) float32 sRGB in [0, 1]. ``k``: see :func:`palette_size`.
    """
    k = palette_size(k, "palette size k")
    bins_lab, weights = color_histogram(image)
    bins = bins_lab.astype(np.float64)
    centres = _initial_centres(bins, weights, min(k, len(bins)))
    black = np.zeros((1, 3))
    for _ in range(LLOYD_ITERATIONS):
        owner = _nearest(bins, np.vstack([centres, black]))
        mass = np.bincount(owner, weights=weights, minlength=len(centres) + 1)[:-1]
        updated = centres.copy()
        for c in range(3):
            sums = np.bincount(owner, weights=weights * bins[:, c], minlength=len(centres) + 1)
            np.divide(sums[:-1], mass, out=updated[:, c], where=mass > 0)
        if np.allclose(updated, centres, atol=1e-3):
            break
        centres = updated
    # Shares: every bin goes to its nearest palette entry (black no longer competes).
    owner = _nearest(bins, centres)
    shares = np.bincount(owner, weights=weights, minlength=len(centres))
    keep = shares > 0
    centres, shares = centres[keep], shares[keep]
    order = np.argsort(centres[:, 0], kind="stable")
    colors = lab_to_srgb(centres[order].astype(np.float32))
    return Palette(colors=colors, weights=(shares[order] / shares.sum()).astype(np.float32))
