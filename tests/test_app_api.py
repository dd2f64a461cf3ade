"""The app as an API: /palette, /recolor and /colorize through gradio_client against a server."""

import json
import re

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from skimage import data

from colorlab.color import parse_hex, srgb_to_lab
from colorlab.metrics import delta_e_ciede2000
from colorlab.palette import extract_palette
from training.data import hue_shift

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def large_png(tmp_path_factory) -> str:
    """Bigger than the app's 1024 px preview, so a preview-sized result would be caught."""
    path = tmp_path_factory.mktemp("photos") / "coffee-large.png"
    Image.fromarray(data.coffee()).resize((1300, 867), Image.Resampling.LANCZOS).save(path)
    return str(path)


def _load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def test_palette_endpoint_returns_the_images_palette_and_shares(client, astronaut_png):
    result = client.predict(handle_file(astronaut_png), 4, api_name="/palette")

    assert set(result) == {"palette", "weights"}
    assert len(result["palette"]) == len(result["weights"]) == 4
    assert all(re.fullmatch(r"#[0-9a-f]{6}", h) for h in result["palette"])
    assert sum(result["weights"]) == pytest.approx(1, abs=1e-3)
    expected = extract_palette(_load(astronaut_png), k=4)
    assert result["palette"] == expected.to_hex()
    lightness = srgb_to_lab(np.stack([parse_hex(h) for h in result["palette"]]))[:, 0]
    assert np.all(np.diff(lightness) >= 0), "palette is sorted dark to light"


@pytest.mark.parametrize("photo", ["astronaut_png", "large_png"])
def test_recolor_endpoint_returns_full_size_image_with_the_new_colours(client, photo, request):
    path = request.getfixturevalue(photo)
    original = _load(path)
    source = extract_palette(original, k=3)
    target = source.colors.copy()
    target[-1] = parse_hex("#2a7ab0")  # the lightest entry turns blue

    out = client.predict(
        handle_file(path), ", ".join(map(_hex, target)), "chang", None, api_name="/recolor"
    )
    result = _load(out)

    assert result.shape == original.shape
    # Pixels nearest to the moved entry move towards its new colour; the image really changed.
    nearest = np.argmin(
        np.linalg.norm(original[..., None, :] - source.colors[None, None], axis=-1), axis=-1
    )
    moved = nearest == len(target) - 1
    before = np.linalg.norm(original[moved].mean(0) - target[-1])
    after = np.linalg.norm(result[moved].mean(0) - target[-1])
    assert after < 0.5 * before
    assert np.abs(result - original).mean() > 0.02


def test_recolor_endpoint_runs_the_bundled_palettenet_at_full_size(client, large_png):
    """PaletteNet learned whole-palette hue rotations: give it the palette of a rotated copy."""
    original = _load(large_png)
    rotated = hue_shift(original, 0.5)
    target = extract_palette(rotated, k=4).colors

    out = client.predict(
        handle_file(large_png), ", ".join(map(_hex, target)), "palettenet", 4, api_name="/recolor"
    )
    result = _load(out)

    assert result.shape == original.shape
    # Lightness is kept (up to 8-bit rounding) and the colours move towards the rotated copy.
    assert np.abs(srgb_to_lab(result)[..., 0] - srgb_to_lab(original)[..., 0]).mean() < 1
    before = delta_e_ciede2000(original, rotated).mean()
    assert delta_e_ciede2000(result, rotated).mean() < 0.6 * before


def _hex(color: np.ndarray) -> str:
    return "#{:02x}{:02x}{:02x}".format(*np.rint(color * 255).astype(int))


def test_recolor_keeps_unlisted_entries_when_k_is_larger(client, astronaut_png):
    out = client.predict(handle_file(astronaut_png), "#102040", "chang", 4, api_name="/recolor")
    assert _load(out).shape == (512, 512, 3)


def test_recolor_with_a_bad_hex_reports_the_bad_value(client, astronaut_png):
    with pytest.raises(AppError, match=r"'#zz0000' is not a colour"):
        client.predict(handle_file(astronaut_png), "#123456, #zz0000", api_name="/recolor")


def test_recolor_with_an_unknown_method_lists_the_available_ones(client, astronaut_png):
    with pytest.raises(AppError, match=r"no recolor method named 'nope'; available: chang"):
        client.predict(handle_file(astronaut_png), "#123456, #abcdef", "nope", api_name="/recolor")


def test_palette_with_k_out_of_range_says_the_range(client, astronaut_png):
    with pytest.raises(AppError, match=r"from 2 to 8"):
        client.predict(handle_file(astronaut_png), 11, api_name="/palette")


