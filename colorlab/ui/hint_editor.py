"""The Colorize tab's hint editor: the photo in grey, with colour strokes brushed over it.

A small ``gr.HTML`` component with its own script, not Gradio's ImageEditor: that one shows a
blank canvas for seconds after a photo is set (and drops strokes drawn then), paints opaque
strokes, and uploads three full-size PNG layers after every stroke. Here the grey photo arrives
once, as a JPEG data URL in the component's ``photo`` property (server to browser only), and
its value, which every event sends back, is small: the photo's name and size and the strokes

    {"image": name, "width": w, "height": h,
     "strokes": [{"color": "#rrggbb", "size": diameter, "points": [[x, y], ...]}, ...]}

as points in the pixels of that grey preview (``w`` x ``h``); :func:`colorlab.colorize.hints.
hints_from_strokes` turns the strokes into hints at any resolution. The strokes are shown
semi-transparent over the photo, but each keeps its exact colour. Until a photo is shown, or
while a new one loads (:data:`MARK_LOADING`), a stroke is refused with a visible message,
never silently lost. Setting ``props.value`` fires the component's ``change``, so each stroke,
undo and clear reaches the server as one small event.
"""

import base64
import io

import gradio as gr
import numpy as np
from PIL import Image

ELEM_ID = "hint-editor"
DEFAULT_BRUSH = 12  # screen pixels
BRUSH_RANGE = (2, 48)
STROKE_OPACITY = 0.55  # how strongly a stroke covers the photo on screen (not the hint)

TEMPLATE = """
<div class="hint-editor">
  <div class="hint-tools" role="toolbar" aria-label="Hint brush">
    <span class="hint-swatches"></span>
    <label class="hint-any">Any <input type="color" aria-label="Any brush colour"></label>
    <label class="hint-size">Brush <input type="range" aria-label="Brush size"></label>
    <button type="button" class="hint-undo">Undo</button>
    <button type="button" class="hint-clear">Clear hints</button>
  </div>
  <div class="hint-frame">
    <img class="hint-photo" alt="The photo in grey, to paint colour hints on">
    <canvas class="hint-strokes"></canvas>
    <p class="hint-status" role="status"></p>
  </div>
</div>
"""

CSS = f"""
.hint-tools {{ display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 6px;
  font-size: var(--text-sm); }}
.hint-swatches {{ display: flex; gap: 4px; }}
.hint-swatches button {{ width: 28px; height: 28px; border-radius: 50%;
  border: 2px solid var(--border-color-primary); cursor: pointer; }}
.hint-swatches button[aria-pressed="true"] {{ outline: 3px solid var(--color-accent);
  outline-offset: 1px; }}
.hint-tools label {{ display: flex; align-items: center; gap: 4px; }}
.hint-tools input[type=color] {{ width: 32px; height: 28px; padding: 0; border: none; }}
.hint-tools input[type=range] {{ width: 90px; }}
.hint-tools button.hint-undo, .hint-tools button.hint-clear {{ padding: 2px 10px;
  border: 1px solid var(--border-color-primary); border-radius: 6px; font-weight: normal;
  font-size: var(--text-sm); background: var(--button-secondary-background-fill); }}
.hint-frame {{ position: relative; width: fit-content; max-width: 100%; margin: 0 auto;
  min-height: 120px; min-width: 200px; }}
.hint-photo {{ display: block; max-width: 100%; max-height: 520px; }}
.hint-photo:not([src]) {{ display: none; }}
.hint-strokes {{ position: absolute; inset: 0; width: 100%; height: 100%; touch-action: none;
  cursor: crosshair; opacity: {STROKE_OPACITY}; }}
.hint-status {{ position: absolute; inset: auto 0 0 0; margin: 0; padding: 6px 8px;
  background: rgba(0, 0, 0, 0.65); color: #fff; font-size: var(--text-sm); }}
.hint-status:empty {{ display: none; }}
.hint-editor.loading .hint-photo {{ opacity: 0.4; }}
"""

