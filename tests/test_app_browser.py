"""The app in a real browser (headless Debian Chromium driven by Playwright).

Upload a photo, see the palette fill the pickers, change a swatch, see the result change; pick a
colour by clicking the photo, reset, and download the full-resolution result. On the Colorize
tab, brush a colour hint over a grey photo and see the result take it there; move the
temperature; switch models. With COLORLAB_SCREENSHOT=1 the first scenario also refreshes
docs/screenshot.png for the README.
"""

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorlab.color import parse_hex, srgb_to_lab
from colorlab.palette import extract_palette
from colorlab.ui import work
from colorlab.ui.colorize_tab import HINT_COLORS
from colorlab.ui.examples import example_paths

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = "install Debian's chromium (apt-get install chromium) to run browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url, astronaut_png):
    """A fresh page with the astronaut uploaded and its palette in the pickers."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.locator("#photo input[type=file]").set_input_files(str(astronaut_png))
    expected = extract_palette(_load(astronaut_png.read_bytes()), k=4).to_hex()
    _wait_for_swatches(page, expected)
    _wait_for_hex(page, ", ".join(expected))
    yield page
    page.close()


def _load(payload: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(payload)).convert("RGB"), dtype=np.float32) / 255


def _blocks(image: np.ndarray) -> np.ndarray:
    h, w = (image.shape[0] // 8) * 8, (image.shape[1] // 8) * 8
    return image[:h, :w].reshape(h // 8, 8, w // 8, 8, 3).mean(axis=(1, 3))


def _css(hex_: str) -> str:
    r, g, b = (int(hex_[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _wait_for_swatches(page, hexes: list[str]) -> None:
    """Wait until the first pickers' swatches show these colours."""
    for i, hex_ in enumerate(hexes, start=1):
        swatch = page.locator(f"#entry-{i} button.dialog-button")
        page.wait_for_function(
            "([el, rgb]) => el.style.background === rgb", arg=[swatch.element_handle(), _css(hex_)]
        )


