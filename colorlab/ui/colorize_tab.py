"""The "Colorize" tab: a photo shown in grey, colour hints brushed over it, and the result.

Any photo works: a colour one is colorized from its lightness alone, which is why the editor
shows it in grey. The editor (:mod:`colorlab.ui.hint_editor`) sends its strokes as points.
A new photo first goes into the editor (:func:`load`, fast); the editor's ``change`` then
renders it, as it does after each stroke, undo or clear, and so do the model dropdown and the
temperature slider's release. :func:`render` skips a request equal to the one already shown.
The download follows the shown result through the state's own ``change``, as in the
recoloring tab.
"""

import json

import gradio as gr

from colorlab.imageio import to_uint8
from colorlab.methods import get_method
from colorlab.ui import work
from colorlab.ui.examples import grey_example_paths
from colorlab.ui.hint_editor import (
    MARK_LOADING,
    UNMARK_LOADING,
    hint_editor,
    showing_photo,
    strokes_of,
)
from colorlab.ui.server import HEAVY
from colorlab.ui.uploads import uploaded_path
from colorlab.ui.widgets import (
    cleared,
    described,
    method_dropdown,
    photo_input,
    result_view,
    showing,
    unchanged,
    warned,
)

DEFAULT_METHOD = "classification"
TEMPERATURE_RANGE = (0.05, 1.0)  # below 0.05 the annealed mean is the mode: no visible change
# Brush swatches in colours photos have (a hint sets chroma only; the photo keeps its lightness,
# and a hint is made displayable at its pixel's lightness). The colour picker offers any colour.
HINT_COLORS = ["#3a6fc0", "#d03a2a", "#e8902a", "#e8c547", "#4a8f3c", "#8b5a3c", "#7a4fa0"]
_UI = {"api_visibility": "undocumented"}  # the clean /colorize endpoint is in colorlab.ui.api


def _temperature_param(method_name: str):
    """The method's temperature parameter, or None for methods that have none."""
    params = get_method("colorize", method_name).params
    return next((p for p in params if p.name == "temperature"), None)


def load(photo):
    """The photo's path as uploaded (the source every later event works from) and the
    editor showing it in grey, no strokes. The editor's ``change`` then renders it."""
    if photo is None:
        return None, showing_photo(None)
    key = work.upload_key(photo, "a photo")
    grey = to_uint8(work.grey_image(key, preview=True))
    return key.path, showing_photo(grey, key.path)


def render(source, editor, method_name, temperature, shown, progress=gr.Progress()):  # noqa: B008
    """Show the photo colorized with the editor's strokes as hints, unless that is shown.

    Returns the comparison, the new ``shown`` and the download button, disabled until
    :func:`download` has the matching full-resolution file.
    """
    if source is None or not editor:
        return cleared()
    strokes = strokes_of(editor)
    wanted = {
        "image": uploaded_path(source, "a photo"),
        "method": method_name,
        "temperature": temperature if _temperature_param(method_name) else None,
        "strokes": json.dumps(strokes, separators=(",", ":")) if strokes else "",
    }
    if wanted == shown:
        return unchanged()
    key = work.image_key(wanted["image"])
    progress(0.1, desc="Colorizing")
    after = work.colorized(key, method_name, wanted["temperature"], wanted["strokes"], preview=True)
    return showing(work.grey_image(key, preview=True), after, wanted)


def full_resolution(shown: dict) -> str:
    """A PNG of what the result shows, at the photo's original size."""
    key = work.image_key(shown["image"])
    return work.colorized_png(key, shown["method"], shown["temperature"], shown["strokes"])


def describe(method_name):
    """The method's summary, and the temperature slider only for methods that have one."""
    return (
        described("colorize", method_name),
        gr.Slider(visible=_temperature_param(method_name) is not None),
    )


def build_colorize_tab() -> None:
    """Build the tab's components and wire their events (inside an open ``gr.Blocks``)."""
    temperature_param = _temperature_param(DEFAULT_METHOD)
    with gr.Row(equal_height=False):
        photo = photo_input("Photo (grey or colour)", "colorize-photo", 220, scale=1)
        with gr.Column(scale=2):
            gr.Examples(
                grey_example_paths(),
                inputs=photo,
                label="Or try one of these",
                elem_id="colorize-examples",
            )
            with gr.Row():
                method = method_dropdown(
                    "colorize", DEFAULT_METHOD, label="Model", elem_id="colorize-method"
                )
                temperature = gr.Slider(
                    *TEMPERATURE_RANGE,
                    value=temperature_param.default,
                    step=0.01,
                    label="Temperature",
                    info="Low: vivid, the most likely colour. 1: the mean colour, dull but safe.",
                    elem_id="colorize-temperature",
                )
    with gr.Row(equal_height=False, elem_classes=["result-first"]):
        with gr.Column(scale=1):
            gr.Markdown(
                "**Colour hints**: brush a colour where you know it (only its hue and "
                "saturation are used; the photo keeps its lightness).",
                elem_classes=["note"],
            )
            editor = hint_editor(HINT_COLORS)
        with gr.Column(scale=1, elem_classes=["sticky-result"]):
            result = result_view("Grey / colorized", "colorize-result", 520, full_resolution)
    # The photo as uploaded: the image input re-encodes its own copy (a JPEG loses quality).
    source = gr.State(None)
    view = result.outputs  # shown: image, method, temperature and strokes

    # Raw payload (no preprocessing): our loader, not Gradio's PIL check, reports a bad upload.
    # The browser refuses strokes (visibly) from the moment a photo is chosen until it is shown.
    photo.change(
        warned(load),
        photo,
        [source, editor],
        api_name="colorize_load",
        js=MARK_LOADING,
        **HEAVY,
        preprocess=False,
        **_UI,
    ).then(None, js=UNMARK_LOADING, **_UI)
    gr.on(
        [editor.change, method.change, temperature.release],
        warned(render),
        [source, editor, method, temperature, result.shown],
        view,
        api_name="colorize_edit",
        **HEAVY,
        trigger_mode="always_last",
        show_progress="minimal",
        **_UI,
    )
    method.change(
        warned(describe), method, [method, temperature], api_name="describe_colorizer", **_UI
    )
