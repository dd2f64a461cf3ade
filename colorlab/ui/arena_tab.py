"""The "A/B arena" tab: blind battles between two methods, a vote, then the names.

A battle is computed and kept server-side (:mod:`colorlab.arena.battles`); this page holds only
its id. A stylize battle also shows its style image (the example's, or the user's own). The vote
buttons are enabled once both outputs are shown and disabled again by the vote, which reveals
the methods and adds one to the session's count of votes. "Skip" stores nothing: the skipped
battle's images are deleted and its record expires unvoted. The zoom enlarges both outputs
alike, about the point last clicked on either, in the browser (CSS), so both always show the
same region. The leaderboard (Bradley-Terry scores with 95% intervals, from
``COLORLAB_ARENA_MIN_VOTES`` votes on; a plot of them and the win-rate heatmap) is recomputed
whenever its view is opened.
"""

import time

import gradio as gr

from colorlab.arena import battles
from colorlab.arena.plots import ratings_plot, winrate_heatmap
from colorlab.arena.ratings import INTERVAL, RANK_RULE
from colorlab.ui import work
from colorlab.ui.arena_state import arena_min_votes, arena_store, voter
from colorlab.ui.server import HEAVY
from colorlab.ui.survey_view import CHOICE_LABELS, build_survey_view
from colorlab.ui.widgets import photo_input, warned

TAB_ID = "arena"  # the arena tab's id in the app's gr.Tabs: survey links select it

TERMS = (
    "**What is stored**: for each vote, the battle (task, input image hash, the two methods and "
    "their settings, which side each was on), your choice, the time it took, a random id of "
    "this browser session and a keyed hash of your IP address (never the address itself). "
    "Nothing else. By voting you agree to this."
)
_UI = {"api_visibility": "undocumented"}  # the clean /battle, /vote, /leaderboard are in api.py
# Zoom: CSS variables on the outputs' row, read by the arena rules in colorlab.ui.CSS.
ZOOM_JS = """(zoom) => {
  document.getElementById('arena-outputs')?.style.setProperty('--arena-zoom', zoom);
}"""
FOCUS_JS = """() => document.addEventListener('click', (event) => {
  const image = event.target.closest?.('#arena-outputs img');
  if (!image) return;
  const box = image.getBoundingClientRect();  // as zoomed: the same fractions of the image
  const row = document.getElementById('arena-outputs');
  row.style.setProperty('--arena-focus-x', `${100 * (event.clientX - box.left) / box.width}%`);
  row.style.setProperty('--arena-focus-y', `${100 * (event.clientY - box.top) / box.height}%`);
})"""


def start(
    task,
    upload,
    style_upload,
    shown,
    request: gr.Request,
    progress=gr.Progress(),  # noqa: B008
):
    """Run a new battle on the uploads (or examples): both outputs, the style for stylize, the
    battle kept server-side, vote buttons enabled. A battle ``shown`` and not voted is skipped:
    nothing is stored for it, and its images go."""
    progress(0.1, desc="Running both methods")
    session, client = voter(request)
    image = work.full_image(work.upload_key(upload, "an input")) if upload is not None else None
    style = None
    if task == "stylize" and style_upload is not None:
        style = work.full_image(work.upload_key(style_upload, "a style image"))
    battle = battles.new_battle(arena_store(), task, session, client, image=image, style=style)
    if shown.get("battle_id"):
        battles.delete_battle_images(shown["battle_id"])
    state = {"battle_id": battle.battle_id, "shown_at": time.monotonic()}
    buttons = [gr.Button(interactive=True) for _ in range(len(CHOICE_LABELS) + 1)]  # and skip
    reveal = "Which is better? The methods are revealed after your vote."
    style_view = gr.Image(battle.style, visible=battle.style is not None)
    return battle.input, style_view, battle.left, battle.right, state, reveal, *buttons


def cast(choice: str):
    """A vote handler for one choice: store it, reveal the methods, count it, lock the buttons.

    ``votes`` (a ``gr.State``) counts this session's votes."""

    def handler(state, votes, request: gr.Request):
        if not state:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), *(gr.skip() for _ in CHOICE_LABELS)
        session, client = voter(request)
        latency = 1000 * (time.monotonic() - state["shown_at"])
        revealed = battles.vote(
            arena_store(), state["battle_id"], choice, session, client, latency_ms=latency
        )
        reveal = (
            f"You chose **{CHOICE_LABELS[choice]}**. Left was **{revealed.left}**, right was "
            f"**{revealed.right}**. Show another battle to vote again."
        )
        locked = (gr.Button(interactive=False) for _ in CHOICE_LABELS)
        return {}, reveal, votes + 1, f"Your votes: {votes + 1}", *locked

    return handler


def style_upload_shown(task: str) -> gr.Image:
    """The style upload is offered for stylize battles only."""
    return gr.Image(visible=task == "stylize")


