"""The command line contract: `python -m colorlab methods | palette | recolor | colorize |
stylize`.

Other tools script against these outputs and exit codes, so the contract is tested through a real
subprocess; checks that need no process boundary call `colorlab.cli.main` in-process for speed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.transform import resize

from colorlab.cli import main
from colorlab.color import in_gamut, lab_to_srgb, parse_hex, srgb_to_lab, to_hex
from colorlab.imageio import load_image, to_uint8
from colorlab.methods import get_method
from colorlab.palette import extract_palette

REPO = Path(__file__).resolve().parents[1]
HEX = re.compile(r"#[0-9a-f]{6}")


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "colorlab", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_user_error(stderr: str, *fragments: str) -> None:
    """A user mistake: one line `colorlab: error: ...` naming what was wrong, no traceback."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("colorlab: error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, stderr)


def _small(name: str, max_side: int = 128) -> np.ndarray:
    image = getattr(data, name)()[..., :3]
    scale = max_side / max(image.shape[:2])
    shape = (round(image.shape[0] * scale), round(image.shape[1] * scale), 3)
    return (resize(image, shape, anti_aliasing=True) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real photos on disk: astronaut (PNG) and coffee (PNG and JPEG)."""
    folder = tmp_path_factory.mktemp("photos")
    paths = {
        "astronaut": folder / "astronaut.png",
        "coffee": folder / "coffee.png",
        "coffee_jpg": folder / "coffee.jpg",
    }
    Image.fromarray(_small("astronaut")).save(paths["astronaut"])
    Image.fromarray(_small("coffee")).save(paths["coffee"])
    Image.fromarray(_small("coffee")).save(paths["coffee_jpg"], quality=95)
    return paths


def lab(rgb: np.ndarray) -> np.ndarray:
    return srgb_to_lab(np.asarray(rgb, dtype=np.float32))


def nearest_distance(color: np.ndarray, palette: np.ndarray) -> float:
    """CIE76 distance from one sRGB colour to the nearest entry of an (n, 3) sRGB palette."""
    return float(np.min(np.linalg.norm(lab(palette) - lab(color), axis=1)))


def far_colour_at_same_lightness(rgb: np.ndarray) -> np.ndarray:
    """An in-gamut colour of another hue at the lightness of ``rgb`` (keeps the L order)."""
    L, a, b = lab(rgb)
    for turn in (180, 90, -90):
        hue = np.arctan2(b, a) + np.deg2rad(turn)
        for chroma in (40, 30, 20):
            candidate = np.array([L, chroma * np.cos(hue), chroma * np.sin(hue)], dtype=np.float32)
            if in_gamut(candidate):
                return lab_to_srgb(candidate)
    raise AssertionError(f"no in-gamut colour of another hue at L={L:.0f}")


def expected_recolor(path: Path, k: int, changes: dict[int, str]) -> np.ndarray:
    """What the package gives when entries ``changes`` of the k-colour palette move, others keep."""
    image = load_image(path)
    palette = extract_palette(image, k=k)
    target = palette.colors.copy()
    for index, hex_colour in changes.items():
        target[index] = parse_hex(hex_colour)
    method = get_method("recolor", "chang")
    return method.run(image, source_palette=palette.colors, target_palette=target)


# --- methods ------------------------------------------------------------------------------------


def test_methods_json_lists_chang_with_its_parameters() -> None:
    result = run_cli("methods", "--json")
    assert result.returncode == 0, result.stderr
    methods = json.loads(result.stdout)
    assert isinstance(methods, list)
    chang = next(m for m in methods if (m["task"], m["name"]) == ("recolor", "chang"))
    assert {"title", "summary", "params"} <= set(chang)
    assert "lattice_size" in [p["name"] for p in chang["params"]]


def test_methods_table_groups_methods_by_task_with_parameter_defaults(capsys) -> None:
    from colorlab.methods import get_method

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    chang = get_method("recolor", "chang")
    assert out.index("recolor") < out.index("chang")
    assert chang.title in out
    for param in chang.params:
        assert f"{param.name}={param.default}" in out


# --- palette ------------------------------------------------------------------------------------


def test_palette_json_has_exactly_palette_and_weights_with_default_k_5(photos) -> None:
    result = run_cli("palette", photos["astronaut"], "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"palette", "weights"}
    assert len(payload["palette"]) == len(payload["weights"]) == 5
    assert all(HEX.fullmatch(h) for h in payload["palette"])
    assert sum(payload["weights"]) == pytest.approx(1, abs=1e-3)
    assert all(w == round(w, 4) and 0 < w <= 1 for w in payload["weights"])


@pytest.mark.parametrize("k", [2, 4, 8])
def test_palette_respects_k_and_matches_the_package(photos, capsys, k) -> None:
    assert main(["palette", str(photos["coffee"]), "-k", str(k), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["palette"]) == k
    expected = extract_palette(load_image(photos["coffee"]), k=k)
    assert payload["palette"] == expected.to_hex()


def test_palette_listing_shows_hex_and_percent_without_ansi_when_piped(photos, capsys) -> None:
    assert main(["palette", str(photos["coffee"]), "-k", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == 3
    assert all(re.fullmatch(r"#[0-9a-f]{6}\s+\d+\.\d%", line.strip()) for line in lines), out
    assert "\x1b[" not in out
    shares = [float(line.split()[-1].rstrip("%")) for line in lines]
    assert sum(shares) == pytest.approx(100, abs=0.5)


def test_palette_k_out_of_range_is_a_user_error(photos, capsys) -> None:
    assert main(["palette", str(photos["coffee"]), "-k", "11"]) == 2
    assert_user_error(capsys.readouterr().err, "11")


# --- recolor ------------------------------------------------------------------------------------


def test_recolor_moves_the_chosen_palette_entry_to_the_given_colour(photos, tmp_path) -> None:
    source = load_image(photos["coffee"])
    before = extract_palette(source, k=4)
    moved = int(np.argmax(before.weights))  # the largest area, so the move shows in the output
    target = far_colour_at_same_lightness(before.colors[moved])
    distance_before = nearest_distance(target, before.colors)
    assert distance_before > 25  # the requested colour is new to the image
    entries = ["="] * 4
    entries[moved] = to_hex(target)
    out = tmp_path / "nested" / "recolored.png"
    out.parent.mkdir()

    result = run_cli("recolor", photos["coffee"], "-o", out, "--palette", ",".join(entries))

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    recolored = load_image(out)
    assert recolored.shape == source.shape
    # The output's own palette now holds a colour near the requested one (re-extraction
    # re-clusters the pixels, so "near" is relative to how far the image was before).
    after = extract_palette(recolored, k=4)
    assert nearest_distance(target, after.colors) < 0.5 * distance_before


def test_recolor_entries_written_as_equals_keep_their_colour(photos, tmp_path, capsys) -> None:
    out = tmp_path / "out.png"
    code = main(["recolor", str(photos["coffee"]), "-o", str(out), "--palette", "=,#3366cc,=,="])
    assert code == 0
    expected = expected_recolor(photos["coffee"], k=4, changes={1: "#3366cc"})
    np.testing.assert_allclose(load_image(out), expected, atol=1.5 / 255)


def test_recolor_with_every_entry_kept_returns_the_image(photos, tmp_path, capsys) -> None:
    out = tmp_path / "same.png"
    assert main(["recolor", str(photos["astronaut"]), "-o", str(out), "--palette", "=,=,=,="]) == 0
    original, result = load_image(photos["astronaut"]), load_image(out)
    difference = np.linalg.norm(lab(result) - lab(original), axis=-1)
    assert difference.mean() < 1.0


def test_recolor_k_larger_than_given_keeps_the_remaining_entries(photos, tmp_path) -> None:
    out = tmp_path / "out.png"
    argv = ["recolor", str(photos["coffee"]), "-o", str(out), "--palette", "#3366cc", "-k", "5"]
    assert main(argv) == 0
    expected = expected_recolor(photos["coffee"], k=5, changes={0: "#3366cc"})
    np.testing.assert_allclose(load_image(out), expected, atol=1.5 / 255)


def test_recolor_single_colour_extracts_two_and_moves_the_darkest(photos, tmp_path) -> None:
    out = tmp_path / "one.png"
    assert main(["recolor", str(photos["coffee"]), "-o", str(out), "--palette", "#3366cc"]) == 0
    expected = expected_recolor(photos["coffee"], k=2, changes={0: "#3366cc"})
    np.testing.assert_allclose(load_image(out), expected, atol=1.5 / 255)


def test_recolor_writes_jpeg_when_asked(photos, tmp_path) -> None:
    out = tmp_path / "out.jpg"
    assert main(["recolor", str(photos["coffee"]), "-o", str(out), "--palette", "=,#3366cc"]) == 0
    assert Image.open(out).format == "JPEG"
    assert load_image(out).shape == load_image(photos["coffee"]).shape


def test_recolor_accepts_a_valid_method_parameter(photos, tmp_path) -> None:
    out = tmp_path / "out.png"
    argv = ["recolor", str(photos["coffee"]), "-o", str(out), "--palette", "#3366cc,="]
    assert main([*argv, "--method", "chang", "--param", "lattice_size=9"]) == 0
    assert load_image(out).shape == load_image(photos["coffee"]).shape


def test_recolor_folder_writes_every_image_and_continues_past_a_corrupt_one(
    photos, tmp_path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for key in ("astronaut", "coffee_jpg"):
        (folder / photos[key].name).write_bytes(photos[key].read_bytes())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really an image")
    (folder / "notes.txt").write_text("not an image, ignored")
    (folder / "sub").mkdir()  # not recursive
    (folder / "sub" / "deep.png").write_bytes(photos["coffee"].read_bytes())
    out = tmp_path / "out" / "deeper"  # created, parents included

    result = run_cli("recolor", folder, "-o", out, "--palette", "#223344,=,#ddaa66")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "broken.png" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png", "coffee.jpg"]
    for name in ("astronaut.png", "coffee.jpg"):
        assert load_image(out / name).shape == load_image(folder / name).shape
        assert not np.allclose(load_image(out / name), load_image(folder / name), atol=0.02)


def test_recolor_folder_of_good_images_succeeds(photos, tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for key in ("astronaut", "coffee"):
        (folder / photos[key].name).write_bytes(photos[key].read_bytes())
    out = tmp_path / "out"
    assert main(["recolor", str(folder), "-o", str(out), "--palette", "=,#aa3311"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png", "coffee.png"]
    assert "error" not in capsys.readouterr().err


def test_recolor_folder_writes_formats_it_cannot_save_as_png(photos, tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(photos["coffee"]).save(folder / "coffee.bmp")
    Image.open(photos["coffee"]).save(folder / "coffee.tif")
    (folder / "coffee.png").write_bytes(photos["coffee"].read_bytes())
    out = tmp_path / "out"
    assert main(["recolor", str(folder), "-o", str(out), "--palette", "#aa3311,="]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["coffee.bmp.png", "coffee.png", "coffee.tif.png"]
    assert all(Image.open(out / name).format == "PNG" for name in names)


def test_recolor_needs_more_distinct_colours_than_given(tmp_path, capsys) -> None:
    two_colours = np.zeros((32, 32, 3), dtype=np.uint8)
    two_colours[:, 16:] = (200, 40, 40)
    path = tmp_path / "flat.png"
    Image.fromarray(two_colours).save(path)
    argv = ["recolor", str(path), "-o", str(tmp_path / "o.png"), "--palette", "#111,#222,#333,#444"]
    assert main(argv) == 2
    assert_user_error(capsys.readouterr().err, "only 2 palette colours")
    assert not (tmp_path / "o.png").exists()


# --- colorize -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64 x 43 colour photo (coffee): small, so the colorizer runs in a fraction of a second."""
    path = tmp_path_factory.mktemp("colorize") / "coffee.png"
    Image.fromarray(_small("coffee", 64)).save(path)
    return path


def write_hints(folder: Path, content: object) -> Path:
    """A hints file holding ``content`` (a JSON-able value, or text written as it is)."""
    path = folder / "hints.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_methods_table_lists_the_colorize_methods_and_temperature(capsys) -> None:
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    colorize = out[out.index("colorize:") :]
    for name in ("classification", "paintings", "regression", "pix2pix"):
        assert name in colorize
    params = get_method("colorize", "classification").params
    temperature = next(p for p in params if p.name == "temperature")
    assert f"temperature={temperature.default}" in colorize


def test_colorize_keeps_the_size_and_the_lightness_of_the_input(small_photo, tmp_path) -> None:
    out = tmp_path / "colorized.png"

    result = run_cli("colorize", small_photo, "-o", out)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    source, colorized = load_image(small_photo), load_image(out)
    assert colorized.shape == source.shape
    # On average, not per pixel: colorize clips out-of-gamut colours to sRGB, which moves the L
    # of a few saturated pixels by up to about 2 (8-bit rounding alone stays under 0.3).
    assert np.abs(lab(colorized)[..., 0] - lab(source)[..., 0]).mean() < 0.5


def test_colorize_accepts_hints_and_a_temperature(small_photo, tmp_path) -> None:
    hints = write_hints(tmp_path, [{"x": 10, "y": 20, "color": "#cc2200"}])
    out = tmp_path / "hinted.jpg"
    argv = ["colorize", str(small_photo), "-o", str(out), "--hints", str(hints)]
    assert main([*argv, "--temperature", "0.2"]) == 0
    assert load_image(out).shape == load_image(small_photo).shape


def test_colorize_folder_writes_every_image_from_its_lightness_alone(
    small_photo, tmp_path, capsys
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    source = load_image(small_photo)
    grey = lab(source)
    grey[..., 1:] = 0
    (folder / "colour.png").write_bytes(small_photo.read_bytes())
    Image.fromarray(to_uint8(lab_to_srgb(grey))).save(folder / "grey.png")
    Image.fromarray(to_uint8(source)).save(folder / "photo.bmp")
    out = tmp_path / "out"

    assert main(["colorize", str(folder), "-o", str(out)]) == 0

    assert sorted(p.name for p in out.iterdir()) == ["colour.png", "grey.png", "photo.png"]
    assert "error" not in capsys.readouterr().err
    # The input's colours are ignored: a colour photo and its grey version colorize alike.
    np.testing.assert_allclose(
        load_image(out / "colour.png"), load_image(out / "grey.png"), atol=2 / 255
    )


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('[{"x": 1, "y": 2, "color": "#ff0000"', "not valid JSON"),
        ({"x": 1, "y": 2, "color": "#ff0000"}, "JSON list"),
        ([{"x": 64, "y": 0, "color": "#ff0000"}], "(64, 0) is outside the 64x43 image"),
        ([{"x": 0, "y": -1, "color": "#ff0000"}], "(0, -1) is outside"),
        ([{"x": 0, "y": 0, "color": "#12345z"}], "'#12345z' is not a colour"),
        ([{"x": 0, "y": 0}], '"color"'),
    ],
)
def test_bad_hints_are_user_errors_naming_the_problem(
    small_photo, tmp_path, capsys, content, named
) -> None:
    hints = write_hints(tmp_path, content)
    out = tmp_path / "o.png"
    assert main(["colorize", str(small_photo), "-o", str(out), "--hints", str(hints)]) == 2
    assert_user_error(capsys.readouterr().err, named)
    assert not out.exists()


