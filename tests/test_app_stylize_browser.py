"""The "Style" tab in a real browser (headless Chromium driven by Playwright).

An example pair fills both images and gives a result; strength changes it; the download is the
full-resolution result. The style examples are Van Gogh's paintings, credited. Offline, as the
tests run, neural style has no VGG-19 weights: choosing it keeps the result on screen, disables
Stylize, says why in one line and puts the how-to in a collapsed accordion, with no toast.
"""

import re
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from colorlab.imageio import load_image
from colorlab.methods import get_method
from colorlab.paintings import FOLDER, PAINTER, PAINTINGS
from colorlab.ui.examples import STYLE_PAIRS
from colorlab.ui.widgets import short_reason
from tests.test_app_stylize import neural_unavailable_reason

pytestmark = pytest.mark.browser

ASTRONAUT_PAIR = next(i for i, (photo, _) in enumerate(STYLE_PAIRS) if photo == "astronaut")


@pytest.fixture
def tab(open_page):
    """A fresh page on the Style tab."""
    return open_page(tab="Style")


@pytest.fixture
def stylize_page(tab):
    """The tab with the first astronaut pair's result on screen and its download ready."""
    _pick_pair(tab, ASTRONAUT_PAIR)
    return tab


def _pick_pair(page, index: int) -> None:
    """Click example pair ``index`` and wait for its result and its download."""
    page.locator("#stylize-examples tr.tr-body").nth(index).click()
    page.wait_for_function("() => document.querySelectorAll('#stylize-result img').length == 2")
    page.wait_for_function("() => !document.querySelector('#stylize-result-download').disabled")


def _pixels(page, selector: str) -> tuple[str, np.ndarray]:
    """The address and pixels of the image at ``selector``."""
    src = page.locator(selector).get_attribute("src")
    return src, load_image(page.request.get(src).body())


def _after(page) -> tuple[str, np.ndarray]:
    """The "after" side of the comparison."""
    return _pixels(page, "#stylize-result img >> nth=1")


def test_a_pair_example_fills_both_images_and_shows_a_result(tab):
    _pick_pair(tab, 1)
    photo, painting = STYLE_PAIRS[1]

    _, content = _pixels(tab, "#stylize-content img")
    _, style = _pixels(tab, "#stylize-style img")
    expected = getattr(data, photo)()[..., :3].astype(np.float32) / 255
    assert np.abs(content - expected).max() < 1e-6
    assert np.abs(style - load_image(FOLDER / painting)).max() < 1e-6
    _, after = _after(tab)
    assert after.shape == expected.shape
    assert np.abs(after - expected).mean() > 0.03, "the result is not the content"


def test_the_style_examples_are_van_goghs_paintings_credited(tab):
    examples = tab.locator("#stylize-examples")
    styles = examples.locator("td[aria-colindex='2'] img")
    shown = {Path(src).name for src in styles.evaluate_all("imgs => imgs.map(i => i.src)")}
    assert shown == set(PAINTINGS)
    assert PAINTER == "Vincent van Gogh (public domain)"
    assert PAINTER in examples.inner_text()
    credits = tab.locator("#stylize-credits").inner_text()
    assert PAINTER in credits and all(work in credits for work in PAINTINGS.values())


def test_strength_changes_the_result(stylize_page):
    page = stylize_page
    src, full = _after(page)
    astronaut = data.astronaut().astype(np.float32) / 255
    assert full.shape == astronaut.shape
    assert np.abs(full - astronaut).mean() > 0.03, "the result is not the content"

    track = page.locator("#stylize-strength input[type=range]").bounding_box()
    page.mouse.click(track["x"] + track["width"] * 0.3, track["y"] + track["height"] / 2)

    page.wait_for_function(
        "s => document.querySelectorAll('#stylize-result img')[1]?.src !== s", arg=src
    )
    _, weaker = _after(page)
    assert float(page.locator("#stylize-strength input[type=number]").input_value()) < 0.4
    # Nearer the content than the full transfer was (JPEG noise is far below this).
    assert np.abs(weaker - astronaut).mean() < 0.6 * np.abs(full - astronaut).mean()


def test_the_download_is_the_full_resolution_png(stylize_page):
    page = stylize_page
    with page.expect_download() as download:
        page.click("#stylize-result-download")
    assert download.value.suggested_filename == "astronaut-stylized.png"
    saved = load_image(Path(download.value.path()))
    assert saved.shape == (512, 512, 3)
    _, shown = _after(page)
    assert np.abs(saved - shown).mean() < 0.02  # the file is the result on screen


def test_choosing_neural_style_offline_keeps_the_result_and_says_why_in_one_line(stylize_page):
    reason = neural_unavailable_reason()
    page = stylize_page
    src, _ = _after(page)
    run_button, how_to = page.locator("#stylize-run"), page.locator("#stylize-how-to")
    assert not how_to.is_visible(), "an available method needs no how-to"

    title = get_method("stylize", "neural").title
    page.locator("#stylize-method input").click()
    option = page.get_by_role("option", name=re.compile(re.escape(f"{title} (unavailable: ")))
    entry = option.inner_text()
    option.click()

    run_button.wait_for()
    page.wait_for_function("() => document.querySelector('#stylize-run').disabled")
    assert entry == f"{title} (unavailable: {short_reason(reason)})"
    assert "Errno" not in entry and "\n" not in entry
    info = page.locator("#stylize-method").inner_text()
    assert f"Unavailable here: {short_reason(reason)}." in info and "Errno" not in info
    # The how-to is there, collapsed; opened, it has the whole reason.
    how_to.wait_for()
    rest = how_to.get_by_text(reason.split(". ")[1][:30])  # the reason after its first sentence
    assert not rest.is_visible()
    how_to.get_by_text("how to make it run").click()
    rest.wait_for()
    # The result stays, and nothing was asked to run, so nothing warns.
    page.wait_for_timeout(1000)  # let the method's events finish
    assert page.locator("#stylize-result img").count() == 2
    assert _after(page)[0] == src
    assert page.locator(".toast-body").count() == 0
