"""The ColorLab web app, built from the method registry; ``app.py`` only launches it.

``build_app()`` returns the Gradio Blocks: one tab per capability, plus the scripting API
(``/palette``, ``/recolor``, ``/colorize`` and ``/stylize``, see :mod:`colorlab.ui.api`).
Building it loads no model and processes no image; the example photos are written to a
temporary folder on first build. Its queue and limits are in :mod:`colorlab.ui.server`.
Gradio 6 takes the theme, CSS and upload limit at launch time, so callers pass
``**launch_options()``.
"""

import gradio as gr

from colorlab.ui.api import add_api_endpoints
from colorlab.ui.arena_tab import build_arena_tab
from colorlab.ui.colorize_tab import build_colorize_tab
from colorlab.ui.recolor_tab import build_recolor_tab
from colorlab.ui.server import configure_queue
from colorlab.ui.server import launch_options as server_options
from colorlab.ui.stylize_tab import build_stylize_tab

TITLE = "ColorLab"
INTRO = (
    "Recolor photos by editing their palette: pick new colours for the dominant ones and the "
    "rest of the image follows (Chang et al. 2015, or the learned PaletteNet). Or colorize a "
    "grey photo with a trained network, guided by colours you brush where you know them "
    "(Zhang et al. 2016/2017). Or give a photo the colours of another image: by colour "
    "statistics (Reinhard, Monge-Kantorovich), distribution or histogram matching, or palette "
    "transfer; neural style (Gatys et al.) too, where its VGG-19 weights can be had. Then "
    "judge methods blind in the A/B arena."
)
CSS = """
#pickers .dialog-button { width: 100%; height: 40px; border-radius: 6px; }
.note { font-size: var(--text-sm); opacity: 0.8; }
"""


def build_app() -> gr.Blocks:
    """The app's Blocks, ready for ``launch(**launch_options())``."""
    # Uploads and results pile up in Gradio's cache (one file per edit, battle or upload):
    # every 10 minutes, drop those older than two hours.
    with gr.Blocks(title=TITLE, delete_cache=(600, 7200)) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Tab("Palette recoloring"):
            build_recolor_tab()
        with gr.Tab("Colorize"):
            build_colorize_tab()
        with gr.Tab("Style transfer"):
            build_stylize_tab()
        with gr.Tab("A/B arena"):
            build_arena_tab()
        add_api_endpoints()
    return configure_queue(demo)


def launch_options() -> dict:
    """Theme, CSS and the server's limits for ``Blocks.launch`` (Gradio 6 takes them there)."""
    return {"theme": gr.themes.Soft(), "css": CSS, **server_options()}