def test_temperature_for_a_method_without_it_is_a_user_error(small_photo, tmp_path) -> None:
    # Parameters are checked before a model loads, so this holds with no regression checkpoint.
    out = tmp_path / "o.png"
    result = run_cli(
        "colorize", small_photo, "-o", out, "--method", "regression", "--temperature", "0.2"
    )
    assert result.returncode == 2
    assert_user_error(result.stderr, "'regression'", "'temperature'")
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--method", "pix2pix", "--temperature", "0.2"], "'temperature'"),
        (["--temperature", "5"], "temperature"),
        (["--temperature", "0.2", "--param", "temperature=0.3"], "once"),
        (["--param", "working_size=big"], "working_size"),
        (["--method", "nope"], "'nope'"),
        (["--hints", "missing.json"], "missing.json"),
    ],
)
def test_colorize_mistakes_fail_before_any_work(
    small_photo, tmp_path, capsys, extra, named
) -> None:
    out = tmp_path / "o.png"
    assert main(["colorize", str(small_photo), "-o", str(out), *extra]) == 2
    assert_user_error(capsys.readouterr().err, named)
    assert not out.exists()


def test_unknown_colorize_method_lists_the_available_ones(small_photo, tmp_path) -> None:
    result = run_cli("colorize", small_photo, "-o", tmp_path / "o.png", "--method", "nope")
    assert result.returncode == 2
    assert_user_error(result.stderr, "'nope'", "classification", "regression", "pix2pix")


