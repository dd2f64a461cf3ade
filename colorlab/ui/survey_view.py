"""Survey mode of the "A/B arena" tab, entered with ``?survey=NAME`` in the page address.

The page loads ``NAME.json`` (or .yaml) from ``COLORLAB_SURVEY_DIR`` (see
:mod:`colorlab.arena.survey_runs`), the participant id is ``?participant=ID`` when the link
carries one (as recruiting platforms add; the participant can then reload and continue), else
the Gradio session hash (a reload starts afresh), and the
participant's items (``survey.assign_items``) are shown one at a time: title, instructions, the
terms notice, "Item k of n", the two outputs and the four vote buttons, enabled only once the
outputs are shown and locked again by the vote. Each item takes one vote, stored as a battle of
the survey's store task; after the last one the completion code is shown. Without ``?survey``
the view stays hidden. A page opened with ``?survey`` also switches to the arena tab (by its
id, so the tab's label and place can change).
"""

import logging
import time

import gradio as gr

from colorlab.arena import battles
from colorlab.arena.survey import SurveyError, assign_items, completion_code
from colorlab.arena.survey_runs import (
    check_participant_id,
    find_survey,
    issue_item,
    survey_secret,
    voted_items,
)
from colorlab.ui.arena_state import arena_store, voter
from colorlab.ui.server import HEAVY
from colorlab.ui.widgets import warned

# Plain words: emoji show as empty boxes where no emoji font is installed (Debian's Chromium).
CHOICE_LABELS = {
    "left": "Left is better",
    "right": "Right is better",
    "tie": "Tie",
    "both_bad": "Both bad",
}
_UI = {"api_visibility": "undocumented"}
LINK_REFUSED = (
    "This survey link does not work: the survey it names is not open here, or the participant "
    "id in it has characters other than letters, digits, '-' and '_'. Check the link you were "
    "given, or ask the study's organisers for a new one."
)
log = logging.getLogger(__name__)


def _locked(enabled: bool = False) -> list:
    return [gr.Button(interactive=enabled) for _ in CHOICE_LABELS]


def _next(state: dict, request: gr.Request) -> tuple:
    """Show the participant's next unvoted item, or the completion code when none is left.

    Returns (state, progress, left, right, code, *buttons).
    """
    survey = find_survey(state["survey"])
    store = arena_store()
    participant = state["participant"]
    _, client = voter(request)
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
    """``?participant=ID`` (letters, digits, ``-`` and ``_``, at most 64), else the session hash.

    An id with other characters is an error, never silently changed into someone else's.
    """
    given = request.query_params.get("participant")
    return voter(request)[0] if given is None else check_participant_id(given)


def _unavailable(tab: gr.Tabs, reason: str) -> tuple:
    return (tab, gr.Group(visible=True), f"## Survey not available\n\n{reason}", "", {}, "",
            None, None, "", *_locked())  # fmt: skip


def open_survey(request: gr.Request, tab_id: str) -> tuple:
    """On page load: the survey view for ``?survey=NAME`` with its tab (``tab_id``) selected,
    hidden otherwise.

    Returns (tabs, group, title, instructions, state, progress, left, right, code, *buttons).
    The page never shows text from the address back (as Markdown it could carry links or
    images): a bad link gets a fixed message, and the reason goes to the server's log.
    """
    name = request.query_params.get("survey") if request is not None else None
    if not name:
        return (
            gr.skip(),
            gr.Group(visible=False),
            *(gr.skip() for _ in range(7 + len(CHOICE_LABELS))),
        )
    tab = gr.Tabs(selected=tab_id)
    try:
        survey = find_survey(name)
        participant = participant_of(request)
    except SurveyError as error:
        log.warning("survey link refused: %s", error)
        return _unavailable(tab, LINK_REFUSED)
    state, *rest = _next({"survey": name, "participant": participant}, request)
    return tab, gr.Group(visible=True), f"## {survey.title}", survey.instructions, state, *rest


def cast(choice: str):
    """The vote handler of one choice: store the vote, then show the next item or the code."""

    def handler(state, request: gr.Request):
        if not state or not state.get("battle_id"):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *_locked()
        participant = state["participant"]
        _, client = voter(request)
        latency = 1000 * (time.monotonic() - state["shown_at"])
        battles.vote(arena_store(), state["battle_id"], choice, participant, client, latency)
        return _next(state, request)

    return handler


def build_survey_view(demo: gr.Blocks, terms: str, tabs: gr.Tabs, tab_id: str) -> None:
    """Build the (hidden) survey view inside ``demo`` and hook it to the page load.

    ``tabs`` holds the tab (id ``tab_id``) the view is built in, which a survey link selects.
    """
    with gr.Group(visible=False, elem_id="survey-view") as group:
        title = gr.Markdown(elem_id="survey-title")
        instructions = gr.Markdown(elem_id="survey-instructions")
        gr.Markdown(terms, elem_classes=["note"])
        progress = gr.Markdown(elem_id="survey-progress")
        with gr.Row(equal_height=True, elem_classes=["arena-pair"]):
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

    def opened(request: gr.Request) -> tuple:
        return open_survey(request, tab_id)

    outputs = [tabs, group, title, instructions, *shown]
    demo.load(warned(opened), None, outputs, **HEAVY, **_UI)
    for choice, button in zip(CHOICE_LABELS, buttons, strict=True):
        button.click(warned(cast(choice)), state, shown, **HEAVY, **_UI)
