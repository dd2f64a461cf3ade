"""Colorization: colour classes, annealed mean, user hints, the networks and colorize().

The networks here are small and randomly initialised (no checkpoint is needed): the specs are
about shapes, ranges, decoding and the image contract, not about how good the colours are.
"""

import itertools
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from colorlab import get_method, list_methods
from colorlab.color import lab_to_srgb, parse_hex, srgb_to_lab
from colorlab.colorize import Hints, colorize, hints_from_points
from colorlab.colorize.bins import (
    ColorBins,
    ab_grid,
    annealed_mean,
    grid_index,
    rebalancing_weights,
    smoothed_distribution,
)
from colorlab.colorize.hints import (
    STROKE_LENGTHS,
    STROKE_WIDTHS,
    hints_from_strokes,
    pool,
    simulate_hints,
)
from colorlab.colorize.models import ColorizerNet
from colorlab.errors import InvalidColorError, InvalidParameterError

GRID_AXIS = np.arange(-110, 111, 10)
ab_values = st.floats(-110, 110, width=32)
ab_arrays = arrays(np.float32, st.tuples(st.integers(1, 30), st.just(2)), elements=ab_values)


def distributions(size: int):
    """Probability vectors of ``size`` entries, each entry positive."""
    weights = arrays(np.float64, size, elements=st.floats(1e-3, 1.0))
    return weights.map(lambda w: w / w.sum())


@pytest.fixture(scope="module")
def photo_bins(small_photos) -> ColorBins:
    """Colour classes made from real photos, as training makes them."""
    ab = np.concatenate([srgb_to_lab(p[::2, ::2]).reshape(-1, 3)[:, 1:] for p in small_photos])
    return ColorBins.from_ab(ab)


# --- the ab grid -----------------------------------------------------------------------------


def test_ab_grid_has_529_points_from_minus_110_to_110_in_steps_of_10():
    grid = ab_grid()
    assert grid.shape == (529, 2) and grid.dtype == np.float32
    for axis in (0, 1):
        np.testing.assert_array_equal(np.unique(grid[:, axis]), GRID_AXIS)
    assert len({tuple(point) for point in grid}) == 529


def test_grid_index_maps_every_grid_point_to_itself():
    np.testing.assert_array_equal(grid_index(ab_grid()), np.arange(529))


@given(ab_arrays)
def test_grid_index_picks_the_nearest_grid_point(ab):
    grid = ab_grid()
    chosen = grid[grid_index(ab)]
    distance = np.linalg.norm(ab - chosen, axis=1)
    nearest = np.linalg.norm(ab[:, None] - grid[None], axis=2).min(axis=1)
    np.testing.assert_allclose(distance, nearest, atol=1e-3)
    assert (distance <= 5 * np.sqrt(2) + 1e-3).all()


def test_grid_index_clamps_values_beyond_the_grid_to_its_edge():
    grid = ab_grid()
    np.testing.assert_array_equal(grid[grid_index(np.array([[500.0, -500.0]]))], [[110, -110]])


# --- colour classes and their prior ----------------------------------------------------------


@given(
    st.sets(st.integers(0, 528), min_size=1, max_size=40),
    st.floats(-4.9, 4.9),
    st.floats(-4.9, 4.9),
)
def test_only_grid_points_that_the_data_reaches_become_classes(reached, da, db):
    points = ab_grid()[sorted(reached)]
    ab = np.repeat(points, 3, axis=0) + np.float32([da, db])
    bins = ColorBins.from_ab(ab)
    assert {tuple(c) for c in bins.centres} == {tuple(p) for p in points}
    assert bins.size == len(reached)
    assert bins.prior.sum() == pytest.approx(1, abs=1e-5)
    assert (bins.prior > 0).all()


def test_classes_need_min_count_pixels():
    ab = np.array([[0, 0]] * 5 + [[50, 50]] * 2, dtype=np.float32)
    bins = ColorBins.from_ab(ab, min_count=3)
    np.testing.assert_array_equal(bins.centres, [[0, 0]])
    assert bins.prior == pytest.approx([1.0])


def test_no_data_makes_no_classes():
    with pytest.raises(InvalidParameterError, match="no ab values"):
        ColorBins.from_ab(np.zeros((0, 2), np.float32))


def test_the_prior_of_real_photos_is_a_positive_distribution_favouring_grey(photo_bins):
    assert 20 < photo_bins.size <= 529
    assert photo_bins.prior.sum() == pytest.approx(1, abs=1e-5)
    assert (photo_bins.prior > 0).all()
    grey = int(np.flatnonzero((photo_bins.centres == 0).all(axis=1))[0])
    assert photo_bins.prior[grey] > np.median(photo_bins.prior)


def test_smoothing_spreads_a_single_cell_to_its_neighbours():
    counts = np.zeros(529)
    counts[grid_index(np.array([[0.0, 0.0]]))] = 10
    smooth = smoothed_distribution(counts)
    assert smooth.sum() == pytest.approx(1)
    neighbour = grid_index(np.array([[10.0, 0.0]]))[0]
    assert 0 < smooth[neighbour] < smooth[grid_index(np.array([[0.0, 0.0]]))[0]]


# --- soft encoding ---------------------------------------------------------------------------


