"""Arena battles: two methods run blind on one input, a vote, then the names are revealed.

A battle draws an input (an example photo, or the user's upload; for stylize also a style image,
``STYLE_EXAMPLE`` or the user's), draws two different methods of the task, favouring pairs with
few votes (probability proportional to ``1 / (1 + votes of the pair)``) and randomises which is
shown on the left. The store keeps which method is which and on which side
(:meth:`VoteStore.issue_battle`, rate-limited, so this comes before any work); then both methods
run with their default parameters. The client gets only the battle id and the images, so it
cannot learn or forge the methods. A vote names the battle id and a side; the names come back
only once the vote is stored.

Files: a battle's images live in a folder of ``OUTPUT_DIR`` named by the SHA-256 of its id (the
names say nothing about the methods or the id). They are deleted when the battle is voted or
skipped (:func:`delete_battle_images`; a skipped battle stays open, unvoted), or, never voted,
when it is pruned after expiring (:meth:`VoteStore.prune_expired`, run whenever images are
written). The folder is also kept under ``COLORLAB_ARENA_MAX_BYTES`` (default
``MAX_OUTPUT_BYTES``) by deleting the oldest battles' images: such a battle shows no images but
can still be voted, and nothing in the store is lost.

>>> store = VoteStore()
>>> battle = new_battle(store, "stylize", session="s1", client_hash=store.client_hash("1.2.3.4"))
>>> battle.left, battle.right          # two PNG paths, no method names
>>> vote(store, battle.battle_id, "left", "s1", store.client_hash("1.2.3.4"), latency_ms=4200)
Revealed(battle_id=..., choice='left', left='mkl', right='reinhard')
>>> leaderboard(store, "stylize").rows
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from colorlab.arena import ratings
from colorlab.arena.store import VoteStore
from colorlab.color import rotate_hues
from colorlab.errors import InvalidParameterError
from colorlab.imageio import load_image, save_image, to_uint8
from colorlab.methods import Method, list_methods
from colorlab.paintings import FOLDER, PAINTINGS
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
STYLE_EXAMPLE = "vangogh-00021.jpg"  # every stylize battle's style: a painting (café terrace)
OUTPUT_DIR = Path(tempfile.gettempdir()) / "colorlab-arena"  # Gradio may serve files from here
MAX_OUTPUT_BYTES = 256 * 2**20  # the default bound on OUTPUT_DIR; COLORLAB_ARENA_MAX_BYTES sets it
_FOLDER_NAME = re.compile(r"[0-9a-f]{64}")  # a battle's folder: the SHA-256 (hex) of its id


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

    A battle cannot keep a voter waiting for a long method (neural style: minutes on a CPU),
    so they stay out.
    """
    _check_task(task)
    return [
        method
        for method in list_methods(task)
        if not method.long_running and method.unavailable_reason() is None
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
    style: np.ndarray | str | Path | None = None,
    rng: np.random.Generator | None = None,
    output_dir: str | Path | None = None,
) -> Battle:
    """Draw an input and two methods, keep the battle in ``store``, run both, return its view.

    ``image``: the user's upload (a path or an (H, W, 3) array), or None for a random example of
    the task. ``style``: for stylize, the user's style image (taken the same way), or None for
    ``STYLE_EXAMPLE``; other tasks take none. Inputs larger than ``MAX_SIDE`` are shrunk first,
    and the stored input hash covers the style too. ``client_hash`` comes from
    :meth:`VoteStore.client_hash`; a session or client over the store's battle rate limit gets
    :class:`~colorlab.arena.store.VoteRejected` before anything runs. Images are written by
    :func:`write_battle_images` under ``output_dir`` (default ``OUTPUT_DIR``).
    """
    rng = np.random.default_rng() if rng is None else rng
    methods = {method.name: method for method in arena_methods(task)}
    if len(methods) < 2:
        raise InvalidParameterError(
            f"the arena needs two {task} methods that can run here, found {sorted(methods)}"
        )
    if style is not None and task != "stylize":
        raise InvalidParameterError(f"style: only stylize battles take a style image, not {task}")
    if image is None:
        names = EXAMPLES[task]
        image = example_image(names[int(rng.integers(len(names)))], grey=task == "colorize")
    else:
        image = shrunk(load_image(image))
    if task == "stylize":
        style = example_image(STYLE_EXAMPLE) if style is None else shrunk(load_image(style))

    pairs, weights = pair_weights(list(methods), store.pair_counts(task))
    name_a, name_b = pairs[int(rng.choice(len(pairs), p=weights))]
    left = "a" if rng.random() < 0.5 else "b"
    params = {"a": methods[name_a].resolve_params(), "b": methods[name_b].resolve_params()}
    battle_id = store.issue_battle(
        task,
        input_hash(image, style),
        name_a,
        params["a"],
        name_b,
        params["b"],
        left,
        session=session,
        client_hash=client_hash,
    )
    outputs = {
        side: run_method(task, methods[name], params[side], image, style)
        for side, name in (("a", name_a), ("b", name_b))
    }
    images = {"left": outputs[left], "right": outputs[other_side(left)], "input": image}
    if style is not None:
        images["style"] = style
    paths = write_battle_images(store, battle_id, images, output_dir)
    return Battle(
        battle_id, task, paths["left"], paths["right"], paths["input"], paths.get("style")
    )


