"""User colour hints (Zhang et al. 2017): where they come from and how the network sees them.

Hints are two full-resolution arrays: ``ab`` (H, W, 2) Lab chroma and ``mask`` (H, W) bool,
True where the user gave a colour. The network sees them as three channels at its working size,
``(a / 110, b / 110, mask)``, all zero without hints. Shrinking to the working size pools,
never interpolates: a cell is hinted if any of its pixels is (max), and its ab is the mean over
its hinted pixels only, so a thin brush stroke neither vanishes nor fades toward grey.

The same hints are simulated from ground truth for training and evaluation
(:func:`simulate_hints`): patches of 1 to 9 pixels, and for training also short strokes,
placed around the centre (normal, sd a quarter of the side), valued at their mean true ab;
their number geometric with p = 1/8 (so 1 in 8 samples has none), or fixed.
"""

from __future__ import annotations

import json
import numbers
import reprlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from colorlab.color import lab_to_srgb, parse_hex, srgb_to_lab
from colorlab.errors import InvalidColorError, InvalidParameterError
from colorlab.nn import AB_SCALE

HINT_PROBABILITY = 1 / 8  # geometric: chance of stopping before each further hint
PATCH_SIZES = tuple(range(1, 10))
STROKE_LENGTHS = (4.0, 24.0)  # pixels, uniform: a short drag of the brush
STROKE_WIDTHS = (1, 2, 3, 4, 5)  # pixels
# What one request may ask of hints_from_points (scripts) and hints_from_strokes (the app's
# brush): painting is O(points x radius^2).
MAX_HINT_POINTS = 500
MAX_HINT_RADIUS = 64  # pixels: a square 129 px on a side
MAX_HINT_TEXT = 64 * 1024  # characters of JSON
MAX_STROKES = 200
MAX_STROKE_POINTS = 20_000  # over all strokes
MAX_BRUSH_SIZE = 128  # pixels of the frame the strokes were drawn on


@dataclass(frozen=True)
class Hints:
    """Colour hints at an image's full resolution: ``ab`` (H, W, 2) and ``mask`` (H, W) bool."""

    ab: np.ndarray
    mask: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> Hints:
        return cls(np.zeros((*shape, 2), np.float32), np.zeros(shape, bool))

    def fitted_to(self, lightness: np.ndarray) -> Hints:
        """These hints with each colour made displayable at its pixel's lightness (H, W).

        A user who paints a light sky with a saturated blue means the bluest sky that exists
        at that lightness; the raw ab would be out of gamut there, which the network never saw
        in training (its hints are real colours) and follows badly. Chroma is reduced at
        constant lightness (:func:`colorlab.color.desaturate_to_gamut`), hue nearly kept.
        """
        ys, xs = np.nonzero(self.mask)
        lab = np.concatenate([lightness[ys, xs, None], self.ab[ys, xs]], axis=1)
        ab = self.ab.copy()
        ab[ys, xs] = srgb_to_lab(lab_to_srgb(lab, keep_lightness=True))[:, 1:]
        return Hints(ab, self.mask)

    @property
    def count(self) -> int:
        """Number of hinted pixels."""
        return int(self.mask.sum())

    def channels(self, size: tuple[int, int]) -> np.ndarray:
        """The network's hint input (3, h, w) float32 at ``size``: ab / 110 and the mask."""
        mask, ab = pool(self.mask, self.ab, size)
        return np.concatenate([np.moveaxis(ab, -1, 0) / AB_SCALE, mask[None]]).astype(np.float32)


