"""Palette extraction (Chang et al. 2015): deterministic, sorted by lightness, k respected."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colorlab.color import srgb_to_lab
from colorlab.errors import InvalidParameterError
from colorlab.palette import MAX_K, MIN_K, Palette, color_histogram, extract_palette, retarget


@settings(max_examples=30, deadline=None)
@given(photo=st.integers(0, 4), k=st.integers(MIN_K, MAX_K))
def test_palette_respects_k_is_sorted_by_lightness_and_weights_sum_to_one(small_photos, photo, k):
    palette = extract_palette(small_photos[photo], k)
    assert 1 <= len(palette) <= k
    lightness = srgb_to_lab(palette.colors)[:, 0]
    assert np.all(np.diff(lightness) >= 0)
    assert palette.weights.sum() == pytest.approx(1, abs=1e-5)
    assert np.all(palette.weights > 0)
    assert palette.colors.min() >= 0 and palette.colors.max() <= 1


@settings(max_examples=10, deadline=None)
@given(photo=st.integers(0, 4), k=st.integers(MIN_K, MAX_K))
def test_palette_is_deterministic(small_photos, photo, k):
    first = extract_palette(small_photos[photo], k)
    second = extract_palette(small_photos[photo].copy(), k)
    assert np.array_equal(first.colors, second.colors)
    assert np.array_equal(first.weights, second.weights)


def test_colourful_photo_gets_the_full_palette(astronaut):
    for k in range(MIN_K, MAX_K + 1):
        assert len(extract_palette(astronaut, k)) == k


def test_palette_finds_the_colours_of_a_flat_colour_image():
    colours = np.array([[0.9, 0.1, 0.1], [0.1, 0.2, 0.9], [0.95, 0.95, 0.2]], dtype=np.float32)
    image = np.repeat(colours, [5000, 3000, 2000], axis=0).reshape(100, 100, 3)
    palette = extract_palette(image, 3)
    expected = colours[np.argsort(srgb_to_lab(colours)[:, 0])]
    assert np.abs(palette.colors - expected).max() < 1e-3
    red = int(np.argmin(np.abs(palette.colors - colours[0]).sum(axis=1)))
    assert palette.weights[red] == pytest.approx(0.5, abs=1e-6)


def test_image_with_fewer_colours_than_k_gets_one_entry_per_colour_without_duplicates():
    image = np.zeros((10, 10, 3), dtype=np.float32)
    image[:, 5:] = [0.2, 0.6, 0.3]
    palette = extract_palette(image, 6)
    assert len(palette) == 2
    assert len({tuple(c) for c in palette.to_hex()}) == 2


def test_single_colour_image_gets_a_single_entry():
    palette = extract_palette(np.full((8, 8, 3), 0.25, dtype=np.float32), 4)
    assert palette.to_hex() == ["#404040"]
    assert palette.weights.tolist() == [1.0]


@pytest.mark.parametrize("k", [1, 9, 11, 0, -3, 2.5, "4", True])
def test_k_outside_the_palette_sizes_is_refused(astronaut, k):
    with pytest.raises(InvalidParameterError, match=f"from {MIN_K} to {MAX_K}"):
        extract_palette(astronaut, k)


def test_histogram_bin_colours_are_close_to_the_mean_lab_of_their_pixels(coffee):
    """Binning averages sRGB before converting; within a 1/16 cube that is within 1 dE76."""
    pixels = coffee.reshape(-1, 3)
    index = np.minimum(pixels * 16, 15).astype(int) @ np.array([256, 16, 1])
    bins_lab, counts = color_histogram(coffee)
    occupied = np.flatnonzero(np.bincount(index, minlength=4096))
    lab = srgb_to_lab(pixels)
    exact = (
        np.stack(
            [np.bincount(index, weights=lab[:, c], minlength=4096)[occupied] for c in range(3)], 1
        )
        / counts[:, None]
    )
    assert np.linalg.norm(bins_lab - exact, axis=1).max() < 1.0


def test_palette_to_hex_and_len():
    palette = Palette(np.array([[1, 0, 0]], dtype=np.float32), np.array([1.0], dtype=np.float32))
    assert palette.to_hex() == ["#ff0000"] and len(palette) == 1


def test_retarget_replaces_given_entries_and_keeps_the_rest():
    palette = Palette(np.eye(3, dtype=np.float32), np.full(3, 1 / 3, dtype=np.float32))
    blue = np.array([0.1, 0.2, 0.9], dtype=np.float32)
    target = retarget(palette, [None, blue])
    assert np.array_equal(target, np.stack([palette.colors[0], blue, palette.colors[2]]))
    assert np.array_equal(palette.colors, np.eye(3))  # the palette itself is not changed


def test_retarget_refuses_more_colours_than_the_palette_has():
    palette = Palette(np.eye(2, 3, dtype=np.float32), np.full(2, 0.5, dtype=np.float32))
    with pytest.raises(InvalidParameterError, match="only 2 palette colours but 3"):
        retarget(palette, [None, None, None])
