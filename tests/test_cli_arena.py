"""`python -m colorlab arena ratings` and `survey results`: reports on collected votes.

The vote store is filled through its own API (issued battles, recorded votes) with winners drawn
from known Bradley-Terry strengths, so the leaderboard the CLI prints must recover their order.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlab.arena.ratings import INTERVAL
from colorlab.arena.store import VoteStore
from colorlab.cli import main
from tests.test_cli import assert_user_error

REPO = Path(__file__).resolve().parents[1]
STRENGTHS = {"strong": 1.5, "middle": 0.5, "weak": -1.0}  # natural-log odds


@pytest.fixture(autouse=True)
def _no_hub_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORLAB_ARENA_DATASET", raising=False)


def fill_store(path: Path, votes: int = 240, seed: int = 1, task: str = "recolor") -> dict:
    """Battles between the STRENGTHS methods, voted by the Bradley-Terry model; returns counts."""
    rng = np.random.default_rng(seed)
    store = VoteStore(path, max_votes_per_minute=None, max_battles_per_minute=None)
    client = store.client_hash("198.51.100.4")
    names = list(STRENGTHS)
    counts = {"votes": 0, "both_bad": 0, "per_method": dict.fromkeys(names, 0)}
    for number in range(votes):
        a, b = rng.choice(names, 2, replace=False)
        battle = store.issue_battle(
            task, f"{number:064x}", a, {}, b, {}, "ab"[number % 2], session="s", client_hash=client
        )
        draw = rng.random()
        if draw < 0.05:
            winner = "both_bad"
        elif draw < 0.12:
            winner = "tie"
        else:
            p_a = 1 / (1 + math.exp(STRENGTHS[b] - STRENGTHS[a]))
            winner = "a" if rng.random() < p_a else "b"
        store.record_vote(battle, winner, session="s", client_hash=client)
        counts["votes"] += 1
        if winner == "both_bad":
            counts["both_bad"] += 1
        else:
            counts["per_method"][a] += 1
            counts["per_method"][b] += 1
    store.close()
    return counts


@pytest.fixture(scope="module")
def voted_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("arena") / "arena.sqlite3"
    return path, fill_store(path)


def test_arena_ratings_json_orders_methods_by_strength_and_counts_votes(voted_db) -> None:
    path, counts = voted_db
    result = subprocess.run(
        [sys.executable, "-m", "colorlab", "arena", "ratings", "--db", str(path), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["task"] == "recolor"
    assert report["votes"] == counts["votes"]
    assert report["both_bad"] == counts["both_bad"]
    assert [row["method"] for row in report["rows"]] == ["strong", "middle", "weak"]
    for row in report["rows"]:
        assert row["votes"] == counts["per_method"][row["method"]]
        assert row["lower"] <= row["score"] <= row["upper"] and row["status"] == "rated"
    assert [row["rank"] for row in report["rows"]] == [1, 2, 3]  # 240 votes separate them
    assert report["min_votes"] == 10 and "curvature" in report["interval"]
    methods = report["methods"]
    counts_matrix = np.array(report["vote_counts"])
    assert counts_matrix.sum() == 2 * (counts["votes"] - counts["both_bad"])
    strong, weak = methods.index("strong"), methods.index("weak")
    assert report["win_rate"][strong][weak] > 0.5 > report["win_rate"][weak][strong]
    assert report["win_rate"][strong][strong] is None  # no votes of a method against itself


def test_arena_ratings_text_is_a_table_with_a_header(voted_db, capsys) -> None:
    path, counts = voted_db
    assert main(["arena", "ratings", "--db", str(path), "--task", "recolor"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("| rank"))
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "rank",
        "method",
        "score",
        "95% interval",
        "votes",
    ]
    body = [line for line in lines if line.startswith("|")][2:]
    assert [line.split("|")[2].strip() for line in body] == ["strong", "middle", "weak"]
    assert f"{counts['votes']} votes ({counts['both_bad']} 'both bad'" in out
    assert INTERVAL in out and "scored from 10 votes" in out


def test_arena_ratings_below_min_votes_need_more_votes(tmp_path, capsys) -> None:
    path = tmp_path / "arena.sqlite3"
    counts = fill_store(path, votes=12)
    assert main(["arena", "ratings", "--db", str(path), "--min-votes", "100"]) == 0
    body = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")][2:]
    assert len(body) == 3
    for line in body:
        rank, method, score, interval, votes = (cell.strip() for cell in line.strip("|").split("|"))
        assert (rank, score, interval) == ("-", "needs more votes", "-")
        assert int(votes) == counts["per_method"][method]
    assert main(["arena", "ratings", "--db", str(path), "--min-votes", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert all(row["rank"] is not None and row["status"] == "rated" for row in rows)


def test_arena_ratings_min_votes_below_one_is_a_usage_error(voted_db, capsys) -> None:
    path, _ = voted_db
    assert main(["arena", "ratings", "--db", str(path), "--min-votes", "0"]) == 2
    assert_user_error(capsys.readouterr().err, "--min-votes must be at least 1")


def test_arena_ratings_missing_db_is_a_usage_error(tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere" / "arena.sqlite3"
    assert main(["arena", "ratings", "--db", str(missing)]) == 2
    assert_user_error(capsys.readouterr().err, "no vote store", str(missing))
    assert not missing.exists()  # reporting must not create a store


@pytest.mark.parametrize("content", [b"", b"this is not a database, just some text" * 100])
def test_arena_ratings_corrupt_db_is_a_usage_error(tmp_path, capsys, content) -> None:
    path = tmp_path / "arena.sqlite3"
    path.write_bytes(content)
    assert main(["arena", "ratings", "--db", str(path)]) == 2
    assert_user_error(capsys.readouterr().err, str(path))


def test_arena_ratings_unknown_task_is_a_usage_error(voted_db, capsys) -> None:
    path, _ = voted_db
    assert main(["arena", "ratings", "--db", str(path), "--task", "paint"]) == 2
    assert_user_error(capsys.readouterr().err, "unknown task 'paint'", "recolor")


def test_arena_ratings_task_without_votes_is_a_usage_error(voted_db, capsys) -> None:
    path, _ = voted_db
    assert main(["arena", "ratings", "--db", str(path), "--task", "stylize"]) == 2
    assert_user_error(capsys.readouterr().err, "no votes for task 'stylize'")


def test_arena_ratings_empty_store_is_a_usage_error(tmp_path, capsys) -> None:
    path = tmp_path / "arena.sqlite3"
    VoteStore(path).close()
    assert main(["arena", "ratings", "--db", str(path)]) == 2
    assert_user_error(capsys.readouterr().err, "no votes yet")


def test_arena_ratings_several_tasks_need_task(tmp_path, capsys) -> None:
    path = tmp_path / "arena.sqlite3"
    fill_store(path, votes=20, task="recolor")
    fill_store(path, votes=20, seed=2, task="stylize")
    assert main(["arena", "ratings", "--db", str(path)]) == 2
    assert_user_error(capsys.readouterr().err, "--task", "recolor, stylize")
    assert main(["arena", "ratings", "--db", str(path), "--task", "stylize", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["votes"] == 20


# --- survey results -----------------------------------------------------------------------------


@pytest.fixture
def tiny_survey(tmp_path: Path) -> Path:
    """Two regular items and one attention check (side b broken) over 8x8 PNGs."""
    images = tmp_path / "images"
    images.mkdir()
    for name, colour in (("lake", (40, 90, 160)), ("leaf", (60, 150, 40))):
        Image.new("RGB", (8, 8), colour).save(images / f"{name}.png")
    survey = {
        "title": "Which colouring is more realistic?",
        "instructions": "Pick the more realistic image.",
        "task": "colorize",
        "per_participant": 2,
        "items": [
            {"id": "lake", "image": "images/lake.png", "methods": ["classification", "regression"]},
            {"id": "leaf", "image": "images/leaf.png", "methods": ["classification", "regression"]},
            {
                "id": "check",
                "image": "images/lake.png",
                "methods": ["classification", "regression"],
                "attention_check": True,
                "broken": "b",
            },
        ],
    }
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(survey), encoding="utf-8")
    return path


def write_votes(path: Path) -> Path:
    """p1-p6 pass the check (and mostly prefer a on lake); p7 fails it by choosing the broken b."""
    votes = []
    for n in range(1, 7):
        participant = f"p{n}"
        votes.append({"item": "lake", "participant": participant, "winner": "a"})
        votes.append({"item": "leaf", "participant": participant, "winner": "ab"[n % 2]})
        votes.append({"item": "check", "participant": participant, "winner": "a"})
    votes += [
        {"item": "lake", "participant": "p7", "winner": "b"},
        {"item": "leaf", "participant": "p7", "winner": "tie"},
        {"item": "check", "participant": "p7", "winner": "b"},
    ]
    path.write_text("\n".join(json.dumps(v) for v in votes) + "\n", encoding="utf-8")
    return path


def test_survey_results_prints_items_and_writes_csv(tiny_survey, tmp_path, capsys) -> None:
    votes = write_votes(tmp_path / "votes.jsonl")
    out_csv = tmp_path / "results.csv"
    args = ["survey", "results", str(tiny_survey), "--votes", str(votes), "--csv", str(out_csv)]
    assert main(args) == 0
    out = capsys.readouterr().out
    lake = next(line for line in out.splitlines() if line.startswith("| lake"))
    cells = [cell.strip() for cell in lake.strip("|").split("|")]
    # 6 of 6 passing votes for a:
    assert cells[:4] == ["lake", "classification", "regression", "1.000"]
    assert cells[5] == "0.0312"  # two-sided binomial test, 6 of 6: 2 / 64
    assert cells[6] == "6 (6/0/0/0)"
    assert any(line.startswith("| leaf") for line in out.splitlines())
    assert "1 of 7 attention-check votes failed (14.3%)" in out
    assert "reported separately: p7" in out

    with out_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    passed = {row["item"]: row for row in rows if row["group"] == "passed"}
    failed = {row["item"]: row for row in rows if row["group"] == "failed_attention"}
    assert set(passed) == set(failed) == {"lake", "leaf"}
    assert passed["lake"]["a_wins"] == "6" and failed["lake"]["b_wins"] == "1"


def test_survey_results_json(tiny_survey, tmp_path, capsys) -> None:
    votes = write_votes(tmp_path / "votes.jsonl")
    args = ["survey", "results", str(tiny_survey), "--votes", str(votes), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["participants"] == 7
    assert report["failed_participants"] == ["p7"]
    assert report["attention_votes"] == 7
    assert report["attention_failure_rate"] == pytest.approx(1 / 7, abs=1e-6)
    lake = next(item for item in report["items"] if item["item"] == "lake")
    assert lake["share_a"] == 1.0 and lake["a_wins"] == 6
    assert 0 < lake["lower"] < 1 == lake["upper"]
    assert [row["method"] for row in report["ratings"]["rows"]] == ["classification", "regression"]


def test_survey_results_from_db_reads_the_survey_votes_in_the_store(
    tiny_survey, tmp_path, capsys
) -> None:
    from colorlab.arena.survey import load_survey
    from colorlab.arena.survey_runs import issue_survey_battle

    survey = load_survey(tiny_survey)
    store = VoteStore(tmp_path / "arena.sqlite3", max_votes_per_minute=None)
    me = store.client_hash("127.0.0.1")
    lines = write_votes(tmp_path / "votes.jsonl").read_text(encoding="utf-8").splitlines()
    for vote in map(json.loads, lines):
        item = survey.item(vote["item"])
        battle = issue_survey_battle(store, survey, item, "b", vote["participant"], me)
        store.record_vote(battle, vote["winner"], vote["participant"], me)
    store.close()
    args = ["survey", "results", str(tiny_survey), "--json"]
    assert main([*args, "--db", str(tmp_path / "arena.sqlite3")]) == 0
    from_db = json.loads(capsys.readouterr().out)
    assert main([*args, "--votes", str(tmp_path / "votes.jsonl")]) == 0
    assert from_db == json.loads(capsys.readouterr().out)
    assert from_db["failed_participants"] == ["p7"]
    # The survey's votes are a task of their own in the store, rated like any other.
    db = ["--db", str(tmp_path / "arena.sqlite3"), "--json", "--min-votes", "1"]
    assert main(["arena", "ratings", "--task", f"survey:{tiny_survey.stem}", *db]) == 0
    assert json.loads(capsys.readouterr().out)["votes"] == len(lines)


def test_survey_results_missing_db_is_a_usage_error(tiny_survey, tmp_path, capsys) -> None:
    missing = tmp_path / "nothing.sqlite3"
    assert main(["survey", "results", str(tiny_survey), "--db", str(missing)]) == 2
    assert "no vote store" in capsys.readouterr().err
    assert not missing.exists()


def test_survey_results_bad_vote_line_names_the_line(tiny_survey, tmp_path, capsys) -> None:
    votes = tmp_path / "votes.jsonl"
    votes.write_text('{"item": "lake", "participant": "p1", "winner": "a"}\n{oops\n')
    assert main(["survey", "results", str(tiny_survey), "--votes", str(votes)]) == 2
    assert_user_error(capsys.readouterr().err, "votes.jsonl line 2")


def test_survey_results_unknown_item_is_a_usage_error(tiny_survey, tmp_path, capsys) -> None:
    votes = tmp_path / "votes.jsonl"
    votes.write_text('{"item": "river", "participant": "p1", "winner": "a"}\n')
    assert main(["survey", "results", str(tiny_survey), "--votes", str(votes)]) == 2
    assert_user_error(capsys.readouterr().err, "river")