def test_hints_with_a_folder_are_a_user_error(small_photo, tmp_path, capsys) -> None:
    hints = write_hints(tmp_path, [{"x": 1, "y": 1, "color": "#ff0000"}])
    out = tmp_path / "out"
    assert main(["colorize", str(small_photo.parent), "-o", str(out), "--hints", str(hints)]) == 2
    assert_user_error(capsys.readouterr().err, "--hints", "folder")
    assert not out.exists()


def test_a_missing_model_stops_a_folder_run_at_once(
    small_photo, tmp_path, capsys, monkeypatch
) -> None:
    import colorlab.colorize

    # A model name with neither a checkpoint folder nor a Hub repo: fails fast, offline.
    monkeypatch.setitem(colorlab.colorize.MODELS, "regression", "no_such_colorizer")
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes(small_photo.read_bytes())
    out = tmp_path / "out"

    assert main(["colorize", str(folder), "-o", str(out), "--method", "regression"]) == 2

    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("error:") == 1  # reported once, not once per file
    assert err.strip().splitlines()[-1].startswith("colorlab: error: model 'no_such_colorizer'")
    assert list(out.iterdir()) == []


# --- stylize ------------------------------------------------------------------------------------


def test_stylize_writes_the_content_at_its_size_in_the_styles_colours(photos, tmp_path) -> None:
    out = tmp_path / "stylized.png"

    result = run_cli("stylize", photos["coffee"], photos["astronaut"], "-o", out)

    assert result.returncode == 0, result.stderr
    content, style, stylized = (load_image(p) for p in (photos["coffee"], photos["astronaut"], out))
    assert stylized.shape == content.shape != style.shape
    # Reinhard by default: the Lab mean lands on the style's (up to clipping and rounding).
    mean = {name: lab(x).reshape(-1, 3).mean(0) for name, x in [("c", content), ("s", style)]}
    after = np.linalg.norm(lab(stylized).reshape(-1, 3).mean(0) - mean["s"])
    assert after < 0.2 * np.linalg.norm(mean["c"] - mean["s"])