@given(ab_arrays)
def test_soft_encoding_is_a_distribution_over_the_5_nearest_classes(photo_bins, ab):
    index, weights = photo_bins.soft_encode(ab)
    assert index.shape == weights.shape == (len(ab), 5)
    assert index.dtype == np.int64 and weights.dtype == np.float32
    assert all(len(set(row)) == 5 for row in index)
    np.testing.assert_allclose(weights.sum(axis=1), 1, atol=1e-5)
    assert (weights >= 0).all()
    # Nearest first, with the largest weight; the first is the nearest class of all.
    assert (np.diff(weights, axis=1) <= 1e-6).all()
    distance = np.linalg.norm(ab[:, None] - photo_bins.centres[index], axis=2)
    assert (np.diff(distance, axis=1) >= -1e-2).all()
    nearest = np.linalg.norm(ab[:, None] - photo_bins.centres[None], axis=2).min(axis=1)
    np.testing.assert_allclose(distance[:, 0], nearest, atol=1e-2)


def test_soft_encoding_weights_are_a_gaussian_of_distance_with_sigma_5():
    bins = ColorBins(ab_grid(), np.full(529, 1 / 529, np.float32))
    index, weights = bins.soft_encode(np.array([[30.0, -40.0]]))
    assert tuple(bins.centres[index[0, 0]]) == (30, -40)
    # The other four are the grid neighbours at distance 10: exp(-10^2 / (2 * 5^2)) = exp(-2).
    assert {tuple(c) for c in bins.centres[index[0, 1:]]} == {
        (40, -40),
        (20, -40),
        (30, -30),
        (30, -50),
    }
    np.testing.assert_allclose(weights[0, 1:] / weights[0, 0], np.exp(-2), rtol=1e-5)
    assert weights[0, 0] == pytest.approx(1 / (1 + 4 * np.exp(-2)), rel=1e-5)


def test_a_value_midway_between_two_classes_splits_its_weight_evenly():
    bins = ColorBins(ab_grid(), np.full(529, 1 / 529, np.float32))
    index, weights = bins.soft_encode(np.array([[5.0, 0.0]]))
    assert {tuple(c) for c in bins.centres[index[0, :2]]} == {(0, 0), (10, 0)}
    assert weights[0, 0] == pytest.approx(weights[0, 1], rel=1e-5)


# --- class rebalancing -----------------------------------------------------------------------


@given(st.integers(2, 60).flatmap(distributions), st.floats(0, 1))
def test_rebalancing_weights_average_to_one_under_the_prior(prior, lam):
    weights = rebalancing_weights(prior, lam)
    assert np.isfinite(weights).all() and (weights > 0).all()
    assert np.sum(prior * weights) == pytest.approx(1, rel=1e-9)


@given(st.integers(2, 60).flatmap(distributions), st.floats(0, 0.99))
def test_rarer_classes_weigh_more(prior, lam):
    weights = rebalancing_weights(prior, lam)
    order = np.argsort(prior, kind="stable")
    assert (np.diff(weights[order]) <= 1e-12).all()
    rare, common = np.argmin(prior), np.argmax(prior)
    if prior[rare] < prior[common] * 0.99:
        assert weights[rare] > weights[common]


@given(st.integers(2, 60).flatmap(distributions))
def test_lambda_one_gives_uniform_weights(prior):
    np.testing.assert_allclose(rebalancing_weights(prior, 1.0), 1.0, rtol=1e-9)


def test_lambda_zero_with_a_smoothed_prior_is_finite_and_inverse_to_the_prior(photo_bins):
    weights = rebalancing_weights(photo_bins.prior, 0.0)
    assert np.isfinite(weights).all()
    prior = photo_bins.prior.astype(np.float64)
    np.testing.assert_allclose(weights, 1 / (prior * len(prior)), rtol=1e-5)


def test_the_bins_weights_are_the_rebalancing_at_lambda_one_half(photo_bins):
    prior = photo_bins.prior.astype(np.float64)
    assert np.sum(prior * photo_bins.weights) == pytest.approx(1, rel=1e-5)
    np.testing.assert_allclose(photo_bins.weights, rebalancing_weights(prior, 0.5), rtol=1e-6)
    grey = photo_bins.pixel_weights(np.zeros((1, 2)))
    vivid = photo_bins.pixel_weights(photo_bins.centres[[np.argmin(photo_bins.prior)]])
    assert vivid[0] > grey[0]


def test_the_bins_weights_follow_their_lambda(photo_bins):
    stronger = ColorBins(photo_bins.centres, photo_bins.prior, lam=0.2)
    prior = photo_bins.prior.astype(np.float64)
    np.testing.assert_allclose(stronger.weights, rebalancing_weights(prior, 0.2), rtol=1e-6)
    rarest = np.argmin(photo_bins.prior)
    assert stronger.weights[rarest] > photo_bins.weights[rarest]


def test_a_class_with_no_mass_and_no_mixing_is_an_error():
    with pytest.raises(InvalidParameterError, match="zero mass"):
        rebalancing_weights(np.array([0.5, 0.5, 0.0]), lam=0.0)
    assert np.isfinite(rebalancing_weights(np.array([0.5, 0.5, 0.0]), lam=0.5)).all()


@pytest.mark.parametrize("lam", [-0.1, 1.5])
def test_lambda_outside_zero_to_one_is_an_error(lam):
    with pytest.raises(InvalidParameterError, match="lambda"):
        rebalancing_weights(np.array([0.5, 0.5]), lam)


