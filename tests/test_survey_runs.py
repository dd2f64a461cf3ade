"""Survey votes kept as battles in the vote store (colorlab.arena.survey_runs) and read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlab.arena import battles
from colorlab.arena.store import VoteStore
from colorlab.arena.survey import SurveyError, assign_items, load_survey, survey_results
from colorlab.arena.survey_runs import (
    check_participant_id,
    find_survey,
    issue_item,
    issue_survey_battle,
    stored_methods,
    survey_task,
    survey_votes,
    voted_items,
)


def write_survey(folder: Path, name: str = "mini") -> Path:
    """A stylize survey: two regular items and an attention check with side b broken."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for stem in ("one", "two"):
        pixels = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"{stem}.png")
    survey = {
        "title": f"Survey {name}",
        "instructions": "Pick the better one.",
        "task": "stylize",
        "per_participant": 2,
        "items": [
            {"id": "one", "image": "images/one.png", "methods": ["reinhard", "mkl"]},
            {"id": "two", "image": "images/two.png", "methods": ["mkl", "reinhard"]},
            {
                "id": "check",
                "image": "images/one.png",
                "methods": ["reinhard", "mkl"],
                "attention_check": True,
                "broken": "b",
            },
        ],
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(survey), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path) -> VoteStore:
    return VoteStore(
        tmp_path / "db" / "arena.sqlite3", max_votes_per_minute=None, max_battles_per_minute=None
    )


def test_votes_stored_by_the_convention_come_back_as_survey_results_input(tmp_path, store):
    survey = load_survey(write_survey(tmp_path))
    me = store.client_hash("127.0.0.1")
    expected = []
    for participant, pick in (("p1", "left"), ("p2", "right")):
        for shown in assign_items(survey, participant):
            battle = issue_item(
                store, survey, shown.item, shown.left, participant, me, tmp_path / "out"
            )
            assert Path(battle.left).is_file() and Path(battle.right).is_file()
            choice = pick
            if shown.item.attention_check and participant == "p1":
                choice = "left" if shown.left == "a" else "right"  # the intact side: a
            store.record_vote(battle.battle_id, choice, participant, me)
            side = shown.left if choice == "left" else shown.right
            expected.append({"item": shown.item.id, "participant": participant, "winner": side})
    records = survey_votes(store, survey)
    assert sorted(records, key=str) == sorted(expected, key=str)
    assert all(v.task == survey_task(survey) == "survey:mini" for v in store.votes())
    assert store.votes("stylize") == []  # survey votes stay out of the arena's own tasks
    assert voted_items(store, survey, "p1") == {s.item.id for s in assign_items(survey, "p1")}

    results = survey_results(survey, records)
    assert results.participants == 2 and results.attention_votes == 2
    p2_check = next(r for r in expected if r["participant"] == "p2" and r["item"] == "check")
    failed = ("p2",) if p2_check["winner"] != "a" else ()
    assert results.failed_participants == failed


def test_the_broken_side_of_an_attention_check_is_flat_grey(tmp_path, store):
    survey = load_survey(write_survey(tmp_path))
    check = survey.item("check")
    me = store.client_hash("127.0.0.1")
    for left in ("a", "b"):
        battle = issue_item(store, survey, check, left, "p1", me, tmp_path / "out")
        broken = battle.left if left == "b" else battle.right
        intact = battle.right if left == "b" else battle.left
        broken_pixels = np.asarray(Image.open(broken).convert("RGB"))
        assert broken_pixels.min() == broken_pixels.max()  # one flat grey
        assert np.asarray(Image.open(intact).convert("RGB")).std() > 1
        assert broken_pixels.shape == np.asarray(Image.open(intact).convert("RGB")).shape


def test_one_vote_per_item_and_participant_is_read(tmp_path, store):
    survey = load_survey(write_survey(tmp_path))
    me = store.client_hash("127.0.0.1")
    for winner in ("a", "b"):
        battle = issue_survey_battle(store, survey, survey.item("one"), "a", "p1", me)
        store.record_vote(battle, winner, "p1", me)
    assert survey_votes(store, survey) == [{"item": "one", "participant": "p1", "winner": "a"}]


def test_one_method_at_two_settings_is_stored_under_two_names(tmp_path):
    path = write_survey(tmp_path)
    data = json.loads(path.read_text())
    data["items"][0] = {
        "id": "one",
        "image": "images/one.png",
        "methods": ["reinhard", "reinhard"],
        "params": [{}, {"strength": 0.5}],
    }
    path.write_text(json.dumps(data))
    survey = load_survey(path)
    assert stored_methods(survey.item("one")) == ("reinhard [a]", "reinhard [b]")
    assert stored_methods(survey.item("two")) == ("mkl", "reinhard")


def test_find_survey_reads_the_survey_folder(tmp_path, monkeypatch):
    write_survey(tmp_path, "study")
    monkeypatch.setenv("COLORLAB_SURVEY_DIR", str(tmp_path))
    assert find_survey("study").title == "Survey study"
    for bad in ("nothing", "../study", ""):
        with pytest.raises(SurveyError):
            find_survey(bad)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 5000, "^not a survey name: a text of 5000 characters; a name is at most 64 "),
        ("study\n", r"^not a survey name: 'study\\n'; use letters, digits"),
        ("../study", "^not a survey name: '../study'; use letters"),
        ("", "^not a survey name: ''; use letters"),
        (None, "^not a survey name: a NoneType, not text"),
        ("nothing", "^no survey 'nothing' in "),
    ],
)
def test_a_bad_survey_name_gets_a_short_specific_error(tmp_path, monkeypatch, name, message):
    write_survey(tmp_path, "study")
    monkeypatch.setenv("COLORLAB_SURVEY_DIR", str(tmp_path))
    with pytest.raises(SurveyError, match=message) as error:
        find_survey(name)
    assert 0 < len(str(error.value)) < 200


def test_participant_ids_are_letters_digits_dashes_and_underscores():
    for good in ("alice-01", "P_7", "x" * 64):
        assert check_participant_id(good) == good
    for bad in ("", "alice 01", "bob@example.org", "é", "x" * 65, "a\n", 7):
        with pytest.raises(SurveyError, match="an id is 1 to 64 letters .* digits, '-' or '_'"):
            check_participant_id(bad)
    with pytest.raises(SurveyError, match="a text of 5000 characters") as error:
        check_participant_id("x" * 5000)
    assert len(str(error.value)) < 200


def test_a_survey_battles_images_are_named_after_it_and_deleted_by_the_vote(tmp_path, store):
    survey = load_survey(write_survey(tmp_path))
    me = store.client_hash("127.0.0.1")
    out = tmp_path / "out"
    shown = issue_item(store, survey, survey.item("one"), "b", "p1", me, out)
    folder = battles.battle_folder(shown.battle_id, out)
    assert {Path(shown.left), Path(shown.right), Path(shown.input)} == set(folder.iterdir())
    assert not any(shown.battle_id in path for path in (shown.left, shown.right, shown.input))

    battles.vote(store, shown.battle_id, "left", "p1", me, output_dir=out)

    assert not folder.exists()
    assert survey_votes(store, survey) == [{"item": "one", "participant": "p1", "winner": "b"}]