def standings(task):
    """The leaderboard table of ``task`` ("needs more votes (n)" below the threshold), how it is
    made, the ratings plot (None until a method is rated) and the win-rate heatmap."""
    board = battles.leaderboard(arena_store(), task, arena_min_votes())
    rows = [
        [
            str(row.rank) if row.rated else "",
            row.method,
            f"{row.score:.0f}" if row.rated else f"needs more votes ({row.votes})",
            f"{row.lower:.0f}–{row.upper:.0f}" if row.rated else "",
            row.votes,
        ]
        for row in board.rows
    ]
    note = f"A method is scored from {board.min_votes} votes; # (rank) = {RANK_RULE}. {INTERVAL}."
    plot = ratings_plot(board) if any(row.rated for row in board.rows) else None
    heatmap = winrate_heatmap(board) if board.vote_counts.any() else None
    return rows, note, plot, heatmap


def build_arena_tab(demo: gr.Blocks, tabs: gr.Tabs) -> None:
    """Build the tab's components and wire their events, inside ``demo``'s open tab ``TAB_ID``
    of ``tabs``."""
    build_survey_view(demo, TERMS, tabs, TAB_ID)  # hidden unless the page has ?survey=NAME
    task = gr.Radio(list(battles.ARENA_TASKS), value="stylize", label="Task", elem_id="arena-task")
    with gr.Tab("Battle"):
        build_battle_view(demo, task)
    with gr.Tab("Leaderboard") as board_tab:
        table = gr.Dataframe(
            headers=["#", "method", "score", "95% CI", "votes"],
            datatype=["str", "str", "str", "str", "number"],
            interactive=False,
            wrap=True,  # at phone width cells wrap within these widths; no column is hidden
            column_widths=["7%", "30%", "19%", "27%", "17%"],
            elem_id="arena-table",
        )
        note = gr.Markdown(elem_id="arena-note", elem_classes=["note"])
        with gr.Row():
            plot = gr.Plot(label="Scores with 95% CI", elem_id="arena-plot")
            heatmap = gr.Plot(label="Win rate, row vs column", elem_id="arena-heatmap")
    gr.on(
        [board_tab.select, task.change],
        warned(standings),
        task,
        [table, note, plot, heatmap],
        api_name="arena_standings",
        **_UI,
    )


def build_battle_view(demo: gr.Blocks, task: gr.Radio) -> None:
    """The Battle tab's uploads, images, zoom and buttons, and their events."""
    gr.Markdown(TERMS, elem_classes=["note"])
    gr.Markdown(
        "Optionally give your own input (otherwise an example is drawn) and, to compare style "
        "transfers, your own style (otherwise a Van Gogh painting).",
        elem_classes=["note"],
    )
    with gr.Row():
        upload = photo_input("Your input", "arena-upload", 160)
        style_upload = photo_input("Your style", "arena-style-upload", 160)
        new = gr.Button("New battle", variant="primary", elem_id="arena-new")
    with gr.Row():
        with gr.Column(scale=1), gr.Row(elem_classes=["arena-pair"]):
            source = gr.Image(label="Input", interactive=False, height=300, elem_id="arena-input")
            style = gr.Image(
                label="Style", interactive=False, height=300, visible=False, elem_id="arena-style"
            )
        with gr.Column(scale=2):
            with gr.Row(equal_height=True, elem_id="arena-outputs", elem_classes=["arena-pair"]):
                left = gr.Image(label="Left", interactive=False, height=300, elem_id="arena-left")
                right = gr.Image(
                    label="Right", interactive=False, height=300, elem_id="arena-right"
                )
            zoom = gr.Slider(
                1, 4, value=1, step=0.5, elem_id="arena-zoom",
                label="Zoom both outputs (click either one to choose where)",
            )  # fmt: skip
    reveal = gr.Markdown(elem_id="arena-reveal")
    count = gr.Markdown(elem_id="arena-count")
    with gr.Row(elem_classes=["arena-votes"]):
        buttons = [
            gr.Button(label, interactive=False, elem_id=f"arena-vote-{choice}")
            for choice, label in CHOICE_LABELS.items()
        ]
        skip = gr.Button("Skip, show another", interactive=False, elem_id="arena-skip")
    battle, votes = gr.State({}), gr.State(0)

    gr.on(
        [new.click, skip.click],
        warned(start),
        [task, upload, style_upload, battle],
        [source, style, left, right, battle, reveal, skip, *buttons],
        api_name="arena_new",
        **HEAVY,
        **_UI,
    )
    for choice, button in zip(CHOICE_LABELS, buttons, strict=True):
        button.click(
            warned(cast(choice)),
            [battle, votes],
            [battle, reveal, votes, count, *buttons],
            api_name=f"arena_vote_{choice}",
            **_UI,
        )
    task.change(style_upload_shown, task, style_upload, show_progress="hidden", **_UI)
    zoom.change(None, zoom, None, js=ZOOM_JS, **_UI)
    demo.load(None, None, None, js=FOCUS_JS, **_UI)