def checked_input(
    image: np.ndarray, temperature: float, hints: Hints | None
) -> tuple[np.ndarray, tuple[int, int]]:
    """A colorizer's input as (H, W, 3) float32 (grey (H, W) repeated) and its (H, W); clear
    errors for another shape, a temperature that is not positive, or hints of another size."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise InvalidParameterError(f"image must have shape (H, W) or (H, W, 3), got {image.shape}")
    if not temperature > 0:
        raise InvalidParameterError(f"temperature must be positive, got {temperature}")
    shape = image.shape[:2]
    if hints is not None and hints.mask.shape != shape:
        raise InvalidParameterError(
            f"hints are {hints.mask.shape[1]}x{hints.mask.shape[0]} but the image is "
            f"{shape[1]}x{shape[0]}"
        )
    return image, shape


def pool(mask: np.ndarray, ab: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Shrink hints to ``size`` = (h, w): mask by max, ab by the mean over hinted pixels.

    Each full-resolution pixel falls in exactly one output cell (nearest-cell assignment), so
    a hinted pixel is never lost and never mixed with unhinted ones.
    """
    height, width = mask.shape
    rows = np.minimum(np.arange(height) * size[0] // height, size[0] - 1)
    cols = np.minimum(np.arange(width) * size[1] // width, size[1] - 1)
    ys, xs = np.nonzero(mask)
    cells = rows[ys] * size[1] + cols[xs]
    count = np.bincount(cells, minlength=size[0] * size[1])
    out_ab = np.zeros((size[0] * size[1], 2), np.float64)
    for channel in range(2):
        out_ab[:, channel] = np.bincount(cells, ab[ys, xs, channel], size[0] * size[1])
    hinted = count > 0
    out_ab[hinted] /= count[hinted, None]
    return (
        hinted.reshape(size).astype(np.float32),
        out_ab.reshape(*size, 2).astype(np.float32),
    )


def simulate_hints(
    ab: np.ndarray,
    rng: np.random.Generator,
    count: int | None = None,
    stroke_share: float = 0.0,
) -> Hints:
    """Hints taken from ground-truth ``ab`` (H, W, 2): ``count`` of them, or geometric if None.

    Each is a square patch of 1 to 9 pixels or, with probability ``stroke_share``, a short
    straight stroke (:data:`STROKE_LENGTHS` long, :data:`STROKE_WIDTHS` wide, any direction),
    as users click and drag; valued at the mean true ab under it.
    """
    height, width = ab.shape[:2]
    hints = Hints.empty((height, width))
    placed = 0
    while (placed < count) if count is not None else (rng.random() > HINT_PROBABILITY):
        if stroke_share > 0 and rng.random() < stroke_share:
            where = _stroke(rng, height, width)
        else:
            size = int(min(rng.choice(PATCH_SIZES), height, width))
            top = int(_around_centre(rng, height - size + 1))
            left = int(_around_centre(rng, width - size + 1))
            where = (slice(top, top + size), slice(left, left + size))
        hints.ab[where] = ab[where].reshape(-1, 2).mean(axis=0)
        hints.mask[where] = True
        placed += 1
    return hints


def _around_centre(rng: np.random.Generator, extent: int) -> float:
    """A position in [0, extent - 1], normal around the middle with sd a quarter of ``extent``."""
    return np.clip(rng.normal(extent / 2, extent / 4), 0, extent - 1)


def _stroke(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel indices (rows, cols) of a straight stroke placed as :func:`simulate_hints` says."""
    length = rng.uniform(*STROKE_LENGTHS)
    radius = int(rng.choice(STROKE_WIDTHS)) / 2
    angle = rng.uniform(0, np.pi)
    y0, x0 = _around_centre(rng, height), _around_centre(rng, width)
    steps = np.linspace(-0.5, 0.5, max(2, int(length) + 1))
    ys, xs = y0 + steps * length * np.sin(angle), x0 + steps * length * np.cos(angle)
    offsets = np.arange(-int(radius), int(radius) + 1)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    disc = dy**2 + dx**2 <= max(radius, 0.5) ** 2
    rows = np.clip(np.rint(ys)[:, None] + dy[disc][None], 0, height - 1).astype(int)
    cols = np.clip(np.rint(xs)[:, None] + dx[disc][None], 0, width - 1).astype(int)
    return np.unravel_index(np.unique(rows * width + cols), (height, width))  # each pixel once


def point_radius(shape: tuple[int, int]) -> int:
    """Default half-side of a point hint's square: 1/128 of the image's short side, at least 1.

    The network learned from hint patches of 1 to 9 pixels on 128-pixel crops and all but
    ignores a single hinted pixel; a square of side 2r + 1 = about 1/64 of the image is a
    patch it has seen (a click with a small brush).
    """
    return max(1, round(min(shape) / 128))


def hints_from_points(points: list[dict] | str, shape: tuple[int, int]) -> Hints:
    """Hints from ``[{"x": int, "y": int, "color": "#rrggbb"}, ...]`` (image pixel coordinates).

    Each point colours the square of half-side ``"radius"`` (optional, pixels; default
    :func:`point_radius`) centred on it, cut at the image's edges; later points cover earlier
    ones. ``points`` is the list itself or its JSON text (never a file name: callers that take
    files, like the CLI, read them, so text from a web client can never open a server file).
    Errors name the offending entry. At most ``MAX_HINT_POINTS`` points of radius at most
    ``MAX_HINT_RADIUS``, and at most ``MAX_HINT_TEXT`` characters of JSON, bound the cost.
    """
    points = _json_list(points, MAX_HINT_TEXT, '{"x", "y", "color"} objects')
    if len(points) > MAX_HINT_POINTS:
        raise InvalidParameterError(
            f"{len(points):,} hint points given; at most {MAX_HINT_POINTS} are taken"
        )
    height, width = shape
    hints = Hints.empty(shape)
    for number, point in enumerate(points):
        if not isinstance(point, dict) or not {"x", "y", "color"} <= set(point):
            raise InvalidParameterError(
                f'hint {number} must be an object with "x", "y" and "color", '
                f"got {reprlib.repr(point)}"
            )
        x, y = point["x"], point["y"]
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (x, y)):
            raise InvalidParameterError(
                f"hint {number}: x and y must be integers, got {reprlib.repr(x)}, {reprlib.repr(y)}"
            )
        if not (0 <= x < width and 0 <= y < height):
            raise InvalidParameterError(
                f"hint {number} at ({x}, {y}) is outside the {width}x{height} image"
            )
        color = _color(point["color"], f"hint {number}")
        radius = point.get("radius", point_radius(shape))
        if (
            not isinstance(radius, numbers.Integral)
            or isinstance(radius, bool)
            or not 0 <= radius <= MAX_HINT_RADIUS
        ):
            raise InvalidParameterError(
                f"hint {number}: radius must be a whole number of pixels from 0 to "
                f"{MAX_HINT_RADIUS}, got {reprlib.repr(radius)}"
            )
        square = (
            slice(max(0, y - radius), y + radius + 1),
            slice(max(0, x - radius), x + radius + 1),
        )
        hints.ab[square] = srgb_to_lab(color[None])[0, 1:]
        hints.mask[square] = True
    return hints


def hints_from_strokes(
    strokes: list[dict] | str, frame: tuple[int, int], shape: tuple[int, int]
) -> Hints:
    """Hints at ``shape`` (H, W) from brush strokes drawn on a ``frame`` (h, w) copy of the image.

    ``strokes`` is ``[{"color": "#rrggbb", "size": diameter, "points": [[x, y], ...]}, ...]``
    (or its JSON text) in frame pixels, as the app's hint editor sends them (canvas coordinates:
    (0, 0) is the top-left corner of the first pixel). Each stroke is a round brush of that
    diameter along its points, scaled to ``shape``; later strokes cover earlier ones. Only the
    stroke's own colour is taken, never a blend with what it covers. Errors name the offending
    stroke; ``MAX_STROKES``, ``MAX_STROKE_POINTS`` and ``MAX_BRUSH_SIZE`` bound the cost.
    """
    strokes = _json_list(strokes, 16 * MAX_STROKE_POINTS, '{"color", "size", "points"} objects')
    if len(strokes) > MAX_STROKES:
        raise InvalidParameterError(f"{len(strokes):,} strokes given; at most {MAX_STROKES}")
    if sum(len(s.get("points", ())) for s in strokes if isinstance(s, dict)) > MAX_STROKE_POINTS:
        raise InvalidParameterError(f"the strokes have more than {MAX_STROKE_POINTS:,} points")
    hints = Hints.empty(shape)
    scale = np.array([shape[1] / frame[1], shape[0] / frame[0]])
    for number, stroke in enumerate(strokes):
        what = f"stroke {number}"
        if not isinstance(stroke, dict) or not {"color", "size", "points"} <= set(stroke):
            raise InvalidParameterError(
                f'{what} must be an object with "color", "size" and "points", '
                f"got {reprlib.repr(stroke)}"
            )
        ab = srgb_to_lab(_color(stroke["color"], what)[None])[0, 1:]
        size = stroke["size"]
        if not _is_number(size) or not 1 <= size <= MAX_BRUSH_SIZE:
            raise InvalidParameterError(
                f"{what}: size must be a number from 1 to {MAX_BRUSH_SIZE}, "
                f"got {reprlib.repr(size)}"
            )
        xy = _coordinates(stroke["points"], what)
        box, covered = _brushed(xy * scale - 0.5, size * scale.mean() / 2, shape)
        hints.ab[box][covered] = ab
        hints.mask[box] |= covered
    return hints


def _brushed(
    points: np.ndarray, radius: float, shape: tuple[int, int]
) -> tuple[tuple[slice, slice], np.ndarray]:
    """Where a round brush of ``radius`` along ``points`` (x, y) paints: the bounding box of
    the stroke within ``shape`` and the painted pixels in it (empty outside the image)."""
    radius = max(radius, 0.5)
    low = np.maximum(np.floor(points.min(0) - radius), 0).astype(int)
    high = np.maximum(np.minimum(np.ceil(points.max(0) + radius) + 1, shape[::-1]), low)
    box = (slice(low[1], int(high[1])), slice(low[0], int(high[0])))
    if np.any(high <= low):
        return box, np.zeros((high - low)[::-1].astype(int), bool)
    mask = Image.new("1", tuple((high - low).astype(int)))
    draw = ImageDraw.Draw(mask)
    local = [tuple(p) for p in points - low]
    if len(local) > 1:
        draw.line(local, fill=1, width=max(1, round(2 * radius)))
    for x, y in local:  # round caps and joints (a disc per point is 5x faster than PIL's)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=1)
    return box, np.asarray(mask)


def _coordinates(points, what: str) -> np.ndarray:
    """A stroke's points as an (n, 2) float array, checked: JSON numbers only, all finite."""
    pairs = (
        isinstance(points, list)
        and points
        and all(
            type(p) is list
            and len(p) == 2
            and type(p[0]) in (int, float)
            and type(p[1]) in (int, float)
            for p in points
        )
    )
    xy = np.array(points, float) if pairs else None
    if xy is None or not np.isfinite(xy).all():
        raise InvalidParameterError(
            f"{what}: points must be a non-empty list of [x, y] numbers, got {reprlib.repr(points)}"
        )
    return xy


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def _color(text, what: str) -> np.ndarray:
    try:
        return parse_hex(text)
    except InvalidColorError as exc:
        raise InvalidColorError(f"{what}: {exc}") from None


def _json_list(given: list | str, max_text: int, items: str) -> list:
    """``given`` itself or parsed from JSON text of at most ``max_text`` characters, a list."""
    if isinstance(given, str):
        if len(given) > max_text:
            raise InvalidParameterError(
                f"the hints JSON has {len(given):,} characters; at most {max_text:,} are taken"
            )
        try:
            given = json.loads(given)
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(f"hints are not valid JSON: {exc}") from exc
        except RecursionError:
            raise InvalidParameterError(
                f"hints are nested too deeply: give a flat JSON list of {items}"
            ) from None
    if not isinstance(given, list):
        raise InvalidParameterError(f"hints must be a JSON list of {items}")
    return given
