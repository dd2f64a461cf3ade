"""The "Style" tab: a content and a style image, a method, and the content restyled.

Fast methods (the colour transfers) render live: :func:`update` runs on every change of an image,
the method or the colour switch, and on the strength slider's release, and skips a request equal
to the one already shown. Long methods (those whose run takes ``progress`` and ``cancel``, see
:func:`work.takes_progress`) would tie up the CPU for minutes on each slider move, so they run
only on the Stylize button, with a progress bar and a Cancel button. A method that cannot run
here is marked in the dropdown with a one-line reason; choosing it leaves the result on screen,
disables Stylize and shows how to make it run in a collapsed accordion (no toast: nothing was
asked to run). The download follows the shown result through the state's own ``change``, as in
the other tabs. The examples are pairs of a photo and a painting, filling both inputs at once.
"""

import threading

import gradio as gr

from colorlab.errors import ColorLabError
from colorlab.methods import Param, get_method
from colorlab.ui import work
from colorlab.ui.examples import PAINTER, painting_credits, style_pair_paths
from colorlab.ui.server import HEAVY, LONG
from colorlab.ui.uploads import uploaded_path
from colorlab.ui.widgets import (
    cleared,
    described,
    method_dropdown,
    method_help,
    photo_input,
    result_view,
    showing,
    unchanged,
    warned,
)

DEFAULT_METHOD = "reinhard"
_UI = {"api_visibility": "undocumented"}  # the clean /stylize endpoint is in colorlab.ui.api
# The cancel event of each browser session's running long method, for its Cancel button.
_RUNS: dict[str, threading.Event] = {}


def preservation_param(method_name: str) -> Param | None:
    """The method's colour-preservation switch (``Method.preserve``), the one the checkbox
    sets and shows with its help; None if it has none."""
    method = get_method("stylize", method_name)
    return next((p for p in method.params if p.name == method.preserve), None)


def _preserve_options(method_name: str) -> dict:
    """The colour-preservation checkbox as the method has it: its own parameter, or hidden."""
    switch = preservation_param(method_name)
    if switch is None:
        return {"visible": False}
    return {
        "visible": True,
        "label": switch.name.replace("_", " ").capitalize(),
        "info": switch.help,
    }


def describe(method_name):
    """Update the dropdown's text and the controls to the chosen method.

    Returns the dropdown, the colour-preservation checkbox, the Stylize and Cancel buttons
    (for long methods only; where the method cannot run here, Stylize is disabled and there is
    nothing to cancel), and the how-to accordion and its text (shown, collapsed, only where the
    method cannot run here).
    """
    long = work.takes_progress(method_name)
    how_to = method_help("stylize", method_name)
    return (
        described("stylize", method_name),
        gr.Checkbox(**_preserve_options(method_name)),
        gr.Button(visible=long, interactive=how_to is None),
        gr.Button(visible=long and how_to is None),
        gr.Accordion(visible=how_to is not None, open=False),
        gr.Markdown(how_to or ""),
    )


def _wanted(content, style, method_name, strength, preserve) -> dict:
    """What the result should show: both images (as uploaded: events skip Gradio's
    re-encoding), the method and its validated parameters."""
    switch = preservation_param(method_name)
    given = {"strength": strength, **({switch.name: preserve} if switch else {})}
    return {
        "content": uploaded_path(content, "a content image"),
        "style": uploaded_path(style, "a style image"),
        "method": method_name,
        "params": get_method("stylize", method_name).resolve_params(**given),
    }


def _view(wanted: dict, after) -> tuple:
    """The comparison of the content's preview with ``after``, for what ``wanted`` asked."""
    before = work.working_image(work.image_key(wanted["content"]), preview=True)
    return showing(before, after, wanted)


def update(content, style, method_name, strength, preserve, shown):
    """Show the content restyled by a fast method, unless that is already shown.

    For a long method this only clears a result that no longer matches the inputs: it runs on
    the Stylize button (:func:`run`). A method that cannot run here changes nothing: the last
    result stays, and the accordion says why.
    """
    if content is None or style is None:
        return cleared()
    if get_method("stylize", method_name).unavailable_reason() is not None:
        return unchanged()
    wanted = _wanted(content, style, method_name, strength, preserve)
    if wanted == shown:
        return unchanged()
    if work.takes_progress(method_name):
        return cleared()
    keys = work.image_key(wanted["content"]), work.image_key(wanted["style"])
    return _view(wanted, work.stylized(*keys, method_name, wanted["params"], preview=True))


