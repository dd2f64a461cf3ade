"""Preference surveys: a study file, per-participant assignments, completion codes and results.

A survey file (JSON, or YAML when PyYAML is installed) looks like::

    title: Which colouring is more realistic?
    instructions: Pick the more realistic image of each pair.
    task: colorize
    per_participant: 8          # regular items each participant sees
    items:
      - id: lake                # optional; defaults to item-<n>
        image: images/lake.png  # relative to the survey file
        methods: [eccv16, model_1]
        params: [{}, {strength: 0.5}]   # optional, one mapping per method
      - image: images/lake.png
        methods: [eccv16, model_1]
        attention_check: true
        broken: b               # this side is shown deliberately broken (grey / garbled)

Every item's methods must be methods of the survey's task and their params valid for them; a
file that breaks this is refused when loaded, not on the first participant's page.
Attention checks are shown to every participant on top of ``per_participant`` regular items.
Votes name the winner as "a" or "b" - the item's first or second method, whatever side it was
shown on - or "tie" or "both_bad".
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import math
from base64 import b32encode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binomtest

from colorlab.arena import ratings
from colorlab.arena.store import derive_key
from colorlab.errors import ColorLabError, UnknownMethodError
from colorlab.methods import TASKS, get_method, list_methods

CODE_LENGTH = 10
COMPLETION_CODE_PURPOSE = "survey-completion-code"  # the derive_key purpose of completion codes
WINNERS = ("a", "b", "tie", "both_bad")
Z95 = 1.959963984540054


class SurveyError(ColorLabError, ValueError):
    """A survey file is unreadable or invalid; the message names the field and the file."""


@dataclass(frozen=True)
class SurveyItem:
    """One pair to judge: an input image and two methods (with parameters) to run on it."""

    id: str
    image: Path
    methods: tuple[str, str]
    params: tuple[Mapping[str, Any], Mapping[str, Any]] = ({}, {})
    attention_check: bool = False
    broken: str | None = None  # "a" or "b" for an attention check: the side shown broken


@dataclass(frozen=True)
class Survey:
    """A validated survey; ``items`` are the regular items, ``attention_checks`` the others.

    ``content_hash`` is the SHA-256 (hex) of the file's bytes: what completion codes are tied to.
    """

    title: str
    instructions: str
    task: str
    per_participant: int
    items: tuple[SurveyItem, ...]
    attention_checks: tuple[SurveyItem, ...]
    path: Path
    content_hash: str

    def item(self, item_id: str) -> SurveyItem:
        for item in self.items + self.attention_checks:
            if item.id == item_id:
                return item
        raise SurveyError(f"survey {self.title!r} has no item {item_id!r}")


@dataclass(frozen=True)
class Assignment:
    """An item as one participant sees it; ``left`` is the method ("a" or "b") shown left."""

    item: SurveyItem
    left: str

    @property
    def right(self) -> str:
        return "b" if self.left == "a" else "a"


@dataclass(frozen=True)
class ItemResult:
    """Votes on one item; ``share_a`` counts ties half, ``p_value`` leaves ties out (see below)."""

    item: str
    method_a: str
    method_b: str
    a_wins: int
    b_wins: int
    ties: int
    both_bad: int
    share_a: float
    lower: float
    upper: float
    p_value: float


@dataclass(frozen=True)
class SurveyResults:
    """Per-item results of participants who passed every attention check, and, separately, of
    those who failed one (``failed_items``), so no vote is silently dropped."""

    items: tuple[ItemResult, ...]
    failed_items: tuple[ItemResult, ...]
    failed_participants: tuple[str, ...]
    participants: int
    attention_votes: int
    attention_failure_rate: float  # failed attention-check votes / attention-check votes
    leaderboard: ratings.Leaderboard | None = field(default=None, compare=False)


def load_survey(path: str | Path) -> Survey:
    """Read and validate a survey file; every error names the field at fault."""
    path = Path(path)
    if not path.is_file():
        raise SurveyError(f"survey file {str(path)!r} does not exist")
    content = path.read_bytes()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SurveyError(f"{path.name}: not UTF-8 text: {error}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise SurveyError(
                f"{path.name}: reading YAML surveys needs PyYAML (pip install pyyaml), "
                "or write the survey as JSON"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SurveyError(f"{path.name}: not valid YAML: {error}") from None
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SurveyError(f"{path.name}: not valid JSON: {error}") from None
    else:
        raise SurveyError(f"{path.name}: a survey file must end in .json, .yaml or .yml")
    if not isinstance(data, dict):
        raise SurveyError(f"{path.name}: the top level must be a mapping of fields")

    def fail(message: str) -> SurveyError:
        return SurveyError(f"{path.name}: {message}")

    for name in ("title", "task", "items", "per_participant"):
        if name not in data:
            raise fail(f"missing field {name!r}")
    if not isinstance(data["title"], str) or not data["title"].strip():
        raise fail("'title' must be a non-empty string")
    if not isinstance(data.get("instructions", ""), str):
        raise fail("'instructions' must be a string")
    if data["task"] not in TASKS:
        raise fail(f"unknown task {data['task']!r}; tasks are {sorted(TASKS)}")
    if not isinstance(data["items"], list) or not data["items"]:
        raise fail("'items' must be a non-empty list")
    items = [_item(raw, n, path, data["task"], fail) for n, raw in enumerate(data["items"])]
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise fail(f"item ids must be unique; repeated: {duplicates}")
    regular = tuple(item for item in items if not item.attention_check)
    checks = tuple(item for item in items if item.attention_check)
    per = data["per_participant"]
    if isinstance(per, bool) or not isinstance(per, int) or per < 1:
        raise fail(f"'per_participant' must be a positive whole number, got {per!r}")
    if per > len(regular):
        raise fail(
            f"'per_participant' is {per} but the survey has only {len(regular)} regular items"
        )
    unknown = sorted(set(data) - {"title", "instructions", "task", "items", "per_participant"})
    if unknown:
        raise fail(f"unknown fields {unknown}")
    return Survey(
        data["title"],
        data.get("instructions", ""),
        data["task"],
        per,
        regular,
        checks,
        path,
        hashlib.sha256(content).hexdigest(),
    )


def _item(raw: Any, number: int, path: Path, task: str, fail) -> SurveyItem:
    where = f"items[{number}]"
    if not isinstance(raw, dict):
        raise fail(f"{where} must be a mapping with 'image' and 'methods'")
    unknown = sorted(set(raw) - {"id", "image", "methods", "params", "attention_check", "broken"})
    if unknown:
        raise fail(f"{where}: unknown fields {unknown}")
    for name in ("image", "methods"):
        if name not in raw:
            raise fail(f"{where}: missing field {name!r}")
    item_id = str(raw.get("id", f"item-{number + 1}"))
    where = f"{where} ({item_id!r})"
    image = (path.parent / str(raw["image"])).resolve()
    if not image.is_file():
        raise fail(f"{where}.image: file {str(image)!r} does not exist")
    methods = raw["methods"]
    if (
        not isinstance(methods, list)
        or len(methods) != 2
        or not all(isinstance(m, str) and m for m in methods)
    ):
        raise fail(f"{where}.methods must be a list of two method names, got {methods!r}")
    params = raw.get("params", [{}, {}])
    if (
        not isinstance(params, list)
        or len(params) != 2
        or not all(isinstance(p, dict) and all(isinstance(k, str) for k in p) for p in params)
    ):
        raise fail(f"{where}.params must be a list of two mappings (one per method)")
    if methods[0] == methods[1] and params[0] == params[1]:
        raise fail(f"{where}.methods: both sides are {methods[0]!r} with the same params")
    check = raw.get("attention_check", False)
    if not isinstance(check, bool):
        raise fail(f"{where}.attention_check must be true or false, got {check!r}")
    broken = raw.get("broken")
    if check and broken not in ("a", "b"):
        raise fail(f"{where}.broken must be 'a' or 'b' for an attention check, got {broken!r}")
    if not check and broken is not None:
        raise fail(f"{where}.broken is only allowed with attention_check: true")
    for side, (name, given) in enumerate(zip(methods, params, strict=True)):
        try:
            method = get_method(task, name)
        except UnknownMethodError:
            known = [m.name for m in list_methods(task)]
            raise fail(
                f"{where}.methods[{side}]: unknown {task} method {name!r}; methods are {known}"
            ) from None
        try:
            method.resolve_params(**given)
        except ColorLabError as error:
            raise fail(f"{where}.params[{side}]: {error}") from None
    return SurveyItem(
        item_id, image, (methods[0], methods[1]), (params[0], params[1]), check, broken
    )


def assign_items(survey: Survey, participant_id: str, seed: int = 0) -> list[Assignment]:
    """The items one participant sees, in order: the same every time for the same participant.

    ``per_participant`` regular items drawn at random, plus every attention check, shuffled
    together; each item's left/right placement is a fair coin, so over many participants each
    method is shown on either side about equally.
    """
    digest = hashlib.sha256(f"{seed}\n{survey.title}\n{participant_id}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:16], "big"))
    chosen = rng.choice(len(survey.items), survey.per_participant, replace=False)
    shown = [survey.items[i] for i in chosen] + list(survey.attention_checks)
    order = rng.permutation(len(shown))
    sides = rng.integers(0, 2, len(shown))
    return [Assignment(shown[i], "ab"[side]) for i, side in zip(order, sides, strict=True)]


def completion_code(survey: Survey, participant_id: str, secret: str | bytes) -> str:
    """A short code proving this participant finished this survey (HMAC-SHA256, base32).

    Only someone with ``secret`` can make one (keyed by its completion-code key,
    :func:`~colorlab.arena.store.derive_key`), so a participant cannot forge another's code. The
    code is tied to the survey file's content (``survey.content_hash``), so two surveys never
    share codes, even with one title; an edited file gives new codes. Ten base32 characters
    carry 50 bits: guessing a valid code is hopeless.
    """
    secret = secret.encode() if isinstance(secret, str) else secret
    key = derive_key(secret, COMPLETION_CODE_PURPOSE)
    message = f"{survey.content_hash}\n{participant_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return b32encode(digest).decode()[:CODE_LENGTH]


def verify_completion_code(
    survey: Survey, participant_id: str, code: str, secret: str | bytes
) -> bool:
    """Whether ``code`` is this participant's code; ignores case, spaces and dashes."""
    given = code.strip().replace("-", "").replace(" ", "").upper()
    return hmac.compare_digest(given, completion_code(survey, participant_id, secret))


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion; unlike the normal one it stays inside [0, 1]
    and behaves at shares near 0 or 1 and small n (NaN for n = 0)."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def item_result(item: SurveyItem, winners: Iterable[str]) -> ItemResult:
    """Share in favour of method a with a Wilson 95% interval, and an exact test of no preference.

    The share counts a tie as half a vote each way (as the ratings do). The two-sided exact
    binomial test of "no preference" (p = 1/2) leaves ties out: it needs whole votes, and a tie
    says nothing about which side is preferred. "Both bad" votes are counted but used by neither.
    """
    winners = list(winners)
    a, b, tie = (winners.count(w) for w in ("a", "b", "tie"))
    n = a + b + tie
    share = (a + tie / 2) / n if n else math.nan
    lower, upper = wilson_interval(a + tie / 2, n)
    p_value = float(binomtest(a, a + b).pvalue) if a + b else math.nan
    return ItemResult(
        item.id, *item.methods, a, b, tie, winners.count("both_bad"), share, lower, upper, p_value
    )


