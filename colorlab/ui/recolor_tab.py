"""The "Recolor" tab: a photo's palette as colour pickers, and a live result.

Every path to a new result goes through the pickers: upload, palette size, reset, click-to-pick
and import only set picker values, and the pickers' ``change`` event renders. Gradio fires
``change`` for programmatic updates too (its ``input`` event misses colours typed as hex), so the
renderer skips a request equal to the one already shown; filling eight pickers at once costs about
one render, not eight. The download follows the shown result through the state's own ``change``.
"""

import functools

import gradio as gr
import numpy as np

from colorlab.color import parse_hex, parse_palette, srgb_to_lab, to_hex
from colorlab.errors import InvalidParameterError
from colorlab.palette import DEFAULT_K, MAX_K, MIN_K, Palette, palette_size
from colorlab.ui import work
from colorlab.ui.examples import example_paths
from colorlab.ui.server import HEAVY
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

DEFAULT_METHOD = "chang"
NO_PHOTO = '<p class="note">Load a photo, and its palette shows here as colours to edit.</p>'
# The UI's own events are callable but left out of the API page, which documents the clean
# /palette and /recolor endpoints of colorlab.ui.api instead.
_UI = {"api_visibility": "undocumented"}


def swatch_html(palette: Palette) -> str:
    """The extracted palette as a strip whose cell widths follow each colour's pixel share."""
    lightness = srgb_to_lab(palette.colors)[:, 0]
    cells = "".join(
        f'<div title="{hex_}: {share:.1%} of the pixels" style="flex:{max(share, 0.06):.4f};'
        f"background:{hex_};color:{'#111' if light > 60 else '#fff'};padding:10px 4px;"
        f'text-align:center;font-size:13px;white-space:nowrap;overflow:hidden">'
        f'<b style="color:inherit">{i}</b> &middot; {share:.0%}</div>'
        for i, (hex_, share, light) in enumerate(
            zip(palette.to_hex(), palette.weights, lightness, strict=True), start=1
        )
    )
    return (
        '<div style="font-size:var(--text-sm);opacity:0.8;margin-bottom:4px">'
        "The photo's palette, dark to light, with each colour's share of the pixels</div>"
        '<div style="display:flex;border-radius:8px;overflow:hidden;'
        f'border:1px solid var(--border-color-primary)">{cells}</div>'
    )


def _key(photo: str | dict | None) -> work.ImageKey:
    """The cache key of the photo input, given as a path or as Gradio's raw file payload."""
    return work.upload_key(photo, "a photo")


def _size(k) -> int:
    """The palette-size control's value, checked (the UI's events are callable directly)."""
    return palette_size(k, "the palette size")


def _colors(hexes: list[str]) -> np.ndarray:
    return np.stack([parse_hex(h) for h in hexes])


def render(path, method_name, k, shown, *colors):
    """Show the photo recolored to the first pickers' colours, unless that is already shown.

    Returns the result view's outputs (see :class:`widgets.ResultView`) and the hex text.
    """
    if path is None:
        return *unchanged(), gr.skip()
    key, k = _key(path), _size(k)
    size = len(work.palette(key, k))
    wanted = {
        "image": key.path,
        "method": method_name,
        "k": k,
        "palette": [to_hex(parse_hex(c)) for c in colors[:size]],
    }
    if wanted == shown:
        return *unchanged(), gr.skip()
    after = work.recolor(key, _colors(wanted["palette"]), method_name, k, preview=True)
    before = work.working_image(key, preview=True)
    return *showing(before, after, wanted), ", ".join(wanted["palette"])


def full_resolution(shown: dict) -> str:
    """A PNG of what the result shows, at the photo's original size."""
    key = work.image_key(shown["image"])
    return work.full_resolution_png(key, _colors(shown["palette"]), shown["method"], shown["k"])


