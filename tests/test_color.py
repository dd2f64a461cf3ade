"""Colour maths: sRGB <-> Lab, the gamut test and colour strings."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.color import lab2rgb, rgb2lab

from colorlab.color import (
    format_palette,
    in_gamut,
    lab_to_linear,
    lab_to_srgb,
    parse_hex,
    parse_palette,
    rotate_hues,
    split_colors,
    srgb_to_lab,
    srgb_to_lightness,
    to_hex,
)
from colorlab.errors import InvalidColorError

unit_floats = st.floats(0, 1, width=32)
rgb_arrays = arrays(np.float32, st.tuples(st.integers(1, 20), st.just(3)), elements=unit_floats)


@given(rgb_arrays)
def test_srgb_lab_round_trip_is_exact_to_float32_precision(rgb):
    assert np.allclose(lab_to_srgb(srgb_to_lab(rgb)), rgb, atol=2e-4)


@given(rgb_arrays)
def test_lightness_alone_is_labs_first_channel(rgb):
    np.testing.assert_allclose(srgb_to_lightness(rgb), srgb_to_lab(rgb)[:, 0], atol=1e-4)


@given(rgb_arrays)
def test_srgb_to_lab_agrees_with_scikit_image(rgb):
    expected = rgb2lab(rgb.astype(np.float64))
    assert np.allclose(srgb_to_lab(rgb), expected, atol=2e-3)


lab_arrays = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        arrays(np.float32, (n, 1), elements=st.floats(0, 100, width=32)),
        arrays(np.float32, (n, 2), elements=st.floats(-128, 127, width=32)),
    ).map(lambda parts: np.concatenate(parts, axis=1))
)


@given(lab_arrays)
def test_keeping_lightness_brings_any_lab_colour_into_gamut_at_the_same_lightness(lab):
    rgb = lab_to_srgb(lab, keep_lightness=True)
    assert rgb.min() >= 0 and rgb.max() <= 1
    assert np.allclose(srgb_to_lab(rgb)[:, 0], lab[:, 0], atol=0.01)


@given(rgb_arrays)
def test_keeping_lightness_leaves_in_gamut_colours_alone(rgb):
    lab = srgb_to_lab(rgb)
    assert np.allclose(lab_to_srgb(lab, keep_lightness=True), lab_to_srgb(lab), atol=1e-5)


def test_keeping_lightness_desaturates_toward_grey_where_clipping_would_darken():
    lab = np.array([[50.0, 0.0, -120.0]], dtype=np.float32)  # far outside: a saturated blue
    assert not in_gamut(lab).any() and lab_to_linear(lab).min() < 0
    kept, clipped = lab_to_srgb(lab, keep_lightness=True), lab_to_srgb(lab)
    assert abs(srgb_to_lab(kept)[0, 0] - 50) < 0.01
    assert abs(srgb_to_lab(clipped)[0, 0] - 50) > 1  # what clipping each channel does
    assert srgb_to_lab(kept)[0, 2] < -20  # still blue


def test_lab_to_srgb_agrees_with_scikit_image(astronaut):
    lab = rgb2lab(astronaut[::8, ::8].astype(np.float64))
    assert np.allclose(lab_to_srgb(lab), lab2rgb(lab), atol=2e-4)


def test_conversions_keep_shape_and_give_float32(coffee):
    lab = srgb_to_lab(coffee)
    assert lab.shape == coffee.shape and lab.dtype == np.float32
    assert lab_to_srgb(lab).dtype == np.float32


def test_reference_colours_have_their_textbook_lab_values():
    white, black, red = srgb_to_lab(np.array([[1, 1, 1], [0, 0, 0], [1, 0, 0]]))
    assert np.allclose(white, [100, 0, 0], atol=1e-2)
    assert np.allclose(black, [0, 0, 0], atol=1e-2)
    assert np.allclose(red, [53.24, 80.09, 67.20], atol=0.05)


@given(rgb_arrays)
def test_every_srgb_colour_is_in_gamut(rgb):
    assert in_gamut(srgb_to_lab(rgb)).all()


def test_saturated_lab_colours_beyond_srgb_are_out_of_gamut():
    assert not in_gamut(np.array([50.0, 0.0, -120.0]))
    assert not in_gamut(np.array([95.0, 80.0, 0.0]))
    assert in_gamut(np.array([50.0, 0.0, 0.0]))


def test_unclipped_conversion_reports_out_of_range_values():
    rgb = lab_to_srgb(np.array([50.0, 0.0, -120.0]), clip=False)
    assert rgb.min() < 0 or rgb.max() > 1
    assert lab_to_srgb(np.array([50.0, 0.0, -120.0])).max() <= 1


@given(st.tuples(*[st.integers(0, 255)] * 3), st.booleans(), st.booleans())
def test_hex_round_trip_in_any_case_with_or_without_hash(values, upper, hash_sign):
    text = "{:02x}{:02x}{:02x}".format(*values)
    text = text.upper() if upper else text
    text = ("#" + text) if hash_sign else text
    assert to_hex(parse_hex(text)) == "#{:02x}{:02x}{:02x}".format(*values)


def test_short_hex_doubles_each_digit():
    assert to_hex(parse_hex("#F80")) == "#ff8800"
    assert to_hex(parse_hex("abc")) == "#aabbcc"


def test_browser_rgb_function_strings_are_accepted():
    assert to_hex(parse_hex("rgba(255, 136, 0, 1)")) == "#ff8800"
    assert to_hex(parse_hex("rgb(0,0,255)")) == "#0000ff"


@pytest.mark.parametrize("bad", ["#12345", "#ggg", "red", "", "#1234567", "rgb(300, 0, 0)"])
def test_bad_hex_is_refused_naming_the_value(bad):
    with pytest.raises(InvalidColorError, match=repr(bad).replace("(", r"\(").replace(")", r"\)")):
        parse_hex(bad)


def test_non_string_colour_is_refused():
    with pytest.raises(InvalidColorError):
        parse_hex(0xFF8800)


@given(arrays(np.float32, st.tuples(st.integers(1, 10), st.just(3)), elements=unit_floats))
def test_palette_text_round_trips_to_8_bit_precision(colors):
    parsed = parse_palette(format_palette(colors))
    assert parsed.shape == colors.shape
    assert np.abs(parsed - colors).max() <= 0.5 / 255 + 1e-6


def test_palette_text_accepts_commas_semicolons_and_spaces():
    assert parse_palette("#000, #fff;#ff0000  #00ff00").shape == (4, 3)


def test_palette_text_error_names_the_bad_entry():
    with pytest.raises(InvalidColorError, match="'#zz0000'"):
        parse_palette("#ff0000, #zz0000")
    with pytest.raises(InvalidColorError, match="empty"):
        parse_palette("  ")


@given(st.text(alphabet="#a1f, ;\t()rgb", max_size=40))
def test_split_colors_splits_like_the_old_lookahead_regex(text):
    """The one-pass splitter gives what ``re.split(r"[,;\\s]+(?![^()]*\\))")`` gave (that regex
    rescanned the rest of the text at every separator: quadratic time) wherever parentheses
    are balanced, as in ``rgb(...)`` colours."""
    import re

    depths = np.cumsum([{"(": 1, ")": -1}.get(char, 0) for char in text] or [0])
    if depths.min() < 0 or depths.max() > 1 or depths[-1] != 0:
        return  # unbalanced or nested: not colour lists
    old = [part for part in re.split(r"[,;\s]+(?![^()]*\))", text.strip()) if part]

    assert split_colors(text) == old


def test_a_palette_text_is_capped_before_parsing():
    with pytest.raises(InvalidColorError, match="at most 2,000"):
        parse_palette("#123456, " * 10_000)
    with pytest.raises(InvalidColorError, match="expected a hex colour string"):
        parse_hex("#" + "f" * 100_000)


def test_rotate_hues_keeps_lightness_and_turns_hue():
    colors = np.array([[0.7, 0.3, 0.2], [0.2, 0.4, 0.6]], dtype=np.float32)
    lab_in, lab_out = srgb_to_lab(colors), srgb_to_lab(rotate_hues(colors, 90))

    assert lab_out[:, 0] == pytest.approx(lab_in[:, 0], abs=1.5)
    turned = np.rad2deg(
        np.arctan2(lab_out[:, 2], lab_out[:, 1]) - np.arctan2(lab_in[:, 2], lab_in[:, 1])
    )
    assert np.mod(turned, 360) == pytest.approx([90, 90], abs=12)  # gamut mapping bends a bit
