"""Survey mode of the "A/B arena" tab, entered with ``?survey=NAME`` in the page address.

The page loads ``NAME.json`` (or .yaml) from ``COLORLAB_SURVEY_DIR`` (see
:mod:`colorlab.arena.survey_runs`), the participant id is ``?participant=ID`` when the link
carries one (as recruiting platforms add; the participant can then reload and continue), else
the Gradio session hash (a reload starts afresh), and the
participant's items (``survey.assign_items``) are shown one at a time: title, instructions, the
terms notice, "Item k of n", the two outputs and the four vote buttons, enabled only once the
outputs are shown and locked again by the vote. Each item takes one vote, stored as a battle of
the survey's store task; after the last one the completion code is shown. Without ``?survey``
the view stays hidden. A page opened with ``?survey`` also switches to the arena tab.
"""

import re
import time

import gradio as gr

from colorlab.arena.survey import SurveyError, assign_items, completion_code
from colorlab.arena.survey_runs import (
    find_survey,
    issue_item,
    survey_secret,
    voted_items,
)
from colorlab.ui.api import arena_store, voter

CHOICE_LABELS = {
    "left": "👈 Left is better",
    "right": "Right is better 👉",
    "tie": "🤝 Tie",
    "both_bad": "👎 Both bad",
}
_UI = {"api_visibility": "undocumented"}
SHOW_ARENA_TAB = """() => {
  if (!new URLSearchParams(window.location.search).has('survey')) return;
  const tab = [...document.querySelectorAll('button[role="tab"]')]
    .find(b => b.innerText.includes('A/B arena'));
  if (tab) tab.click();
}"""


def _locked(enabled: bool = False) -> list:
    return [gr.Button(interactive=enabled) for _ in CHOICE_LABELS]


def _next(state: dict, request: gr.Request) -> tuple:
    """Show the participant's next unvoted item, or the completion code when none is left.

    Returns (state, progress, left, right, code, *buttons).
    """
    survey = find_survey(state["survey"])
    store = arena_store()
    participant = state["participant"]
    _, client = voter(participant, request)
    assigned = assign_items(survey, participant)
    done = voted_items(store, survey, participant)
    remaining = [a for a in assigned if a.item.id not in done]
    total = len(assigned)
    if not remaining:
        code = completion_code(survey, participant, survey_secret(store))
        message = (
            f"Thank you, you have finished. Your completion code is **{code}** "
            f"(participant id `{participant}`)."
        )
        state = {**state, "battle_id": None}
        return state, f"All {total} items done", None, None, message, *_locked()
    current = remaining[0]
    shown = issue_item(store, survey, current.item, current.left, participant, client)
    state = {**state, "battle_id": shown.battle_id, "shown_at": time.monotonic()}
    progress = f"Item {total - len(remaining) + 1} of {total}"
    return state, progress, shown.left, shown.right, "", *_locked(True)


def participant_of(request: gr.Request) -> str:
    """``?participant=ID`` (letters, digits, ``-`` and ``_``, at most 64) or the session hash."""
    given = request.query_params.get("participant", "")
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", given):
        return given
    return voter("", request)[0]


def open_survey(request: gr.Request):
    """On page load: the survey view for ``?survey=NAME``, hidden otherwise.

    Returns (group, title, instructions, state, progress, left, right, code, *buttons).
    """
    name = request.query_params.get("survey") if request is not None else None
    if not name:
        return gr.Group(visible=False), *(gr.skip() for _ in range(7 + len(CHOICE_LABELS)))
    try:
        survey = find_survey(name)
    except SurveyError as error:
        return (
            gr.Group(visible=True),
            f"## Survey not available\n\n{error}",
            "",
            {},
            "",
            None,
            None,
            "",
            *_locked(),
        )
    state, *rest = _next({"survey": name, "participant": participant_of(request)}, request)
    return gr.Group(visible=True), f"## {survey.title}", survey.instructions, state, *rest


def cast(choice: str):
    """The vote handler of one choice: store the vote, then show the next item or the code."""

    def handler(state, request: gr.Request):
        if not state or not state.get("battle_id"):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *_locked()
        participant = state["participant"]
        _, client = voter(participant, request)
        latency = 1000 * (time.monotonic() - state["shown_at"])
        arena_store().record_vote(state["battle_id"], choice, participant, client, latency)
        return _next(state, request)

    return handler


def build_survey_view(terms: str) -> None:
    """Build the (hidden) survey view and its page-load hook, inside an open ``gr.Blocks``."""
    with gr.Group(visible=False, elem_id="survey-view") as group:
        title = gr.Markdown(elem_id="survey-title")
        instructions = gr.Markdown(elem_id="survey-instructions")
        gr.Markdown(terms, elem_classes=["note"])
        progress = gr.Markdown(elem_id="survey-progress")
        with gr.Row(equal_height=True):
            left = gr.Image(label="Left", interactive=False, height=300, elem_id="survey-left")
            right = gr.Image(label="Right", interactive=False, height=300, elem_id="survey-right")
        with gr.Row():
            buttons = [
                gr.Button(label, interactive=False, elem_id=f"survey-vote-{choice}")
                for choice, label in CHOICE_LABELS.items()
            ]
        code = gr.Markdown(elem_id="survey-code")
    state = gr.State({})
    shown = [state, progress, left, right, code, *buttons]
    root = gr.context.Context.root_block
    root.load(open_survey, None, [group, title, instructions, *shown], **_UI)
    root.load(None, None, None, js=SHOW_ARENA_TAB, **_UI)
    for choice, button in zip(CHOICE_LABELS, buttons, strict=True):
        button.click(cast(choice), state, shown, **_UI)