@pytest.mark.parametrize("method", ["reinhard", "mkl", "idt", "histogram"])
def test_stylize_strength_zero_returns_the_content(photos, tmp_path, method) -> None:
    out = tmp_path / "same.png"
    argv = ["stylize", str(photos["coffee"]), str(photos["astronaut"]), "-o", str(out)]
    assert main([*argv, "--method", method, "--strength", "0"]) == 0
    assert np.abs(load_image(out) - load_image(photos["coffee"])).max() <= 1 / 255 + 1e-6


def test_stylize_folder_gives_every_image_the_one_style(photos, tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("astronaut", "coffee"):
        (folder / f"{name}.png").write_bytes(photos[name].read_bytes())
    out = tmp_path / "out"
    argv = ["stylize", str(folder), str(photos["coffee"]), "-o", str(out), "--param"]

    assert main([*argv, "preserve_lightness=true"]) == 0

    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png", "coffee.png"]
    assert "error" not in capsys.readouterr().err
    for name in ("astronaut", "coffee"):  # colours only: each keeps its own lightness
        source, result = load_image(photos[name]), load_image(out / f"{name}.png")
        assert np.abs(lab(result)[..., 0] - lab(source)[..., 0]).mean() < 0.5


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--method", "nope"], "'nope'"),
        (["--strength", "2"], "strength"),
        (["--strength", "0.5", "--param", "strength=0.2"], "once"),
        (["--param", "iterations=3"], "'iterations'"),
    ],
)
def test_stylize_mistakes_fail_before_any_work(photos, tmp_path, capsys, extra, named) -> None:
    out = tmp_path / "o.png"
    assert (
        main(["stylize", str(photos["coffee"]), str(photos["astronaut"]), "-o", str(out), *extra])
        == 2
    )
    assert_user_error(capsys.readouterr().err, named)
    assert not out.exists()


