"""Chang et al. 2015 palette recoloring: what a user of the palette editor relies on."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.errors import InvalidParameterError
from colorlab.methods import get_method
from colorlab.metrics import delta_e_ciede2000
from colorlab.palette import extract_palette
from colorlab.recolor.chang import ChangRecolorer, monotonic_luminance, transfer_lab

PHOTOS = range(5)
K = st.integers(3, 8)
unit = st.floats(0, 1, width=32)
colours = st.tuples(unit, unit, unit).map(lambda c: np.array(c, dtype=np.float32))


def with_palette_pixels(image: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """The photo with one extra row holding the exact palette colours (then padding)."""
    row = np.repeat(image[-1:], 1, axis=0).copy()
    row[0, : len(palette)] = palette
    return np.concatenate([image, row])


def palette_pixels(image: np.ndarray, count: int) -> np.ndarray:
    return image[-1, :count]


@settings(max_examples=15, deadline=None)
@given(photo=st.sampled_from(PHOTOS), k=K)
def test_unchanged_palette_returns_the_image(small_photos, photo, k):
    image = small_photos[photo]
    palette = extract_palette(image, k).colors
    out = ChangRecolorer(image, palette).apply(palette)
    assert delta_e_ciede2000(out, image).mean() < 0.5


@settings(max_examples=40, deadline=None)
@given(photo=st.sampled_from(PHOTOS), k=K, entry=st.integers(0, 7), new=colours)
def test_each_palette_colour_maps_to_its_edited_colour(small_photos, photo, k, entry, new):
    image = small_photos[photo]
    palette = extract_palette(image, k).colors
    entry %= len(palette)
    lightness = srgb_to_lab(palette)[:, 0]
    new_l = srgb_to_lab(new)[0]
    below = lightness[entry - 1] if entry > 0 else 0
    above = lightness[entry + 1] if entry + 1 < len(palette) else 100
    if not below <= new_l <= above:
        return  # this edit would move the other entries too (luminance clamp): other tests
    target = palette.copy()
    target[entry] = new
    out = ChangRecolorer(with_palette_pixels(image, palette), palette).apply(target)
    moved = palette_pixels(out, len(palette))
    assert delta_e_ciede2000(moved, target).max() < 2


@settings(max_examples=40, deadline=None)
@given(photo=st.sampled_from(PHOTOS), k=K, data=st.data())
def test_luminance_order_of_palette_entries_is_preserved(small_photos, photo, k, data):
    image = small_photos[photo]
    palette = extract_palette(image, k).colors
    target = np.stack([data.draw(colours) for _ in palette])
    out = ChangRecolorer(with_palette_pixels(image, palette), palette).apply(target)
    lightness = srgb_to_lab(palette_pixels(out, len(palette)))[:, 0]
    # Entries whose targets tie in lightness may come out up to ~1 L apart: pixels are looked up
    # by their 8-bit colour, and extreme edits make the transfer steep. A swap is tens of units.
    assert np.all(np.diff(lightness) >= -2)


@settings(max_examples=25, deadline=None)
@given(photo=st.sampled_from(PHOTOS), k=K, data=st.data())
def test_output_stays_in_unit_range_and_keeps_shape(small_photos, photo, k, data):
    image = small_photos[photo]
    palette = extract_palette(image, k).colors
    target = np.stack([data.draw(colours) for _ in palette])
    out = ChangRecolorer(image, palette).apply(target)
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


@given(st.lists(st.floats(0, 100), min_size=2, max_size=8), st.data())
def test_monotonic_luminance_keeps_the_map_increasing(source, data):
    target = data.draw(st.lists(st.floats(0, 100), min_size=len(source), max_size=len(source)))
    adjusted = monotonic_luminance(np.array(source), np.array(target))
    order = np.argsort(source, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0)


def test_monotonic_luminance_keeps_the_edited_entry_and_clamps_its_neighbours():
    source = np.array([20.0, 50.0, 80.0])
    adjusted = monotonic_luminance(source, np.array([20.0, 90.0, 80.0]))
    assert adjusted.tolist() == [20.0, 90.0, 90.0]
    adjusted = monotonic_luminance(source, np.array([20.0, 10.0, 80.0]))
    assert adjusted.tolist() == [10.0, 10.0, 80.0]


def test_edit_moves_colours_near_the_entry_and_leaves_distant_ones(coffee):
    palette = extract_palette(coffee, 5).colors
    target = palette.copy()
    target[-1] = [0.35, 0.55, 0.95]  # lightest entry -> light blue
    out = get_method("recolor", "chang").run(coffee, source_palette=palette, target_palette=target)
    change = delta_e_ciede2000(out, coffee)
    near_entry = delta_e_ciede2000(coffee, np.broadcast_to(palette[-1], coffee.shape)) < 10
    near_other = delta_e_ciede2000(coffee, np.broadcast_to(palette[0], coffee.shape)) < 10
    assert change[near_entry].mean() > 15
    assert change[near_other].mean() < change[near_entry].mean() / 3


def test_lattice_agrees_with_direct_per_pixel_evaluation(astronaut):
    palette = extract_palette(astronaut, 4).colors
    target = palette.copy()
    target[2] = [0.2, 0.55, 0.3]
    out = ChangRecolorer(astronaut, palette).apply(target)
    pixels = astronaut.reshape(-1, 3)[::37]
    direct = transfer_lab(srgb_to_lab(pixels), srgb_to_lab(palette), srgb_to_lab(target))
    direct_rgb = lab_to_srgb(direct.astype(np.float32))
    assert delta_e_ciede2000(out.reshape(-1, 3)[::37], direct_rgb).mean() < 1


def test_prepared_recolorer_gives_the_same_result_as_a_one_shot_run(coffee):
    palette = extract_palette(coffee, 4).colors
    target = palette[::-1].copy()
    prepared = get_method("recolor", "chang").prepare(coffee, palette)
    once = get_method("recolor", "chang").run(coffee, source_palette=palette, target_palette=target)
    assert np.array_equal(prepared(target), once)
    assert np.array_equal(prepared(target), prepared(target))


def test_mismatched_palette_lengths_are_refused(coffee):
    palette = extract_palette(coffee, 4).colors
    with pytest.raises(InvalidParameterError, match="3 colours but the source palette has 4"):
        ChangRecolorer(coffee, palette).apply(palette[:3])


def test_out_of_range_palette_values_are_refused(coffee):
    palette = extract_palette(coffee, 4).colors
    with pytest.raises(InvalidParameterError, match=r"\[0, 1\]"):
        ChangRecolorer(coffee, palette).apply(palette * 255)


def test_lattice_size_is_validated(coffee):
    with pytest.raises(InvalidParameterError, match="lattice_size"):
        ChangRecolorer(coffee, extract_palette(coffee, 4).colors, lattice_size=2)


def test_chang_is_registered_for_the_recolor_task_with_its_parameters():
    method = get_method("recolor", "chang")
    assert method.prepare is not None
    assert [p.name for p in method.params] == ["lattice_size"]
    assert method.resolve_params(lattice_size="9") == {"lattice_size": 9}
    with pytest.raises(InvalidParameterError):
        method.resolve_params(lattice_size=99)
