"""Arena battles: two methods run blind on one input, a vote, then the names are revealed.

A battle draws an input (an example photo, or the user's upload), draws two different methods of
the task, favouring pairs with few votes (probability proportional to ``1 / (1 + votes of the
pair)``), randomises which is shown on the left, runs both with their default parameters and
writes the two outputs as PNGs under random names. The store keeps which method is which and on
which side (:meth:`VoteStore.issue_battle`); the client gets only the battle id and the images, so
it cannot learn or forge the methods. A vote names the battle id and a side; the names come back
only once the vote is stored.

>>> store = VoteStore()
>>> battle = new_battle(store, "stylize", session="s1", client_hash=store.client_hash("1.2.3.4"))
>>> battle.left, battle.right          # two PNG paths, no method names
>>> vote(store, battle.battle_id, "left", "s1", store.client_hash("1.2.3.4"), latency_ms=4200)
Revealed(battle_id=..., choice='left', left='mkl', right='reinhard')
>>> leaderboard(store, "stylize").rows
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import secrets
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from colorlab.arena import ratings
from colorlab.arena.store import VoteStore
from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.errors import InvalidParameterError
from colorlab.imageio import load_image, save_image, to_uint8
from colorlab.methods import Method, list_methods
from colorlab.palette import extract_palette

ARENA_TASKS = ("colorize", "stylize", "recolor")
CHOICES = ("left", "right", "tie", "both_bad")
MAX_SIDE = 512  # inputs are shrunk to this long side: a battle takes about a second, not ten
RECOLOR_K = 4  # the recolor edit: the input's own 4-colour palette ...
RECOLOR_HUE_DEGREES = 120.0  # ... with every hue turned by this angle (CIELAB a-b plane)
# Inputs: scikit-image's bundled photos (clear licence, no download), as the app's examples.
EXAMPLES = {
    "colorize": ("camera", "astronaut", "coffee", "chelsea"),  # shown in grey
    "stylize": ("astronaut", "coffee", "chelsea"),
    "recolor": ("astronaut", "coffee", "chelsea", "rocket"),
}
STYLE_EXAMPLE = "rocket"  # every stylize battle takes its colours from this image
OUTPUT_DIR = Path(tempfile.gettempdir()) / "colorlab-arena"  # Gradio may serve files from here


@dataclass(frozen=True)
class Battle:
    """What the client sees of a battle: its id and images, never the methods' names.

    ``left`` and ``right`` are the two outputs (PNG paths); ``input`` the image both methods got
    (for stylize the content; ``style`` the image whose colours they took).
    """

    battle_id: str
    task: str
    left: str
    right: str
    input: str
    style: str | None = None


@dataclass(frozen=True)
class Revealed:
    """The methods behind a voted battle, by side; ``choice`` is the vote as given."""

    battle_id: str
    choice: str
    left: str
    right: str


def arena_methods(task: str) -> list[Method]:
    """The task's methods that can run here and are quick: no weights missing, no long runs.

    Long methods (neural style: minutes on a CPU) take ``progress`` and ``cancel`` keywords;
    a battle cannot keep a voter waiting that long, so they stay out.
    """
    _check_task(task)
    return [
        method
        for method in list_methods(task)
        if method.unavailable_reason() is None
        and not {"progress", "cancel"} & inspect.signature(method.run).parameters.keys()
    ]


def pair_weights(
    names: list[str], counts: dict[tuple[str, str], int]
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Every unordered pair of ``names`` (sorted) and its draw probability, ``1 / (1 + votes)``."""
    pairs = list(itertools.combinations(sorted(names), 2))
    weights = np.array([1.0 / (1.0 + counts.get(pair, 0)) for pair in pairs])
    return pairs, weights / weights.sum()


def new_battle(
    store: VoteStore,
    task: str,
    session: str,
    client_hash: str,
    image: np.ndarray | str | Path | None = None,
    rng: np.random.Generator | None = None,
    output_dir: str | Path | None = None,
) -> Battle:
    """Draw an input and two methods, run both, keep the battle in ``store`` and return its view.

    ``image``: the user's upload (a path or an (H, W, 3) array), or None for a random example of
    the task. Inputs larger than ``MAX_SIDE`` are shrunk first. ``client_hash`` comes from
    :meth:`VoteStore.client_hash`. Outputs are written under ``output_dir`` (default
    ``OUTPUT_DIR``) with random names that say nothing about the methods.
    """
    rng = np.random.default_rng() if rng is None else rng
    methods = {method.name: method for method in arena_methods(task)}
    if len(methods) < 2:
        raise InvalidParameterError(
            f"the arena needs two {task} methods that can run here, found {sorted(methods)}"
        )
    if image is None:
        names = EXAMPLES[task]
        image = example_image(names[int(rng.integers(len(names)))], grey=task == "colorize")
    else:
        image = shrunk(load_image(image))
    style = example_image(STYLE_EXAMPLE) if task == "stylize" else None

    pairs, weights = pair_weights(list(methods), store.pair_counts(task))
    name_a, name_b = pairs[int(rng.choice(len(pairs), p=weights))]
    left = "a" if rng.random() < 0.5 else "b"
    params_a = methods[name_a].resolve_params()
    params_b = methods[name_b].resolve_params()
    output_a = run_method(task, methods[name_a], params_a, image, style)
    output_b = run_method(task, methods[name_b], params_b, image, style)

    folder = Path(output_dir) if output_dir is not None else OUTPUT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / secrets.token_hex(12)
    outputs = {"a": output_a, "b": output_b}
    right = "b" if left == "a" else "a"
    left_path = save_image(outputs[left], f"{stem}-left.png", fast=True)
    right_path = save_image(outputs[right], f"{stem}-right.png", fast=True)
    input_path = save_image(image, f"{stem}-input.png", fast=True)
    style_path = save_image(style, f"{stem}-style.png", fast=True) if style is not None else None

    battle_id = store.issue_battle(
        task,
        input_hash(image, style),
        name_a,
        params_a,
        name_b,
        params_b,
        left,
        session=session,
        client_hash=client_hash,
    )
    return Battle(
        battle_id,
        task,
        str(left_path),
        str(right_path),
        str(input_path),
        str(style_path) if style_path is not None else None,
    )


