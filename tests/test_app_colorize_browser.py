"""The Colorize tab in a real browser: the hint editor, its strokes, and the result.

Pick a grey example and see it in the editor before the colorization is done; a stroke drawn
while a photo loads is refused with a message, never silently lost; strokes show
semi-transparent over the photo but hint their exact colour, at the brush's size; undo and
clear; move the temperature; switch models.
"""

import time
from pathlib import Path

import numpy as np
import pytest

from colorlab.color import parse_hex, srgb_to_lab
from colorlab.ui import work
from colorlab.ui.colorize_tab import HINT_COLORS
from colorlab.ui.hint_editor import STROKE_OPACITY
from tests.test_app_browser import _load

pytestmark = pytest.mark.browser

CAMERA_SKY = (slice(45, 80), slice(370, 470))  # rows, cols: open sky in the cameraman photo
PHOTO_SHOWN = "() => document.querySelector('#hint-editor .hint-photo')?.src?.startsWith('data:')"
RESULT_SHOWN = "() => document.querySelectorAll('#colorize-result img').length == 2"


@pytest.fixture
def tab(open_page):
    """A fresh page on the Colorize tab, no photo chosen yet."""
    return open_page(tab="Colorize")


@pytest.fixture
def colorize_page(tab):
    """The Colorize tab with the grey cameraman example loaded and shown."""
    tab.locator("#colorize-examples button.gallery-item").first.click()  # the cameraman
    tab.wait_for_function(PHOTO_SHOWN)
    tab.wait_for_function(RESULT_SHOWN)
    _wait_for_download_ready(tab)
    return tab


def _wait_for_download_ready(page) -> None:
    page.wait_for_function("() => !document.querySelector('#colorize-result-download').disabled")


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
        page.click("#colorize-result-download")
    return download.value.suggested_filename, _load(Path(download.value.path()).read_bytes())