# --- the annealed mean -----------------------------------------------------------------------

CENTRES = ab_grid()[::7][:40]  # 40 spread-out grid points


@given(distributions(40))
def test_temperature_one_gives_the_mean(p):
    np.testing.assert_allclose(annealed_mean(p, CENTRES, 1.0), p @ CENTRES, atol=1e-3)


@given(distributions(40), st.sampled_from([1e-4, 1e-6, 1e-12]))
def test_temperature_near_zero_gives_the_mode(p, temperature):
    np.testing.assert_array_equal(annealed_mean(p, CENTRES, temperature), CENTRES[np.argmax(p)])


def test_a_small_temperature_above_the_mode_cutoff_is_close_to_the_mode():
    p = np.full(40, 0.5 / 39)
    p[7] = 0.5
    np.testing.assert_allclose(annealed_mean(p, CENTRES, 0.002), CENTRES[7], atol=1e-3)


def annealed_mode_weight(p: np.ndarray, temperature: float) -> float:
    annealed = p ** (1 / temperature)
    return float(annealed[np.argmax(p)] / annealed.sum())


TEMPERATURES = [1.0, 0.8, 0.6, 0.38, 0.25, 0.1, 0.05, 0.01]


@given(distributions(40))
def test_lowering_the_temperature_moves_the_mean_toward_the_mode(p):
    """The mode's annealed weight grows as T falls, so the distance to the mode is bounded by a
    shrinking amount: (1 - weight) x the farthest class. (The distance itself need not fall
    monotonically in 2-D: a far second class can gain weight from the rare ones as T falls.)
    """
    mode = CENTRES[np.argmax(p)]
    reach = np.linalg.norm(CENTRES - mode, axis=1).max()
    weights = [annealed_mode_weight(p, t) for t in TEMPERATURES]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(weights))
    for temperature, weight in zip(TEMPERATURES, weights, strict=True):
        distance = np.linalg.norm(annealed_mean(p, CENTRES, temperature) - mode)
        assert distance <= (1 - weight) * reach + 1e-3


@given(st.floats(0.01, 0.4), st.integers(0, 39), st.integers(0, 39))
def test_with_two_classes_the_distance_to_the_mode_falls_with_the_temperature(minor, i, j):
    if CENTRES[i].tolist() == CENTRES[j].tolist():
        return
    centres = CENTRES[[i, j]]
    distances = [
        np.linalg.norm(annealed_mean(np.array([1 - minor, minor]), centres, t) - centres[0])
        for t in TEMPERATURES
    ]
    assert all(b <= a + 1e-3 for a, b in itertools.pairwise(distances))
    assert distances[-1] < 1e-3 < distances[0]


def test_annealed_mean_works_over_the_last_axis_of_any_batch():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(40), size=(2, 3))
    ab = annealed_mean(p, CENTRES, 0.38)
    assert ab.shape == (2, 3, 2) and ab.dtype == np.float32
    np.testing.assert_allclose(ab[1, 2], annealed_mean(p[1, 2], CENTRES, 0.38), atol=1e-4)


@pytest.mark.parametrize("temperature", [0.0, -0.5, float("nan")])
def test_a_non_positive_temperature_is_an_error(temperature):
    with pytest.raises(InvalidParameterError, match="temperature"):
        annealed_mean(np.array([0.5, 0.5]), CENTRES[:2], temperature)


# --- hints: pooling to the working size ------------------------------------------------------


@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.data(),
    st.tuples(ab_values, ab_values),
)
def test_a_single_hinted_pixel_survives_any_shrink_with_its_exact_colour(height, width, data, ab):
    y, x = data.draw(st.integers(0, height - 1)), data.draw(st.integers(0, width - 1))
    size = (data.draw(st.integers(1, height)), data.draw(st.integers(1, width)))
    mask = np.zeros((height, width), bool)
    values = np.zeros((height, width, 2), np.float32)
    mask[y, x], values[y, x] = True, ab
    pooled_mask, pooled_ab = pool(mask, values, size)
    assert pooled_mask.shape == size and pooled_ab.shape == (*size, 2)
    assert pooled_mask.sum() == 1 and set(np.unique(pooled_mask)) <= {0.0, 1.0}
    cell = np.unravel_index(np.argmax(pooled_mask), size)
    np.testing.assert_array_equal(pooled_ab[cell], np.float32(ab))  # not faded toward grey
    assert (pooled_ab[pooled_mask == 0] == 0).all()


@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 5),
    st.integers(1, 5),
    st.data(),
)
def test_a_cell_takes_the_mean_of_its_hinted_pixels_only(rows, cols, fy, fx, data):
    shape = (rows * fy, cols * fx)
    mask = data.draw(arrays(bool, shape))
    values = data.draw(arrays(np.float32, (*shape, 2), elements=ab_values))
    pooled_mask, pooled_ab = pool(mask, values, (rows, cols))
    for r, c in itertools.product(range(rows), range(cols)):
        block = (slice(r * fy, (r + 1) * fy), slice(c * fx, (c + 1) * fx))
        hinted = mask[block]
        assert pooled_mask[r, c] == float(hinted.any())
        expected = values[block][hinted].mean(axis=0) if hinted.any() else np.zeros(2)
        np.testing.assert_allclose(pooled_ab[r, c], expected, atol=1e-3)


