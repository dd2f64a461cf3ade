"""Pieces every tab builds the same way: error toasts, photo inputs and the result view."""

import functools

import gradio as gr

from colorlab.errors import ColorLabError
from colorlab.methods import get_method, list_methods
from colorlab.ui import work


def warned(fn):
    """Show ColorLab's own errors as a warning toast and leave every output as it was.

    (``gr.Error`` would also put an error badge on each of the event's outputs.)
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ColorLabError as exc:
            gr.Warning(str(exc))
            return gr.skip()

    return wrapper


def method_choices(task: str) -> list[tuple[str, str]]:
    """Dropdown entries: each method's title, marked "(unavailable)" where it cannot run here."""
    return [
        (f"{m.title} (unavailable)" if m.unavailable_reason() else m.title, m.name)
        for m in list_methods(task)
    ]


def method_info(task: str, method_name: str) -> str:
    """The method's summary, or the one line saying why it cannot run here."""
    method = get_method(task, method_name)
    reason = method.unavailable_reason()
    return f"Unavailable here: {reason}" if reason else method.summary


def photo_input(label: str, elem_id: str, height: int, **options) -> gr.Image:
    """An image input handing events the uploaded file's path (our loader reads it)."""
    return gr.Image(
        label=label,
        type="filepath",
        sources=["upload", "clipboard"],
        height=height,
        elem_id=elem_id,
        **options,
    )


def result_view(
    label: str, elem_id: str, download_id: str, max_height: int, source: str = "photo"
) -> tuple[gr.ImageSlider, gr.DownloadButton]:
    """The before/after slider, the full-resolution download and the note on their sizes.

    The slider shows JPEG: it encodes in 2 ms where PNG takes 250 ms at 1024 px, for every edit.
    The download starts disabled; each tab enables it once the matching file exists.
    """
    slider = gr.ImageSlider(label=label, format="jpeg", max_height=max_height, elem_id=elem_id)
    download = gr.DownloadButton(
        "Download full resolution (PNG)", variant="primary", interactive=False, elem_id=download_id
    )
    gr.Markdown(
        f"The comparison shows a copy at most {work.PREVIEW_MAX_SIDE} px on a side; "
        f"the download has the {source}'s original size.",
        elem_classes=["note"],
    )
    return slider, download