def build_recolor_tab() -> None:
    """Build the tab's components and wire their events (inside an open ``gr.Blocks``)."""
    with gr.Row(equal_height=False):
        photo = photo_input("Photo", "photo", 260, scale=1)
        with gr.Column(scale=1):
            gr.Examples(
                example_paths(), inputs=photo, label="Or try one of these", elem_id="examples"
            )
            with gr.Row():
                k = gr.Slider(
                    MIN_K, MAX_K, value=DEFAULT_K, step=1, label="Palette size", min_width=160
                )
                method = method_dropdown("recolor", DEFAULT_METHOD, elem_id="recolor-method")
    # On a phone the result comes first and stays at the top while the pickers scroll under it.
    with gr.Row(equal_height=False, elem_classes=["result-first"]):
        with gr.Column(scale=1):
            shares = gr.HTML(NO_PHOTO, elem_id="shares")
            with gr.Row(elem_id="pickers"):
                pickers = [
                    gr.ColorPicker(
                        "#000000", label=f"Entry {i}", visible=False, min_width=80,
                        elem_id=f"entry-{i}",
                    )
                    for i in range(1, MAX_K + 1)
                ]  # fmt: skip
            with gr.Row(equal_height=False):
                entry = gr.Radio(
                    list(range(1, DEFAULT_K + 1)),
                    value=1,
                    label="Entry to set",
                    info="Click the photo to give this entry the colour there.",
                    scale=3,
                    elem_id="entry",
                )
                with gr.Column(scale=1, min_width=120):
                    reset_one = gr.Button("Reset entry", size="sm")
                    reset_all = gr.Button("Reset all", size="sm")
            hex_text = gr.Textbox(
                label="Palette as hex",
                info="Copy it, or edit it and import it.",
                buttons=["copy"],
                elem_id="hex",
            )
            import_button = gr.Button("Import palette", size="sm")
        with gr.Column(scale=1, elem_classes=["sticky-result"]):
            result = result_view("Before / after", "result", 640, full_resolution)
    shown = result.shown  # what the result shows: image, method, k and target palette
    view = [*result.outputs, hex_text]

    def fill(photo, k_value, method_name, progress=gr.Progress()):  # noqa: B008 (Gradio idiom)
        """Extract the palette and fill the pickers with it; they render through ``change``."""
        if photo is None:
            hidden = {p: gr.ColorPicker(visible=False) for p in pickers}
            return {**hidden, shares: NO_PHOTO, **dict(zip(view, (*cleared(), ""), strict=True))}
        key, k_value = _key(photo), _size(k_value)
        progress(0.2, desc="Extracting the palette")
        palette = work.palette(key, k_value)
        hexes = palette.to_hex()
        progress(0.6, desc="Preparing the recolorer")
        first_view = render(key.path, method_name, k_value, {}, *hexes)
        return {
            **{
                p: gr.ColorPicker(value=hexes[min(i, len(hexes) - 1)], visible=i < len(hexes))
                for i, p in enumerate(pickers)
            },
            shares: swatch_html(palette),
            entry: gr.Radio(choices=list(range(1, len(hexes) + 1)), value=1),
            **dict(zip(view, first_view, strict=True)),
        }

    def reset_entry(path, k_value, index):
        index = int(index)
        hexes = work.palette(_key(path), _size(k_value)).to_hex()
        return {pickers[index - 1]: hexes[index - 1]}

    def reset_every_entry(path, k_value):
        hexes = work.palette(_key(path), _size(k_value)).to_hex()
        return dict(zip(pickers, hexes, strict=False))

    def pick(path, index, evt: gr.SelectData):
        """Give the clicked pixel's colour to the chosen entry."""
        image, index = work.full_image(_key(path)), int(index)
        x, y = (int(v) for v in evt.index)
        y, x = min(max(y, 0), image.shape[0] - 1), min(max(x, 0), image.shape[1] - 1)
        return {pickers[index - 1]: to_hex(image[y, x])}

    def import_palette(text, path, method_name, progress=gr.Progress()):  # noqa: B008
        """Set the pickers from hex text; the palette size becomes the number of colours."""
        colors = parse_palette(text)
        size = len(colors)
        if not MIN_K <= size <= MAX_K:
            raise InvalidParameterError(f"give {MIN_K} to {MAX_K} colours to import, got {size}")
        if len(work.palette(_key(path), size)) < size:
            raise InvalidParameterError(f"this photo has fewer than {size} distinct colours")
        update = fill(path, size, method_name, progress)
        for picker, color in zip(pickers, colors, strict=False):
            update[picker] = gr.ColorPicker(value=to_hex(color), visible=True)
        return {**update, k: size}

    fill_outputs = [*pickers, shares, entry, *view]
    render_inputs = [photo, method, k, shown, *pickers]
    # Raw payload (no preprocessing): our loader, not Gradio's PIL check, reports a bad upload.
    photo.change(
        warned(fill),
        [photo, k, method],
        fill_outputs,
        api_name="load",
        **HEAVY,
        preprocess=False,
        **_UI,
    )
    # `input`, not `change`: only the user's own size changes re-extract the palette; an import
    # sets the size together with its own colours.
    k.input(warned(fill), [photo, k, method], fill_outputs, api_name="set_size", **HEAVY, **_UI)
    gr.on(
        [p.change for p in pickers] + [method.change],
        warned(render),
        render_inputs,
        view,
        api_name="edit",
        **HEAVY,
        trigger_mode="always_last",
        show_progress="minimal",
        **_UI,
    )
    method.change(
        warned(functools.partial(described, "recolor")),
        method,
        method,
        api_name="describe_method",
        **_UI,
    )
    reset_one.click(
        warned(reset_entry), [photo, k, entry], pickers, api_name="reset_entry", **HEAVY, **_UI
    )
    reset_all.click(
        warned(reset_every_entry), [photo, k], pickers, api_name="reset_all", **HEAVY, **_UI
    )
    photo.select(warned(pick), [photo, entry], pickers, api_name="pick", **HEAVY, **_UI)
    import_button.click(
        warned(import_palette),
        [hex_text, photo, method],
        [*fill_outputs, k],
        api_name="import_palette",
        **HEAVY,
        **_UI,
    )
