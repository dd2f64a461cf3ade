"""Palette-based photo recoloring, Chang, Fried, Liu, DiVerdi and Finkelstein 2015.

The transfer depends on a pixel's colour only, so it is evaluated on a regular RGB lattice and
applied to the image as a 3-D lookup table with trilinear interpolation. The image-dependent part
(which distinct colours the image holds and where they sit in the lattice) is computed once by
:class:`ChangRecolorer`; each palette edit then costs one lattice evaluation and one gather.

Palettes are (k, 3) sRGB arrays in [0, 1]; entry i of the source moves to entry i of the target.
"""

from __future__ import annotations

import numpy as np

from colorlab.color import in_gamut, lab_to_srgb, srgb_to_lab
from colorlab.errors import InvalidParameterError
from colorlab.methods import Method, Param, register

DEFAULT_LATTICE_SIZE = 17  # 4913 nodes; the authors use 13 (see benchmarks for the error)
BISECTION_STEPS = 16
RAY_LENGTH = 300.0  # longer than any chord of an sRGB constant-L slice in ab
MIN_SHIFT = 1e-3  # ab shifts shorter than this (Lab units) leave the colour alone
CORRECTION_WIDTH = 50.0  # Lab units; divided by the lattice intervals it is about one cell


def monotonic_luminance(source_l: np.ndarray, target_l: np.ndarray) -> np.ndarray:
    """Target lightness of each palette entry, adjusted so the luminance map stays monotonic.

    Chang clamps the other entries around the one the user edited. With a whole new palette the
    edited entry is taken to be the one whose lightness moved most; entries above it are raised
    to at least their darker neighbour, entries below lowered to at most their lighter one.
    """
    order = np.argsort(source_l, kind="stable")
    target = np.asarray(target_l, dtype=np.float64)[order].copy()
    anchor = int(np.argmax(np.abs(target - np.asarray(source_l)[order])))
    for i in range(anchor + 1, len(target)):
        target[i] = max(target[i], target[i - 1])
    for i in range(anchor - 1, -1, -1):
        target[i] = min(target[i], target[i + 1])
    adjusted = np.empty_like(target)
    adjusted[order] = target
    return adjusted


def _luminance_map(l_values: np.ndarray, source_l: np.ndarray, target_l: np.ndarray) -> np.ndarray:
    """Piecewise-linear map through (0, 0), (L_i, L'_i) and (100, 100)."""
    order = np.argsort(source_l, kind="stable")
    xs = np.concatenate([[0.0], source_l[order], [100.0]])
    ys = np.concatenate([[0.0], target_l[order], [100.0]])
    return np.interp(l_values, xs, ys)


