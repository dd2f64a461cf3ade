"""Survey files load with clear errors, assignments are fair and stable, results are honest."""

import csv
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from colorlab.arena import survey as sv


def spec(n_items=6, per=3):
    items = [
        {"id": f"img{i}", "image": "images/photo.png", "methods": ["classification", "regression"]}
        for i in range(n_items)
    ]
    items.append(
        {
            "id": "check",
            "image": "images/photo.png",
            "methods": ["classification", "regression"],
            "attention_check": True,
            "broken": "b",
        }
    )
    return {
        "title": "Which colouring is more realistic?",
        "instructions": "Pick the more realistic image.",
        "task": "colorize",
        "per_participant": per,
        "items": items,
    }


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (4, 4), (120, 80, 40)).save(tmp_path / "images" / "photo.png")
    return tmp_path


def write(folder, data, name="survey.json"):
    path = folder / name
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def survey(folder):
    return sv.load_survey(write(folder, spec()))


def test_json_survey_loads(survey, folder):
    assert survey.title == "Which colouring is more realistic?"
    assert survey.task == "colorize" and survey.per_participant == 3
    assert len(survey.items) == 6 and [c.id for c in survey.attention_checks] == ["check"]
    assert survey.items[0].image == (folder / "images" / "photo.png").resolve()
    assert survey.items[0].methods == ("classification", "regression")
    assert survey.attention_checks[0].broken == "b"


def test_yaml_survey_loads_the_same(folder, survey):
    yaml = pytest.importorskip("yaml")
    path = folder / "survey.yaml"
    path.write_text(yaml.safe_dump(spec()))
    loaded = sv.load_survey(path)
    assert loaded.items == survey.items and loaded.attention_checks == survey.attention_checks


def test_params_are_kept_per_method(folder):
    data = spec()
    data["items"][0]["params"] = [{"temperature": 0.5}, {}]
    survey = sv.load_survey(write(folder, data))
    assert survey.items[0].params == ({"temperature": 0.5}, {})


def broken(change):
    data = spec()
    change(data)
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        (broken(lambda d: d.pop("title")), "missing field 'title'"),
        (broken(lambda d: d.update(title=" ")), "'title' must be a non-empty string"),
        (broken(lambda d: d.update(task="paint")), "unknown task 'paint'"),
        (broken(lambda d: d.update(items=[])), "'items' must be a non-empty list"),
        (broken(lambda d: d.update(per_participant=7)), "only 6 regular items"),
        (broken(lambda d: d.update(per_participant=0)), "'per_participant' must be a positive"),
        (broken(lambda d: d.update(colour="red")), "unknown fields \\['colour'\\]"),
        (broken(lambda d: d["items"][0].update(image="images/nope.png")), r"items\[0\].*nope.png"),
        (broken(lambda d: d["items"][1].pop("methods")), r"items\[1\]: missing field 'methods'"),
        (broken(lambda d: d["items"][0].update(methods=["x"])), r"methods must be a list of two"),
        (broken(lambda d: d["items"][0].update(methods=["x", "x"])), "both sides are 'x'"),
        (
            broken(lambda d: d["items"][0].update(methods=["classification", "foo"])),
            r"^survey.json: items\[0\] \('img0'\)\.methods\[1\]: unknown colorize method 'foo'; "
            r"methods are \['classification', ",
        ),
        (
            broken(lambda d: d["items"][2].update(methods=["reinhard", "regression"])),
            r"items\[2\] \('img2'\)\.methods\[0\]: unknown colorize method 'reinhard'",
        ),  # a method of another task
        (
            broken(lambda d: d["items"][1].update(params=[{}, {"temperature": 0.5}])),
            r"items\[1\] \('img1'\)\.params\[1\]: method 'regression' has no parameter "
            "'temperature'",
        ),
        (
            broken(lambda d: d["items"][-1].update(params=[{"temperature": 7}, {}])),
            r"items\[6\] \('check'\)\.params\[0\]: parameter 'temperature' must be in",
        ),
        (broken(lambda d: d["items"][0].update(params={"a": 1})), r"params must be a list"),
        (broken(lambda d: d["items"][1].update(id="img0")), r"repeated: \['img0'\]"),
        (broken(lambda d: d["items"][-1].update(broken="left")), r"broken must be 'a' or 'b'"),
        (broken(lambda d: d["items"][0].update(broken="a")), "only allowed with attention_check"),
    ],
)
def test_invalid_surveys_are_rejected_naming_the_field(folder, data, message):
    with pytest.raises(sv.SurveyError, match=message):
        sv.load_survey(write(folder, data))


