"""Arena battles without a server: blind pairs, votes that reveal, forged ids refused, ratings."""

import collections
import hashlib
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image

from colorlab.arena import battles
from colorlab.arena.store import VoteRejected, VoteStore
from colorlab.color import srgb_to_lab
from colorlab.errors import InvalidParameterError

TASK = "stylize"  # the quickest task: a battle takes a fraction of a second
UNLIMITED = {"max_votes_per_minute": None, "max_battles_per_minute": None}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path) -> VoteStore:
    return VoteStore(tmp_path / "arena.sqlite3", **UNLIMITED, clock=Clock())


@pytest.fixture
def voter(store) -> dict:
    return {"session": "s1", "client_hash": store.client_hash("203.0.113.7")}


def _battle(store, voter, tmp_path, seed, task=TASK, **kwargs) -> battles.Battle:
    rng = np.random.default_rng(seed)
    return battles.new_battle(store, task, **voter, rng=rng, output_dir=tmp_path, **kwargs)


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def test_arena_methods_are_the_quick_available_ones():
    names = {task: [m.name for m in battles.arena_methods(task)] for task in battles.ARENA_TASKS}

    assert "neural" not in names["stylize"]  # minutes per run: takes progress and cancel
    assert {"reinhard", "mkl", "idt", "histogram"} <= set(names["stylize"])
    assert "chang" in names["recolor"]
    assert all(len(found) >= 2 for found in names.values())


def test_pair_weights_favour_pairs_with_fewer_votes():
    pairs, weights = battles.pair_weights(["c", "a", "b"], {("a", "b"): 9, ("a", "c"): 1})

    assert pairs == [("a", "b"), ("a", "c"), ("b", "c")]
    assert weights == pytest.approx(np.array([0.1, 0.5, 1.0]) / 1.6)


def test_battles_draw_under_voted_pairs_more_often(store, voter, monkeypatch, tmp_path):
    quick = [m for m in battles.arena_methods(TASK) if m.name in {"idt", "mkl", "reinhard"}]
    monkeypatch.setattr(battles, "arena_methods", lambda task: quick)
    monkeypatch.setattr(battles, "run_method", lambda task, method, params, image, style: image)
    monkeypatch.setattr(battles, "save_image", lambda image, path, **options: path)  # speed
    for _ in range(19):  # (mkl, reinhard) has 19 votes: weight 1/20 against 1 for the others
        battle_id = store.issue_battle(TASK, "0" * 64, "mkl", {}, "reinhard", {}, "a", **voter)
        store.record_vote(battle_id, "tie", **voter)

    drawn = collections.Counter()
    for seed in range(300):
        battle = _battle(store, voter, tmp_path, seed)
        drawn[frozenset(_reveal_only(store, battle))] += 1

    # Expected share of the much-voted pair: (1/20) / (1/20 + 2) = 2.4% (7 of 300); 48.8% each
    # for the other two (146 of 300). The bounds are more than 4 standard deviations out.
    assert drawn[frozenset({"mkl", "reinhard"})] <= 20
    assert drawn[frozenset({"idt", "mkl"})] > 110
    assert drawn[frozenset({"idt", "reinhard"})] > 110


def _reveal_only(store, battle) -> tuple[str, str]:
    """The battle's methods as the store keeps them (open or voted), read without voting."""
    query = (
        "SELECT method_a, method_b FROM open_battles WHERE battle_id = ?1 "
        "UNION ALL SELECT method_a, method_b FROM battles WHERE battle_id = ?1"
    )
    return store._conn().execute(query, (battle.battle_id,)).fetchone()


def test_sides_are_randomised_and_the_vote_reveals_them(store, voter, tmp_path):
    seen_left = collections.Counter()
    for seed in range(24):
        battle = _battle(store, voter, tmp_path, seed)
        method_a, method_b = _reveal_only(store, battle)
        revealed = battles.vote(store, battle.battle_id, "left", **voter, latency_ms=1500)

        assert {revealed.left, revealed.right} == {method_a, method_b}
        assert revealed.left != revealed.right
        stored = store.votes()[-1]
        left_method = stored.method_a if stored.left == "a" else stored.method_b
        assert revealed.left == left_method
        assert stored.winner == stored.left  # "left" was mapped to the method shown there
        seen_left[stored.left] += 1

    assert seen_left["a"] >= 4 and seen_left["b"] >= 4  # 24 fair coin flips


