"""Running a survey in the app: its items as battles in the vote store, and reading them back.

Storage convention (no schema change): a survey vote is an ordinary battle + vote in
:class:`~colorlab.arena.store.VoteStore`, with

- ``task`` = ``"survey:<name>"``, where ``<name>`` is the survey file's stem (``lake`` for
  ``surveys/lake.json``). Survey votes therefore never mix with the arena's own tasks (colorize,
  stylize, recolor) and its leaderboards; the survey's real task is in the survey file.
- ``input_hash`` = the item id.
- ``session_id`` = the participant id (in the app, the Gradio session hash).
- ``method_a`` / ``params_a`` and ``method_b`` / ``params_b`` = the item's first and second method
  with their params, so a stored winner "a" / "b" is already in terms of the item's a / b. The store
  wants two different method names; an item comparing one method with itself at two settings is
  stored as ``"<method> [a]"`` and ``"<method> [b]"``.
- ``left`` = which of the item's methods was shown on the left.

Attention checks: the item's ``broken`` side is shown as a flat mid-grey image of the output's
size (the method is not even run), so it is plainly the worse one; the stored battle is otherwise
the same as for a regular item. :func:`survey_votes` turns the store's votes back into the records
:func:`colorlab.arena.survey.survey_results` reads.

A survey battle's images are written, and cleared, as the arena's are
(:func:`colorlab.arena.battles.write_battle_images`); vote with :func:`colorlab.arena.battles.vote`
(``store.record_vote`` alone leaves the images until the size bound clears them).

Survey files live in ``COLORLAB_SURVEY_DIR`` (default ``./surveys``); a name (at most
``MAX_NAME_LENGTH`` characters) is looked up there as ``<name>.json``, ``<name>.yaml`` or
``<name>.yml``. Completion codes derive their key (:func:`~colorlab.arena.store.derive_key`) from
``COLORLAB_SURVEY_SECRET``, else the store's master secret (:meth:`VoteStore.secret`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from colorlab.arena import battles
from colorlab.arena.store import VoteStore
from colorlab.arena.survey import Survey, SurveyError, SurveyItem, load_survey
from colorlab.imageio import load_image
from colorlab.methods import get_method

SUFFIXES = (".json", ".yaml", ".yml")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_NAME_LENGTH = 64
PARTICIPANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
BROKEN_GREY = 0.5
SURVEY_TASK_PREFIX = "survey:"  # the store task of a survey's votes: survey:<name>


def survey_dir() -> Path:
    """Where survey files are looked up: ``COLORLAB_SURVEY_DIR`` as it is now, else ./surveys."""
    return Path(os.environ.get("COLORLAB_SURVEY_DIR") or "surveys")


def find_survey(name: str) -> Survey:
    """Load the survey ``name`` (file stem, no folders) from :func:`survey_dir`."""
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
        raise SurveyError(
            f"not a survey name: {_described(name)}; a name is at most {MAX_NAME_LENGTH} "
            "letters, digits, '_', '-' or '.'"
        )
    if not NAME.fullmatch(name) or ".." in name:
        raise SurveyError(
            f"not a survey name: {name!r}; use letters, digits, '_', '-' and '.' "
            "(starting with a letter or digit, no '..')"
        )
    for suffix in SUFFIXES:
        path = survey_dir() / f"{name}{suffix}"
        if path.is_file():
            return load_survey(path)
    raise SurveyError(f"no survey {name!r} in {str(survey_dir())!r}")


def check_participant_id(text: str) -> str:
    """``text`` if it is a participant id (1 to 64 letters, digits, '-' or '_'), else SurveyError.

    Recruiting platforms put the id in the survey link; refusing a bad one (rather than quietly
    changing it) keeps the id in the store the same as the platform's.
    """
    if not isinstance(text, str) or not PARTICIPANT_ID.fullmatch(text):
        raise SurveyError(
            f"not a participant id: {_described(text)}; an id is 1 to 64 letters (A-Z, a-z), "
            "digits, '-' or '_'"
        )
    return text


def _described(value: object) -> str:
    """``value`` for an error message: its repr if short, else only its type and length."""
    if isinstance(value, str) and len(value) <= MAX_NAME_LENGTH:
        return repr(value)
    if isinstance(value, str):
        return f"a text of {len(value)} characters"
    return f"a {type(value).__name__}, not text"


def survey_name(survey: Survey) -> str:
    return survey.path.stem


def survey_task(survey: Survey) -> str:
    """The store task under which this survey's votes are kept."""
    return f"{SURVEY_TASK_PREFIX}{survey_name(survey)}"


