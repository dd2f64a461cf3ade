"""Palette transfer (task ``stylize``, method ``palette``): the content takes the style's palette.

Content is scikit-image's astronaut and styles its coffee, chelsea and rocket photos, at most
128 px on a side, recoloured with Chang's method (the default; no weights needed).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment

from colorlab.color import lab_to_srgb, srgb_to_lab, srgb_to_lightness
from colorlab.errors import InvalidParameterError
from colorlab.methods import get_method
from colorlab.metrics import delta_e_ciede2000
from colorlab.palette import Palette, extract_palette
from colorlab.stylize.palette import match_palettes, palette_transfer


@pytest.fixture(scope="module")
def pairs(small_photos):
    """(content, style) pairs: astronaut with coffee, chelsea and rocket."""
    astronaut, coffee, chelsea, rocket = small_photos[:4]
    return [(astronaut, coffee), (astronaut, chelsea), (astronaut, rocket)]


def palette_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIEDE2000 between two palettes' colours, paired one to one as closely as possible."""
    cost = delta_e_ciede2000(*np.broadcast_arrays(a[:, None], b[None]))
    rows, columns = linear_sum_assignment(cost)
    return float(cost[rows, columns].mean())


def random_palette(draw, size: int) -> Palette:
    colors = draw(arrays(np.float32, (size, 3), elements=st.floats(0, 1, width=32)))
    weights = draw(arrays(np.float32, size, elements=st.floats(0.0625, 1, width=32)))
    return Palette(colors, weights / weights.sum())


@st.composite
def palette_pairs(draw) -> tuple[Palette, Palette]:
    return random_palette(draw, draw(st.integers(1, 8))), random_palette(
        draw, draw(st.integers(1, 8))
    )


# Measured distance ratios (after / before): coffee 0.42, chelsea 0.60, rocket 0.69.
def test_output_palette_moves_toward_the_style_palette(pairs):
    for content, style in pairs:
        style_palette = extract_palette(style).colors
        before = palette_distance(extract_palette(content).colors, style_palette)
        after = palette_distance(
            extract_palette(palette_transfer(content, style)).colors, style_palette
        )
        assert after < 0.8 * before


def test_runs_from_the_registry_at_the_contents_size(small_photos):
    content, style = small_photos[1], small_photos[0]  # 85 x 128 content, 128 x 128 style
    result = get_method("stylize", "palette").run(content, style[:50], k=4)
    assert result.shape == content.shape and result.dtype == np.float32
    assert result.min() >= 0 and result.max() <= 1


def test_strength_zero_returns_the_content_and_half_lies_between(pairs):
    content, style = pairs[0]
    assert np.array_equal(palette_transfer(content, style, strength=0), content)
    full, half = (srgb_to_lab(palette_transfer(content, style, strength=s)) for s in (1.0, 0.5))
    assert np.abs(half - (srgb_to_lab(content) + full) / 2).mean() < 0.5


def test_preserve_lightness_keeps_the_contents_lightness(pairs):
    content, style = pairs[1]
    result = palette_transfer(content, style, preserve_lightness=True)
    assert np.abs(srgb_to_lightness(result) - srgb_to_lightness(content)).max() < 0.05
    assert np.abs(srgb_to_lab(result)[..., 1:] - srgb_to_lab(content)[..., 1:]).mean() > 2


@given(palette_pairs())
def test_matching_keeps_the_lightness_order(palettes):
    source, style = palettes
    target = match_palettes(source, style)
    source_l, target_l = srgb_to_lightness(source.colors), srgb_to_lightness(target)
    assert target.shape == source.colors.shape and target.min() >= 0 and target.max() <= 1
    darker = source_l[:, None] < source_l[None, :] - 1e-3  # closer is a tie (float noise)
    assert np.all(target_l[:, None] <= target_l[None, :] + 1e-3, where=darker)
    # Targets stay within the style's range of lightness.
    style_l = srgb_to_lightness(style.colors)
    assert style_l.min() - 1e-3 <= target_l.min() and target_l.max() <= style_l.max() + 1e-3


@given(palette_pairs())
def test_matching_a_palette_to_itself_returns_it(palettes):
    palette = palettes[0]
    assert np.allclose(match_palettes(palette, palette), palette.colors, atol=2e-3)


def test_hues_go_to_the_most_similar_entries_lightness_follows_the_style():
    def palette(*lab):
        colors = lab_to_srgb(np.array(lab, dtype=np.float32))
        return Palette(colors, np.full(len(lab), 1 / len(lab), np.float32))

    content = palette((30, 40, 25), (55, -40, 30), (80, -5, -30))  # dark red, green, light blue
    style = palette((25, -30, -40), (50, 50, 20), (85, -40, 40))  # dark blue, red, light green
    target = srgb_to_lab(match_palettes(content, style))

    assert np.allclose(target[:, 0], srgb_to_lab(style.colors)[:, 0], atol=0.1)
    assert target[0, 1] > 20  # the dark entry stays red, now at the style's darkest lightness
    assert target[1, 1] < -20 and target[1, 2] > 20  # the middle one green
    assert target[2, 2] < -10  # the light one blue


def test_unknown_recolor_method_is_refused():
    method = get_method("stylize", "palette")
    with pytest.raises(InvalidParameterError, match="recolor_method"):
        method.resolve_params(recolor_method="nearest")
