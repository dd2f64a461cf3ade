"""An arena battle in a real browser: the style shown, the votes counted, skip, zoom, phone layout.

A stylize battle shows its style image (the example's, or the user's own), other tasks none; each
vote adds one to "Your votes"; "Skip" stores nothing; the zoom shows the same region of both
outputs; the vote buttons read in plain text; on a phone the two outputs sit side by side.
"""

import io
import sqlite3

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from skimage import data

from colorlab.arena import battles
from colorlab.ui.arena_state import arena_store
from colorlab.ui.survey_view import CHOICE_LABELS

pytestmark = pytest.mark.browser

# A new battle is shown: both outputs, the left one new, the vote buttons enabled.
SHOWN = """before => {
  const left = document.querySelector('#arena-left img');
  return left && left.src !== before && document.querySelector('#arena-right img')
    && !document.querySelector('#arena-vote-left').disabled;
}"""


def new_battle(page, button="#arena-new") -> str:
    """Start a battle with ``button``; wait for both outputs; return the left output's address."""
    shown = page.locator("#arena-left img")
    before = shown.evaluate("image => image.src") if shown.count() else None
    page.click(button)
    try:  # two methods on a 512 px image: seconds, but a loaded CI machine can take longer
        page.wait_for_function(SHOWN, arg=before, timeout=90_000)
    except PlaywrightTimeout:
        toasts = page.locator(".toast-body").all_inner_texts()
        raise AssertionError(f"no new battle after {button}; messages shown: {toasts}") from None
    return shown.evaluate("image => image.src")


def shown_image(page, selector: str) -> np.ndarray:
    src = page.locator(f"{selector} img").get_attribute("src")
    image = Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB")
    return np.asarray(image, dtype=np.float32) / 255


def open_battles(store) -> list[str]:
    """The store's unvoted battles, oldest first."""
    with sqlite3.connect(store.path) as conn:
        query = "SELECT battle_id FROM open_battles ORDER BY rowid"
        return [row[0] for row in conn.execute(query)]


def test_a_stylize_battle_shows_its_style_and_a_colorize_battle_none(open_page):
    page = open_page(tab="A/B arena")
    assert page.locator("#arena-style-upload").is_visible()  # stylize is the default task

    new_battle(page)

    page.locator("#arena-style img").wait_for(state="visible")  # shown with the outputs
    style = shown_image(page, "#arena-style")
    assert np.abs(style - battles.example_image(battles.STYLE_EXAMPLE)).max() < 1e-6
    page.locator("#arena-task label", has_text="colorize").click()
    page.wait_for_function(
        "() => !document.querySelector('#arena-style-upload')?.checkVisibility()"
    )
    new_battle(page)
    assert not page.locator("#arena-style").is_visible()


def test_an_uploaded_content_and_style_are_the_battles_input_and_style(open_page, tmp_path):
    uploads = {"content": tmp_path / "content.png", "style": tmp_path / "style.png"}
    Image.fromarray(data.coffee()[::4, ::4]).save(uploads["content"])  # 150 x 100
    Image.fromarray(data.chelsea()[::3, ::3]).save(uploads["style"])  # 151 x 100
    page = open_page(tab="A/B arena")
    for field, name in (("#arena-upload", "content"), ("#arena-style-upload", "style")):
        page.locator(f"{field} input[type=file]").set_input_files(str(uploads[name]))
        page.wait_for_function(f"() => document.querySelector('{field} img')")

    new_battle(page)
    style, given = shown_image(page, "#arena-style"), shown_image(page, "#arena-input")
    page.click("#arena-vote-tie")
    page.wait_for_function("() => document.querySelector('#arena-vote-tie').disabled")

    for shown, name in ((given, "content"), (style, "style")):  # the uploads, not examples
        upload = np.asarray(Image.open(uploads[name]), dtype=np.float32) / 255
        assert np.abs(shown - upload).max() < 1e-6
    vote = arena_store().votes("stylize")[-1]
    assert vote.input_hash == battles.input_hash(given, style)


