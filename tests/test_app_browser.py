"""The app in a real browser (headless Debian Chromium driven by Playwright).

Upload a photo, see the palette fill the pickers, change a swatch, see the result change; pick a
colour by clicking the photo, reset, and download the full-resolution result. With
COLORLAB_SCREENSHOT=1 the first scenario also refreshes docs/screenshot.png for the README.
The other tabs have their own files; they share this file's ``browser`` fixture and helpers.
"""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorlab.palette import extract_palette
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
