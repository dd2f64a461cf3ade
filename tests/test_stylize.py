"""Colour transfer (task ``stylize``): the content takes the style's colours and keeps its shapes.

Content is scikit-image's astronaut and styles its coffee, chelsea and rocket photos, at most
128 px on a side. The thresholds leave room above what was measured (in the comments).
"""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from colorlab.color import srgb_to_lab, srgb_to_lightness
from colorlab.errors import InvalidParameterError
from colorlab.methods import get_method, list_methods
from colorlab.metrics import lab_statistics_distance, ssim_lightness
from colorlab.stylize.transfer import (
    histogram,
    idt,
    match_mean_covariance,
    mkl,
    regrain,
    reinhard,
)

METHODS = {"reinhard": reinhard, "mkl": mkl, "idt": idt, "histogram": histogram}


@pytest.fixture(scope="module")
def pairs(small_photos):
    """(content, style) pairs: astronaut with coffee, chelsea and rocket."""
    astronaut, coffee, chelsea, rocket = small_photos[:4]
    return [(astronaut, coffee), (astronaut, chelsea), (astronaut, rocket)]


def lightness_structure(a, b):
    """Mean of SSIM's structure term (local correlation) of the two images' L.

    Full SSIM also scores local mean and contrast, which a colour transfer is meant to change
    (a dark style darkens the content); correlation is what says the shapes are still there.
    Same Gaussian window as ``colorlab.metrics.ssim``.
    """
    x, y = (srgb_to_lightness(i).astype(np.float64) / 100 for i in (a, b))

    def blur(z):
        return gaussian_filter(z, 1.5, truncate=3.5)

    mean_x, mean_y = blur(x), blur(y)
    var_x = np.clip(blur(x * x) - mean_x**2, 0, None)
    var_y = np.clip(blur(y * y) - mean_y**2, 0, None)
    c3 = 0.03**2 / 2
    return float(np.mean((blur(x * y) - mean_x * mean_y + c3) / (np.sqrt(var_x * var_y) + c3)))


# Largest distance ratio measured over the three pairs: reinhard 0.13, mkl 0.10, idt 0.05,
# histogram 0.27 (per-channel matching leaves the cross-channel covariance alone).
@pytest.mark.parametrize(
    ("name", "ratio"), [("reinhard", 0.25), ("mkl", 0.25), ("idt", 0.2), ("histogram", 0.4)]
)
def test_transfer_moves_lab_mean_and_covariance_toward_the_style(pairs, name, ratio):
    for content, style in pairs:
        before = lab_statistics_distance(content, style)
        after = lab_statistics_distance(METHODS[name](content, style), style)
        assert after < ratio * before


# Lowest measured: reinhard 1.00, mkl 0.99, histogram 0.97, idt 0.73, idt with regrain 0.82.
@pytest.mark.parametrize(
    ("name", "params", "minimum"),
    [
        ("reinhard", {}, 0.98),
        ("mkl", {}, 0.98),
        ("histogram", {}, 0.95),
        ("idt", {}, 0.7),
        ("idt", {"regrain": True}, 0.8),
    ],
)
def test_transfer_keeps_the_content_structure(pairs, name, params, minimum):
    for content, style in pairs:
        assert lightness_structure(METHODS[name](content, style, **params), content) > minimum


@pytest.mark.parametrize("name", ["reinhard", "mkl"])
def test_ssim_of_lightness_stays_above_0_8_for_a_style_of_similar_lightness(pairs, name):
    # astronaut -> coffee measures 0.88; darker styles (chelsea 0.66, rocket 0.60) lower L's
    # mean and contrast on purpose, which full SSIM counts against them.
    content, coffee = pairs[0]
    assert ssim_lightness(METHODS[name](content, coffee), content) > 0.8


def test_regrain_gives_back_structure_the_distribution_transfer_took(pairs):
    for content, style in pairs:  # measured gains 0.07 to 0.09
        plain = lightness_structure(idt(content, style), content)
        assert lightness_structure(idt(content, style, regrain=True), content) > plain + 0.05