def votes_shown(page, number: int) -> None:
    page.wait_for_function(
        "text => document.querySelector('#arena-count').innerText.trim() === text",
        arg=f"Your votes: {number}",
    )


def test_votes_are_counted_and_a_skip_stores_nothing(open_page):
    page = open_page(tab="A/B arena")
    store = arena_store()
    count = page.locator("#arena-count")
    assert page.locator("#arena-skip").is_disabled(), "nothing to skip yet"

    new_battle(page)
    page.click("#arena-vote-left")
    votes_shown(page, 1)

    new_battle(page, "#arena-skip")  # after a vote: simply the next battle
    skipped, voted = open_battles(store)[-1], store.count()
    assert battles.battle_folder(skipped).exists()
    new_battle(page, "#arena-skip")  # skips an open battle
    assert store.count() == voted  # no vote stored: the battle is left to expire
    assert skipped in open_battles(store)
    assert not battles.battle_folder(skipped).exists()  # and its images are gone
    assert count.inner_text() == "Your votes: 1"

    page.click("#arena-vote-right")
    votes_shown(page, 2)
    assert store.count() == voted + 1


# The region of an image shown in its frame, as fractions of the image: (left, top, width, height).
REGION = """selector => {
  const image = document.querySelector(selector + ' img').getBoundingClientRect();
  const frame = document.querySelector(selector + ' .image-frame').getBoundingClientRect();
  return [(frame.left - image.left) / image.width, (frame.top - image.top) / image.height,
          frame.width / image.width, frame.height / image.height];
}"""


def test_the_zoom_shows_the_same_region_of_both_outputs(open_page):
    page = open_page(tab="A/B arena")
    new_battle(page)

    def click(side: str, x: float, y: float) -> None:
        """Click the output on ``side`` at (x, y), fractions of its frame (what is in view)."""
        frame = page.locator(f"{side} .image-frame").bounding_box()
        page.mouse.click(frame["x"] + x * frame["width"], frame["y"] + y * frame["height"])

    def regions() -> list[np.ndarray]:
        return [np.array(page.evaluate(REGION, side)) for side in ("#arena-left", "#arena-right")]

    click("#arena-left", 0.25, 0.25)  # the focus point, a quarter in
    page.locator("#arena-zoom input[type=number]").fill("3")
    page.locator("#arena-zoom input[type=number]").press("Enter")
    page.wait_for_function(f"() => ({REGION})('#arena-left')[2] < 0.5")

    left, right = regions()
    np.testing.assert_allclose(left, right, atol=0.005)
    # Zoomed 3x about that point: it stays put, a third of the image shows around it.
    np.testing.assert_allclose(left, [0.25 - 0.25 / 3] * 2 + [1 / 3] * 2, atol=0.005)

    click("#arena-right", 0.9, 0.9)  # a click on the other output moves both
    focus = left[:2] + 0.9 * left[2:]
    page.wait_for_function(f"x => ({REGION})('#arena-left')[0] > x", arg=left[0] + 0.01)
    left, right = regions()
    np.testing.assert_allclose(left, right, atol=0.005)
    np.testing.assert_allclose(left[:2], focus - focus / 3, atol=0.005)


def test_the_vote_buttons_read_in_plain_text(open_page):
    page = open_page(tab="A/B arena")

    labels = [page.locator(f"#arena-vote-{choice}").inner_text() for choice in CHOICE_LABELS]

    assert labels == ["Left is better", "Right is better", "Tie", "Both bad"]
    assert all(label.isascii() for label in labels)  # no emoji: no empty boxes without a font


def test_on_a_phone_the_outputs_sit_side_by_side(open_page):
    page = open_page(tab="A/B arena", phone=True)
    new_battle(page)
    page.locator("#arena-right").scroll_into_view_if_needed()

    left = page.locator("#arena-left").bounding_box()
    right = page.locator("#arena-right").bounding_box()
    assert abs(left["y"] - right["y"]) < 1 and left["x"] + left["width"] <= right["x"]
    assert left["x"] >= 0 and right["x"] + right["width"] <= 390  # both in view, no scrolling
    assert left["y"] >= 0 and left["y"] + left["height"] <= 844
