"""Survey mode in a real browser: ``?survey=NAME``, three items voted, then the completion code.

The survey file is written into ``COLORLAB_SURVEY_DIR``, which the app reads on each page load.
The link selects the arena tab by its id, whatever its label; on a phone the two outputs sit side
by side.
"""

import re

import gradio as gr
import pytest

from colorlab.arena.survey import load_survey, verify_completion_code
from colorlab.arena.survey_runs import survey_secret, survey_task, survey_votes
from colorlab.ui import arena_tab, launch_options
from colorlab.ui.arena_state import arena_store
from colorlab.ui.server import configure_queue
from colorlab.ui.survey_view import CHOICE_LABELS
from tests.test_survey_runs import write_survey

pytestmark = pytest.mark.browser


@pytest.fixture
def survey_dir(tmp_path, monkeypatch):
    """The folder the app reads surveys from in this test (``COLORLAB_SURVEY_DIR``)."""
    monkeypatch.setenv("COLORLAB_SURVEY_DIR", str(tmp_path))
    return tmp_path


def test_a_survey_of_three_items_ends_with_a_valid_completion_code(
    open_page,
    app_url,
    survey_dir,
):
    survey = load_survey(write_survey(survey_dir, "browser-mini"))
    page = open_page(url=app_url + "?survey=browser-mini")
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


def test_a_participant_named_in_the_link_continues_after_a_reload(
    open_page,
    app_url,
    survey_dir,
):
    write_survey(survey_dir, "browser-resume")
    page = open_page()
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


def test_a_survey_link_selects_the_arena_tab_by_its_id_whatever_its_label(
    open_page,
    app_url,  # the app's settings: its data folder and limits
    survey_dir,
):
    write_survey(survey_dir, "browser-relabelled")
    with gr.Blocks() as demo, gr.Tabs() as tabs:
        with gr.Tab("First"):
            gr.Markdown("Another tab, shown first")
        with gr.Tab("Vote here", id=arena_tab.TAB_ID):
            arena_tab.build_arena_tab(demo, tabs)
    configure_queue(demo).launch(
        prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options()
    )
    try:
        page = open_page(url=demo.local_url + "?survey=browser-relabelled")
        page.wait_for_function(
            "() => document.querySelector('#survey-progress')?.innerText.includes('Item 1 of 3')"
        )
        assert page.locator("#survey-view").first.is_visible()
        assert page.get_by_role("tab", name="Vote here").get_attribute("aria-selected") == "true"
        page.close()
    finally:
        demo.close()


def test_on_a_phone_the_survey_outputs_sit_side_by_side_under_plain_labels(
    open_page,
    app_url,
    survey_dir,
):
    write_survey(survey_dir, "browser-phone")
    page = open_page(phone=True, url=app_url + "?survey=browser-phone")
    page.wait_for_function(
        "() => document.querySelector('#survey-left img') && "
        "document.querySelector('#survey-right img')"
    )
    page.locator("#survey-right").scroll_into_view_if_needed()

    left = page.locator("#survey-left").bounding_box()
    right = page.locator("#survey-right").bounding_box()
    assert abs(left["y"] - right["y"]) < 1 and left["x"] + left["width"] <= right["x"]
    assert right["x"] + right["width"] <= 390  # both in view, no scrolling
    labels = [page.locator(f"#survey-vote-{choice}").inner_text() for choice in CHOICE_LABELS]
    assert labels == ["Left is better", "Right is better", "Tie", "Both bad"]  # no emoji