def _wait_for_hex(page, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#hex textarea').value === t", arg=text)


def _hex_text(page) -> str:
    return page.locator("#hex textarea").input_value()


def _result(page) -> tuple[str, np.ndarray]:
    """The "after" side of the comparison slider: its address and its pixels."""
    src = page.locator("#result img").nth(1).get_attribute("src")
    return src, _load(page.request.get(src).body())


def _set_swatch(page, entry: int, hex_: str) -> None:
    """Type a colour into the picker's own hex field, as a user would, and close the picker."""
    page.click(f"#entry-{entry} button.dialog-button")
    field = page.locator(f"#entry-{entry} .color-picker input[type=text]")
    field.fill(hex_)
    field.press("Enter")
    page.mouse.click(5, 5)


def test_changing_a_swatch_updates_the_result(page, tmp_path):
    before_src, before = _result(page)
    _set_swatch(page, 3, "#2a7ab0")  # the orange suit turns blue

    page.wait_for_function(
        "src => document.querySelectorAll('#result img')[1].src !== src", arg=before_src
    )
    _, after = _result(page)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() > 0.01
    assert "#2a7ab0" in _hex_text(page).split(", ")[2]
    # The suit's pixels got bluer: blue minus red rose where the image was strongly orange.
    suit = (before[..., 0] - before[..., 2]) > 0.4
    shift = (after[..., 2] - after[..., 0])[suit].mean() - (before[..., 2] - before[..., 0])[
        suit
    ].mean()
    assert shift > 0.3

    page.wait_for_timeout(500)  # let the slider's image finish painting
    page.screenshot(path=tmp_path / "app.png", full_page=True)
    if os.environ.get("COLORLAB_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)


def test_click_on_photo_sets_entry_reset_restores_and_download_is_full_size(page, astronaut_png):
    original_palette = _hex_text(page)
    page.get_by_label("2", exact=True).check()
    photo = page.locator("#photo img").first
    photo.scroll_into_view_if_needed()
    box = photo.bounding_box()
    x, y = 0.06, 0.06  # the flag's dark blue, top left
    page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)

    clicked = data.astronaut()[round(512 * y), round(512 * x)]
    page.wait_for_function(
        "t => document.querySelector('#hex textarea').value !== t", arg=original_palette
    )
    picked = _hex_text(page).split(", ")[1]
    picked_rgb = np.array([int(picked[i : i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(picked_rgb - clicked.astype(int)).max() <= 12  # within a pixel of the click

    page.click("text=Reset all")
    _wait_for_hex(page, original_palette)

    _set_swatch(page, 1, "#ffd000")
    page.wait_for_function(
        "() => document.querySelector('#hex textarea').value.includes('#ffd000')"
    )
    # The button is disabled from the new result until its full-resolution file is ready.
    page.wait_for_function("() => !document.querySelector('#download').disabled")
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "astronaut-recolored.png"
    saved = _load(Path(download.value.path()).read_bytes())
    assert saved.shape == (512, 512, 3)
    _, shown = _result(page)
    # The file is the result on screen, not a stale one; 8 x 8 block means even out the
    # screen's JPEG compression.
    assert np.abs(_blocks(saved) - _blocks(shown)).mean() < 0.01


def test_importing_a_longer_palette_changes_the_size_and_the_pickers(page):
    imported = "#101820, #3a2a6a, #2a7ab0, #e0a040, #f4f0e8"
    before_src, _ = _result(page)
    page.locator("#hex textarea").fill(imported)
    page.click("text=Import palette")

    _wait_for_swatches(page, imported.split(", "))
    assert all(page.locator(f"#entry-{i}").is_visible() for i in range(1, 6))
    assert not page.locator("#entry-6").is_visible()
    assert page.locator("input[type=number]").first.input_value() == "5"
    page.wait_for_function(
        "src => document.querySelectorAll('#result img')[1].src !== src", arg=before_src
    )


def test_an_example_photo_loads_its_palette(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.locator("#examples button.gallery-item").nth(1).click()  # coffee

    expected = extract_palette(_load(Path(example_paths()[1]).read_bytes()), k=4)
    _wait_for_hex(page, ", ".join(expected.to_hex()))
    strip = page.locator("#shares").inner_text()
    assert all(f"{share:.0%}" in strip for share in expected.weights)  # the shares are shown
    page.close()


def test_changing_the_palette_size_extracts_a_new_palette(page, astronaut_png):
    size_box = page.locator("input[type=number]").first
    size_box.fill("6")
    size_box.press("Enter")
    expected = extract_palette(_load(astronaut_png.read_bytes()), k=6).to_hex()
    _wait_for_swatches(page, expected)
    _wait_for_hex(page, ", ".join(expected))
    assert page.locator("#entry-6").is_visible()
    assert not page.locator("#entry-7").is_visible()


# --- The Colorize tab ----------------------------------------------------------------------

CAMERA_SKY = (slice(45, 80), slice(370, 470))  # rows, cols: open sky in the cameraman photo


@pytest.fixture
def colorize_page(browser, app_url):
    """A fresh page on the Colorize tab with the grey cameraman example loaded and shown."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.get_by_role("tab", name="Colorize").click()
    empty_zoom = _zoom_text(page)
    page.locator("#colorize-examples button.gallery-item").first.click()  # the cameraman
    page.wait_for_function("() => document.querySelectorAll('#colorize-result img').length == 2")
    # The editor fits the photo to its canvas a moment after it arrives; draw only after that.
    page.wait_for_function(
        "z => [...document.querySelectorAll('#hint-editor *')].some("
        "el => el.children.length == 0 && /^\\d+%$/.test(el.textContent.trim())"
        " && el.textContent.trim() != z)",
        arg=empty_zoom,
    )
    _wait_for_download_ready(page)
    yield page
    page.close()


def _zoom_text(page) -> str:
    """The editor's zoom, as its toolbar shows it ("90%")."""
    return page.locator("#hint-editor").get_by_text(re.compile(r"^\d+%$")).inner_text()


def _wait_for_download_ready(page) -> None:
    page.wait_for_function("() => !document.querySelector('#colorize-download').disabled")


def _after_src(page) -> str:
    return page.locator("#colorize-result img").nth(1).get_attribute("src")


def _result_image(page) -> tuple[str, np.ndarray]:
    """The "after" side of the colorize comparison: its address and its pixels."""
    src = _after_src(page)
    return src, _load(page.request.get(src).body())


def _wait_for_new_result(page, old_src: str) -> None:
    """Wait until the comparison shows another result and its full-resolution file is ready."""
    page.wait_for_function(
        "src => document.querySelectorAll('#colorize-result img')[1]?.src !== src", arg=old_src
    )
    _wait_for_download_ready(page)


def _download(page) -> tuple[str, np.ndarray]:
    with page.expect_download() as download:
        page.click("#colorize-download")
    return download.value.suggested_filename, _load(Path(download.value.path()).read_bytes())


def _brush(page, rows: slice, cols: slice, size: int = 512) -> None:
    """Paint the image region ``rows`` x ``cols`` (image pixels) with back-and-forth strokes.

    The editor shows the photo centred in its canvas at the zoom its toolbar reports.
    """
    box = page.locator("#hint-editor canvas").first.bounding_box()
    zoom = int(_zoom_text(page).rstrip("%")) / 100
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def screen(x: float, y: float) -> tuple[float, float]:
        return centre_x + (x - size / 2) * zoom, centre_y + (y - size / 2) * zoom

    page.mouse.move(*screen(cols.start, rows.start))
    page.mouse.down()
    for y in range(rows.start, rows.stop, 12):  # each move costs a software-GL redraw
        for x in (cols.start, cols.stop):
            page.mouse.move(*screen(x, y))
    page.mouse.up()


def test_a_brush_stroke_becomes_hints_at_its_pixels_and_clear_removes_them(
    colorize_page, monkeypatch
):
    page = colorize_page
    given = []  # the hints each colorization got: the app runs in this process
    colorize = work.colorize

    def watched(image, method, temperature, hints):
        given.append(hints)
        return colorize(image, method, temperature, hints)

    monkeypatch.setattr(work, "colorize", watched)
    name, plain = _download(page)
    assert name == "camera-grey-colorized.png"
    assert plain.shape == (512, 512, 3)
    shown = _after_src(page)

    _brush(page, *CAMERA_SKY)  # in the brush's first colour
    _wait_for_new_result(page, shown)

    hints = given[-1]
    rows, cols = CAMERA_SKY
    assert hints.mask.shape == (512, 512)
    assert hints.mask[rows.start + 8 : rows.stop - 8, cols].all()  # the painted band is hinted
    ys, xs = np.nonzero(hints.mask)  # and nothing beyond the brush's reach
    assert ys.min() > rows.start - 40 and ys.max() < rows.stop + 40
    assert xs.min() > cols.start - 40 and xs.max() < cols.stop + 40
    brush_ab = srgb_to_lab(parse_hex(HINT_COLORS[0]))[1:]
    np.testing.assert_allclose(
        hints.ab[hints.mask], np.broadcast_to(brush_ab, (hints.count, 2)), atol=0.5
    )
    _, hinted = _download(page)
    assert hinted.shape == plain.shape
    assert np.abs(hinted - plain).max() > 0.05

    shown = _after_src(page)
    page.click("#clear-hints")
    _wait_for_new_result(page, shown)
    _, cleared = _download(page)
    assert np.array_equal(cleared, plain)


def test_a_red_stroke_turns_the_result_red_there(colorize_page):
    page = colorize_page
    _, plain = _download(page)
    shown = _after_src(page)
    red = "#d03a2a"
    page.click("#hint-editor button[aria-label=Color]")
    page.click(f"#hint-editor button.color[style*='background-color: {_css(red)}']")

    _brush(page, *CAMERA_SKY)
    _wait_for_new_result(page, shown)

    _, hinted = _download(page)
    rows, cols = CAMERA_SKY
    inside = (slice(rows.start + 8, rows.stop - 8), cols)
    red_ab = srgb_to_lab(parse_hex(red))[1:]
    before = np.linalg.norm(srgb_to_lab(plain[inside])[..., 1:].mean((0, 1)) - red_ab)
    after = np.linalg.norm(srgb_to_lab(hinted[inside])[..., 1:].mean((0, 1)) - red_ab)
    assert after < before - 20, (before, after)  # much nearer red's chroma (ab distance)
    # Only chroma came from the stroke: the lightness is still the photo's.
    lightness = srgb_to_lab(hinted)[..., 0] - srgb_to_lab(plain)[..., 0]
    assert np.abs(lightness).mean() < 0.5


def test_the_temperature_slider_changes_the_result_on_release(colorize_page):
    page = colorize_page
    shown = _after_src(page)
    _, before = _result_image(page)

    track = page.locator("#colorize-temperature input[type=range]").bounding_box()
    page.mouse.click(track["x"] + track["width"] * 0.95, track["y"] + track["height"] / 2)

    _wait_for_new_result(page, shown)
    _, after = _result_image(page)
    assert float(page.locator("#colorize-temperature input[type=number]").input_value()) > 0.9
    assert np.abs(_blocks(after) - _blocks(before)).mean() > 0.002


def test_a_model_without_temperature_hides_the_slider_and_shows_its_result(colorize_page):
    page = colorize_page
    shown = _after_src(page)
    page.locator("#colorize-method input").click()
    page.get_by_role("option", name="Regression baseline (L1)").click()

    page.locator("#colorize-temperature").wait_for(state="hidden")
    _wait_for_new_result(page, shown)  # the regression model's colorization replaces it
    page.locator("#colorize-method input").click()
    page.get_by_role("option", name="Classification + hints (Zhang et al. 2016/2017)").click()
    page.locator("#colorize-temperature").wait_for(state="visible")