@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 30), st.integers(1, 30))
def test_no_hints_pool_to_all_zeros(height, width, h, w):
    mask, ab = pool(np.zeros((height, width), bool), np.zeros((height, width, 2)), (h, w))
    assert not mask.any() and not ab.any()


@given(st.integers(1, 20), st.integers(1, 20), st.data())
def test_pooling_to_the_same_size_changes_nothing(height, width, data):
    mask = data.draw(arrays(bool, (height, width)))
    values = data.draw(arrays(np.float32, (height, width, 2), elements=ab_values))
    values[~mask] = 0
    pooled_mask, pooled_ab = pool(mask, values, (height, width))
    np.testing.assert_array_equal(pooled_mask, mask.astype(np.float32))
    np.testing.assert_array_equal(pooled_ab, values)


def test_hint_channels_are_ab_over_110_and_a_0_1_mask():
    hints = Hints.empty((6, 8))
    hints.ab[2, 3] = [55.0, -110.0]
    hints.mask[2, 3] = True
    channels = hints.channels((3, 4))
    assert channels.shape == (3, 3, 4) and channels.dtype == np.float32
    np.testing.assert_allclose(channels[:2, 1, 1], [0.5, -1.0])
    assert set(np.unique(channels[2])) == {0.0, 1.0} and channels[2].sum() == 1
    assert hints.count == 1
    assert not Hints.empty((6, 8)).channels((6, 8)).any()


# --- hints: simulated from ground truth ------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 3, 10])
def test_simulated_hints_take_the_true_colour(count):
    colour = np.float32([23.5, -41.25])
    ab = np.broadcast_to(colour, (40, 56, 2)).copy()
    hints = simulate_hints(ab, np.random.default_rng(count), count=count)
    assert hints.mask.shape == (40, 56) and hints.ab.shape == (40, 56, 2)
    assert hints.mask.any() == (count > 0)
    assert 0 <= hints.count <= count * 81
    np.testing.assert_allclose(hints.ab[hints.mask], np.broadcast_to(colour, (hints.count, 2)))
    assert not hints.ab[~hints.mask].any()


@pytest.mark.parametrize("seed", range(8))
def test_a_simulated_hint_is_a_square_patch_valued_at_its_mean_true_colour(small_photos, seed):
    ab = srgb_to_lab(small_photos[seed % len(small_photos)])[..., 1:]
    hints = simulate_hints(ab, np.random.default_rng(seed), count=1)
    ys, xs = np.nonzero(hints.mask)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    assert bottom - top == right - left and 1 <= bottom - top <= 9
    assert hints.mask[top:bottom, left:right].all()
    expected = ab[top:bottom, left:right].reshape(-1, 2).mean(axis=0)
    np.testing.assert_allclose(
        hints.ab[hints.mask], np.broadcast_to(expected, (len(ys), 2)), atol=1e-3
    )


@pytest.mark.parametrize("seed", range(8))
def test_a_simulated_stroke_is_a_thin_line_valued_at_its_mean_true_colour(small_photos, seed):
    ab = srgb_to_lab(small_photos[seed % len(small_photos)])[..., 1:]
    hints = simulate_hints(ab, np.random.default_rng(seed), count=1, stroke_share=1.0)
    ys, xs = np.nonzero(hints.mask)
    extent = np.hypot(ys.max() - ys.min(), xs.max() - xs.min())
    assert STROKE_LENGTHS[0] - 2 <= extent <= STROKE_LENGTHS[1] + max(STROKE_WIDTHS) + 1
    assert len(ys) <= (STROKE_LENGTHS[1] + 2) * (max(STROKE_WIDTHS) + 1)  # thin: not a blob
    expected = ab[ys, xs].mean(axis=0)
    np.testing.assert_allclose(hints.ab[ys, xs], np.broadcast_to(expected, (len(ys), 2)), atol=1e-3)


def test_simulated_hints_are_points_unless_strokes_are_asked_for():
    ab = np.zeros((64, 64, 2), np.float32)

    def squares(share):
        shapes = []
        for seed in range(40):
            mask = simulate_hints(ab, np.random.default_rng(seed), count=1, stroke_share=share).mask
            ys, xs = np.nonzero(mask)
            shapes.append(mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].all())
        return np.mean(shapes)

    assert squares(0.0) == 1.0
    assert squares(1.0) < 0.5  # strokes of width 1 to 5, at any angle, seldom fill a square


def test_simulated_hints_fit_images_smaller_than_a_patch():
    ab = np.full((3, 2, 2), 7.0, np.float32)
    hints = simulate_hints(ab, np.random.default_rng(0), count=5)
    assert hints.mask.any() and np.allclose(hints.ab[hints.mask], 7.0)


def test_the_number_of_simulated_hints_is_geometric_with_one_in_eight_having_none():
    ab = np.zeros((16, 16, 2), np.float32)
    counts = [simulate_hints(ab, np.random.default_rng(seed)).count for seed in range(800)]
    none = np.mean(np.equal(counts, 0))
    assert 0.08 < none < 0.18  # 1/8 expected
    assert np.mean(np.greater(counts, 30)) > 0.5  # about 7 patches on average


