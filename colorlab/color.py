"""Colour spaces, the sRGB gamut, and colour strings.

Arrays hold colours in their last axis: sRGB in [0, 1] and CIELAB (D65 white, 2 degree observer,
L in [0, 100], a and b roughly in [-128, 127]), both float32. The constants match scikit-image's
``rgb2lab`` / ``lab2rgb`` so that our metrics agree with the ones computed there.

>>> srgb_to_lab(np.array([1.0, 1.0, 1.0]))      # white
array([100.,   0.,   0.], dtype=float32)
>>> to_hex(parse_hex("#F80"))
'#ff8800'
"""

from __future__ import annotations

import re
import reprlib

import numpy as np

from colorlab.errors import InvalidColorError

# Linear sRGB -> XYZ (D65), and the D65 reference white used to normalise XYZ.
_RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=np.float64,
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)
# Folding the white point into the matrices saves a pass over the pixels.
_RGB_TO_XYZN = (_RGB_TO_XYZ / _WHITE[:, None]).astype(np.float32)
_XYZN_TO_RGB = (_XYZ_TO_RGB * _WHITE[None, :]).astype(np.float32)
_EPS = (6 / 29) ** 3
_KAPPA = 1 / (3 * (6 / 29) ** 2)


def _as_colors(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 0 or array.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 channels in its last axis, got shape {array.shape}")
    return array


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """Undo the sRGB transfer curve (IEC 61966-2-1); values outside [0, 1] extend it oddly."""
    rgb = np.asarray(rgb, dtype=np.float32)
    magnitude = np.abs(rgb)
    curve = magnitude + np.float32(0.055)  # float32 and in place: this runs on every pixel
    curve *= np.float32(1 / 1.055)
    np.power(curve, np.float32(2.4), out=curve)
    np.multiply(magnitude, np.float32(1 / 12.92), out=curve, where=magnitude <= 0.04045)
    return np.copysign(curve, rgb, out=curve)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Apply the sRGB transfer curve; the inverse of :func:`srgb_to_linear`."""
    linear = np.asarray(linear, dtype=np.float32)
    magnitude = np.abs(linear)
    curve = np.power(magnitude, np.float32(1 / 2.4))
    curve *= np.float32(1.055)
    curve -= np.float32(0.055)
    np.multiply(magnitude, np.float32(12.92), out=curve, where=magnitude <= 0.0031308)
    return np.copysign(curve, linear, out=curve)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape (..., 3) -> CIELAB float32, shape (..., 3)."""
    xyz = srgb_to_linear(_as_colors(rgb, "rgb")) @ _RGB_TO_XYZN.T
    f = np.where(xyz > _EPS, np.cbrt(xyz), xyz * np.float32(_KAPPA) + np.float32(4 / 29))
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


def srgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """CIELAB L of sRGB colours (..., 3) -> (...), float32; a third of :func:`srgb_to_lab`'s work.

    L depends on luminance Y alone, one row of the XYZ matrix.
    """
    y = srgb_to_linear(_as_colors(rgb, "rgb")) @ _RGB_TO_XYZN[1]
    f = np.where(y > _EPS, np.cbrt(y), y * np.float32(_KAPPA) + np.float32(4 / 29))
    return (116 * f - 16).astype(np.float32)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB -> linear sRGB, unclipped: components outside [0, 1] mean out of gamut."""
    lab = _as_colors(lab, "lab")
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, (f - np.float32(4 / 29)) / np.float32(_KAPPA))
    return (xyz.astype(np.float32) @ _XYZN_TO_RGB.T).astype(np.float32)


def lab_to_srgb(lab: np.ndarray, clip: bool = True, keep_lightness: bool = False) -> np.ndarray:
    """CIELAB -> sRGB float32; clipped to [0, 1] unless ``clip=False``.

    ``keep_lightness``: bring out-of-gamut colours in with :func:`desaturate_to_gamut` (L kept)
    instead of clipping each channel (L can change).
    """
    linear = lab_to_linear(lab)
    if keep_lightness:
        linear = desaturate_to_gamut(linear)
    rgb = linear_to_srgb(linear)
    return np.clip(rgb, 0.0, 1.0) if clip else rgb


def desaturate_to_gamut(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB with components outside [0, 1] moved toward the grey of equal luminance.

    Luminance Y is linear in linear RGB and the grey of luminance Y is (Y, Y, Y), so every
    point between a colour and that grey has the same Y, hence the same CIELAB L: lightness is
    kept exactly (unlike clipping each channel), hue nearly so. Each out-of-gamut colour moves
    just far enough to fit.
    """
    linear = np.asarray(linear, dtype=np.float32)
    # Channel planes, not reductions over the last axis: numpy is several times faster so.
    red, green, blue = linear[..., 0], linear[..., 1], linear[..., 2]
    weights = _RGB_TO_XYZN[1]
    luminance = np.clip(red * weights[0] + green * weights[1] + blue * weights[2], 0, 1)
    top = np.maximum(np.maximum(red, green), blue)
    bottom = np.minimum(np.minimum(red, green), blue)
    with np.errstate(divide="ignore", invalid="ignore"):  # the fractions where() discards
        scale = np.where(top > 1, (1 - luminance) / (top - luminance), 1)
        scale = np.minimum(scale, np.where(bottom < 0, luminance / (luminance - bottom), 1))
    luminance = luminance[..., None]
    out = linear - luminance
    out *= np.clip(scale, 0, 1)[..., None]
    out += luminance
    return np.clip(out, 0, 1, out=out)


def rotate_hues(colors: np.ndarray, degrees: float) -> np.ndarray:
    """(n, 3) sRGB colours with their CIELAB hue turned by ``degrees``; lightness and chroma kept
    (then brought into gamut)."""
    lab = srgb_to_lab(np.asarray(colors, dtype=np.float32)).astype(np.float64)
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    a, b = lab[:, 1].copy(), lab[:, 2].copy()
    lab[:, 1], lab[:, 2] = cos * a - sin * b, sin * a + cos * b
    return lab_to_srgb(lab.astype(np.float32)).astype(np.float32)


def in_gamut(lab: np.ndarray, tolerance: float = 1e-4) -> np.ndarray:
    """True where a Lab colour is displayable in sRGB (every linear component in [0, 1])."""
    linear = lab_to_linear(lab)
    return np.all((linear >= -tolerance) & (linear <= 1 + tolerance), axis=-1)


MAX_COLOR_TEXT = 64  # characters of one colour; longer texts are refused before matching
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_RGB_FUNCTION = re.compile(
    r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+\s*)?\)", re.IGNORECASE
)


