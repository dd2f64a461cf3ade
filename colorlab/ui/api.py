"""The app's scripting API: ``/palette``, ``/recolor``, ``/colorize``, ``/stylize`` and the arena's
``/battle``, ``/vote`` and ``/leaderboard``.

For ``gradio_client``:

>>> from gradio_client import Client, handle_file
>>> client = Client("http://127.0.0.1:7860/")
>>> client.predict(handle_file("photo.jpg"), 4, api_name="/palette")
{'palette': ['#1d1a1c', ...], 'weights': [0.31, ...]}
>>> client.predict(handle_file("photo.jpg"), "#203040, #c05030", "chang", None,
...                api_name="/recolor")
'/tmp/.../photo-recolored.png'
>>> client.predict(handle_file("grey.png"), "classification", None,
...                '[{"x": 120, "y": 40, "color": "#2040ff"}]', api_name="/colorize")
'/tmp/.../grey-colorized.png'
>>> client.predict(handle_file("photo.jpg"), handle_file("style.jpg"), "mkl", 0.8, False,
...                api_name="/stylize")
'/tmp/.../photo-stylized.png'

>>> battle = client.predict("stylize", api_name="/battle")  # belongs to this client's session
{'battle_id': '...', 'task': 'stylize', 'left': {'path': ...}, 'right': {...}, 'input': {...}, ...}
>>> client.predict(battle["battle_id"], "left", api_name="/vote")
{'battle_id': '...', 'choice': 'left', 'left': 'mkl', 'right': 'reinhard'}
>>> client.predict("stylize", api_name="/leaderboard")
{'task': 'stylize', 'methods': [...], 'rows': [{'rank': 1, 'method': 'mkl', ...}], ...}

A battle belongs to the Gradio session that asked for it, and its methods stay on the server until
the vote; a forged, replayed, foreign or second vote is an AppError. Files are read only if Gradio
received them from a client (:mod:`colorlab.ui.uploads`).

They are plain typed functions registered with ``gr.api``, so their signatures are exactly the
ones above and no UI component leaks into them. Errors a user can fix (bad hex, unknown method,
k out of range, bad hints, unreadable image, a model whose weights are missing, a method that
cannot run here) arrive as ``gradio_client.exceptions.AppError`` with our message.
"""

import functools
import numbers
from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio import FileData

from colorlab.arena import battles
from colorlab.color import parse_palette
from colorlab.errors import ColorLabError, InvalidParameterError
from colorlab.methods import get_method
from colorlab.palette import DEFAULT_K, MAX_K, MIN_K, palette_size, retarget
from colorlab.ui import work
from colorlab.ui.arena_state import arena_min_votes, arena_store, voter
from colorlab.ui.server import HEAVY

MAX_NAME_LENGTH = 64  # method, task, choice and battle id texts


def shown_to_user(fn: Callable) -> Callable:
    """Turn ColorLab's own errors into ``gr.Error`` so the browser and API clients see them."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ColorLabError as exc:
            raise gr.Error(str(exc)) from exc

    return wrapper


def short_text(value: Any, name: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """``value`` checked to be a string of at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise InvalidParameterError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > max_length:
        raise InvalidParameterError(
            f"{name} has {len(value):,} characters; at most {max_length} are taken"
        )
    return value


@shown_to_user
def palette(image: FileData, k: int = DEFAULT_K) -> dict:
    """The image's k dominant colours (2 to 8), dark to light, with their pixel shares.

    Returns ``{"palette": ["#rrggbb", ...], "weights": [share, ...]}``, the same JSON as
    ``python -m colorlab palette IMAGE -k K --json``; an image with fewer distinct colours than k
    gets a shorter palette.
    """
    k = palette_size(k)
    result = work.palette(work.upload_key(image), k)
    return {"palette": result.to_hex(), "weights": [round(float(w), 4) for w in result.weights]}


@shown_to_user
def recolor(
    image: FileData, target_palette: str, method: str = "chang", k: int | None = None
) -> FileData:
    """The image recolored at its full resolution, as a PNG file.

    ``target_palette``: colours like ``"#203040, #c05030"``. The image's own palette is extracted
    with k = the number of colours given (or ``k``, if larger: the extra entries keep their
    colour), and entry i (dark to light) moves to the i-th colour. ``method``: a recolor method
    of the registry (``python -m colorlab methods``).
    """
    targets = parse_palette(target_palette)
    if len(targets) > MAX_K:
        raise InvalidParameterError(f"{len(targets)} colours given; a palette has at most {MAX_K}")
    k = max(len(targets), MIN_K) if k is None else palette_size(k)
    if k < len(targets):
        raise InvalidParameterError(
            f"k={k} is smaller than the {len(targets)} colours given; give at most {k} colours"
        )
    method = get_method("recolor", short_text(method, "method")).name
    key = work.upload_key(image)
    target = retarget(work.palette(key, k), list(targets))
    return FileData(path=work.full_resolution_png(key, target, method, k))