def test_simulated_hints_gather_around_the_centre():
    ab = np.zeros((64, 64, 2), np.float32)
    total = np.zeros((64, 64))
    for seed in range(200):
        total += simulate_hints(ab, np.random.default_rng(seed), count=2).mask
    ys, xs = np.nonzero(total)
    centre_y = np.average(ys, weights=total[ys, xs])
    centre_x = np.average(xs, weights=total[ys, xs])
    assert abs(centre_y - 31.5) < 4 and abs(centre_x - 31.5) < 4
    # sd a quarter of the side: the central quarter of the area holds about half the hints.
    assert total[16:48, 16:48].sum() > 0.4 * total.sum()


# --- hints: from user points -----------------------------------------------------------------

POINTS = [
    {"x": 2, "y": 1, "color": "#ff0000", "radius": 0},
    {"x": 0, "y": 3, "color": "#0f0", "radius": 0},
]


def check_points(hints: Hints) -> None:
    assert hints.mask.shape == (4, 5) and hints.count == 2
    assert hints.mask[1, 2] and hints.mask[3, 0]
    np.testing.assert_allclose(hints.ab[1, 2], srgb_to_lab(parse_hex("#ff0000"))[1:], atol=1e-4)
    np.testing.assert_allclose(hints.ab[3, 0], srgb_to_lab(parse_hex("#00ff00"))[1:], atol=1e-4)
    assert not hints.ab[~hints.mask].any()


def test_hints_from_a_list_of_points():
    check_points(hints_from_points(POINTS, (4, 5)))


def test_hints_from_a_json_string():
    check_points(hints_from_points("  " + json.dumps(POINTS), (4, 5)))


def test_a_string_is_json_text_never_a_file_name(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text(json.dumps(POINTS))
    with pytest.raises(InvalidParameterError, match="not valid JSON"):
        hints_from_points(str(path), (4, 5))  # text from a web client cannot open a file


def test_a_point_colours_a_small_square_cut_at_the_edges():
    shape = (256, 300)  # default radius: 1/128 of the short side = 2 -> 5 x 5 squares
    hints = hints_from_points([{"x": 100, "y": 50, "color": "#2040ff"}], shape)
    assert hints.count == 25 and hints.mask[48:53, 98:103].all()
    corner = hints_from_points([{"x": 0, "y": 255, "color": "#2040ff"}], shape)
    assert corner.count == 9 and corner.mask[253:, :3].all()  # 3 x 3 left of the square
    wide = hints_from_points([{"x": 100, "y": 50, "color": "#2040ff", "radius": 4}], shape)
    assert wide.count == 81


def test_later_points_cover_earlier_ones():
    points = [{"x": 1, "y": 1, "color": "#ff0000"}, {"x": 2, "y": 1, "color": "#0000ff"}]
    hints = hints_from_points(points, (4, 5))  # radius 1: the squares overlap
    np.testing.assert_allclose(hints.ab[1, 1], srgb_to_lab(parse_hex("#0000ff"))[1:], atol=1e-4)


def test_no_points_give_no_hints():
    assert hints_from_points([], (4, 5)).count == 0
    assert hints_from_points("[]", (4, 5)).count == 0


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ({"x": 1, "y": 1, "color": "#fff"}, "must be a JSON list"),
        ('{"x": 1, "y": 1, "color": "#fff"}', "must be a JSON list"),
        ([{"x": 1, "y": 1}], 'hint 0 must be an object with "x", "y" and "color"'),
        ([POINTS[0], "red"], 'hint 1 must be an object with "x", "y" and "color"'),
        ([{"x": 1.5, "y": 1, "color": "#fff"}], "hint 0: x and y must be integers"),
        ([{"x": "1", "y": 1, "color": "#fff"}], "hint 0: x and y must be integers"),
        ([{"x": True, "y": 1, "color": "#fff"}], "hint 0: x and y must be integers"),
        ([POINTS[0], {"x": 5, "y": 0, "color": "#fff"}], r"hint 1 at \(5, 0\) is outside the 5x4"),
        ([{"x": 0, "y": -1, "color": "#fff"}], r"hint 0 at \(0, -1\) is outside"),
        ("[1, 2", "not valid JSON"),
        ([{"x": 1, "y": 1, "color": "#fff", "radius": -1}], "hint 0: radius must be"),
        ([{"x": 1, "y": 1, "color": "#fff", "radius": 1.5}], "hint 0: radius must be"),
    ],
)
def test_bad_points_are_errors_that_name_the_problem(points, message):
    with pytest.raises(InvalidParameterError, match=message):
        hints_from_points(points, (4, 5))


def test_a_bad_hint_colour_is_a_colour_error_naming_the_hint():
    points = [POINTS[0], {"x": 1, "y": 1, "color": "#zz0000"}]
    with pytest.raises(InvalidColorError, match="#zz0000") as error:
        hints_from_points(points, (4, 5))
    assert "hint 1" in str(error.value)  # the docstring: errors name the offending entry


def _stroke(color="#d03a2a", size=4, points=((5, 10), (45, 10))) -> dict:
    return {"color": color, "size": size, "points": [list(p) for p in points]}


