"""Palette transfer: the content recoloured so that its palette becomes the style's.

Both images' palettes are extracted (Chang et al. 2015, the same ``k``), each content entry is
given a target colour from the style's palette (:func:`match_palettes`), and the content is
recoloured with a ``recolor`` method of the registry (Chang's or PaletteNet), which moves the
whole image smoothly along with its palette.

How entries are matched. Chang's recoloring maps lightness through a monotone curve over the
palette, so a target palette whose lightness order differs from the source's gets clamped (and
the image's tones squashed). Lightness and colour are therefore matched separately:

- lightness by 1-D optimal transport: each palette is a lightness distribution (entry weights
  are the shares of pixels), and the transport map between two 1-D distributions is the
  monotone quantile map. Content entry i, at the middle of its share of the cumulative weight,
  gets the style's lightness at that quantile. The content takes on the style's tonal balance
  (a mostly dark style darkens most of the image), and the lightness order is kept exactly;
- hue and chroma (a, b) by an assignment (``scipy.optimize.linear_sum_assignment``) that
  minimises the total Lab distance between each content entry and the target it would get
  (its new lightness with that style entry's a, b), so each style colour goes where it changes
  the image least.

A target outside the sRGB gamut is desaturated toward grey at its lightness.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.errors import InvalidParameterError
from colorlab.methods import get_method
from colorlab.palette import Palette, extract_palette
from colorlab.stylize.transfer import _image, transfer_in_lab

RECOLOR_METHODS = ("chang", "palettenet")


def _quantiles(lightness: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries' order from dark to light, and the middle of each one's cumulative share."""
    order = np.argsort(lightness, kind="stable")
    shares = weights[order] / weights.sum()
    return order, np.cumsum(shares) - shares / 2


def match_palettes(source: Palette, style: Palette) -> np.ndarray:
    """The target colour of each ``source`` entry, built from the ``style`` palette.

    Returns (n, 3) sRGB for the n source entries, in their order: target i has the style's
    lightness at source entry i's lightness quantile and the a, b of the style entry assigned
    to it (see the module docstring). Each style colour serves at most ceil(n / m) of the
    entries. Matching a palette to itself returns it.
    """
    n, m = len(source), len(style)
    if n == 0 or m == 0 or np.any(source.weights <= 0) or np.any(style.weights <= 0):
        raise InvalidParameterError(
            f"both palettes need colours of positive weight, got {n} and {m} colours"
        )
    source_lab, style_lab = srgb_to_lab(source.colors), srgb_to_lab(style.colors)
    source_order, source_quantiles = _quantiles(source_lab[:, 0], source.weights)
    style_order, style_quantiles = _quantiles(style_lab[:, 0], style.weights)
    lightness = np.empty(n, dtype=np.float32)
    lightness[source_order] = np.interp(
        source_quantiles, style_quantiles, style_lab[style_order, 0]
    )
    # Columns repeated so that every source entry can be given a colour when n > m.
    candidates = np.tile(style_lab[:, 1:], (-(-n // m), 1))
    cost = np.sqrt(
        (lightness - source_lab[:, 0])[:, None] ** 2
        + np.sum((candidates[None] - source_lab[:, None, 1:]) ** 2, axis=2)
    )
    _, columns = linear_sum_assignment(cost)  # one per row: there are at least n columns
    target = np.column_stack([lightness, candidates[columns]])
    return lab_to_srgb(target, keep_lightness=True)


def palette_transfer(
    content: np.ndarray,
    style: np.ndarray,
    strength: float = 1.0,
    preserve_lightness: bool = False,
    k: int = 5,
    recolor_method: str = "chang",
) -> np.ndarray:
    """``content`` recoloured toward ``style``'s ``k``-colour palette; the content's size.

    ``recolor_method`` is the ``recolor`` method that does the recolouring, with its default
    parameters; one that cannot run here (PaletteNet without weights) raises its own error.
    """
    content, style = _image(content, "content"), _image(style, "style")
    if recolor_method not in RECOLOR_METHODS:
        raise InvalidParameterError(
            f"recolor_method must be one of {list(RECOLOR_METHODS)}, got {recolor_method!r}"
        )
    if not 0 <= strength <= 1:
        raise InvalidParameterError(f"strength must be in [0, 1], got {strength}")
    if strength == 0:
        return content.copy()
    source = extract_palette(content, k)
    target = match_palettes(source, extract_palette(style, k))
    method = get_method("recolor", recolor_method)
    recolored = method.run(
        content, source_palette=source.colors, target_palette=target, **method.resolve_params()
    )
    # The recoloured image is already the transfer: take its Lab values as they are, then blend.
    return transfer_in_lab(content, recolored, lambda _, moved: moved, strength, preserve_lightness)