def vote(
    store: VoteStore,
    battle_id: str,
    choice: str,
    session: str,
    client_hash: str,
    latency_ms: float | None = None,
) -> Revealed:
    """Store a vote ("left", "right", "tie" or "both_bad") and reveal the methods by side.

    The sides come from the stored battle, never from the client. An unknown, foreign, expired
    or already voted battle raises :class:`colorlab.arena.store.VoteRejected` saying which.
    """
    if choice not in CHOICES:
        raise InvalidParameterError(f"choice must be one of {', '.join(CHOICES)}; got {choice!r}")
    stored = store.record_vote(battle_id, choice, session, client_hash, latency_ms)
    by_side = {"a": stored.method_a, "b": stored.method_b}
    right = "b" if stored.left == "a" else "a"
    return Revealed(battle_id, choice, by_side[stored.left], by_side[right])


def leaderboard(store: VoteStore, task: str, rounds: int = 1000) -> ratings.Leaderboard:
    """Bradley-Terry ratings of ``task``'s methods from its votes, with bootstrap intervals.

    "Both bad" votes are left out of the fit and counted in ``both_bad``. Every arena method is
    listed, those without votes last with no rank; with no rated votes at all every row is so.
    """
    _check_task(task)
    records = [
        {"method_a": v.method_a, "method_b": v.method_b, "winner": v.winner}
        for v in store.votes(task)
    ]
    names = {m.name for m in arena_methods(task)}
    names |= {r[key] for r in records for key in ("method_a", "method_b")}
    methods = sorted(names)
    comparisons = ratings.comparisons_from_records(records, methods)
    if comparisons.a.size == 0 or len(methods) < 2:
        k = len(methods)
        nan = float("nan")
        rows = tuple(ratings.Row(None, name, nan, nan, nan, 0) for name in methods)
        return ratings.Leaderboard(
            rows, tuple(methods), np.full((k, k), np.nan), np.zeros((k, k), int),
            comparisons.both_bad, rounds,
        )  # fmt: skip
    return ratings.leaderboard(
        comparisons.a,
        comparisons.b,
        comparisons.outcome,
        methods,
        rounds=rounds,
        both_bad=comparisons.both_bad,
    )


def input_hash(image: np.ndarray, style: np.ndarray | None = None) -> str:
    """SHA-256 (hex) of the input's 8-bit pixels and shape (and the style's, for stylize)."""
    digest = hashlib.sha256()
    for part in (image, style):
        if part is not None:
            pixels = to_uint8(part)
            digest.update(repr(pixels.shape).encode())
            digest.update(pixels.tobytes())
    return digest.hexdigest()


def rotate_hues(colors: np.ndarray, degrees: float = RECOLOR_HUE_DEGREES) -> np.ndarray:
    """(n, 3) sRGB colours with their CIELAB hue turned by ``degrees``; lightness and chroma kept
    (then brought into gamut)."""
    lab = srgb_to_lab(np.asarray(colors, dtype=np.float32)).astype(np.float64)
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    a, b = lab[:, 1].copy(), lab[:, 2].copy()
    lab[:, 1], lab[:, 2] = cos * a - sin * b, sin * a + cos * b
    return lab_to_srgb(lab.astype(np.float32)).astype(np.float32)


def run_method(
    task: str, method: Method, params: dict, image: np.ndarray, style: np.ndarray | None
) -> np.ndarray:
    if task == "colorize":
        return method.run(image, **params)
    if task == "stylize":
        return method.run(image, style, **params)
    source = extract_palette(image, k=RECOLOR_K).colors
    return method.run(image, source, rotate_hues(source), **params)


@lru_cache(maxsize=16)
def example_image(name: str, grey: bool = False) -> np.ndarray:
    """A scikit-image photo, shrunk to ``MAX_SIDE``; in grey (three equal channels) if asked."""
    from skimage import data

    photo = Image.fromarray(getattr(data, name)())
    image = shrunk(load_image(photo.convert("L") if grey else photo))
    image.flags.writeable = False  # shared between battles
    return image


def shrunk(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    if max(height, width) <= MAX_SIDE:
        return image
    scale = MAX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumbnail = Image.fromarray(to_uint8(image)).resize(size, Image.Resampling.LANCZOS)
    return load_image(thumbnail)


def _check_task(task: str) -> None:
    if task not in ARENA_TASKS:
        raise InvalidParameterError(f"task must be one of {', '.join(ARENA_TASKS)}; got {task!r}")
