"""Colour classes for colorization as classification (Zhang, Isola and Efros 2016).

The ab plane is cut into a grid of 10 x 10 cells centred on -110, -100, ..., 110 (23 x 23 = 529
points); the classes are the grid points real images reach (313 in the paper, for ImageNet; here
recomputed from the training data by :meth:`ColorBins.from_ab`). A network predicts a
distribution over those classes per pixel; the distribution is decoded with the annealed mean.

- Targets are *soft*: the 5 classes nearest a pixel's true ab, weighted by a Gaussian of their
  distance (sigma 5), normalised (:meth:`ColorBins.soft_encode`).
- Rare colours are boosted by *class rebalancing*: a pixel's loss is weighted by
  ``w = ((1 - lambda) p + lambda / Q) ** -1`` of its nearest class, normalised so that
  ``E_p[w] = 1``, with ``p`` the data's Gaussian-smoothed ab distribution (sigma 5) and
  lambda = 0.5 (:func:`rebalancing_weights`). Without it the network learns the dominant,
  desaturated colours, as regression does.
- Decoding, the *annealed mean*: ``softmax(log q / T) @ centres``; T -> 0 gives the mode
  (vivid, can be patchy), T = 1 the mean (desaturated); the paper uses T = 0.38
  (:func:`annealed_mean`). A network trained with rebalancing predicts the data's distribution
  times the weights; ColorLab's decoder can divide part of that boost back out first
  (:meth:`colorlab.colorize.models.ColorizerNet.decode`, ``prior_correction``).

Pure numpy: the torch model keeps the centres and prior as buffers and uses these functions'
formulas through :mod:`colorlab.colorize.models`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from colorlab.errors import InvalidParameterError

GRID_STEP = 10.0
AB_LIMIT = 110.0
GRID_SIDE = int(2 * AB_LIMIT / GRID_STEP) + 1  # 23
SIGMA = 5.0  # ab units, for soft encoding and for smoothing the prior
NEIGHBOURS = 5
LAMBDA = 0.5
DEFAULT_TEMPERATURE = 0.38


def ab_grid() -> np.ndarray:
    """All 529 grid points (a, b), row-major over a then b, as float32 (529, 2)."""
    axis = np.arange(-AB_LIMIT, AB_LIMIT + GRID_STEP / 2, GRID_STEP, dtype=np.float32)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1)


def grid_index(ab: np.ndarray) -> np.ndarray:
    """Index into :func:`ab_grid` of the grid point nearest each ab value (clamped to the grid)."""
    ab = np.asarray(ab, dtype=np.float32).reshape(-1, 2)
    cell = np.clip(np.rint((ab + AB_LIMIT) / GRID_STEP), 0, GRID_SIDE - 1).astype(np.int64)
    return cell[:, 0] * GRID_SIDE + cell[:, 1]


def grid_histogram(ab: np.ndarray) -> np.ndarray:
    """How many of the ab values fall in each grid cell, float64 (529,)."""
    return np.bincount(grid_index(ab), minlength=GRID_SIDE * GRID_SIDE).astype(np.float64)


def smoothed_distribution(counts: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """A grid histogram (529,) smoothed with a Gaussian of ``sigma`` ab units, summing to 1."""
    grid = np.asarray(counts, dtype=np.float64).reshape(GRID_SIDE, GRID_SIDE)
    smooth = gaussian_filter(grid, sigma / GRID_STEP, mode="constant").ravel()
    return smooth / smooth.sum()


def rebalancing_weights(prior: np.ndarray, lam: float = LAMBDA) -> np.ndarray:
    """Per-class loss weights ``((1 - lam) p + lam / Q) ** -1`` normalised so ``E_p[w] = 1``.

    Finite for every class when ``lam > 0`` or the prior has no zero entry.
    """
    prior = np.asarray(prior, dtype=np.float64)
    if not 0 <= lam <= 1:
        raise InvalidParameterError(f"lambda must be in [0, 1], got {lam}")
    mixed = (1 - lam) * prior + lam / len(prior)
    if np.any(mixed <= 0):
        raise InvalidParameterError("a class has zero mass: smooth the prior or use lambda > 0")
    weights = 1 / mixed
    return weights / np.sum(prior * weights)


@dataclass(frozen=True)
class ColorBins:
    """The classes: ``centres`` (Q, 2) ab, ``prior`` (Q,) summing to 1, and loss ``weights``
    (rebalanced with ``lam``; see :func:`rebalancing_weights`)."""

    centres: np.ndarray
    prior: np.ndarray
    lam: float = LAMBDA

    @classmethod
    def from_ab(cls, ab: np.ndarray, min_count: int = 1, sigma: float = SIGMA) -> ColorBins:
        """The grid points reached by at least ``min_count`` of the ab values, and their prior.

        The prior is the smoothed grid histogram restricted to those points and renormalised,
        so no class has zero mass.
        """
        counts = grid_histogram(ab)
        used = counts >= min_count
        if not used.any():
            raise InvalidParameterError("no ab values given to make colour classes from")
        prior = smoothed_distribution(counts, sigma)[used]
        return cls(ab_grid()[used], (prior / prior.sum()).astype(np.float32))

    @property
    def size(self) -> int:
        return len(self.centres)

    @property
    def weights(self) -> np.ndarray:
        return rebalancing_weights(self.prior, self.lam).astype(np.float32)

    def nearest(self, ab: np.ndarray, count: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``count`` nearest classes of each ab value: indices and squared distances (N, count).

        Sorted nearest first; ``count`` is capped at the number of classes.
        """
        count = min(count, self.size)
        ab = np.asarray(ab, dtype=np.float32).reshape(-1, 2)
        squared = (
            (ab * ab).sum(1, keepdims=True)
            - 2 * ab @ self.centres.T
            + (self.centres * self.centres).sum(1)
        )
        index = np.argpartition(squared, count - 1, axis=1)[:, :count]
        picked = np.take_along_axis(squared, index, axis=1)
        order = np.argsort(picked, axis=1)
        index = np.take_along_axis(index, order, axis=1)
        return index, np.maximum(np.take_along_axis(picked, order, axis=1), 0)

    def soft_encode(
        self, ab: np.ndarray, neighbours: int = NEIGHBOURS, sigma: float = SIGMA
    ) -> tuple[np.ndarray, np.ndarray]:
        """Soft targets: the ``neighbours`` nearest classes and Gaussian weights summing to 1.

        Returns (indices int64 (N, neighbours), weights float32 (N, neighbours)).
        """
        index, squared = self.nearest(ab, neighbours)
        weights = np.exp(-(squared - squared[:, :1]) / (2 * sigma**2))  # shifted: no underflow
        return index, (weights / weights.sum(1, keepdims=True)).astype(np.float32)

    def pixel_weights(self, ab: np.ndarray) -> np.ndarray:
        """Rebalancing weight of each ab value's nearest class (N,), float32."""
        return self.weights[self.nearest(ab)[0][:, 0]]

    def decode(self, probabilities: np.ndarray, temperature: float = DEFAULT_TEMPERATURE):
        """Annealed mean of distributions over the classes (..., Q) -> ab (..., 2)."""
        return annealed_mean(probabilities, self.centres, temperature)


def annealed_mean(
    probabilities: np.ndarray, centres: np.ndarray, temperature: float = DEFAULT_TEMPERATURE
) -> np.ndarray:
    """``softmax(log p / T) @ centres`` over the last axis: T = 1 the mean, T -> 0 the mode.

    ``temperature`` must be positive; below 1e-3 it is taken as the mode (argmax), which is
    the limit and avoids overflow.
    """
    if not temperature > 0:
        raise InvalidParameterError(f"temperature must be positive, got {temperature}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if temperature < 1e-3:
        return centres[np.argmax(probabilities, axis=-1)].astype(np.float32)
    logits = np.log(np.maximum(probabilities, 1e-30)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    annealed = np.exp(logits)
    annealed /= annealed.sum(axis=-1, keepdims=True)
    return (annealed @ centres).astype(np.float32)