def test_unknown_stylize_method_exits_2_listing_the_available_ones(photos, tmp_path) -> None:
    result = run_cli(
        "stylize", photos["coffee"], photos["astronaut"], "-o", tmp_path / "o.png", "--method", "x"
    )
    assert result.returncode == 2
    assert_user_error(result.stderr, "'x'", "reinhard", "mkl", "idt", "histogram")


def test_a_style_folder_is_a_user_error(photos, tmp_path) -> None:
    out = tmp_path / "o.png"
    result = run_cli("stylize", photos["coffee"], photos["coffee"].parent, "-o", out)
    assert result.returncode == 2
    assert_user_error(result.stderr, "is a folder", "the style")
    assert not out.exists()


def test_an_unavailable_method_exits_2_with_its_reason(photos, tmp_path, capsys) -> None:
    reason = get_method("stylize", "neural").unavailable_reason()
    if reason is None:
        pytest.skip("the neural method's VGG-19 weights are reachable here, so it is available")
    out = tmp_path / "o.png"
    argv = ["stylize", str(photos["coffee"]), str(photos["astronaut"]), "-o", str(out)]

    assert main([*argv, "--method", "neural"]) == 2

    assert_user_error(capsys.readouterr().err, "'neural' is unavailable here", reason)
    assert not out.exists()


