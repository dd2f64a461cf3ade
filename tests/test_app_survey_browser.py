"""Survey mode in a real browser: ``?survey=NAME``, three items voted, then the completion code.

The survey file is written into ``COLORLAB_SURVEY_DIR``, which the app reads on each page load.
"""

import re

import pytest

from colorlab.arena.survey import load_survey, verify_completion_code
from colorlab.arena.survey_runs import survey_secret, survey_task, survey_votes
from colorlab.ui.api import arena_store
from tests.test_app_browser import TIMEOUT_MS, browser  # noqa: F401 (a fixture)
from tests.test_survey_runs import write_survey

pytestmark = pytest.mark.browser


def test_a_survey_of_three_items_ends_with_a_valid_completion_code(
    browser,  # noqa: F811
    app_url,
    tmp_path,
    monkeypatch,
):
    monkeypatch.setenv("COLORLAB_SURVEY_DIR", str(tmp_path))
    survey = load_survey(write_survey(tmp_path, "browser-mini"))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url + "?survey=browser-mini")
    page.wait_for_function(
        "() => document.querySelector('#survey-title')?.innerText.includes('Survey browser-mini')"
    )
    assert "Pick the better one." in page.locator("#survey-instructions").inner_text()
    assert "What is stored" in page.locator("#survey-view").first.inner_text()
    for k in (1, 2, 3):
        page.wait_for_function(
            "text => document.querySelector('#survey-progress').innerText.includes(text)",
            arg=f"Item {k} of 3",
        )
        page.wait_for_function(
            "() => document.querySelector('#survey-left img') && "
            "document.querySelector('#survey-right img') && "
            "!document.querySelector('#survey-vote-left').disabled"
        )
        page.click("#survey-vote-left")
        if k < 3:
            page.wait_for_function(
                "text => document.querySelector('#survey-progress').innerText.includes(text)",
                arg=f"Item {k + 1} of 3",
            )
    page.wait_for_function(
        "() => document.querySelector('#survey-code').innerText.includes('completion code')"
    )
    text = page.locator("#survey-code").inner_text()
    code = re.search(r"completion code is (\w+)", text).group(1)
    participant = re.search(r"participant id (\S+?)\)", text).group(1)
    assert page.locator("#survey-vote-left").is_disabled()
    store = arena_store()
    assert verify_completion_code(survey, participant, code, survey_secret(store))
    votes = survey_votes(store, survey)
    assert {v["participant"] for v in votes} == {participant}
    assert {v["item"] for v in votes} == {"one", "two", "check"}
    assert len(store.votes(survey_task(survey))) == 3
    page.close()


def test_a_participant_named_in_the_link_continues_after_a_reload(
    browser,  # noqa: F811
    app_url,
    tmp_path,
    monkeypatch,
):
    monkeypatch.setenv("COLORLAB_SURVEY_DIR", str(tmp_path))
    write_survey(tmp_path, "browser-resume")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    link = app_url + "?survey=browser-resume&participant=alice-01"

    def shows(text: str) -> None:
        page.wait_for_function(
            "text => document.querySelector('#survey-progress')?.innerText.includes(text)",
            arg=text,
        )

    page.goto(link)
    shows("Item 1 of 3")
    page.wait_for_function("() => !document.querySelector('#survey-vote-left').disabled")
    page.click("#survey-vote-left")
    shows("Item 2 of 3")
    page.goto(link)  # a reload: the same participant, so the voted item is not asked again
    shows("Item 2 of 3")
    page.close()
