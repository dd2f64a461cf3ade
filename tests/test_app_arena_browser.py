"""The A/B arena tab in a real browser: a full blind battle, then the leaderboard.

The buttons stay locked until both outputs are shown; a vote reveals the two methods and locks
the buttons again; the vote is in the store and on the leaderboard.
"""

import io
import re

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorlab.ui.api import arena_store
from tests.test_app_browser import TIMEOUT_MS, browser  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser


def test_a_full_battle_reveals_the_methods_and_counts_on_the_leaderboard(browser, app_url):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.get_by_role("tab", name="A/B arena").click()
    vote_left = page.locator("#arena-vote-left")
    assert vote_left.is_disabled(), "no battle yet: the vote buttons are locked"
    before = arena_store().count("stylize")

    page.click("#arena-new")
    page.wait_for_function(
        "() => document.querySelector('#arena-left img') && "
        "document.querySelector('#arena-right img')"
    )
    page.wait_for_function("() => !document.querySelector('#arena-vote-left').disabled")
    assert "revealed after your vote" in page.locator("#arena-reveal").inner_text()

    vote_left.click()
    page.wait_for_function(
        "() => document.querySelector('#arena-reveal').innerText.includes('Left was')"
    )
    reveal = page.locator("#arena-reveal").inner_text()
    vote = arena_store().votes("stylize")[-1]
    assert set(re.findall(r"was (\w+)", reveal)) == {vote.method_a, vote.method_b}
    assert arena_store().count("stylize") == before + 1
    page.wait_for_function("() => document.querySelector('#arena-vote-left').disabled")

    page.get_by_role("tab", name="Leaderboard").click()
    # Rated methods show an interval ("1340 to 1340"); both voted ones are listed.
    page.wait_for_function(
        "names => { const t = document.querySelector('#arena-table').innerText;"
        " return t.includes(' to ') && names.every(n => t.includes(n)); }",
        arg=[vote.method_a, vote.method_b],
    )
    page.close()


def test_a_battle_on_an_uploaded_image_shows_it_as_the_input(browser, app_url, tmp_path):  # noqa: F811
    path = tmp_path / "mine.png"
    Image.fromarray(data.coffee()[::4, ::4]).save(path)  # 150 x 100
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.get_by_role("tab", name="A/B arena").click()
    page.locator("#arena-upload input[type=file]").set_input_files(str(path))
    page.wait_for_function("() => document.querySelector('#arena-upload img')")

    page.click("#arena-new")
    page.wait_for_function("() => !document.querySelector('#arena-vote-left').disabled")

    src = page.locator("#arena-input img").get_attribute("src")
    shown = np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"))
    assert shown.shape == (100, 150, 3)  # the upload, not an example
    page.close()