def test_a_stroke_hints_a_round_brush_band_along_its_points_with_its_exact_colour():
    hints = hints_from_strokes([_stroke(size=4)], (40, 60), (40, 60))

    ys, xs = np.nonzero(hints.mask)
    assert abs(ys.mean() - 9.5) < 0.5 and 4 <= ys.max() - ys.min() + 1 <= 5  # rows [8, 12)
    assert abs(xs.min() - 3) <= 1 and abs(xs.max() - 46) <= 1  # round caps of radius 2
    assert hints.mask[8:12, 5:45].all()
    red_ab = srgb_to_lab(parse_hex("#d03a2a"))[1:]
    np.testing.assert_allclose(hints.ab[hints.mask], np.broadcast_to(red_ab, (hints.count, 2)))
    assert not hints.ab[~hints.mask].any()


@pytest.mark.parametrize("shape", [(80, 120), (97, 131), (20, 30)])
def test_strokes_drawn_on_a_preview_scale_to_the_image_with_the_brush(shape):
    sy, sx = shape[0] / 40, shape[1] / 60
    hints = hints_from_strokes([_stroke(size=4)], (40, 60), shape)

    ys, xs = np.nonzero(hints.mask)
    brush = 4 * (sx + sy) / 2  # the brush scales too
    assert abs((ys.max() - ys.min() + 1) - brush) <= 2
    assert abs(ys.mean() + 0.5 - 10 * sy) <= 1
    assert abs(xs.min() - (5 * sx - brush / 2)) <= 1.5
    assert abs(xs.max() + 1 - (45 * sx + brush / 2)) <= 1.5


def test_a_single_point_stroke_is_a_dab_and_later_strokes_cover_earlier_ones():
    blue = _stroke("#2040ff", size=10, points=[(20, 10)])
    hints = hints_from_strokes([_stroke(size=6), blue], (40, 60), (40, 60))

    assert hints.mask[10, 20] and hints.ab[10, 20, 1] < -50  # blue over red
    assert hints.ab[10, 40, 0] > 30  # red beyond the dab
    assert hints_from_strokes([], (40, 60), (40, 60)).count == 0


def test_strokes_beyond_the_image_are_cut_at_its_edges():
    hints = hints_from_strokes([_stroke(size=8, points=[(-50, 10), (5, 10)])], (40, 60), (40, 60))
    assert hints.mask[:, 0].any() and not hints.mask[:, 10:].any()
    assert hints_from_strokes([_stroke(points=[(500, 500)])], (40, 60), (40, 60)).count == 0