def survey_results(survey: Survey, votes: Iterable[Mapping[str, Any]]) -> SurveyResults:
    """Results of a survey from vote records (``item``, ``participant``, ``winner``).

    Which items are attention checks, and which side was broken, comes from the survey file; a
    record's own ``attention_check`` / ``broken`` fields, if any, must agree with it (else the
    votes belong to another version of the survey). An attention check is passed only by
    choosing the intact side: a tie or "both bad" there is a failure, since one side was plainly
    broken. A participant who failed any attention check has all their votes reported in
    ``failed_items``, not mixed in, not dropped. The Bradley-Terry leaderboard uses the regular
    votes of passing participants, by method name (items comparing one method with itself at two
    settings are left out of it); None if there are no such votes.
    """
    votes = list(votes)
    for number, vote in enumerate(votes):
        for name in ("item", "participant", "winner"):
            if name not in vote:
                raise SurveyError(f"vote {number}: missing field {name!r}")
        if vote["winner"] not in WINNERS:
            raise SurveyError(
                f"vote {number}: winner must be one of {list(WINNERS)}, got {vote['winner']!r}"
            )
        item = survey.item(vote["item"])
        for name in ("attention_check", "broken"):
            if name in vote and vote[name] != getattr(item, name):
                raise SurveyError(
                    f"vote {number}: {name} is {vote[name]!r} but the survey says "
                    f"{getattr(item, name)!r} for item {item.id!r}"
                )
    attention, failed = 0, 0
    failed_participants: set[str] = set()
    for vote in votes:
        item = survey.item(vote["item"])
        if item.attention_check:
            attention += 1
            if vote["winner"] != ("b" if item.broken == "a" else "a"):
                failed += 1
                failed_participants.add(vote["participant"])

    passing = [v for v in votes if v["participant"] not in failed_participants]
    failing = [v for v in votes if v["participant"] in failed_participants]

    def table(group: list[Mapping[str, Any]]) -> tuple[ItemResult, ...]:
        return tuple(
            item_result(item, (v["winner"] for v in group if v["item"] == item.id))
            for item in survey.items
        )

    pairs = [(survey.item(v["item"]), v["winner"]) for v in passing]
    kept = [
        {"method_a": item.methods[0], "method_b": item.methods[1], "winner": winner}
        for item, winner in pairs
        if not item.attention_check and item.methods[0] != item.methods[1]
    ]
    board = None
    if kept and any(record["winner"] != "both_bad" for record in kept):
        c = ratings.comparisons_from_records(kept)
        board = ratings.leaderboard(c.a, c.b, c.outcome, c.methods, both_bad=c.both_bad)
    return SurveyResults(
        table(passing),
        table(failing),
        tuple(sorted(failed_participants)),
        len({v["participant"] for v in votes}),
        attention,
        failed / attention if attention else math.nan,
        board,
    )


CSV_FIELDS = (
    "group",
    "item",
    "method_a",
    "method_b",
    "a_wins",
    "b_wins",
    "ties",
    "both_bad",
    "share_a",
    "lower",
    "upper",
    "p_value",
)


def results_csv(results: SurveyResults, path: str | Path) -> Path:
    """Write one row per item and group: "passed" (the headline) and "failed_attention"."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for group, rows in (("passed", results.items), ("failed_attention", results.failed_items)):
            for row in rows:
                writer.writerow((group, *(getattr(row, name) for name in CSV_FIELDS[1:])))
    return path