def parse_hex(text: str) -> np.ndarray:
    """Parse ``#rgb`` or ``#rrggbb`` (any case, ``#`` optional) into sRGB float32 in [0, 1].

    Browsers' colour pickers sometimes report ``rgb(r, g, b)`` or ``rgba(r, g, b, a)`` with
    0-255 components; those are accepted too (alpha is ignored).
    """
    if not isinstance(text, str) or len(text) > MAX_COLOR_TEXT:
        raise InvalidColorError(
            f"expected a hex colour string like '#ff8800', got {reprlib.repr(text)}"
        )
    stripped = text.strip()
    match = _HEX.fullmatch(stripped)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        values = [int(digits[i : i + 2], 16) for i in (0, 2, 4)]
        return np.array(values, dtype=np.float32) / 255
    match = _RGB_FUNCTION.fullmatch(stripped)
    if match:
        values = [float(v) for v in match.groups()]
        if all(0 <= v <= 255 for v in values):
            return np.array(values, dtype=np.float32) / 255
    raise InvalidColorError(
        f"{text!r} is not a colour: use '#rgb' or '#rrggbb' with hex digits 0-9 and a-f"
    )


def to_hex(rgb: np.ndarray) -> str:
    """sRGB in [0, 1] (values outside are clipped) -> ``'#rrggbb'``."""
    rgb = _as_colors(rgb, "rgb")
    if rgb.shape != (3,):
        raise ValueError(f"to_hex takes one colour of shape (3,), got {rgb.shape}")
    if not np.all(np.isfinite(rgb)):
        raise InvalidColorError(f"colour {rgb.tolist()} has non-finite components")
    values = np.clip(np.rint(rgb * 255), 0, 255).astype(int)
    return "#{:02x}{:02x}{:02x}".format(*values)


MAX_PALETTE_TEXT = 2000  # characters: ample for any palette, small enough to parse at once
_SEPARATORS = frozenset(",; \t\n\r\f\v")


def split_colors(text: str) -> list[str]:
    """Split a list of colours on commas, semicolons or whitespace (not inside ``rgb(...)``).

    One pass over the text (a lookahead regex rescanned the rest at every separator, so long
    texts took quadratic time).
    """
    parts, current, depth = [], [], 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if depth == 0 and char in _SEPARATORS:
            if current:
                parts.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def parse_palette(text: str) -> np.ndarray:
    """Parse colours separated by commas, semicolons or whitespace into an (n, 3) sRGB array.

    Texts longer than ``MAX_PALETTE_TEXT`` characters are refused before parsing.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidColorError("the palette is empty: give colours like '#ff8800, #224466'")
    if len(text) > MAX_PALETTE_TEXT:
        raise InvalidColorError(
            f"the palette text has {len(text):,} characters; a palette takes at most "
            f"{MAX_PALETTE_TEXT:,} (a few colours like '#ff8800, #224466')"
        )
    return np.stack([parse_hex(p) for p in split_colors(text)])


def format_palette(colors: np.ndarray) -> str:
    """An (n, 3) sRGB array -> ``'#rrggbb, #rrggbb, ...'``, the text :func:`parse_palette` reads."""
    return ", ".join(to_hex(c) for c in _as_colors(colors, "colors").reshape(-1, 3))