def test_regrain_of_an_ungraded_image_is_the_image(small_photos):
    lab = srgb_to_lab(small_photos[1]) / 100
    np.testing.assert_allclose(regrain(lab, lab), lab, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_strength_zero_returns_the_content(pairs, name):
    content, style = pairs[1]
    np.testing.assert_array_equal(METHODS[name](content, style, strength=0.0), content)


def test_reinhard_strength_moves_monotonically_toward_the_style(pairs):
    for content, style in pairs:
        distances = [
            lab_statistics_distance(reinhard(content, style, strength=s), style)
            for s in (0.0, 0.25, 0.5, 0.75, 1.0)
        ]
        assert all(np.diff(distances) < 0), distances


@pytest.mark.parametrize("name", METHODS)
def test_preserve_lightness_keeps_the_content_lightness(pairs, name):
    for content, style in pairs:
        out = METHODS[name](content, style, preserve_lightness=True)
        assert np.abs(srgb_to_lightness(out) - srgb_to_lightness(content)).max() < 0.01
        assert not np.allclose(out, content, atol=0.02)  # the colours did move


def test_mkl_maps_a_gaussian_cloud_exactly_onto_another_covariance():
    rng = np.random.default_rng(1)
    source_cov = np.array([[60.0, 25.0, -10.0], [25.0, 90.0, 5.0], [-10.0, 5.0, 40.0]])
    target_cov = np.array([[30.0, -12.0, 8.0], [-12.0, 200.0, 40.0], [8.0, 40.0, 70.0]])
    source = rng.multivariate_normal([50, 5, -5], source_cov, 20_000).astype(np.float32)
    target = rng.multivariate_normal([40, -20, 30], target_cov, 15_000).astype(np.float32)
    moved = match_mean_covariance(source, target).astype(np.float64)
    goal = target.astype(np.float64)
    np.testing.assert_allclose(moved.mean(axis=0), goal.mean(axis=0), atol=1e-3)
    np.testing.assert_allclose(np.cov(moved.T), np.cov(goal.T), rtol=1e-4, atol=1e-3)


def test_mkl_of_a_one_colour_image_is_finite_and_lands_on_the_style_mean(small_photos):
    flat = np.full((16, 16, 3), 0.4, dtype=np.float32)
    style = small_photos[1]
    out = mkl(flat, style)
    expected = srgb_to_lab(style).reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(
        srgb_to_lab(out).reshape(-1, 3), expected[None].repeat(256, 0), atol=0.5
    )


@pytest.mark.parametrize("name", METHODS)
def test_one_colour_images_and_one_pixel_styles_are_fine(small_photos, name):
    flat = np.full((16, 12, 3), 0.4, dtype=np.float32)
    for content, style in ((flat, small_photos[2]), (small_photos[0], flat[:1, :1])):
        out = METHODS[name](content, style)
        assert out.shape == content.shape
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", METHODS)
def test_output_is_a_deterministic_image_of_the_content_size(pairs, name):
    content, style = pairs[2]
    style = style[:77, :50]  # a different size and aspect
    out = METHODS[name](content, style)
    assert out.shape == content.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(METHODS[name](content, style), out)


def test_idt_seed_chooses_the_random_axes(pairs):
    content, style = pairs[0]
    assert not np.array_equal(idt(content, style, seed=0), idt(content, style, seed=1))


@pytest.mark.parametrize(
    ("content", "style", "message"),
    [
        (np.zeros((8, 8)), np.zeros((8, 8, 3)), r"content must be an \(H, W, 3\)"),
        (np.zeros((8, 8, 3)), np.zeros((8, 8, 4)), r"style must be an \(H, W, 3\)"),
        (np.zeros((0, 8, 3)), np.zeros((8, 8, 3)), "content is empty"),
        (np.zeros((8, 8, 3)), np.zeros((8, 0, 3)), "style is empty"),
    ],
)
def test_bad_images_are_refused_by_name(content, style, message):
    for run in METHODS.values():
        with pytest.raises(InvalidParameterError, match=message):
            run(content, style)


def test_bad_parameters_are_refused(pairs):
    content, style = pairs[0]
    with pytest.raises(InvalidParameterError, match="strength must be in"):
        reinhard(content, style, strength=1.5)
    with pytest.raises(InvalidParameterError, match="iterations must be"):
        idt(content, style, iterations=0)
    with pytest.raises(InvalidParameterError, match=r"parameter 'strength' must be in \[0, 1\]"):
        get_method("stylize", "mkl").resolve_params(strength=-0.1)


def test_registry_lists_the_colour_transfer_methods_with_strength_and_lightness():
    methods = {m.name: m for m in list_methods("stylize")}
    assert {"reinhard", "mkl", "idt", "histogram"} <= set(methods)
    for method in methods.values():
        params = {p.name: p for p in method.params}
        assert (params["strength"].default, params["strength"].minimum) == (1.0, 0)
        assert params["strength"].maximum == 1
        assert params["preserve_lightness"].default is False
    assert {"iterations", "bins", "regrain", "seed"} <= {p.name for p in methods["idt"].params}


def test_registry_runs_are_the_functions(pairs):
    content, style = pairs[0]
    method = get_method("stylize", "idt")
    params = method.resolve_params(strength="0.5", regrain="true")
    np.testing.assert_array_equal(
        method.run(content, style, **params), idt(content, style, strength=0.5, regrain=True)
    )
