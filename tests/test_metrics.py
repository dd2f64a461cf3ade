"""Metrics match their published definitions, on real photos and on hand-computed cases."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.metrics import structural_similarity

from colorlab import metrics
from colorlab.color import srgb_to_lab


def _images(min_side: int = 1, max_side: int = 8) -> st.SearchStrategy[np.ndarray]:
    side = st.integers(min_side, max_side)
    return st.tuples(side, side).flatmap(
        lambda hw: arrays(
            np.float32,
            (*hw, 3),
            elements=st.floats(0, 1, width=32, allow_nan=False, allow_infinity=False),
        )
    )


def _image_pairs(max_side: int = 8) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    return _images(1, max_side).flatmap(
        lambda a: st.tuples(
            st.just(a),
            arrays(np.float32, a.shape, elements=st.floats(0, 1, width=32)),
        )
    )


def _noisy(image: np.ndarray, scale: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(image.shape).astype(np.float32)
    return np.clip(image + scale * noise, 0, 1).astype(np.float32)


def _constant(value: float | tuple[float, float, float], shape=(16, 16)) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, np.float32), (*shape, 3)).copy()


# Identical images


def test_identical_photos_score_perfectly(astronaut):
    assert metrics.mse(astronaut, astronaut) == 0.0
    assert metrics.psnr(astronaut, astronaut) == math.inf
    assert metrics.ssim(astronaut, astronaut) == pytest.approx(1.0)
    assert np.all(metrics.delta_e_cie76(astronaut, astronaut) == 0)
    assert np.all(metrics.delta_e_ciede2000(astronaut, astronaut) == 0)


def test_delta_e_maps_have_one_value_per_pixel(coffee):
    noisy = _noisy(coffee, 0.05)
    for delta_e in (metrics.delta_e_cie76, metrics.delta_e_ciede2000):
        result = delta_e(coffee, noisy)
        assert result.shape == coffee.shape[:2]
        assert np.all(result >= 0) and result.mean() > 0


# MSE and PSNR


def test_mse_is_on_unit_scale():
    assert metrics.mse(_constant(0.25), _constant(0.75)) == pytest.approx(0.25)


def test_psnr_of_a_constant_offset_matches_hand_computation():
    # Every channel differs by 10 levels: MSE = 100, PSNR = 20 log10(255 / 10) = 28.1308 dB.
    a, b = _constant(100 / 255), _constant(110 / 255)
    assert metrics.psnr(a, b) == pytest.approx(20 * math.log10(25.5))
    assert metrics.psnr(a, b) == pytest.approx(28.1308, abs=1e-4)


def test_psnr_rounds_to_uint8_first():
    a = _constant(100 / 255)
    assert metrics.psnr(a, a + np.float32(0.4 / 255)) == math.inf


def test_psnr_and_ssim_fall_as_noise_grows(astronaut):
    noisy = [_noisy(astronaut, scale) for scale in (0.01, 0.05, 0.2)]
    psnrs = [metrics.psnr(astronaut, image) for image in noisy]
    ssims = [metrics.ssim(astronaut, image) for image in noisy]
    assert psnrs == sorted(psnrs, reverse=True) and psnrs[0] > psnrs[-1] + 10
    assert ssims == sorted(ssims, reverse=True) and ssims[-1] < 0.5


@settings(max_examples=50, deadline=None)
@given(pair=_image_pairs())
def test_mse_and_delta_e_are_symmetric(pair):
    a, b = pair
    assert metrics.mse(a, b) == metrics.mse(b, a)
    assert metrics.psnr(a, b) == metrics.psnr(b, a)
    np.testing.assert_allclose(metrics.delta_e_cie76(a, b), metrics.delta_e_cie76(b, a), atol=1e-5)
    np.testing.assert_allclose(
        metrics.delta_e_ciede2000(a, b), metrics.delta_e_ciede2000(b, a), atol=1e-4
    )


@settings(max_examples=30, deadline=None)
@given(
    image=_images(),
    scales=st.tuples(st.floats(0, 0.5), st.floats(0, 0.5)).map(sorted),
    seed=st.integers(0, 2**16),
)
def test_psnr_never_rises_with_more_of_the_same_noise(image, scales, seed):
    low, high = scales
    assert metrics.psnr(image, _noisy(image, low, seed)) >= metrics.psnr(
        image, _noisy(image, high, seed)
    )


# SSIM


def test_ssim_uses_the_gaussian_window_of_wang_et_al(coffee):
    distorted = _noisy(coffee, 0.1)
    expected = structural_similarity(
        coffee,
        distorted,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=-1,
        data_range=1,
    )
    assert metrics.ssim(coffee, distorted) == pytest.approx(expected, rel=1e-6)
    default = structural_similarity(coffee, distorted, channel_axis=-1, data_range=1)
    assert abs(metrics.ssim(coffee, distorted) - default) > 1e-3


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(_constant(0.5, (8, 20)), _constant(0.5, (8, 20)))


# CIE76 and CIEDE2000

# Sharma, Wu and Dalal 2005, "The CIEDE2000 color-difference formula", Table 1 (pairs 1, 7, 11,
# 13, 17, 25, 34).
SHARMA_PAIRS = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA_PAIRS)
def test_ciede2000_matches_sharma_test_data(lab1, lab2, expected):
    assert metrics.delta_e_ciede2000_lab(np.array(lab1), np.array(lab2)) == pytest.approx(
        expected, abs=1e-4
    )


def test_cie76_is_euclidean_distance_in_lab(coffee):
    shifted = np.clip(coffee * 0.8 + 0.1, 0, 1).astype(np.float32)
    expected = np.linalg.norm(srgb_to_lab(coffee) - srgb_to_lab(shifted), axis=-1)
    np.testing.assert_allclose(metrics.delta_e_cie76(coffee, shifted), expected, rtol=1e-5)


def test_delta_e_of_white_and_black_is_one_hundred():
    white, black = np.ones(3, np.float32), np.zeros(3, np.float32)
    assert float(metrics.delta_e_cie76(white, black)) == pytest.approx(100, abs=1e-3)
    assert float(metrics.delta_e_ciede2000(white, black)) == pytest.approx(100, abs=1e-3)


# Colourfulness


@settings(max_examples=30, deadline=None)
@given(grey=arrays(np.float32, (6, 5), elements=st.floats(0, 1, width=32)))
def test_grey_images_have_zero_colorfulness(grey):
    assert metrics.colorfulness(np.repeat(grey[..., None], 3, axis=-1)) == pytest.approx(
        0, abs=1e-9
    )


def test_colorfulness_of_pure_red_is_the_closed_form():
    # rg = 255, yb = 127.5 everywhere: no spread, CF = 0.3 * sqrt(255^2 + 127.5^2).
    expected = 0.3 * math.hypot(255, 127.5)
    assert metrics.colorfulness(_constant((1, 0, 0))) == pytest.approx(expected)
    assert expected == pytest.approx(85.5296, abs=1e-4)


def test_colorfulness_of_half_red_half_green_counts_the_spread():
    # rg is +-255 (sd 255, mean 0); yb is 127.5 everywhere: CF = 255 + 0.3 * 127.5.
    image = _constant((1, 0, 0), (4, 4))
    image[:, 2:] = (0, 1, 0)
    assert metrics.colorfulness(image) == pytest.approx(255 + 0.3 * 127.5)


def test_desaturating_a_photo_lowers_its_colorfulness(astronaut):
    grey = astronaut.mean(axis=-1, keepdims=True)
    washed = (0.3 * astronaut + 0.7 * grey).astype(np.float32)
    assert metrics.colorfulness(washed) == pytest.approx(
        0.3 * metrics.colorfulness(astronaut), rel=1e-4
    )


def test_delta_colorfulness_compares_set_means(astronaut, coffee):
    grey = np.repeat(astronaut.mean(axis=-1, keepdims=True), 3, axis=-1)
    expected = (metrics.colorfulness(astronaut) + metrics.colorfulness(coffee)) / 2
    assert metrics.delta_colorfulness([grey, grey], [astronaut, coffee]) == pytest.approx(expected)


# AuC


def test_auc_is_one_for_a_perfect_prediction(coffee):
    ab = srgb_to_lab(coffee)[..., 1:]
    assert metrics.auc(ab, ab) == pytest.approx(1.0)


def test_auc_is_zero_when_every_error_exceeds_the_range():
    ab_true = np.zeros((8, 8, 2), np.float32)
    assert metrics.auc(ab_true + 120, ab_true) == 0.0  # error 169.7 > 150


def test_auc_of_a_constant_error_matches_hand_computation():
    # Every pixel is off by exactly 50 (a 30-40-50 triangle): acc(t) = 0 for t < 50, 1 from 50 on.
    # Trapezoid area = 0.5 (the step from 49 to 50) + 100 (t = 50 .. 150) -> 100.5 / 150.
    ab_true = np.zeros((4, 4, 2))
    ab_pred = np.broadcast_to(np.array([30.0, 40.0]), (4, 4, 2))
    assert metrics.auc(ab_pred, ab_true) == pytest.approx(100.5 / 150)


def test_rebalancing_weights_shift_auc_towards_the_weighted_pixels():
    ab_true = np.zeros((2, 2))
    ab_pred = np.array([[0.0, 0.0], [200.0, 0.0]])  # one exact pixel, one far off
    assert metrics.auc(ab_pred, ab_true) == pytest.approx(0.5)
    assert metrics.auc(ab_pred, ab_true, weights=np.array([3.0, 1.0])) == pytest.approx(0.75)


def test_auc_falls_as_noise_grows(coffee):
    ab = srgb_to_lab(coffee)[..., 1:]
    noise = np.random.default_rng(0).standard_normal(ab.shape)
    scores = [metrics.auc(ab + scale * noise, ab) for scale in (1, 5, 20, 80)]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.95 and scores[-1] < 0.5


def test_grey_baseline_auc_is_below_one_on_a_colour_photo(coffee):
    ab = srgb_to_lab(coffee)[..., 1:]
    assert 0.5 < metrics.auc(np.zeros_like(ab), ab) < 1.0


# Bad input


@pytest.mark.parametrize(
    "metric",
    [metrics.mse, metrics.psnr, metrics.ssim, metrics.delta_e_cie76, metrics.delta_e_ciede2000],
)
def test_mismatched_shapes_are_refused_naming_both(metric):
    with pytest.raises(ValueError, match=r"\(16, 16, 3\) and \(16, 12, 3\)"):
        metric(_constant(0.5), _constant(0.5, (16, 12)))


def test_non_images_are_refused():
    with pytest.raises(ValueError, match=r"\(H, W, 3\).*\(16, 16\)"):
        metrics.colorfulness(np.zeros((16, 16), np.float32))


def test_auc_refuses_bad_arguments():
    ab = np.zeros((4, 4, 2))
    with pytest.raises(ValueError, match="same shape"):
        metrics.auc(ab, ab[:2])
    with pytest.raises(ValueError, match="2 channels"):
        metrics.auc(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match=r"weights must have shape \(4, 4\)"):
        metrics.auc(ab, ab, weights=np.ones(16))
    with pytest.raises(ValueError, match="non-negative"):
        metrics.auc(ab, ab, weights=-np.ones((4, 4)))
    with pytest.raises(ValueError, match="max_threshold"):
        metrics.auc(ab, ab, max_threshold=0)


def test_ssim_lightness_ignores_colour_but_sees_structure(coffee):
    from colorlab.color import lab_to_srgb, srgb_to_lab
    from colorlab.metrics import ssim_lightness

    lab = srgb_to_lab(coffee)
    recoloured = lab.copy()
    recoloured[..., 1:] = -lab[..., 1:]  # opposite hues, same lightness
    assert ssim_lightness(coffee, lab_to_srgb(recoloured)) > 0.97
    assert ssim_lightness(coffee, coffee[::-1].copy()) < 0.5