@pytest.mark.parametrize(
    ("strokes", "message"),
    [
        ({"color": "#fff"}, "must be a JSON list"),
        ([{"color": "#fff", "size": 3}], 'stroke 0 must be an object with "color", "size"'),
        ([_stroke(), _stroke(size=0)], "stroke 1: size must be a number from 1 to 128"),
        ([_stroke(size=True)], "stroke 0: size must be"),
        ([_stroke(points=[])], r"stroke 0: points must be a non-empty list of \[x, y\]"),
        ([_stroke(points=[(1, "2")])], "stroke 0: points must be"),
        ([_stroke(points=[(1, True)])], "stroke 0: points must be"),
        ('[{"color": "#fff", "size": 3, "points": [[NaN, 1]]}]', "stroke 0: points must be"),
        ([_stroke()] * 201, "201 strokes given; at most 200"),
        ([_stroke(points=[(1, 1)] * 20_001)], "more than 20,000 points"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_bad_strokes_are_errors_that_name_the_problem(strokes, message):
    with pytest.raises(InvalidParameterError, match=message):
        hints_from_strokes(strokes, (40, 60), (40, 60))


def test_a_bad_stroke_colour_is_a_colour_error_naming_the_stroke():
    with pytest.raises(InvalidColorError, match="stroke 1: '#zz0000'"):
        hints_from_strokes([_stroke(), _stroke("#zz0000")], (40, 60), (40, 60))


# --- the networks ----------------------------------------------------------------------------

WIDE_CENTRES = [[a, b] for a in (-60, -20, 20, 60) for b in (-60, -20, 20, 60)]
SMALL_CENTRES = [[a, b] for a in (-10, 0, 10) for b in (-10, 0, 10)]  # in gamut at L 35-72
TINY = [8, 16, 32, 64]


def classifier(centres=WIDE_CENTRES, seed: int = 0, **config) -> ColorizerNet:
    """A random classification colorizer whose classes are ``centres`` (grid points); its
    hint branch random too (a fresh one's outputs start at zero)."""
    torch.manual_seed(seed)
    model = ColorizerNet({"num_bins": len(centres), "channels": TINY, **config}).eval()
    model.bin_centres.copy_(torch.tensor(centres, dtype=torch.float32))
    if model.hint_branch is not None:
        model.hint_branch.out4.reset_parameters()
        model.hint_branch.out8.reset_parameters()
    return model.requires_grad_(False)


def regressor(kind: str = "regression") -> ColorizerNet:
    torch.manual_seed(0)
    return ColorizerNet({"kind": kind, "channels": TINY, "hints": False}).eval()


@pytest.mark.parametrize(("height", "width"), [(1, 1), (17, 33), (50, 70), (64, 64), (5, 123)])
def test_the_head_predicts_at_a_quarter_of_the_input_size_rounded_up(height, width):
    lightness = torch.rand(2, 1, height, width) * 2 - 1
    out_shape = (-(-height // 4), -(-width // 4))
    with torch.no_grad():
        logits = classifier()(lightness, torch.zeros(2, 3, height, width))
        ab = regressor()(lightness)
    assert logits.shape == (2, 16, *out_shape)
    assert ab.shape == (2, 2, *out_shape)


def test_a_model_with_hints_runs_without_hint_channels_as_if_they_were_zero():
    model = classifier()
    lightness = torch.rand(1, 1, 24, 40) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model(lightness), model(lightness, torch.zeros(1, 3, 24, 40)))


def test_a_fresh_hint_branch_leaves_the_automatic_result_as_it_was():
    torch.manual_seed(0)
    model = ColorizerNet({"num_bins": 16, "channels": TINY}).eval()
    lightness = torch.rand(1, 1, 32, 32) * 2 - 1
    hints = torch.zeros(1, 3, 32, 32)
    hints[0, :, 10:14, 10:14] = torch.tensor([0.5, -0.3, 1.0])[:, None, None]
    with torch.no_grad():  # so a warm start from a model without hints begins as that model
        torch.testing.assert_close(model(lightness, hints), model(lightness))


def test_a_hint_changes_the_colours_near_it_and_nothing_beyond_its_reach():
    """Hints enter the decoder, after the global context: one hint cannot recolour the photo."""
    model = classifier(channels=[32, 64, 128, 256])
    lightness = torch.rand(1, 1, 256, 256) * 2 - 1
    hints = torch.zeros(1, 3, 256, 256)
    hints[0, :, 126:131, 126:131] = torch.tensor([0.5, -0.3, 1.0])[:, None, None]
    with torch.no_grad():
        change = (model.predict_ab(lightness, hints) - model.predict_ab(lightness)).abs().sum(1)
    assert (change[0, 124:133, 124:133] > 0).all()  # seen where it is drawn
    rows, cols = torch.nonzero(change[0] > 0, as_tuple=True)
    reach = max((rows - 128).abs().max(), (cols - 128).abs().max())
    assert reach <= 64  # about 50 px of the network's input, whatever the image


@pytest.mark.parametrize("kind", ["regression", "pix2pix"])
def test_regression_heads_give_ab_over_110_strictly_inside_minus_one_to_one(kind):
    model = regressor(kind)
    with torch.no_grad():
        for parameter in model.out.parameters():  # push the head hard toward saturation
            parameter.mul_(50)
        ab = model(torch.rand(2, 1, 30, 30) * 2 - 1)
        assert model.decode(ab) is ab
    assert ab.abs().max() <= 1 and ab.abs().max() > 0.5


def test_decoding_near_zero_temperature_picks_class_centres():
    model = classifier()
    with torch.no_grad():
        logits = model(torch.rand(1, 1, 40, 40) * 2 - 1) * 20
        ab = model.decode(logits, 1e-4) * 110
    centres = {tuple(c) for c in WIDE_CENTRES}
    assert {tuple(v) for v in ab.round().reshape(2, -1).T.tolist()} <= centres
    np.testing.assert_allclose(ab.round(), ab, atol=1e-4)
    winners = torch.tensor(WIDE_CENTRES, dtype=torch.float32)[logits.argmax(dim=1)]
    torch.testing.assert_close(ab, winners.permute(0, 3, 1, 2))


@pytest.mark.parametrize("temperature", [1.0, 0.38, 0.05])
def test_the_network_decodes_with_the_same_annealed_mean_as_the_bins(temperature):
    model = classifier()
    with torch.no_grad():
        logits = model(torch.rand(1, 1, 20, 28) * 2 - 1) * 5
        ab = model.decode(logits, temperature)[0].permute(1, 2, 0).numpy() * 110
    probabilities = torch.softmax(logits, dim=1)[0].permute(1, 2, 0).numpy()
    expected = annealed_mean(probabilities, np.array(WIDE_CENTRES), temperature)
    np.testing.assert_allclose(ab, expected, atol=1e-2)


@pytest.mark.parametrize("lam", [0.5, 0.2])
@pytest.mark.parametrize(("correction", "expected"), [(1.0, "data"), (0.0, "rebalanced")])
def test_the_prior_correction_divides_the_rebalancing_boost_back_out(correction, expected, lam):
    """A network trained with rebalancing at lambda predicts p * w; correction 1 recovers p's
    mean with the same lambda's weights."""
    model = classifier(prior_correction=correction, rebalancing_lambda=lam)
    prior = np.linspace(1, 16, 16) ** 2
    prior /= prior.sum()
    model.bin_prior.copy_(torch.tensor(prior, dtype=torch.float32))
    boosted = prior * rebalancing_weights(prior, lam)
    logits = torch.tensor(np.log(boosted), dtype=torch.float32)[None, :, None, None]
    with torch.no_grad():
        ab = model.decode(logits, temperature=1.0)[0, :, 0, 0].numpy() * 110
    distribution = {"data": prior, "rebalanced": boosted / boosted.sum()}[expected]
    np.testing.assert_allclose(ab, distribution @ np.array(WIDE_CENTRES), atol=1e-3)


@pytest.mark.parametrize("model", [classifier(), regressor()], ids=["classification", "regression"])
def test_predict_ab_is_at_the_input_size(model):
    with torch.no_grad():
        ab = model.predict_ab(torch.zeros(2, 1, 37, 29))
    assert ab.shape == (2, 2, 37, 29)
    assert ab.abs().max() <= 1


def test_an_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="kind"):
        ColorizerNet({"kind": "diffusion"})


# --- colorize(): the image contract ----------------------------------------------------------


def greyish(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth mid-grey image (Lab L about 40 to 70) with a little colour."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width, 2)
    base = 0.45 + 0.15 * np.sin(6 * x + 4 * y)[..., None]
    return (base + rng.uniform(-0.05, 0.05, (height, width, 3))).astype(np.float32)


@pytest.mark.parametrize(
    ("shape", "working_size"),
    [((1, 40), 256), ((40, 1), 256), ((33, 47), 256), ((300, 260), 256), ((301, 90), 64)],
)
def test_colorize_keeps_the_input_size_and_lightness(shape, working_size):
    image = greyish(*shape)
    out = colorize(image, classifier(SMALL_CENTRES), working_size=working_size)
    assert out.shape == (*shape, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    lightness_error = np.abs(srgb_to_lab(out)[..., 0] - srgb_to_lab(image)[..., 0])
    assert lightness_error.max() < 0.5


def test_colorize_adds_colour_from_the_model(coffee):
    out = colorize(coffee[::4, ::4], classifier(), temperature=1e-4)
    chroma = np.hypot(*np.moveaxis(srgb_to_lab(out)[..., 1:], -1, 0))
    assert np.median(chroma) > 10


@pytest.mark.parametrize("model", [classifier(), regressor(), regressor("pix2pix")])
def test_every_kind_colorizes_a_grey_2d_array(model):
    grey = greyish(30, 41)[..., 0]
    out = colorize(grey, model)
    assert out.shape == (30, 41, 3)
    np.testing.assert_array_equal(out, colorize(np.repeat(grey[..., None], 3, axis=2), model))


def test_colorize_ignores_the_input_colours(coffee):
    image = coffee[100:160, 200:290]
    lab = srgb_to_lab(image)
    lab[..., 1:] = 0
    grey = lab_to_srgb(lab)
    model = classifier()
    np.testing.assert_allclose(colorize(image, model), colorize(grey, model), atol=2e-3)
    np.testing.assert_allclose(colorize(image, model), colorize(grey[..., 0], model), atol=2e-3)


def test_colorize_takes_hints_at_the_image_resolution():
    image = greyish(50, 70)
    hints = hints_from_points([{"x": 69, "y": 49, "color": "#3050c0"}], (50, 70))
    model = classifier()
    out = colorize(image, model, hints=hints, working_size=64)
    assert out.shape == (50, 70, 3)
    assert not np.allclose(out, colorize(image, model, working_size=64))  # the hint is seen
    empty = colorize(image, regressor(), hints=Hints.empty((50, 70)))  # no hints: allowed
    assert empty.shape == (50, 70, 3)


@pytest.mark.parametrize("kind", ["regression", "pix2pix"])
def test_hints_to_a_model_without_hint_inputs_are_an_error(kind):
    hints = hints_from_points([{"x": 1, "y": 1, "color": "#ff0000"}], (20, 30))
    with pytest.raises(InvalidParameterError, match="takes no colour hints"):
        colorize(greyish(20, 30), regressor(kind), hints=hints)


def test_hints_of_another_size_are_an_error():
    with pytest.raises(InvalidParameterError, match="hints are 31x20 but the image is 30x20"):
        colorize(greyish(20, 30), classifier(), hints=Hints.empty((20, 31)))


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_colorize_rejects_a_non_positive_temperature(temperature):
    with pytest.raises(InvalidParameterError, match="temperature"):
        colorize(greyish(8, 8), classifier(), temperature=temperature)


@pytest.mark.parametrize("working_size", [0, 15, 1025])
def test_colorize_rejects_a_working_size_out_of_range(working_size):
    with pytest.raises(InvalidParameterError, match="working_size"):
        colorize(greyish(8, 8), classifier(), working_size=working_size)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (4, 4, 4), (4,), (2, 3, 4, 3)])
def test_colorize_rejects_arrays_that_are_not_images(shape):
    with pytest.raises(InvalidParameterError, match="shape"):
        colorize(np.zeros(shape, np.float32), classifier())


# --- the registry ----------------------------------------------------------------------------


def test_the_colorize_methods_are_registered():
    names = [method.name for method in list_methods("colorize")]
    assert {"classification", "paintings", "regression", "pix2pix"} <= set(names)


@pytest.mark.parametrize("name", ["classification", "paintings"])
def test_classification_methods_take_a_temperature(name):
    params = get_method("colorize", name).resolve_params(temperature=0.5)
    assert params["temperature"] == 0.5 and "working_size" in params


@pytest.mark.parametrize("name", ["regression", "pix2pix"])
def test_regression_methods_have_no_temperature(name):
    method = get_method("colorize", name)
    assert "temperature" not in method.resolve_params()
    with pytest.raises(InvalidParameterError, match="no parameter 'temperature'"):
        method.resolve_params(temperature=0.5)


@settings(max_examples=25)
@given(st.floats(0.01, 1.0))
def test_the_temperature_parameter_accepts_the_documented_range(temperature):
    method = get_method("colorize", "classification")
    assert method.resolve_params(temperature=temperature)["temperature"] == temperature