def run(
    content,
    style,
    method_name,
    strength,
    preserve,
    shown,
    request: gr.Request,
    progress=gr.Progress(),  # noqa: B008 (Gradio idiom)
):
    """Render at full size with a progress bar, until done or until Cancel sets the event.

    A run that fails after Cancel was pressed counts as cancelled, whatever the method raised.
    """
    if content is None or style is None:
        raise ColorLabError("Choose a content image and a style image first.")
    wanted = _wanted(content, style, method_name, strength, preserve)
    if wanted == shown:
        return unchanged()
    cancel = _RUNS[request.session_hash] = threading.Event()
    try:
        path = work.stylized_png(
            work.image_key(wanted["content"]),
            work.image_key(wanted["style"]),
            method_name,
            wanted["params"],
            progress=lambda step, total: progress((step, total), desc="Stylizing", unit="steps"),
            cancel=cancel,
        )
    except Exception:
        if not cancel.is_set():
            raise
        gr.Info("Style transfer cancelled.")
        return unchanged()
    finally:
        if _RUNS.get(request.session_hash) is cancel:
            del _RUNS[request.session_hash]
    return _view(wanted, work.working_image(work.image_key(path), preview=True))


def stop(request: gr.Request) -> None:
    """Ask this session's running long method to stop; it checks the event every iteration."""
    if (cancel := _RUNS.get(request.session_hash)) is not None:
        cancel.set()


def full_resolution(shown: dict) -> str:
    """A PNG of what the result shows, at the content's original size."""
    content, style = work.image_key(shown["content"]), work.image_key(shown["style"])
    return work.stylized_png(content, style, shown["method"], shown["params"])


def _build_examples(content: gr.Image, style: gr.Image) -> None:
    """The example pairs, each filling both images, and the paintings' credit."""
    gr.Examples(
        style_pair_paths(),
        inputs=[content, style],
        label=f"Examples: a photo and a painting by {PAINTER}",
        elem_id="stylize-examples",
    )
    gr.Markdown(painting_credits(), elem_classes=["note"], elem_id="stylize-credits")


def _build_controls() -> tuple[gr.Slider, list]:
    """The strength slider, and what :func:`describe` updates, built as it would set them for
    the default method: the method, the colour switch, Stylize, Cancel and the how-to."""
    method = method_dropdown("stylize", DEFAULT_METHOD, elem_id="stylize-method")
    strength = gr.Slider(
        0,
        1,
        value=1,
        step=0.01,
        label="Strength",
        info="0 keeps the content, 1 is the full transfer.",
        elem_id="stylize-strength",
    )
    preserve = gr.Checkbox(False, **_preserve_options(DEFAULT_METHOD), elem_id="stylize-preserve")
    long = work.takes_progress(DEFAULT_METHOD)
    help_text = method_help("stylize", DEFAULT_METHOD)
    with gr.Row():
        run_button = gr.Button(
            "Stylize",
            variant="primary",
            visible=long,
            interactive=help_text is None,
            elem_id="stylize-run",
        )
        cancel_button = gr.Button(
            "Cancel", variant="stop", visible=long and help_text is None, elem_id="stylize-cancel"
        )
    with gr.Accordion(
        "Why this method cannot run here, and how to make it run",
        open=False,
        visible=help_text is not None,
        elem_id="stylize-how-to",
    ) as how_to:
        how_to_text = gr.Markdown(help_text or "")
    return strength, [method, preserve, run_button, cancel_button, how_to, how_to_text]


def build_stylize_tab() -> None:
    """Build the tab's components and wire their events (inside an open ``gr.Blocks``)."""
    with gr.Row(equal_height=False, elem_classes=["result-first"]):
        with gr.Column(scale=1):
            with gr.Row(equal_height=False):
                content = photo_input("Content photo", "stylize-content", 220, min_width=200)
                style = photo_input("Style image", "stylize-style", 220, min_width=200)
            strength, controls = _build_controls()
            _build_examples(content, style)
        with gr.Column(scale=1, elem_classes=["sticky-result"]):
            result = result_view(
                "Content / stylized", "stylize-result", 640, full_resolution, "content"
            )
    view = result.outputs  # shown: both images, the method and its parameters
    method, preserve, run_button, cancel_button = controls[:4]
    inputs = [content, style, method, strength, preserve, result.shown]

    method.change(warned(describe), method, controls, api_name="describe_stylizer", **_UI)
    # Raw payloads (no preprocessing): our loader, not Gradio's PIL check, reads the images.
    gr.on(
        [content.change, style.change, method.change, strength.release, preserve.change],
        warned(update),
        inputs,
        view,
        api_name="stylize_edit",
        **HEAVY,
        trigger_mode="always_last",
        show_progress="minimal",
        preprocess=False,
        **_UI,
    )
    run_button.click(
        warned(run), inputs, view, api_name="stylize_run", preprocess=False, **LONG, **_UI
    )
    # Unlimited concurrency: a Cancel never waits behind a run, or behind another Cancel.
    cancel_button.click(stop, None, None, api_name="stylize_cancel", concurrency_limit=None, **_UI)
