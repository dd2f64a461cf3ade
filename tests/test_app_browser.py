"""The app in a real browser (headless Debian Chromium driven by Playwright).

Upload a photo, see the palette fill the pickers, change a swatch, see the result change; pick a
colour by clicking the photo, reset, and download the full-resolution result; on a phone, the
result stays in view while the pickers are edited. (Screenshots: test_app_layout_browser.py.)
The other tabs have their own files; the browser and its pages come from ``conftest.py``.
"""

import colorsys
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorlab.color import parse_hex
from colorlab.palette import DEFAULT_K, MAX_K, extract_palette
from colorlab.ui.examples import example_paths

pytestmark = pytest.mark.browser


@pytest.fixture
def page(open_page, astronaut_png):
    """A fresh page with the astronaut uploaded and its palette in the pickers."""
    page = open_page()
    page.locator("#photo input[type=file]").set_input_files(str(astronaut_png))
    expected = extract_palette(_load(astronaut_png.read_bytes()), k=DEFAULT_K).to_hex()
    _wait_for_swatches(page, expected)
    _wait_for_hex(page, ", ".join(expected))
    return page


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


def _open_picker(page, entry: int) -> None:
    """Open an entry's colour dialog, and wait for the app's hue fix (PAGE_JS) to redraw it."""
    page.click(f"#entry-{entry} button.dialog-button")
    page.locator(f"#entry-{entry} button.dialog-button[data-primed]").wait_for(state="attached")


def _set_swatch(page, entry: int, hex_: str) -> None:
    """Type a colour into the picker's own hex field, as a user would, and close the picker."""
    _open_picker(page, entry)
    field = page.locator(f"#entry-{entry} .color-picker input[type=text]")
    field.fill(hex_)
    field.press("Enter")
    page.mouse.click(5, 5)


def test_changing_a_swatch_updates_the_result(page):
    before_src, before = _result(page)
    _set_swatch(page, 4, "#2a7ab0")  # the orange suit turns blue

    page.wait_for_function(
        "src => document.querySelectorAll('#result img')[1].src !== src", arg=before_src
    )
    _, after = _result(page)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() > 0.01
    assert "#2a7ab0" in _hex_text(page).split(", ")[3]
    # The suit's pixels got bluer: blue minus red rose where the image was strongly orange.
    suit = (before[..., 0] - before[..., 2]) > 0.4
    shift = (after[..., 2] - after[..., 0])[suit].mean() - (before[..., 2] - before[..., 0])[
        suit
    ].mean()
    assert shift > 0.3


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
    page.wait_for_function("() => !document.querySelector('#result-download').disabled")
    with page.expect_download() as download:
        page.click("#result-download")
    assert download.value.suggested_filename == "astronaut-recolored.png"
    saved = _load(Path(download.value.path()).read_bytes())
    assert saved.shape == (512, 512, 3)
    _, shown = _result(page)
    # The file is the result on screen, not a stale one; 8 x 8 block means even out the
    # screen's JPEG compression.
    assert np.abs(_blocks(saved) - _blocks(shown)).mean() < 0.01


def test_importing_a_longer_palette_changes_the_size_and_the_pickers(page):
    imported = "#101820, #3a2a6a, #2a7ab0, #e0a040, #c0c8b0, #f4f0e8"
    before_src, _ = _result(page)
    page.locator("#hex textarea").fill(imported)
    page.click("text=Import palette")

    _wait_for_swatches(page, imported.split(", "))
    assert all(page.locator(f"#entry-{i}").is_visible() for i in range(1, 7))
    assert not page.locator("#entry-7").is_visible()
    assert page.locator("input[type=number]").first.input_value() == "6"
    page.wait_for_function(
        "src => document.querySelectorAll('#result img')[1].src !== src", arg=before_src
    )


def test_an_example_photo_loads_its_palette(open_page):
    page = open_page()
    page.locator("#examples button.gallery-item").nth(1).click()  # coffee

    expected = extract_palette(_load(Path(example_paths()[1]).read_bytes()), k=DEFAULT_K)
    _wait_for_hex(page, ", ".join(expected.to_hex()))
    strip = page.locator("#shares").inner_text()
    assert all(f"{share:.0%}" in strip for share in expected.weights)  # the shares are shown


def test_changing_the_palette_size_extracts_a_new_palette(page, astronaut_png):
    size_box = page.locator("input[type=number]").first
    size_box.fill("6")
    size_box.press("Enter")
    expected = extract_palette(_load(astronaut_png.read_bytes()), k=6).to_hex()
    _wait_for_swatches(page, expected)
    _wait_for_hex(page, ", ".join(expected))
    assert page.locator("#entry-6").is_visible()
    assert not page.locator("#entry-7").is_visible()


def test_before_a_photo_the_palette_shows_a_hint_not_black_swatches(open_page):
    page = open_page()
    assert "Load a photo" in page.locator("#shares").inner_text()
    assert not any(page.locator(f"#entry-{i}").is_visible() for i in range(1, MAX_K + 1))


def test_a_colour_dialog_opens_at_the_hue_of_its_colour(page):
    red, green, blue = parse_hex(_hex_text(page).split(", ")[3])  # the suit's orange
    expected = colorsys.rgb_to_hsv(red, green, blue)[0] * 360
    _open_picker(page, 4)
    hue = page.locator("#entry-4 .hue-slider").get_attribute("aria-valuenow")
    assert abs(int(hue) - expected) <= 1


@pytest.fixture
def phone(open_page, astronaut_png):
    """The recoloring tab at phone size (390 x 844) with the astronaut loaded."""
    page = open_page(phone=True)
    page.locator("#photo input[type=file]").set_input_files(str(astronaut_png))
    _wait_for_swatches(page, extract_palette(_load(astronaut_png.read_bytes())).to_hex())
    return page


def _on_screen(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    inside = box["x"] >= 0 and box["x"] + box["width"] <= width
    return inside and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_on_a_phone_the_result_stays_in_view_while_the_pickers_are_edited(phone):
    for entry in range(1, DEFAULT_K + 1):
        phone.locator(f"#entry-{entry}").scroll_into_view_if_needed()
        assert _on_screen(phone, f"#entry-{entry}") and _on_screen(phone, "#result")
    before_src, _ = _result(phone)
    _set_swatch(phone, 3, "#2a7ab0")
    phone.wait_for_function(
        "src => document.querySelectorAll('#result img')[1].src !== src", arg=before_src
    )
    assert _on_screen(phone, "#result") and _on_screen(phone, "#entry-3")


def test_on_a_phone_the_colour_dialog_fits_the_screen(phone):
    for entry in (1, 3):
        _open_picker(phone, entry)
        assert _on_screen(phone, f"#entry-{entry} .color-picker")
        phone.mouse.click(5, 5)