@shown_to_user
def colorize(
    image: FileData,
    method: str = "classification",
    temperature: float | None = None,
    hints: str | None = None,
) -> FileData:
    """The image colorized from its lightness at its full resolution, as a PNG file.

    ``method``: a colorize method of the registry (``python -m colorlab methods``).
    ``temperature``: the annealed-mean temperature of methods that have one (low = vivid,
    1 = dull); None is the method's default. ``hints``: colours the result should take at given
    pixels, the JSON list ``[{"x": 120, "y": 40, "color": "#2040ff"}, ...]`` in image pixel
    coordinates (x to the right, y down), for methods that take hints; at most 500 points.
    """
    chosen = get_method("colorize", short_text(method, "method"))
    if temperature is not None:
        temperature = chosen.resolve_params(temperature=temperature)["temperature"]
    if hints is not None and not isinstance(hints, str):
        raise InvalidParameterError('hints must be JSON text like \'[{"x": 1, "y": 2, ...}]\'')
    key = work.upload_key(image)
    return FileData(path=work.colorized_from_points_png(key, chosen.name, temperature, hints))


@shown_to_user
def stylize(
    content: FileData,
    style: FileData,
    method: str = "reinhard",
    strength: float = 1.0,
    preserve_lightness: bool = False,
) -> FileData:
    """The content image given the style image's colours (or style), at its full resolution.

    Returns a PNG of the content's size; the style image may have any size. ``method``: a
    stylize method of the registry (``python -m colorlab methods``); one that cannot run here
    (e.g. weights that cannot be downloaded) is an error with the reason. ``strength`` in
    [0, 1]: 0 returns the content. ``preserve_lightness``: keep the content's lightness and
    transfer only colours. Other parameters keep the method's defaults.
    """
    chosen = get_method("stylize", short_text(method, "method"))
    params = chosen.resolve_params(strength=strength, preserve_lightness=preserve_lightness)
    content_key = work.upload_key(content, "the content image")
    style_key = work.upload_key(style, "the style image")
    return FileData(path=work.stylized_png(content_key, style_key, chosen.name, params))


@shown_to_user
def battle(task: str = "colorize", request: gr.Request | None = None) -> dict:
    """A new blind battle: two methods of ``task`` run on one example input, names hidden.

    ``task``: colorize, stylize or recolor. The battle belongs to this client's Gradio session:
    only it can vote on it. Returns ``{"battle_id", "task", "left", "right", "input", "style"}``:
    the two outputs and the input as files (``style``, the style image, for stylize only).
    """
    session, client_hash = voter(request)
    issued = battles.new_battle(arena_store(), short_text(task, "task"), session, client_hash)
    # Dumped to dicts (with FileData's type tag): Gradio moves files it finds in plain JSON.
    files = {
        side: FileData(path=getattr(issued, side)).model_dump()
        for side in ("left", "right", "input")
    }
    style = FileData(path=issued.style).model_dump() if issued.style is not None else None
    return {"battle_id": issued.battle_id, "task": issued.task, **files, "style": style}


@shown_to_user
def vote(
    battle_id: str,
    choice: str,
    latency_ms: float | None = None,
    request: gr.Request | None = None,
) -> dict:
    """Vote on a battle and learn which method was on each side.

    ``choice``: left, right, tie or both_bad. Only the session that started the battle can vote
    on it. ``latency_ms``: time from seeing both outputs to the vote, if measured (finite,
    >= 0). An unknown, expired, foreign or already voted battle is an error. Returns
    ``{"battle_id", "choice", "left", "right"}`` with the method names.
    """
    session, client_hash = voter(request)
    battle_id, choice = short_text(battle_id, "battle_id"), short_text(choice, "choice")
    if latency_ms is not None and not isinstance(latency_ms, numbers.Real):
        raise InvalidParameterError(f"latency_ms must be a number, got {type(latency_ms).__name__}")
    revealed = battles.vote(arena_store(), battle_id, choice, session, client_hash, latency_ms)
    return {
        "battle_id": revealed.battle_id,
        "choice": revealed.choice,
        "left": revealed.left,
        "right": revealed.right,
    }


@shown_to_user
def leaderboard(task: str = "colorize") -> dict:
    """Bradley-Terry ratings of ``task``'s methods from the arena's votes.

    Returns ``{"task", "methods", "rows", "win_rate", "vote_counts", "both_bad", "total",
    "min_votes", "interval"}`` (:meth:`~colorlab.arena.ratings.Leaderboard.to_dict`): rows
    (rated best first) are ``{"rank", "method", "score", "lower", "upper", "votes", "status"}``
    with a 95% interval; a method with fewer than ``min_votes`` votes has status "needs more
    votes" and None for rank, score and bounds. ``win_rate[i][j]`` is the share of i-vs-j votes
    i won, ties half (None if none), ``vote_counts[i][j]`` their number, in the order of
    ``methods``. "Both bad" votes are counted in ``both_bad``, not rated.
    """
    board = battles.leaderboard(arena_store(), short_text(task, "task"), arena_min_votes())
    return {"task": task, **board.to_dict()}


def add_api_endpoints() -> None:
    """Register the processing endpoints and the arena's /battle, /vote and /leaderboard."""
    for fn in (palette, recolor, colorize, stylize, battle):
        gr.api(fn, api_name=fn.__name__, **HEAVY)
    gr.api(vote, api_name="vote")
    gr.api(leaderboard, api_name="leaderboard")
