"""The A/B arena tab in a real browser: a full blind battle, then the leaderboard.

The buttons stay locked until both outputs are shown; a vote reveals the two methods and locks
the buttons again; the vote is in the store and on the leaderboard.
"""

import re

import pytest

from colorlab.ui.arena_state import arena_store

pytestmark = pytest.mark.browser


def test_a_full_battle_reveals_the_methods_and_counts_on_the_leaderboard(open_page):
    page = open_page(tab="A/B arena")
    vote_left = page.locator("#arena-vote-left")
    assert vote_left.is_disabled(), "no battle yet: the vote buttons are locked"
    before = arena_store().count("stylize")

    page.click("#arena-new")
    page.wait_for_function(
        "() => document.querySelector('#arena-left img') && "
        "document.querySelector('#arena-right img')"
    )
    page.wait_for_function("() => !document.querySelector('#arena-vote-left').disabled")
    assert "revealed after your vote" in page.locator("#arena-reveal").inner_text()

    vote_left.click()
    page.wait_for_function(
        "() => document.querySelector('#arena-reveal').innerText.includes('Left was')"
    )
    reveal = page.locator("#arena-reveal").inner_text()
    vote = arena_store().votes("stylize")[-1]
    assert set(re.findall(r"was (\w+)", reveal)) == {vote.method_a, vote.method_b}
    assert arena_store().count("stylize") == before + 1
    page.wait_for_function("() => document.querySelector('#arena-vote-left').disabled")

    page.get_by_role("tab", name="Leaderboard").click()
    # Both voted methods are listed, with a score or as needing more votes.
    page.wait_for_function(
        "names => { const t = document.querySelector('#arena-table').innerText;"
        " return /needs more votes|–/.test(t) && names.every(n => t.includes(n)); }",
        arg=[vote.method_a, vote.method_b],
    )