def _brush(page, rows: slice, cols: slice) -> None:
    """Paint the image region ``rows`` x ``cols`` (pixels of the editor's photo) with
    back-and-forth strokes, in one drag."""
    canvas = page.locator("#hint-editor canvas")
    box = canvas.bounding_box()
    width, height = canvas.evaluate("c => [c.width, c.height]")

    def screen(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height

    page.mouse.move(*screen(cols.start, rows.start))
    page.mouse.down()
    for y in range(rows.start, rows.stop, 6):
        for x in (cols.start, cols.stop):
            page.mouse.move(*screen(x, y), steps=4)
    page.mouse.up()


def _choose_colour(page, hex_: str) -> None:
    page.click(f"#hint-editor button[aria-label='Brush colour {hex_}']")


def _set_brush(page, size: int) -> None:
    page.locator("#hint-editor input[type=range]").fill(str(size))


def _watch_hints(monkeypatch) -> list:
    """The hints each colorization gets (the app runs in this process)."""
    given = []
    colorize = work.colorize

    def watched(image, method, temperature, hints):
        given.append(hints)
        return colorize(image, method, temperature, hints)

    monkeypatch.setattr(work, "colorize", watched)
    return given


def test_the_editor_shows_the_photo_while_it_is_still_being_colorized(tab, monkeypatch):
    colorize = work.colorize

    def slow(*args, **kwargs):
        time.sleep(3)
        return colorize(*args, **kwargs)

    monkeypatch.setattr(work, "colorize", slow)
    page = tab
    page.locator("#colorize-examples button.gallery-item").nth(1).click()

    page.wait_for_function(PHOTO_SHOWN)
    assert page.locator("#colorize-result img").count() == 0  # the result comes after
    page.wait_for_function(RESULT_SHOWN)


def test_a_stroke_while_a_photo_loads_is_refused_visibly_and_the_next_one_counts(tab, monkeypatch):
    page = tab
    status = page.locator("#hint-editor .hint-status")
    _brush(page, slice(10, 20), slice(10, 30))  # no photo yet
    assert "Load a photo" in status.inner_text()

    page.locator("#colorize-examples button.gallery-item").first.click()
    page.wait_for_function(PHOTO_SHOWN)
    page.wait_for_function(RESULT_SHOWN)
    _wait_for_download_ready(page)
    grey_image = work.grey_image

    def slow(*args, **kwargs):
        time.sleep(2)
        return grey_image(*args, **kwargs)

    monkeypatch.setattr(work, "grey_image", slow)
    given = _watch_hints(monkeypatch)
    page.locator("#colorize-examples button.gallery-item").nth(2).click()  # another photo
    page.wait_for_function("() => document.querySelector('#hint-editor .loading')")
    _brush(page, slice(45, 50), slice(370, 380))
    assert "loading" in status.inner_text()

    page.wait_for_function("() => !document.querySelector('#hint-editor .loading')")
    page.wait_for_function(RESULT_SHOWN)
    _wait_for_download_ready(page)
    assert given and given[-1] is None  # the refused stroke went nowhere
    shown = _after_src(page)
    _brush(page, *CAMERA_SKY)
    _wait_for_new_result(page, shown)
    assert given[-1].count > 0


def test_a_brush_stroke_becomes_hints_at_its_pixels_and_clear_removes_them(
    colorize_page, monkeypatch
):
    page = colorize_page
    given = _watch_hints(monkeypatch)
    name, plain = _download(page)
    assert name == "camera-grey-colorized.png"
    assert plain.shape == (512, 512, 3)
    shown = _after_src(page)

    _brush(page, *CAMERA_SKY)  # in the brush's first colour
    _wait_for_new_result(page, shown)

    hints = given[-1]
    rows, cols = CAMERA_SKY
    assert hints.mask.shape == (512, 512)
    assert hints.mask[rows.start + 4 : rows.stop - 4, cols].all()  # the painted band is hinted
    ys, xs = np.nonzero(hints.mask)  # and nothing beyond the brush's reach
    assert ys.min() > rows.start - 20 and ys.max() < rows.stop + 20
    assert xs.min() > cols.start - 20 and xs.max() < cols.stop + 20
    brush_ab = srgb_to_lab(parse_hex(HINT_COLORS[0]))[1:]
    np.testing.assert_allclose(
        hints.ab[hints.mask], np.broadcast_to(brush_ab, (hints.count, 2)), atol=1e-3
    )
    _, hinted = _download(page)
    assert hinted.shape == plain.shape
    assert np.abs(hinted - plain).max() > 0.05

    shown = _after_src(page)
    page.click("#hint-editor button.hint-clear")
    _wait_for_new_result(page, shown)
    _, cleared = _download(page)
    assert np.array_equal(cleared, plain)


def test_strokes_show_semi_transparent_but_hint_their_exact_colour(colorize_page, monkeypatch):
    page = colorize_page
    given = _watch_hints(monkeypatch)
    red = "#d03a2a"
    _choose_colour(page, red)
    shown = _after_src(page)
    _brush(page, *CAMERA_SKY)
    _wait_for_new_result(page, shown)

    canvas = page.locator("#hint-editor canvas")
    assert float(canvas.evaluate("c => getComputedStyle(c).opacity")) == STROKE_OPACITY < 1
    # On screen the sky shows through the red: neither the stroke's colour nor the grey photo.
    rows, cols = CAMERA_SKY
    x, y = (cols.start + cols.stop) / 2, (rows.start + rows.stop) / 2
    box = canvas.bounding_box()
    left, top = box["x"] + x * box["width"] / 512, box["y"] + y * box["height"] / 512
    clip = {"x": left - 2, "y": top - 2, "width": 4, "height": 4}
    seen = _load(page.screenshot(clip=clip)).mean((0, 1))
    assert np.abs(seen - parse_hex(red)).max() > 0.1  # not opaque red
    assert seen[0] - seen[2] > 0.1  # but reddish: the stroke is visible
    hints = given[-1]
    red_ab = srgb_to_lab(parse_hex(red))[1:]
    np.testing.assert_allclose(hints.ab[hints.mask], np.broadcast_to(red_ab, (hints.count, 2)))


def test_the_brush_size_sets_the_width_of_the_hinted_band(colorize_page, monkeypatch):
    page = colorize_page
    given = _watch_hints(monkeypatch)
    widths = []
    for size in (4, 40):
        _set_brush(page, size)
        shown = _after_src(page)
        canvas = page.locator("#hint-editor canvas").bounding_box()
        y = canvas["y"] + 60 * canvas["height"] / 512
        page.mouse.move(canvas["x"] + 100 * canvas["width"] / 512, y)
        page.mouse.down()
        page.mouse.move(canvas["x"] + 200 * canvas["width"] / 512, y, steps=8)
        page.mouse.up()
        _wait_for_new_result(page, shown)
        widths.append(given[-1].mask[:, 150].sum())
        shown = _after_src(page)
        page.click("#hint-editor button.hint-undo")
        _wait_for_new_result(page, shown)
    thin, thick = widths
    assert thin > 0 and thick > 5 * thin


def test_undo_removes_the_last_stroke_only(colorize_page, monkeypatch):
    page = colorize_page
    given = _watch_hints(monkeypatch)
    shown = _after_src(page)
    _brush(page, slice(45, 60), slice(370, 470))
    _wait_for_new_result(page, shown)
    _, one_stroke = _result_image(page)
    shown = _after_src(page)
    _brush(page, slice(300, 320), slice(50, 150))
    _wait_for_new_result(page, shown)
    assert given[-1].mask[300:320, 50:150].all()

    shown = _after_src(page)
    page.click("#hint-editor button.hint-undo")
    _wait_for_new_result(page, shown)
    _, undone = _result_image(page)
    np.testing.assert_array_equal(undone, one_stroke)


def test_the_temperature_slider_changes_the_result_on_release(colorize_page):
    page = colorize_page
    shown = _after_src(page)
    _, before = _result_image(page)

    track = page.locator("#colorize-temperature input[type=range]").bounding_box()
    page.mouse.click(track["x"] + track["width"] * 0.95, track["y"] + track["height"] / 2)

    _wait_for_new_result(page, shown)
    _, after = _result_image(page)
    assert float(page.locator("#colorize-temperature input[type=number]").input_value()) > 0.9
    assert np.abs(after - before).mean() > 0.002


def test_a_model_without_temperature_hides_the_slider_and_shows_its_result(colorize_page):
    page = colorize_page
    shown = _after_src(page)
    page.locator("#colorize-method input").click()
    page.get_by_role("option", name="Regression baseline (L1)").click()

    page.locator("#colorize-temperature").wait_for(state="hidden")
    _wait_for_new_result(page, shown)  # the regression model's colorization replaces it
    page.locator("#colorize-method input").click()
    page.get_by_role("option", name="Classification + hints").click()
    page.locator("#colorize-temperature").wait_for(state="visible")


def test_on_a_phone_the_result_stays_in_view_above_the_editor(open_page):
    page = open_page(tab="Colorize", phone=True)
    page.locator("#colorize-examples button.gallery-item").first.click()
    page.wait_for_function(PHOTO_SHOWN)
    page.wait_for_function(RESULT_SHOWN)
    canvas = page.locator("#hint-editor canvas")
    canvas.scroll_into_view_if_needed()
    result, editor = page.locator("#colorize-result").bounding_box(), canvas.bounding_box()
    assert result["y"] >= 0 and result["y"] + result["height"] <= editor["y"] + 1
    assert editor["y"] + editor["height"] / 2 < page.viewport_size["height"]  # half in view
