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
from colorlab.ui.arena_tab import TAB_ID as ARENA_TAB_ID
from colorlab.ui.arena_tab import build_arena_tab
from colorlab.ui.colorize_tab import build_colorize_tab
from colorlab.ui.recolor_tab import build_recolor_tab
from colorlab.ui.server import configure_queue
from colorlab.ui.server import launch_options as server_options
from colorlab.ui.stylize_tab import build_stylize_tab

TITLE = "ColorLab"
TAGLINE = "Recolor, colorize and restyle photos, and compare the methods blind."
INTRO = """
- **Recolor**: edit a photo's palette, and the rest of the image follows (Chang et al. 2015,
  or the learned PaletteNet).
- **Colorize**: colorize a grey photo with a trained network, guided by colours you brush where
  you know them (Zhang et al. 2016/2017), or with the authors' published models.
- **Style**: give a photo the colours of another image (colour statistics, distribution or
  histogram matching, palette transfer) or its style (neural style, AdaIN, where their weights
  can be had).
- **A/B arena**: judge the methods blind, two at a time, and see their ratings.
"""
CSS = """
#pickers .dialog-button { width: 100%; height: 40px; border-radius: 6px; }
.note { font-size: var(--text-sm); opacity: 0.8; }
#pickers .block { overflow: visible !important; }  /* the colour popup is not cut at the block */
/* Phone layout: the result above the controls that change it, pinned while they scroll (see
   HEAD); the colour popup in the middle of the screen. */
@media (max-width: 640px) {
  #tabs .tab-container button { padding-left: 10px; padding-right: 10px; }  /* all four fit */
  .result-first { flex-direction: column-reverse !important; }
  #pickers .color-picker { position: fixed !important; left: 50%; top: 50%; z-index: 1000;
    transform: translate(-50%, -50%); box-shadow: var(--shadow-drop-lg); }
  .sticky-result { position: sticky; top: 0; z-index: 20; padding-bottom: 4px;
    background: var(--body-background-fill); }
  .sticky-result .note { display: none; }
  .sticky-result img { max-height: 34vh; object-fit: contain; }
}
/* end of the phone layout rules */
/* A/B arena (arena_tab, survey_view): a pair of images stays side by side even on a phone, and
   the zoom (ZOOM_JS, FOCUS_JS in arena_tab) scales both outputs alike about one focus point. */
.arena-pair { flex-wrap: nowrap !important; }
.arena-pair > * { min-width: 0 !important; }
#arena-outputs .image-frame { overflow: hidden; }
#arena-outputs img {
  transform: scale(var(--arena-zoom, 1));
  transform-origin: var(--arena-focus-x, 50%) var(--arena-focus-y, 50%);
}
.arena-votes > * { min-width: 120px !important; }
@media (max-width: 640px) { .arena-pair > .block { height: auto !important; } }
/* end of the A/B arena rules */
"""

# Gradio scopes CSS to rules inside its container; this one is for the container itself: its
# overflow clipped rather than hidden, so that sticky elements in it can stick.
HEAD = "<style>.gradio-container { overflow: clip !important; }</style>"

# Gradio's colour picker (6.31, the newest) works out its dialog's hue and saturation marker only
# after the dialog first opens, into plain variables the dialog has already been drawn from, so
# on the first opening the hue slider sits at red whatever the colour. It shows them right when
# opened again; so the first time a picker opens, it is closed and opened again at once
# (two frames apart: within one frame Svelte would not redraw the dialog).
# (Upstream: BaseColorPicker should compute the position once the dialog is mounted, in state.)
PAGE_JS = """() => {
  const primed = new WeakSet();
  document.addEventListener('click', event => {
    const button = event.target.closest && event.target.closest('button.dialog-button');
    if (!button || !event.isTrusted || primed.has(button)) return;
    primed.add(button);
    setTimeout(() => {
      button.click();
      setTimeout(() => { button.click(); button.dataset.primed = 'true'; }, 40);
    }, 80);
  });
}"""


def build_app() -> gr.Blocks:
    """The app's Blocks, ready for ``launch(**launch_options())``."""
    # Uploads and results pile up in Gradio's cache (one file per edit, battle or upload):
    # every 10 minutes, drop those older than two hours.
    with gr.Blocks(title=TITLE, delete_cache=(600, 7200)) as demo:
        # One line, then the tabs: the full introduction waits in a closed accordion, so that on
        # a phone the first screen is the app, not a paragraph.
        gr.Markdown(f"# {TITLE}\n{TAGLINE}", elem_id="title")
        with gr.Accordion("What each tab does", open=False, elem_id="intro"):
            gr.Markdown(INTRO)
        with gr.Tabs(elem_id="tabs") as tabs:  # short labels: all four fit a phone's width
            with gr.Tab("Recolor", id="recolor"):
                build_recolor_tab()
            with gr.Tab("Colorize", id="colorize"):
                build_colorize_tab()
            with gr.Tab("Style", id="stylize"):
                build_stylize_tab()
            with gr.Tab("A/B arena", id=ARENA_TAB_ID):
                build_arena_tab(demo, tabs)
        add_api_endpoints()
    return configure_queue(demo)


def launch_options() -> dict:
    """Theme, CSS and the server's limits for ``Blocks.launch`` (Gradio 6 takes them there)."""
    options = {"theme": gr.themes.Soft(), "css": CSS, "head": HEAD, "js": PAGE_JS}
    return {**options, **server_options()}