SCRIPT = """
const root = element.querySelector('.hint-editor');
const photo = root.querySelector('.hint-photo');
const canvas = root.querySelector('.hint-strokes');
const status = root.querySelector('.hint-status');
const picker = root.querySelector('input[type=color]');
const size = root.querySelector('input[type=range]');
const context = canvas.getContext('2d');
const EMPTY = 'Load a photo above to paint colour hints on it.';
const LOADING = 'The new photo is loading: wait a moment, then paint (nothing was painted).';
let strokes = [], current = null, colour = props.colors[0], notice = null;

size.min = props.brush_range[0]; size.max = props.brush_range[1]; size.value = props.brush;
const swatches = props.colors.map(hex => {
  const button = document.createElement('button');
  button.type = 'button';
  button.style.background = hex;
  button.title = hex;
  button.setAttribute('aria-label', 'Brush colour ' + hex);
  button.addEventListener('click', () => choose(hex));
  root.querySelector('.hint-swatches').appendChild(button);
  return button;
});
function choose(hex) {
  colour = hex;
  picker.value = hex;
  swatches.forEach(b => b.setAttribute('aria-pressed', String(b.title === hex)));
}
picker.addEventListener('input', () => choose(picker.value));
choose(colour);

function ready() {
  return Boolean(props.photo && props.value) && !root.classList.contains('loading');
}
function say(text, seconds) {
  status.textContent = text;
  clearTimeout(notice);
  if (seconds) notice = setTimeout(() => say(ready() ? '' : EMPTY), seconds * 1000);
}
function paint(stroke) {
  const [x0, y0] = stroke.points[0];
  context.strokeStyle = stroke.color;
  context.lineWidth = stroke.size;
  context.lineCap = context.lineJoin = 'round';
  context.beginPath();
  context.moveTo(x0, y0);
  stroke.points.forEach(([x, y]) => context.lineTo(x, y));
  if (stroke.points.length === 1) context.lineTo(x0 + 0.01, y0);
  context.stroke();
}
function redraw() {
  context.clearRect(0, 0, canvas.width, canvas.height);
  strokes.forEach(paint);
  if (current) paint(current);
}
function show(value) {
  root.classList.remove('loading');
  if (value && props.photo) {
    photo.src = props.photo;
    canvas.width = value.width;
    canvas.height = value.height;
    strokes = (value.strokes || []).map(s => ({...s, points: s.points.map(p => [...p])}));
    say('');
  } else {
    photo.removeAttribute('src');
    strokes = [];
    say(EMPTY);
  }
  current = null;
  redraw();
}
function commit() {
  props.value = {...props.value, strokes: strokes.map(s => ({...s}))};
}
function at(event) {
  const box = canvas.getBoundingClientRect();
  const round = v => Math.round(v * 10) / 10;
  return [round((event.clientX - box.left) * canvas.width / box.width),
          round((event.clientY - box.top) * canvas.height / box.height)];
}
canvas.addEventListener('pointerdown', event => {
  if (!ready()) { say(props.photo ? LOADING : EMPTY, 4); return; }
  canvas.setPointerCapture(event.pointerId);
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  current = {color: colour, size: Math.round(size.value * scale * 10) / 10, points: [at(event)]};
  redraw();
});
canvas.addEventListener('pointermove', event => {
  if (!current) return;
  const point = at(event), last = current.points[current.points.length - 1];
  if (Math.hypot(point[0] - last[0], point[1] - last[1]) < 1) return;
  current.points.push(point);
  redraw();
});
function finish() {
  if (!current) return;
  strokes.push(current);
  current = null;
  commit();
}
canvas.addEventListener('pointerup', finish);
canvas.addEventListener('pointercancel', finish);
root.querySelector('.hint-undo').addEventListener('click', () => {
  if (strokes.pop()) { redraw(); commit(); }
});
root.querySelector('.hint-clear').addEventListener('click', () => {
  if (strokes.length) { strokes = []; redraw(); commit(); }
});
watch(['value', 'photo'], () => show(props.value));
show(props.value);
"""

# Run in the browser when a new photo is chosen, before the server answers: strokes are refused
# (visibly) until the editor holds the new photo. UNMARK_LOADING ends it even if loading failed.
MARK_LOADING = (
    f"(...args) => {{ document.querySelector('#{ELEM_ID} .hint-editor')"
    "?.classList.add('loading'); return args; }"
)
UNMARK_LOADING = (
    f"() => {{ document.querySelector('#{ELEM_ID} .hint-editor')?.classList.remove('loading'); }}"
)


def hint_editor(colors: list[str]) -> gr.HTML:
    """The editor, empty until :func:`showing_photo` gives it a photo; ``colors`` are its
    brush swatches (a colour picker offers any other)."""
    return gr.HTML(
        None,
        html_template=TEMPLATE,
        css_template=CSS,
        js_on_load=SCRIPT,
        elem_id=ELEM_ID,
        photo=None,
        colors=colors,
        brush=DEFAULT_BRUSH,
        brush_range=list(BRUSH_RANGE),
    )


def showing_photo(grey: np.ndarray | None, name: str | None = None) -> gr.HTML:
    """The editor updated to a grey uint8 preview (H, W) or (H, W, 3) named ``name`` (the
    value's ``image``: a new photo always changes the value, so it renders), no strokes; or
    emptied, for None."""
    if grey is None:
        return gr.HTML(value=None, photo=None)
    buffer = io.BytesIO()
    Image.fromarray(grey).convert("L").save(buffer, format="JPEG", quality=88)
    photo = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    value = {"image": name, "width": grey.shape[1], "height": grey.shape[0], "strokes": []}
    return gr.HTML(value=value, photo=photo)


def strokes_of(value) -> list:
    """The strokes of an editor value (as the browser sent it; checked where they are used)."""
    return value.get("strokes") or [] if isinstance(value, dict) else []