def test_a_battle_shows_two_different_outputs_of_its_input_and_no_names(store, voter, tmp_path):
    battle = _battle(store, voter, tmp_path, 3)

    left, right, given = _pixels(battle.left), _pixels(battle.right), _pixels(battle.input)
    assert left.shape == right.shape == given.shape
    assert max(given.shape[:2]) <= battles.MAX_SIDE
    assert np.abs(left - right).mean() > 0.005
    assert battle.style is not None
    method_names = {m.name for m in battles.arena_methods(TASK)}
    folder = tmp_path / hashlib.sha256(battle.battle_id.encode()).hexdigest()
    for path in (battle.left, battle.right, battle.input, battle.style):
        assert not any(name in path for name in method_names)
        assert battle.battle_id not in path and os.path.dirname(path) == str(folder)
    assert not any(name in battle.battle_id for name in method_names)


def test_an_upload_is_the_battles_input_and_its_hash_is_kept(store, voter, tmp_path, coffee):
    battle = _battle(store, voter, tmp_path, 5, image=coffee)
    battles.vote(store, battle.battle_id, "right", **voter)

    assert store.votes()[-1].input_hash == battles.input_hash(
        battles.shrunk(coffee), battles.example_image(battles.STYLE_EXAMPLE)
    )
    assert _pixels(battle.input).shape == (341, 512, 3)  # 400 x 600, shrunk to 512 wide


def test_an_uploaded_style_is_the_battles_style_and_its_hash_covers_it(
    store, voter, tmp_path, coffee, astronaut
):
    own = _battle(store, voter, tmp_path, 5, image=coffee, style=astronaut)
    example = _battle(store, voter, tmp_path, 5, image=coffee)
    for battle in (own, example):
        battles.vote(store, battle.battle_id, "tie", **voter)

    assert np.abs(_pixels(own.style) - astronaut).max() < 1 / 255 + 1e-6  # 512 px: not shrunk
    own_hash, example_hash = (vote.input_hash for vote in store.votes())
    assert own_hash == battles.input_hash(battles.shrunk(coffee), astronaut)
    assert own_hash != example_hash  # same content, another style: another input
    assert np.abs(_pixels(own.left) - _pixels(example.left)).mean() > 0.01  # the style acts


def test_only_stylize_battles_take_a_style(store, voter, tmp_path, astronaut):
    with pytest.raises(InvalidParameterError, match="only stylize battles take a style"):
        _battle(store, voter, tmp_path, 1, task="recolor", style=astronaut)
    assert store.count() == 0 and open_battles(store) == []


def test_recolor_battles_rotate_the_palette_hues(store, voter, tmp_path, coffee):
    battle = _battle(store, voter, tmp_path, 7, task="recolor", image=coffee)

    source = srgb_to_lab(_pixels(battle.input))
    for path in (battle.left, battle.right):
        result = srgb_to_lab(_pixels(path))
        hue_in = np.arctan2(source[..., 2], source[..., 1])
        hue_out = np.arctan2(result[..., 2], result[..., 1])
        chroma = np.hypot(source[..., 1], source[..., 2]) > 15
        turned = np.angle(np.exp(1j * (hue_out - hue_in)))[chroma]
        assert np.median(np.abs(turned)) > np.deg2rad(30)  # every colour moved, not kept


def test_forged_and_replayed_votes_are_rejected(store, voter, tmp_path):
    battle = _battle(store, voter, tmp_path, 11)

    with pytest.raises(VoteRejected, match="unknown battle"):
        battles.vote(store, "forged-" + battle.battle_id, "left", **voter)
    with pytest.raises(VoteRejected, match="another session"):
        battles.vote(store, battle.battle_id, "left", "s2", voter["client_hash"])
    with pytest.raises(InvalidParameterError, match="choice must be one of"):
        battles.vote(store, battle.battle_id, "a", **voter)  # sides only, never a method slot
    battles.vote(store, battle.battle_id, "tie", **voter)
    with pytest.raises(VoteRejected, match="already voted"):
        battles.vote(store, battle.battle_id, "right", **voter)
    assert store.count() == 1


def test_unknown_task_is_an_error_naming_the_tasks(store, voter):
    with pytest.raises(InvalidParameterError, match="colorize, stylize, recolor"):
        battles.new_battle(store, "paint", **voter)


def test_leaderboard_counts_votes_and_leaves_both_bad_out_of_the_fit(store, voter, tmp_path):
    choices = ["left"] * 6 + ["right"] * 4 + ["tie"] * 3 + ["both_bad"] * 2
    for seed, choice in enumerate(choices):
        battle = _battle(store, voter, tmp_path, 100 + seed)
        battles.vote(store, battle.battle_id, choice, **voter)

    board = battles.leaderboard(store, TASK, min_votes=1)

    assert board.both_bad == 2
    assert board.vote_counts.sum() == 2 * 13  # symmetric: each rated vote counted twice
    assert sum(row.votes for row in board.rows) == 2 * 13
    assert {row.method for row in board.rows} == {m.name for m in battles.arena_methods(TASK)}
    rated = [row for row in board.rows if row.votes]
    assert all(row.lower <= row.score <= row.upper for row in rated)
    assert all(row.rank is None for row in board.rows if not row.votes)


