"""The "A/B arena" tab: blind battles between two methods, a vote, then the names.

A battle is computed and kept server-side (:mod:`colorlab.arena.battles`); this page holds only
its id. The vote buttons are enabled once both outputs are shown and disabled again by the vote,
which reveals the methods. The leaderboard (Bradley-Terry scores with 95% bootstrap intervals, a
plot of them and the win-rate heatmap) is recomputed whenever its view is opened.
"""

import time

import gradio as gr

from colorlab.arena import battles
from colorlab.arena.plots import ratings_plot, winrate_heatmap
from colorlab.ui import work
from colorlab.ui.api import arena_store, voter
from colorlab.ui.server import HEAVY
from colorlab.ui.survey_view import CHOICE_LABELS, build_survey_view
from colorlab.ui.widgets import photo_input, warned

TERMS = (
    "**What is stored**: for each vote, the battle (task, input image hash, the two methods and "
    "their settings, which side each was on), your choice, the time it took, a random id of "
    "this browser session and a keyed hash of your IP address (never the address itself). "
    "Nothing else. By voting you agree to this."
)
_UI = {"api_visibility": "undocumented"}  # the clean /battle, /vote, /leaderboard are in api.py


def start(task, upload, request: gr.Request, progress=gr.Progress()):  # noqa: B008
    """Run a new battle on the upload (or an example): both outputs, the battle kept
    server-side, vote buttons enabled."""
    progress(0.1, desc="Running both methods")
    session, client = voter(request)
    image = work.full_image(work.upload_key(upload, "an input")) if upload is not None else None
    battle = battles.new_battle(arena_store(), task, session, client, image=image)
    state = {"battle_id": battle.battle_id, "shown_at": time.monotonic()}
    buttons = [gr.Button(interactive=True) for _ in CHOICE_LABELS]
    reveal = "Which is better? The methods are revealed after your vote."
    return battle.input, battle.left, battle.right, state, reveal, *buttons


def cast(choice: str):
    """A vote handler for one choice: store it, reveal the methods, lock the buttons."""

    def handler(state, request: gr.Request):
        if not state:
            return gr.skip(), gr.skip(), *(gr.skip() for _ in CHOICE_LABELS)
        session, client = voter(request)
        latency = 1000 * (time.monotonic() - state["shown_at"])
        revealed = battles.vote(
            arena_store(), state["battle_id"], choice, session, client, latency_ms=latency
        )
        reveal = (
            f"You chose **{CHOICE_LABELS[choice]}**. Left was **{revealed.left}**, right was "
            f"**{revealed.right}**. Start a new battle to vote again."
        )
        return {}, reveal, *(gr.Button(interactive=False) for _ in CHOICE_LABELS)

    return handler


def standings(task):
    """The leaderboard table, the ratings plot and the win-rate heatmap of ``task``."""
    board = battles.leaderboard(arena_store(), task, rounds=500)
    rows = [
        [
            row.rank if row.rank is not None else "",
            row.method,
            round(row.score) if row.votes else "",
            f"{row.lower:.0f} to {row.upper:.0f}" if row.votes else "",
            row.votes,
        ]
        for row in board.rows
    ]
    rated = any(row.votes for row in board.rows)
    plot = ratings_plot(board, title=f"{task}: scores with 95% intervals") if rated else None
    heatmap = winrate_heatmap(board) if rated else None
    return rows, plot, heatmap


def build_arena_tab() -> None:
    """Build the tab's components and wire their events (inside an open ``gr.Blocks``)."""
    build_survey_view(TERMS)  # hidden unless the page is opened with ?survey=NAME
    task = gr.Radio(list(battles.ARENA_TASKS), value="stylize", label="Task", elem_id="arena-task")
    with gr.Tab("Battle"):
        gr.Markdown(TERMS, elem_classes=["note"])
        with gr.Row():
            upload = photo_input(
                "Your own input (optional; otherwise an example is drawn)", "arena-upload", 160
            )
            new = gr.Button("New battle", variant="primary", elem_id="arena-new")
        with gr.Row(equal_height=True):
            source = gr.Image(label="Input", interactive=False, height=300, elem_id="arena-input")
            left = gr.Image(label="Left", interactive=False, height=300, elem_id="arena-left")
            right = gr.Image(label="Right", interactive=False, height=300, elem_id="arena-right")
        reveal = gr.Markdown(elem_id="arena-reveal")
        with gr.Row():
            buttons = [
                gr.Button(label, interactive=False, elem_id=f"arena-vote-{choice}")
                for choice, label in CHOICE_LABELS.items()
            ]
    with gr.Tab("Leaderboard") as board_tab:
        table = gr.Dataframe(
            headers=["rank", "method", "score", "95% interval", "votes"],
            interactive=False,
            elem_id="arena-table",
        )
        with gr.Row():
            plot = gr.Image(label="Ratings", interactive=False, elem_id="arena-plot")
            heatmap = gr.Image(label="Win rate (row beats column)", interactive=False)
    battle = gr.State({})

    new.click(
        warned(start),
        [task, upload],
        [source, left, right, battle, reveal, *buttons],
        api_name="arena_new",
        **HEAVY,
        **_UI,
    )
    for choice, button in zip(CHOICE_LABELS, buttons, strict=True):
        button.click(
            warned(cast(choice)),
            battle,
            [battle, reveal, *buttons],
            api_name=f"arena_vote_{choice}",
            **_UI,
        )
    gr.on(
        [board_tab.select, task.change],
        warned(standings),
        task,
        [table, plot, heatmap],
        api_name="arena_standings",
        **_UI,
    )