def vote(
    store: VoteStore,
    battle_id: str,
    choice: str,
    session: str,
    client_hash: str,
    latency_ms: float | None = None,
    output_dir: str | Path | None = None,
) -> Revealed:
    """Store a vote ("left", "right", "tie" or "both_bad") and reveal the methods by side.

    The sides come from the stored battle, never from the client. An unknown, foreign, expired
    or already voted battle raises :class:`colorlab.arena.store.VoteRejected` saying which. Once
    the vote is stored the battle's images (under ``output_dir``) are deleted.
    """
    if choice not in CHOICES:
        raise InvalidParameterError(f"choice must be one of {', '.join(CHOICES)}; got {choice!r}")
    stored = store.record_vote(battle_id, choice, session, client_hash, latency_ms)
    delete_battle_images(battle_id, output_dir)
    by_side = {"a": stored.method_a, "b": stored.method_b}
    return Revealed(battle_id, choice, by_side[stored.left], by_side[other_side(stored.left)])


def other_side(side: str) -> str:
    """The other side of a battle: "b" for "a", "a" for "b"."""
    return "b" if side == "a" else "a"


# -- battle images on disk ------------------------------------------------------------------------


def battle_folder(battle_id: str, output_dir: str | Path | None = None) -> Path:
    """The folder of a battle's images: the SHA-256 (hex) of its id, under ``output_dir``."""
    root = Path(output_dir) if output_dir is not None else OUTPUT_DIR
    return root / hashlib.sha256(battle_id.encode()).hexdigest()


def write_battle_images(
    store: VoteStore,
    battle_id: str,
    images: dict[str, np.ndarray],
    output_dir: str | Path | None = None,
) -> dict[str, str]:
    """Write an issued battle's images as ``<name>.png`` in its folder; return their paths.

    Then make room (this battle's images are kept): the images of battles pruned from the store
    as expired are deleted, and, while the folder holds more than :func:`max_output_bytes`, the
    oldest battles' images.
    """
    limit = max_output_bytes()
    folder = battle_folder(battle_id, output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        name: str(save_image(image, folder / f"{name}.png", fast=True))
        for name, image in images.items()
    }
    for expired in store.prune_expired():
        delete_battle_images(expired, output_dir)
    _bound_folder(folder.parent, limit, keep=folder)
    return paths


def delete_battle_images(battle_id: str, output_dir: str | Path | None = None) -> None:
    """Delete a battle's images, if they are still there."""
    shutil.rmtree(battle_folder(battle_id, output_dir), ignore_errors=True)


def max_output_bytes() -> int:
    """The bound on the images folder: ``COLORLAB_ARENA_MAX_BYTES`` as it is now, in bytes."""
    text = os.environ.get("COLORLAB_ARENA_MAX_BYTES") or str(MAX_OUTPUT_BYTES)
    if not text.isdigit():
        raise InvalidParameterError(
            f"COLORLAB_ARENA_MAX_BYTES must be a whole number of bytes, got {text!r}"
        )
    return int(text)


def _bound_folder(root: Path, limit: int, keep: Path) -> None:
    """Delete the oldest battle folders under ``root`` (never ``keep``) until it holds ``limit``
    bytes or less. Another process may be deleting too: what vanishes is simply skipped."""
    folders = []  # (modified, bytes, folder)
    for folder in root.iterdir():
        if _FOLDER_NAME.fullmatch(folder.name):
            with suppress(OSError):
                sizes = [file.stat().st_size for file in folder.iterdir()]
                folders.append((folder.stat().st_mtime_ns, sum(sizes), folder))
    total = sum(size for _, size, _ in folders)
    for _, size, folder in sorted(folders):
        if total <= limit:
            break
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)
            total -= size


def leaderboard(
    store: VoteStore, task: str, min_votes: int = ratings.MIN_VOTES
) -> ratings.Leaderboard:
    """Bradley-Terry ratings of ``task``'s methods from its votes, with 95% intervals.

    "Both bad" votes are left out of the fit and counted in ``both_bad``. Every arena method is
    listed; those with fewer than ``min_votes`` votes come after the rated ones with no score
    and no rank; with no rated votes at all every row is so.
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
            comparisons.both_bad, min_votes,
        )  # fmt: skip
    return ratings.leaderboard(
        comparisons.a,
        comparisons.b,
        comparisons.outcome,
        methods,
        both_bad=comparisons.both_bad,
        min_votes=min_votes,
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


def run_method(
    task: str, method: Method, params: dict, image: np.ndarray, style: np.ndarray | None
) -> np.ndarray:
    if task == "colorize":
        return method.run(image, **params)
    if task == "stylize":
        return method.run(image, style, **params)
    source = extract_palette(image, k=RECOLOR_K).colors
    return method.run(image, source, rotate_hues(source, RECOLOR_HUE_DEGREES), **params)


@lru_cache(maxsize=16)
def example_image(name: str, grey: bool = False) -> np.ndarray:
    """A scikit-image photo or a painting of :mod:`colorlab.paintings` by file name, shrunk to
    ``MAX_SIDE``; in grey (three equal channels) if asked."""
    from skimage import data

    photo = (
        Image.open(FOLDER / name) if name in PAINTINGS else Image.fromarray(getattr(data, name)())
    )
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