def test_leaderboard_without_votes_lists_the_methods_unranked(store):
    board = battles.leaderboard(store, "colorize")

    assert board.both_bad == 0 and board.vote_counts.sum() == 0
    assert [row.rank for row in board.rows] == [None] * len(board.rows)
    assert len(board.rows) == len(battles.arena_methods("colorize"))


# -- images on disk: named after the battle, deleted by the vote or the retention -----------------


@pytest.fixture
def quick(monkeypatch):
    """Battles without running methods (each output is the input): for tests of files only."""
    monkeypatch.setattr(battles, "run_method", lambda task, method, params, image, style: image)
    return np.full((32, 48, 3), 0.25, dtype=np.float32)


def battle_folders(folder) -> set[str]:
    return {path.name for path in folder.iterdir()}


def folder_of(battle) -> str:
    return os.path.basename(os.path.dirname(battle.left))


def open_battles(store) -> list[str]:
    with sqlite3.connect(store.path) as conn:
        return [row[0] for row in conn.execute("SELECT battle_id FROM open_battles")]


def test_a_vote_deletes_the_battles_images_and_keeps_its_record(store, voter, tmp_path):
    out = tmp_path / "out"
    battle = _battle(store, voter, out, 3)
    kept = _battle(store, voter, out, 4)
    assert battle_folders(out) == {folder_of(battle), folder_of(kept)}

    revealed = battles.vote(store, battle.battle_id, "left", **voter, output_dir=out)

    assert battle_folders(out) == {folder_of(kept)}
    (stored,) = store.votes()
    assert stored.battle_id == battle.battle_id and revealed.left in _reveal_only(store, battle)
    assert open_battles(store) == [kept.battle_id]


def test_expired_unvoted_battles_are_pruned_with_their_images_by_the_next(
    store, voter, tmp_path, quick
):
    out = tmp_path / "out"
    for seed in range(50):
        _battle(store, voter, out, seed, image=quick)
    assert len(battle_folders(out)) == 50 and len(open_battles(store)) == 50
    store.clock.now += timedelta(seconds=store.ttl_seconds + 61)

    latest = _battle(store, voter, out, 50, image=quick)

    assert battle_folders(out) == {folder_of(latest)}
    assert open_battles(store) == [latest.battle_id]
    assert sorted(os.listdir(out / folder_of(latest))) == [
        "input.png", "left.png", "right.png", "style.png"
    ]  # fmt: skip


def test_the_images_folder_is_bounded_in_bytes_oldest_first(
    store, voter, tmp_path, quick, monkeypatch
):
    out = tmp_path / "out"
    issued = []
    for seed in range(3):
        issued.append(_battle(store, voter, out, seed, image=quick))
        os.utime(out / folder_of(issued[-1]), ns=(seed, seed))  # strictly older to newer
    one = sum(f.stat().st_size for f in (out / folder_of(issued[0])).iterdir())
    monkeypatch.setenv("COLORLAB_ARENA_MAX_BYTES", str(int(2.5 * one)))

    issued.append(_battle(store, voter, out, 3, image=quick))

    assert battle_folders(out) == {folder_of(b) for b in issued[2:]}  # the two oldest went
    assert len(open_battles(store)) == 4  # nothing in the store is lost ...
    assert battles.vote(store, issued[0].battle_id, "tie", **voter, output_dir=out)  # ... or shut
    monkeypatch.setenv("COLORLAB_ARENA_MAX_BYTES", "lots")
    with pytest.raises(InvalidParameterError, match="COLORLAB_ARENA_MAX_BYTES"):
        _battle(store, voter, out, 4, image=quick)


def test_issuing_is_rate_limited_before_any_method_runs(tmp_path, monkeypatch, quick):
    store = VoteStore(tmp_path / "arena.sqlite3", max_battles_per_minute=1)
    voter = {"session": "s1", "client_hash": store.client_hash("203.0.113.7")}
    out = tmp_path / "out"
    _battle(store, voter, out, 0, image=quick)
    ran = []
    monkeypatch.setattr(battles, "run_method", lambda *args: ran.append(args))

    with pytest.raises(VoteRejected, match="too many battles from this session: at most 1"):
        _battle(store, voter, out, 1, image=quick)
    assert ran == [] and len(battle_folders(out)) == 1