def test_unreadable_files_are_rejected(folder):
    (folder / "latin1.json").write_bytes('{"title": "Caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(sv.SurveyError, match="latin1.json: not UTF-8 text"):
        sv.load_survey(folder / "latin1.json")
    with pytest.raises(sv.SurveyError, match="does not exist"):
        sv.load_survey(folder / "missing.json")
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(sv.SurveyError, match="not valid JSON"):
        sv.load_survey(folder / "bad.json")
    (folder / "survey.txt").write_text("{}")
    with pytest.raises(sv.SurveyError, match=".json, .yaml or .yml"):
        sv.load_survey(folder / "survey.txt")


def test_assignment_is_deterministic_sized_and_includes_checks(survey):
    first = sv.assign_items(survey, "p1", seed=3)
    assert first == sv.assign_items(survey, "p1", seed=3)
    assert len(first) == survey.per_participant + 1
    ids = [a.item.id for a in first]
    assert "check" in ids and len(set(ids)) == len(ids)
    others = [[a.item.id for a in sv.assign_items(survey, f"p{i}")] for i in range(30)]
    assert len({tuple(o) for o in others}) > 20  # participants see different subsets and orders


def test_sides_and_items_are_balanced_over_participants(survey):
    lefts, counts = [], {}
    for i in range(2000):
        for a in sv.assign_items(survey, f"participant-{i}"):
            lefts.append(a.left == "a")
            assert a.right == ("b" if a.left == "a" else "a")
            counts[a.item.id] = counts.get(a.item.id, 0) + 1
    assert abs(np.mean(lefts) - 0.5) < 0.02
    assert counts["check"] == 2000
    regular = [counts[f"img{i}"] for i in range(6)]
    assert max(regular) - min(regular) < 0.1 * 1000  # each about 2000 * 3 / 6 = 1000


def test_completion_code_is_verifiable_and_participant_specific(survey):
    code = sv.completion_code(survey, "p1", "secret")
    assert len(code) == sv.CODE_LENGTH and code.isalnum()
    assert sv.verify_completion_code(survey, "p1", f" {code.lower()[:5]}-{code[5:]} ", "secret")
    assert not sv.verify_completion_code(survey, "p2", code, "secret")
    assert not sv.verify_completion_code(survey, "p1", code, "other secret")
    assert sv.completion_code(survey, "p2", "secret") != code


def test_completion_codes_are_tied_to_the_survey_not_its_title(folder, survey):
    data = spec()
    data["items"][0]["id"] = "another-item"  # the same title, other items
    other = sv.load_survey(write(folder, data, "other.json"))
    assert other.title == survey.title and other.content_hash != survey.content_hash
    assert other.content_hash == hashlib.sha256((folder / "other.json").read_bytes()).hexdigest()

    code = sv.completion_code(survey, "p1", "secret")
    assert sv.completion_code(other, "p1", "secret") != code
    assert not sv.verify_completion_code(other, "p1", code, "secret")
    assert sv.verify_completion_code(survey, "p1", f"{code[:4]} - {code[4:].lower()}", "secret")
    assert sv.completion_code(sv.load_survey(survey.path), "p1", b"secret") == code  # stable


def test_wilson_interval_matches_known_value():
    lower, upper = sv.wilson_interval(80, 100)
    assert lower == pytest.approx(0.711, abs=5e-4) and upper == pytest.approx(0.867, abs=5e-4)
    assert sv.wilson_interval(0, 10)[0] == 0.0 and sv.wilson_interval(10, 10)[1] == pytest.approx(
        1.0
    )


def test_item_share_interval_and_binomial_test(survey):
    result = sv.item_result(survey.items[0], ["a"] * 60 + ["b"] * 40 + ["tie"] * 4 + ["both_bad"])
    assert (result.a_wins, result.b_wins, result.ties, result.both_bad) == (60, 40, 4, 1)
    assert result.share_a == pytest.approx(62 / 104)
    assert result.p_value == pytest.approx(0.0569, abs=5e-4)  # ties left out: 60 of 100
    assert result.lower < result.share_a < result.upper
    empty = sv.item_result(survey.items[0], [])
    assert np.isnan([empty.share_a, empty.lower, empty.p_value]).all()


def votes_for(participant, winners, check_winner):
    votes = [
        {"item": f"img{i}", "participant": participant, "winner": w} for i, w in enumerate(winners)
    ]
    votes.append(
        {
            "item": "check",
            "participant": participant,
            "winner": check_winner,
            "attention_check": True,
            "broken": "b",
        }
    )
    return votes


def test_failing_participants_are_reported_separately(survey):
    votes = []
    for p in range(10):
        votes += votes_for(f"good{p}", ["a", "a", "b", "tie", "a", "a"], "a")
    votes += votes_for("bad1", ["b"] * 6, "b")  # chose the broken side
    votes += votes_for("bad2", ["b"] * 6, "tie")  # a tie on a check is a failure too
    results = sv.survey_results(survey, votes)
    assert results.failed_participants == ("bad1", "bad2")
    assert results.participants == 12 and results.attention_votes == 12
    assert results.attention_failure_rate == pytest.approx(2 / 12)
    assert [r.a_wins for r in results.items] == [10, 10, 0, 0, 10, 10]
    assert [r.b_wins for r in results.failed_items] == [2] * 6
    assert [r.item for r in results.items] == [f"img{i}" for i in range(6)]
    board = results.leaderboard
    assert board.rows[0].method == "classification" and sum(r.votes for r in board.rows) == 2 * 60


def test_votes_disagreeing_with_the_survey_are_rejected(survey):
    vote = {"item": "check", "participant": "p", "winner": "a", "broken": "a"}
    with pytest.raises(sv.SurveyError, match="broken"):
        sv.survey_results(survey, [vote])
    with pytest.raises(sv.SurveyError, match="winner"):
        sv.survey_results(survey, [{"item": "img0", "participant": "p", "winner": "left"}])
    with pytest.raises(sv.SurveyError, match="no item 'nope'"):
        sv.survey_results(survey, [{"item": "nope", "participant": "p", "winner": "a"}])


def test_results_csv_round_trip(survey, tmp_path):
    votes = votes_for("good", ["a", "b", "tie", "a", "a", "both_bad"], "a")
    votes += votes_for("bad", ["b"] * 6, "b")
    results = sv.survey_results(survey, votes)
    path = sv.results_csv(results, tmp_path / "results.csv")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    assert [r["group"] for r in rows] == ["passed"] * 6 + ["failed_attention"] * 6
    for row, expected in zip(rows, results.items + results.failed_items, strict=True):
        assert row["item"] == expected.item and row["method_b"] == expected.method_b
        assert int(row["a_wins"]) == expected.a_wins and int(row["ties"]) == expected.ties
        assert float(row["share_a"]) == pytest.approx(expected.share_a, nan_ok=True)
        assert float(row["p_value"]) == pytest.approx(expected.p_value, nan_ok=True)