def stored_methods(item: SurveyItem) -> tuple[str, str]:
    a, b = item.methods
    return (f"{a} [a]", f"{b} [b]") if a == b else (a, b)


def survey_secret(store: VoteStore) -> bytes:
    """The secret completion codes are keyed from: ``COLORLAB_SURVEY_SECRET``, else the store's."""
    return os.environ.get("COLORLAB_SURVEY_SECRET", "").encode() or store.secret()


@dataclass(frozen=True)
class SurveyBattle:
    """One item as shown: the battle id and the two images (left, right) and the input."""

    battle_id: str
    item: str
    left: str
    right: str
    input: str


def item_outputs(survey: Survey, item: SurveyItem) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The item's input and outputs by side ("a", "b"); an attention check's broken side grey.

    The same for every participant, so computed once per process (until the survey file
    changes); treat the arrays as read-only.
    """
    return _item_outputs(str(survey.path), survey.path.stat().st_mtime_ns, item.id)


@lru_cache(maxsize=32)
def _item_outputs(path: str, stamp: int, item_id: str) -> tuple[np.ndarray, dict]:
    # ``stamp`` (the file's mtime) only keys the cache: an edited survey is computed again.
    survey = load_survey(path)
    item = survey.item(item_id)
    image = battles.shrunk(load_image(item.image))
    style = battles.example_image(battles.STYLE_EXAMPLE) if survey.task == "stylize" else None
    outputs = {}
    for side, name, params in zip("ab", item.methods, item.params, strict=True):
        if item.attention_check and item.broken == side:
            outputs[side] = None
            continue
        method = get_method(survey.task, name)
        outputs[side] = battles.run_method(
            survey.task, method, method.resolve_params(**params), image, style
        )
    shape = next((o.shape for o in outputs.values() if o is not None), image.shape)
    for side, output in outputs.items():
        if output is None:
            outputs[side] = np.full(shape, BROKEN_GREY, dtype=np.float32)
    return image, outputs


def issue_survey_battle(
    store: VoteStore,
    survey: Survey,
    item: SurveyItem,
    left: str,
    participant: str,
    client_hash: str,
) -> str:
    """Keep the battle of ``item`` for ``participant`` in ``store`` (by the convention above)."""
    method_a, method_b = stored_methods(item)
    return store.issue_battle(
        survey_task(survey),
        item.id,
        method_a,
        dict(item.params[0]),
        method_b,
        dict(item.params[1]),
        left,
        session=participant,
        client_hash=client_hash,
    )


def issue_item(
    store: VoteStore,
    survey: Survey,
    item: SurveyItem,
    left: str,
    participant: str,
    client_hash: str,
    output_dir: str | Path | None = None,
) -> SurveyBattle:
    """Keep the item's battle in ``store``, write its images and return what is shown.

    The outputs are computed once per process (:func:`item_outputs`); images go under
    ``output_dir`` (default ``battles.OUTPUT_DIR``) as the arena's do.
    """
    battle_id = issue_survey_battle(store, survey, item, left, participant, client_hash)
    image, outputs = item_outputs(survey, item)
    images = {"left": outputs[left], "right": outputs[battles.other_side(left)], "input": image}
    paths = battles.write_battle_images(store, battle_id, images, output_dir)
    return SurveyBattle(battle_id, item.id, paths["left"], paths["right"], paths["input"])


def survey_votes(store: VoteStore, survey: Survey) -> list[dict[str, Any]]:
    """The survey's votes in the store as ``survey_results`` records, in the order recorded.

    Each is ``{"item", "participant", "winner"}`` with the winner in terms of the item's a / b.
    A participant's second vote on an item (a reloaded page) is dropped: one vote per item.
    """
    records, seen = [], set()
    for vote in store.votes(survey_task(survey)):
        key = (vote.input_hash, vote.session_id)
        if key in seen:
            continue
        seen.add(key)
        records.append(
            {"item": vote.input_hash, "participant": vote.session_id, "winner": vote.winner}
        )
    return records


def voted_items(store: VoteStore, survey: Survey, participant: str) -> set[str]:
    """Ids of the items ``participant`` has voted on."""
    return {r["item"] for r in survey_votes(store, survey) if r["participant"] == participant}