def _gamut_crossing(inside: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """Where each segment inside -> outside (Lab, shape (n, 3)) leaves the sRGB gamut."""
    low = np.zeros(len(inside))
    high = np.ones(len(inside))
    step = outside - inside
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        ok = in_gamut(inside + middle[:, None] * step)
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
    return inside + low[:, None] * step


def _single_entry_ab(points: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Chang's gamut-aware ab transfer of ``points`` (Lab, (n, 3)) for one entry source -> target.

    Each point moves by the entry's ab shift, scaled down near the gamut boundary in the same
    proportion as the entry itself would be; everything happens in the point's constant-L plane.
    """
    shift = np.zeros(3)
    shift[1:] = target[1:] - source[1:]
    length = float(np.hypot(*shift[1:]))
    if length < MIN_SHIFT:
        return points[:, 1:].copy()
    direction = shift / length
    # How far the palette colour itself can travel along its shift before leaving the gamut.
    source_reach = _gamut_crossing(source[None, :], source[None, :] + RAY_LENGTH * direction)
    source_room = max(float(np.linalg.norm(source_reach[0] - source)), MIN_SHIFT)
    moved = points + shift
    moved_ok = in_gamut(moved)
    boundary = np.empty_like(points)
    # Moved point in gamut: the boundary is where the ray point -> moved exits the gamut.
    boundary[moved_ok] = _gamut_crossing(moved[moved_ok], points[moved_ok] + RAY_LENGTH * direction)
    # Moved point out of gamut: the boundary is on the segment target -> moved, with the target
    # colour taken in the point's lightness plane (or the point itself if that is out of gamut).
    out = ~moved_ok
    anchor = np.column_stack([points[out, :1], np.broadcast_to(target[1:], (out.sum(), 2))])
    anchor = np.where(in_gamut(anchor)[:, None], anchor, points[out])
    boundary[out] = _gamut_crossing(anchor, moved[out])
    towards = boundary - points
    room = np.linalg.norm(towards, axis=1)
    unit = np.divide(towards, room[:, None], out=np.zeros_like(towards), where=room[:, None] > 0)
    travel = length * np.minimum(1.0, room / source_room)
    return points[:, 1:] + unit[:, 1:] * travel[:, None]


def rbf_weights(points: np.ndarray, palette_lab: np.ndarray) -> np.ndarray:
    """Each point's blending weights over the palette entries, (n, k), rows summing to 1.

    Gaussian radial basis functions with sigma the mean distance between palette entries,
    interpolating (weight 1 on an entry's own colour); negative weights are clamped to 0 and
    each row renormalised, as the paper prescribes.
    """
    k = len(palette_lab)
    if k == 1:
        return np.ones((len(points), 1))
    pairwise = np.linalg.norm(palette_lab[:, None] - palette_lab[None, :], axis=2)
    sigma = max(pairwise[np.triu_indices(k, 1)].mean(), 1e-6)

    def phi(distance: np.ndarray) -> np.ndarray:
        return np.exp(-(distance**2) / (2 * sigma**2))

    coefficients = np.linalg.pinv(phi(pairwise))
    weights = phi(np.linalg.norm(points[:, None] - palette_lab[None], axis=2)) @ coefficients
    weights = np.maximum(weights, 0)
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.full_like(weights, 1 / k), where=totals > 0)


def transfer_lab(points: np.ndarray, source_lab: np.ndarray, target_lab: np.ndarray) -> np.ndarray:
    """Chang's colour transfer evaluated at ``points`` (Lab, (n, 3)); returns Lab (n, 3).

    Lightness through the monotonic piecewise-linear map, ab as the RBF-weighted blend of the
    per-entry gamut-aware transfers, chroma reduced where the result leaves the gamut. Pure and
    per colour: the lattice and the direct per-pixel evaluation in the benchmarks both call it.
    """
    points = np.asarray(points, dtype=np.float64)
    source_lab = np.asarray(source_lab, dtype=np.float64)
    target_lab = np.asarray(target_lab, dtype=np.float64).copy()
    target_lab[:, 0] = monotonic_luminance(source_lab[:, 0], target_lab[:, 0])
    weights = rbf_weights(points, source_lab)
    ab = np.zeros((len(points), 2))
    for i in range(len(source_lab)):
        ab += weights[:, i : i + 1] * _single_entry_ab(points, source_lab[i], target_lab[i])
    lightness = _luminance_map(points[:, 0], source_lab[:, 0], target_lab[:, 0])
    return fit_chroma(np.column_stack([lightness, ab]))


def fit_chroma(lab: np.ndarray) -> np.ndarray:
    """Bring out-of-gamut colours into sRGB by reducing chroma at constant lightness and hue.

    The new lightness of a colour can leave its shifted ab outside the gamut; clipping RGB
    instead would change lightness and could break the luminance order of the palette.
    """
    lab = np.array(lab, dtype=np.float64)
    outside = ~in_gamut(lab)
    if outside.any():
        grey = lab[outside].copy()
        grey[:, 1:] = 0
        lab[outside] = _gamut_crossing(grey, lab[outside])
    return lab


def _check_palettes(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    source = np.asarray(source, dtype=np.float32).reshape(-1, 3)
    target = np.asarray(target, dtype=np.float32).reshape(-1, 3)
    if len(source) != len(target):
        raise InvalidParameterError(
            f"the target palette has {len(target)} colours but the source palette has "
            f"{len(source)}: give one target colour per palette entry"
        )
    if len(source) == 0:
        raise InvalidParameterError("the palette is empty: give at least one colour")
    for name, palette in (("source", source), ("target", target)):
        if not np.all(np.isfinite(palette)) or palette.min() < 0 or palette.max() > 1:
            raise InvalidParameterError(f"{name} palette colours must be sRGB values in [0, 1]")
    return source, target


def _trilinear_stencil(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The 8 lattice nodes around each sRGB colour (flat r-major indices) and their weights."""
    position = np.asarray(rgb, dtype=np.float32) * (size - 1)
    low = np.clip(position.astype(np.int32), 0, size - 2)
    fraction = position - low
    base = (low[:, 0] * size + low[:, 1]) * size + low[:, 2]
    corners, weights = [], []
    for dr, dg, db in np.ndindex(2, 2, 2):
        corners.append(base + (dr * size + dg) * size + db)
        weights.append(
            np.where(dr, fraction[:, 0], 1 - fraction[:, 0])
            * np.where(dg, fraction[:, 1], 1 - fraction[:, 1])
            * np.where(db, fraction[:, 2], 1 - fraction[:, 2])
        )
    return np.stack(corners, axis=1).astype(np.intp), np.stack(weights, axis=1).astype(np.float32)


def _interpolate(table: np.ndarray, corners: np.ndarray, weights: np.ndarray) -> np.ndarray:
    result = np.empty((len(corners), 3), dtype=np.float32)
    for channel in range(3):
        result[:, channel] = (table[:, channel][corners] * weights).sum(axis=1)
    return result


class ChangRecolorer:
    """Chang recoloring of one image, prepared once so that each palette edit is cheap.

    Preparation finds the image's distinct 8-bit colours (pixels are looked up by their colour
    rounded to 8 bits per channel) and their trilinear lattice stencils. :meth:`apply` evaluates
    the transfer on the lattice nodes, interpolates it at those colours and scatters the result
    back to the pixels.

    Large edits make the transfer steep around the palette colours, where a coarse lattice would
    miss the requested colour by several CIEDE2000 units. The lattice's error at the k palette
    colours is therefore cancelled by a narrow Gaussian correction centred on them (width about
    one lattice cell), so each palette colour lands on its target while colours farther than a
    few cells away are untouched.
    """

    def __init__(
        self,
        image: np.ndarray,
        source_palette: np.ndarray,
        lattice_size: int = DEFAULT_LATTICE_SIZE,
    ) -> None:
        if not 3 <= lattice_size <= 65:
            raise InvalidParameterError(f"lattice_size must be from 3 to 65, got {lattice_size}")
        self.source_palette, _ = _check_palettes(source_palette, source_palette)
        self.shape = image.shape
        self.lattice_size = lattice_size
        codes = np.rint(np.clip(image.reshape(-1, 3), 0, 1) * 255).astype(np.int32)
        packed = (codes[:, 0] << 16) | (codes[:, 1] << 8) | codes[:, 2]
        present = np.zeros(1 << 24, dtype=bool)
        present[packed] = True
        colors = np.flatnonzero(present)
        slot = np.zeros(1 << 24, dtype=np.int32)
        slot[colors] = np.arange(len(colors), dtype=np.int32)
        self._pixel_slot = slot[packed]
        unique_rgb = np.column_stack([colors >> 16, (colors >> 8) & 255, colors & 255])
        unique_rgb = unique_rgb.astype(np.float32) / 255
        self._corners, self._weights = _trilinear_stencil(unique_rgb, lattice_size)
        axis = np.linspace(0, 1, lattice_size, dtype=np.float32)
        nodes = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
        self._nodes_lab = srgb_to_lab(nodes)
        self._source_lab = srgb_to_lab(self.source_palette)
        self._palette_stencil = _trilinear_stencil(self.source_palette, lattice_size)
        width = CORRECTION_WIDTH / (lattice_size - 1)

        def bump(points_lab: np.ndarray) -> np.ndarray:
            distance2 = np.sum((points_lab[:, None] - self._source_lab[None]) ** 2, axis=2)
            return np.exp(-distance2 / (2 * width**2)).astype(np.float32)

        self._correction_basis = bump(srgb_to_lab(unique_rgb))
        self._correction_solve = np.linalg.pinv(bump(self._source_lab)).astype(np.float32)

    def lattice(self, target_palette: np.ndarray) -> np.ndarray:
        """The transfer on the lattice nodes as sRGB, shape (n^3, 3) in r-major order."""
        _, target = _check_palettes(self.source_palette, target_palette)
        moved = transfer_lab(self._nodes_lab, self._source_lab, srgb_to_lab(target))
        return lab_to_srgb(moved.astype(np.float32))

    def apply(self, target_palette: np.ndarray) -> np.ndarray:
        """The image recolored so that source entry i becomes ``target_palette[i]``."""
        table = self.lattice(target_palette)
        per_color = _interpolate(table, self._corners, self._weights)
        exact = transfer_lab(self._source_lab, self._source_lab, srgb_to_lab(target_palette))
        residual = lab_to_srgb(exact.astype(np.float32)) - _interpolate(
            table, *self._palette_stencil
        )
        per_color += self._correction_basis @ (self._correction_solve @ residual)
        np.clip(per_color, 0, 1, out=per_color)
        return np.take(per_color, self._pixel_slot, axis=0).reshape(self.shape)

    __call__ = apply  # the prepared recolorer is the function of the target palette


register(
    Method(
        task="recolor",
        name="chang",
        title="Chang et al. 2015",
        summary="Moves each palette colour to its target; other colours follow smoothly, "
        "lightness order is kept and colours stay in gamut. Instant, no model.",
        params=(
            Param(
                "lattice_size",
                DEFAULT_LATTICE_SIZE,
                "nodes per axis of the RGB lookup lattice (more is slower and more exact)",
                minimum=3,
                maximum=65,
            ),
        ),
        prepare=ChangRecolorer,
    )
)