def test_api_page_documents_the_endpoints_with_clean_signatures(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]

    assert set(endpoints) == {
        "/palette",
        "/recolor",
        "/colorize",
        "/stylize",
        "/battle",
        "/vote",
        "/leaderboard",
    }
    names = {
        name: [p["parameter_name"] for p in endpoint["parameters"]]
        for name, endpoint in endpoints.items()
    }
    assert names == {
        "/palette": ["image", "k"],
        "/recolor": ["image", "target_palette", "method", "k"],
        "/colorize": ["image", "method", "temperature", "hints"],
        "/stylize": ["content", "style", "method", "strength", "preserve_lightness"],
        "/battle": ["task"],
        "/vote": ["battle_id", "choice", "latency_ms"],
        "/leaderboard": ["task"],
    }


# --- /colorize ------------------------------------------------------------------------------

SKY = (420, 60)  # (x, y): open grey sky, top right of the cameraman photo


@pytest.fixture(scope="module")
def camera_png(tmp_path_factory) -> str:
    """A photo taken in grey (8-bit greyscale PNG), 512 x 512."""
    path = tmp_path_factory.mktemp("photos") / "camera.png"
    Image.fromarray(data.camera()).save(path)
    return str(path)


@pytest.mark.parametrize("photo", ["camera_png", "astronaut_png", "large_png"])
def test_colorize_returns_a_full_size_colour_image_with_the_inputs_lightness(
    client, photo, request
):
    path = request.getfixturevalue(photo)
    original = _load(path)

    result = _load(client.predict(handle_file(path), api_name="/colorize"))

    assert result.shape == original.shape
    error = np.abs(srgb_to_lab(result)[..., 0] - srgb_to_lab(original)[..., 0])
    # 8-bit rounding moves L by about 0.2; clipping a saturated colour into sRGB, a little more.
    assert error.mean() < 0.5
    assert np.percentile(error, 99) < 1
    assert np.abs(srgb_to_lab(result)[..., 1:]).mean() > 1, "the output has colour"


def test_a_blue_hint_turns_its_region_blue(client, camera_png):
    """A saturated blue point (a small square, as a click with a small brush leaves); the result
    there must be clearly bluer. The sky is light, where such a blue does not exist: the hint
    means the bluest sky there is at that lightness."""
    x, y = SKY
    hint = json.dumps([{"x": x, "y": y, "color": "#2040ff"}])

    plain = client.predict(
        handle_file(camera_png), "classification", None, None, api_name="/colorize"
    )
    hinted = client.predict(
        handle_file(camera_png), "classification", None, hint, api_name="/colorize"
    )

    b_plain = srgb_to_lab(_load(plain)[y, x])[2]
    b_hinted = srgb_to_lab(_load(hinted)[y, x])[2]
    # '#2040ff' has b = -95: a hint the network follows moves b there by far more than 10.
    assert b_hinted < b_plain - 10, (b_plain, b_hinted)


def test_a_low_temperature_gives_more_saturated_colours(client, astronaut_png):
    # A photo with colourful things in it (only its L is used): the cameraman is a grey scene.
    vivid = _load(
        client.predict(
            handle_file(astronaut_png), "classification", 0.05, None, api_name="/colorize"
        )
    )
    dull = _load(
        client.predict(
            handle_file(astronaut_png), "classification", 1.0, None, api_name="/colorize"
        )
    )

    chroma = [np.hypot(*srgb_to_lab(im)[..., 1:].transpose(2, 0, 1)).mean() for im in (vivid, dull)]
    assert chroma[0] > chroma[1], "a low temperature gives more saturated colours"


def test_colorize_with_an_unknown_method_lists_the_available_ones(client, camera_png):
    with pytest.raises(AppError, match=r"no colorize method named 'nope'; available: classif"):
        client.predict(handle_file(camera_png), "nope", api_name="/colorize")


def test_colorize_with_a_hint_outside_the_image_says_where(client, camera_png):
    hint = '[{"x": 600, "y": 10, "color": "#2040ff"}]'
    with pytest.raises(AppError, match=r"hint 0 at \(600, 10\) is outside the 512x512 image"):
        client.predict(handle_file(camera_png), "classification", None, hint, api_name="/colorize")


def test_colorize_with_malformed_hints_says_so(client, camera_png):
    with pytest.raises(AppError, match=r"hints are not valid JSON"):
        client.predict(
            handle_file(camera_png), "classification", None, "[{x: 1", api_name="/colorize"
        )


def test_colorize_hints_are_json_text_never_a_server_path(client, camera_png):
    with pytest.raises(AppError, match=r"hints are not valid JSON"):
        client.predict(
            handle_file(camera_png), "classification", None, "/etc/hostname", api_name="/colorize"
        )


def test_a_temperature_for_a_method_without_one_is_an_error(client, camera_png):
    with pytest.raises(AppError, match=r"method 'regression' has no parameter 'temperature'"):
        client.predict(handle_file(camera_png), "regression", 0.5, None, api_name="/colorize")