# --- user mistakes: exit 2, one line on stderr, no traceback ------------------------------------


def test_bad_hex_is_named_in_the_error(photos, tmp_path) -> None:
    out = tmp_path / "o.png"
    result = run_cli("recolor", photos["coffee"], "-o", out, "--palette", "#123456,#12345z")
    assert result.returncode == 2
    assert_user_error(result.stderr, "#12345z")
    assert not out.exists()


def test_missing_image_file_is_a_user_error(tmp_path) -> None:
    missing = tmp_path / "no-such-photo.png"
    result = run_cli("palette", missing)
    assert result.returncode == 2
    assert_user_error(result.stderr, "no-such-photo.png")


def test_missing_image_for_recolor_is_a_user_error(tmp_path, capsys) -> None:
    argv = ["recolor", str(tmp_path / "gone.jpg"), "-o", str(tmp_path / "o.png"), "--palette", "="]
    assert main(argv) == 2
    assert_user_error(capsys.readouterr().err, "gone.jpg")


def test_unknown_method_lists_the_available_ones(photos, tmp_path) -> None:
    out = tmp_path / "o.png"
    result = run_cli(
        "recolor", photos["coffee"], "-o", out, "--palette", "#fff,=", "--method", "no"
    )
    assert result.returncode == 2
    assert_user_error(result.stderr, "'no'", "chang")


def test_k_smaller_than_the_colours_given_is_a_user_error(photos, tmp_path, capsys) -> None:
    argv = ["recolor", str(photos["coffee"]), "-o", str(tmp_path / "o.png")]
    assert main([*argv, "--palette", "#111,#555,#999", "-k", "2"]) == 2
    assert_user_error(capsys.readouterr().err, "-k 2")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    ("param", "named"),
    [("lattice_size=many", "lattice_size"), ("no_such=1", "no_such"), ("lattice_size", "NAME")],
)
def test_bad_method_parameters_are_user_errors(photos, tmp_path, capsys, param, named) -> None:
    argv = ["recolor", str(photos["coffee"]), "-o", str(tmp_path / "o.png"), "--palette", "#fff"]
    assert main([*argv, "--param", param]) == 2
    assert_user_error(capsys.readouterr().err, named)


def test_unsupported_output_format_is_a_user_error(photos, tmp_path, capsys) -> None:
    argv = ["recolor", str(photos["coffee"]), "-o", str(tmp_path / "o.gif"), "--palette", "#fff,="]
    assert main(argv) == 2
    assert_user_error(capsys.readouterr().err)


def test_usage_error_is_one_line_with_exit_code_2() -> None:
    result = run_cli("palette", "x.png", "-k", "five")
    assert result.returncode == 2
    assert_user_error(result.stderr, "five")


@pytest.mark.parametrize(
    "argv", [[], ["frobnicate"], ["palette"], ["recolor", "x.png", "--palette", "#fff"]]
)
def test_malformed_command_lines_are_user_errors(capsys, argv) -> None:
    assert main(argv) == 2
    assert_user_error(capsys.readouterr().err)


def test_help_exits_cleanly(capsys) -> None:
    assert main(["recolor", "--help"]) == 0
    assert "--palette" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--palette", ",".join(["#102030"] * 9)],
            "9 colours given in --palette; a palette has at most 8",
        ),
        (["--palette", "#102030", "-k", "9"], "-k must be from 2 to 8, got 9"),
    ],
)
def test_recolor_takes_the_palette_sizes_the_app_and_api_take(
    photos, tmp_path, capsys, arguments, message
):
    out = tmp_path / "out.png"
    assert main(["recolor", str(photos["coffee"]), "-o", str(out), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
