"""Pieces every tab builds the same way: error toasts, method menus, photo inputs and the
result view with its download."""

import functools
import re
from collections.abc import Callable
from typing import NamedTuple

import gradio as gr

from colorlab.errors import ColorLabError
from colorlab.imageio import to_uint8
from colorlab.methods import get_method, list_methods
from colorlab.ui import work
from colorlab.ui.server import HEAVY


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


def short_reason(reason: str) -> str:
    """The first sentence of an unavailable reason, without its full stop.

    A reason may run to a paragraph (where the weights were looked for, the command that fetches
    them); a dropdown entry or a field's info has room for one line.
    """
    return re.split(r"(?<=\.)\s", reason.strip(), maxsplit=1)[0].removesuffix(".")


def method_choices(task: str) -> list[tuple[str, str]]:
    """Dropdown entries: each method's title, with the short reason where it cannot run here."""
    entries = []
    for method in list_methods(task):
        reason = method.unavailable_reason()
        title = f"{method.title} (unavailable: {short_reason(reason)})" if reason else method.title
        entries.append((title, method.name))
    return entries


def method_info(task: str, method_name: str) -> str:
    """The method's summary, or the one line saying why it cannot run here."""
    method = get_method(task, method_name)
    reason = method.unavailable_reason()
    return f"Unavailable here: {short_reason(reason)}." if reason else method.summary


def method_help(task: str, method_name: str) -> str | None:
    """How to make an unavailable method run (its whole reason, then its ``details`` where it
    has them: where the weights come from), as Markdown; None if it can run here."""
    method = get_method(task, method_name)
    reason = method.unavailable_reason()
    if reason is None:
        return None
    details = method.details() if method.details is not None else None
    return "\n\n".join(filter(None, (reason, details)))


def described(task: str, method_name: str) -> gr.Dropdown:
    """The method dropdown's text updated to the chosen method (:func:`method_info`)."""
    return gr.Dropdown(info=method_info(task, method_name))


def method_dropdown(task: str, default: str, label: str = "Method", **options) -> gr.Dropdown:
    """The task's methods, unavailable ones marked, with the chosen one's summary under it."""
    return gr.Dropdown(
        method_choices(task),
        value=default,
        label=label,
        info=method_info(task, default),
        min_width=220,
        **options,
    )


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


class ResultView(NamedTuple):
    """A tab's result: the before/after ``slider``, ``shown`` (a ``gr.State`` holding the request
    the slider answers, so a render can skip one equal to it) and the full-resolution
    ``download``, which follows ``shown``. ``outputs`` are what a render returns, in the order
    of :func:`showing`, :func:`cleared` and :func:`unchanged`."""

    slider: gr.ImageSlider
    shown: gr.State
    download: gr.DownloadButton

    @property
    def outputs(self) -> list:
        return [self.slider, self.shown, self.download]


def showing(before, after, wanted: dict) -> tuple:
    """A new result for the view; its download is disabled until the matching file exists."""
    return (to_uint8(before), to_uint8(after)), wanted, gr.DownloadButton(interactive=False)


def cleared() -> tuple:
    """No result (no input, or inputs the shown result no longer matches)."""
    return None, {}, gr.DownloadButton(value=None, interactive=False)


def unchanged() -> tuple:
    """Leave the view as it is: it already shows what is asked, or nothing may run."""
    return (gr.skip(),) * 3


def result_view(
    label: str,
    elem_id: str,
    max_height: int,
    full_resolution: Callable[[dict], str],
    source: str = "photo",
) -> ResultView:
    """The before/after slider, the full-resolution download and the note on their sizes.

    The slider shows JPEG: it encodes in 2 ms where PNG takes 250 ms at 1024 px, for every edit.
    Whenever ``shown`` changes, the download is pointed at ``full_resolution(shown)``, the path
    of a PNG of what the slider shows at the ``source``'s original size; until then it stays
    disabled, so it never offers a stale file.
    """
    slider = gr.ImageSlider(label=label, format="jpeg", max_height=max_height, elem_id=elem_id)
    download = gr.DownloadButton(
        "Download full resolution (PNG)",
        variant="primary",
        interactive=False,
        elem_id=f"{elem_id}-download",
    )
    gr.Markdown(
        f"The comparison shows a copy at most {work.PREVIEW_MAX_SIDE} px on a side; "
        f"the download has the {source}'s original size.",
        elem_classes=["note"],
    )
    shown = gr.State({})

    def follow(wanted: dict):
        if not wanted:
            return gr.DownloadButton(value=None, interactive=False)
        return gr.DownloadButton(value=full_resolution(wanted), interactive=True)

    shown.change(
        warned(follow),
        shown,
        download,
        api_name=f"{elem_id.replace('-', '_')}_download",
        **HEAVY,
        show_progress="hidden",
        api_visibility="undocumented",
    )
    return ResultView(slider, shown, download)
