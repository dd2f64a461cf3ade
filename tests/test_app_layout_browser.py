"""Every tab at desktop (1400 x 1000) and phone (390 x 844) size, used with its examples.

All four tabs fit as tabs (no "more" menu); the introduction is folded, so the first screen is
the app; no label or menu text is cut; and each tab is screenshotted in use. With
COLORLAB_SCREENSHOT=1 the screenshots refresh ``docs/screenshots/`` (the README shows them).
"""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
TABS = ("Recolor", "Colorize", "Style", "A/B arena")
# What a user does first on each tab, and what shows that it worked.
IN_USE = {
    "Recolor": (
        "#examples .gallery-item",
        "() => document.querySelectorAll('#result img').length == 2",
    ),
    "Colorize": (
        "#colorize-examples .gallery-item",
        "() => document.querySelectorAll('#colorize-result img').length == 2",
    ),
    "Style": (
        "#stylize-examples tr.tr-body",
        "() => document.querySelectorAll('#stylize-result img').length == 2",
    ),
    "A/B arena": ("#arena-new", "() => !document.querySelector('#arena-vote-left').disabled"),
}
# Text that does not fit its box: labels and the chosen entry of each menu, where visible.
CUT_TEXT = """() => [...document.querySelectorAll(
    '[data-testid=block-info], [data-testid=block-label], input[role=combobox], button[role=tab]')]
  .filter(el => el.checkVisibility() && el.scrollWidth > el.clientWidth + 1)
  .map(el => el.value || el.innerText)"""


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_every_tab_fits_its_labels_and_is_screenshotted_in_use(open_page, phone, tmp_path):
    page = open_page(phone=phone)
    tabs = [page.get_by_role("tab", name=name) for name in TABS]
    tabs[0].wait_for()
    assert all(tab.is_visible() for tab in tabs), "a tab is hidden in the 'more' menu"
    assert tabs[0].bounding_box()["y"] < 300, "the introduction pushes the tabs down"
    folder = DOCS if os.environ.get("COLORLAB_SCREENSHOT") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    for name, tab in zip(TABS, tabs, strict=True):
        tab.click()
        example, done = IN_USE[name]
        page.locator(example).first.click()
        page.wait_for_function(done)
        page.wait_for_timeout(500)  # let the images finish painting before the screenshot
        assert page.evaluate(CUT_TEXT) == [], f"cut text on the {name} tab"
        slug = name.split()[-1].lower()
        page.screenshot(
            path=folder / f"{slug}-{'phone' if phone else 'desktop'}.jpg",
            full_page=True,
            type="jpeg",
            quality=80,
        )
