"""The arena through gradio_client against the launched app: /battle, /vote and /leaderboard."""

import collections

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

pytestmark = pytest.mark.server

TASK = "stylize"  # the quickest task: about a second per battle with five methods
CHOICES = ("left", "right", "tie", "both_bad")


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def _load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def test_thirty_voted_battles_show_up_in_the_leaderboard(client):
    before = client.predict(TASK, api_name="/leaderboard")
    given = collections.Counter()
    per_method = collections.Counter()

    for number in range(30):
        battle = client.predict(TASK, api_name="/battle")
        assert set(battle) == {"battle_id", "task", "left", "right", "input", "style"}
        if number == 0:  # the files arrive and are two different images of the input's size
            left, right = _load(battle["left"]), _load(battle["right"])
            assert left.shape == right.shape == _load(battle["input"]).shape
            assert np.abs(left - right).mean() > 0.005
        choice = CHOICES[number % 4]
        revealed = client.predict(battle["battle_id"], choice, api_name="/vote")
        assert revealed["battle_id"] == battle["battle_id"] and revealed["choice"] == choice
        assert revealed["left"] != revealed["right"]
        given[choice] += 1
        if choice != "both_bad":
            per_method.update([revealed["left"], revealed["right"]])

    after = client.predict(TASK, api_name="/leaderboard")
    assert after["total"] - before["total"] == 30
    assert after["both_bad"] - before["both_bad"] == given["both_bad"]
    votes_before = {row["method"]: row["votes"] for row in before["rows"]}
    for row in after["rows"]:
        assert row["votes"] - votes_before.get(row["method"], 0) == per_method[row["method"]]
        if row["votes"] >= after["min_votes"]:
            assert row["lower"] <= row["score"] <= row["upper"] and row["rank"] >= 1
            assert row["status"] == "rated"
        else:
            assert row["rank"] is row["score"] is None and row["status"] == "needs more votes"
    counts = np.array(after["vote_counts"])
    assert (counts == counts.T).all() and counts.sum() // 2 == after["total"] - after["both_bad"]
    assert len(after["methods"]) == len(after["win_rate"]) == len(counts)


def test_forged_and_repeated_votes_are_rejected_with_a_clear_message(client):
    battle = client.predict(TASK, api_name="/battle")

    with pytest.raises(AppError, match="unknown battle: this battle was never issued"):
        client.predict("not-a-battle-" + battle["battle_id"], "left", api_name="/vote")
    with pytest.raises(AppError, match="choice must be one of left, right, tie, both_bad"):
        client.predict(battle["battle_id"], "a", api_name="/vote")
    client.predict(battle["battle_id"], "right", api_name="/vote")
    with pytest.raises(AppError, match="battle already voted: each battle takes one vote"):
        client.predict(battle["battle_id"], "left", api_name="/vote")


def test_a_battle_belongs_to_the_client_that_asked_for_it(client, app_url):
    battle = client.predict(TASK, api_name="/battle")
    other = Client(app_url, verbose=False)  # another Gradio session

    with pytest.raises(AppError, match="another session"):
        other.predict(battle["battle_id"], "left", api_name="/vote")
    assert client.predict(battle["battle_id"], "left", api_name="/vote")["left"]


def test_an_unknown_task_is_rejected(client):
    with pytest.raises(AppError, match="task must be one of colorize, stylize, recolor"):
        client.predict("paint", api_name="/battle")
