"""The arena's Leaderboard sub-tab in a real browser: few votes are not dressed up as ratings.

The app runs in its own process with a fresh vote store and ``COLORLAB_ARENA_MIN_VOTES=3``, so
these tests see exactly the votes they cast: one vote through the API (nothing is rated yet),
then enough votes written to the store for every method to be rated.
"""

import base64
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from colorlab.arena import battles
from colorlab.arena.store import DB_NAME, VoteStore

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
TASK = "stylize"
MIN_VOTES = 3
SERVE = (
    "import sys; from colorlab.ui import build_app, launch_options; "
    "build_app().launch(server_name='127.0.0.1', server_port=int(sys.argv[1]), quiet=True, "
    "**launch_options())"
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app on a free port, in a process of its own; yields (url, vote store path)."""
    data = tmp_path_factory.mktemp("leaderboard-data")
    env = {
        **os.environ,
        "COLORLAB_DATA_DIR": str(data),
        "COLORLAB_ARENA_MIN_VOTES": str(MIN_VOTES),
        "COLORLAB_ARENA_MAX_VOTES_PER_MINUTE": "0",
        "COLORLAB_ARENA_MAX_BATTLES_PER_MINUTE": "0",
    }
    env.pop("COLORLAB_ARENA_DATASET", None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start on {url}") from None
                time.sleep(1)
        yield url, data / DB_NAME
    finally:
        server.terminate()
        server.wait(timeout=30)


def leaderboard_page(open_page, url, phone=False):
    page = open_page(url=url, phone=phone)
    page.wait_for_function("() => document.querySelector('[role=tab]')")
    page.get_by_role("tab", name="A/B arena").click()
    page.get_by_role("tab", name="Leaderboard").click()
    page.wait_for_function("() => document.querySelector('#arena-table [role=gridcell]')")
    return page


def table_rows(page) -> list[list[str]]:
    """The table's cells as shown (Gradio draws the rows as a virtual grid of divs)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('#arena-table .virtual-row')].map(row =>"
        " [...row.querySelectorAll('[role=gridcell]')].map(cell => cell.innerText.trim()))"
    )


def rate_every_method(path: Path) -> None:
    """Four votes per pair of the task's methods, all won by the alphabetically earlier."""
    names = sorted(m.name for m in battles.arena_methods(TASK))
    store = VoteStore(path, max_votes_per_minute=None, max_battles_per_minute=None)
    client = store.client_hash("198.51.100.7")
    number = 0
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for _ in range(4):
                number += 1
                left = "ab"[number % 2]
                battle = store.issue_battle(
                    TASK, f"{number:064x}", a, {}, b, {}, left, session="seed", client_hash=client
                )
                store.record_vote(battle, "a", session="seed", client_hash=client)
    store.close()


def test_one_vote_shows_needs_more_votes_and_no_rank(open_page, app):
    url, _ = app
    client = Client(url, verbose=False)
    battle = client.predict(TASK, api_name="/battle")
    revealed = client.predict(battle["battle_id"], "left", api_name="/vote")

    page = leaderboard_page(open_page, url)
    page.wait_for_function(
        "() => document.querySelector('#arena-table').innerText.includes('needs more votes (1)')"
    )
    rows = {row[1]: row for row in table_rows(page)}
    for method in (revealed["left"], revealed["right"]):
        assert rows[method][0] == "" and rows[method][2:] == ["needs more votes (1)", "", "1"]
    assert all(row[0] == "" for row in rows.values()), "one vote ranks nobody"
    assert "1000" not in page.locator("#arena-table").inner_text()
    note = page.locator("#arena-note").inner_text()
    assert f"scored from {MIN_VOTES} votes" in note and "curvature" in note
    assert page.locator("#arena-plot img").count() == 0  # nothing rated: no chart yet


def test_rated_methods_get_ranks_intervals_and_real_charts(open_page, app):
    url, path = app
    rate_every_method(path)
    page = leaderboard_page(open_page, url)
    page.wait_for_function("() => document.querySelector('#arena-plot img')")
    rows = table_rows(page)
    assert rows[0][0] == "1" and "–" in rows[0][3]
    assert all(row[2].isdigit() for row in rows), rows
    assert len({row[0] for row in rows}) > 1, "16 votes each, a clear order: not all rank 1"

    for chart in ("#arena-plot", "#arena-heatmap"):
        src = page.locator(f"{chart} img").get_attribute("src")
        assert src.startswith("data:image/")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L")
        pixels = np.asarray(image)
        assert min(image.size) > 300  # a figure, not an icon
        assert (pixels < 80).mean() > 0.005 and (pixels > 240).mean() > 0.3  # ink on paper


def test_phone_width_keeps_interval_and_votes_columns_in_view(open_page, app):
    url, _ = app
    page = leaderboard_page(open_page, url, phone=True)
    page.locator("#arena-table").scroll_into_view_if_needed()
    headers = page.locator("#arena-table [role=columnheader]")
    texts = [text.strip() for text in headers.all_inner_texts()]
    for name in ("95% CI", "votes"):
        header = headers.nth(next(i for i, t in enumerate(texts) if t.startswith(name)))
        box = header.bounding_box()
        assert header.is_visible() and box["width"] > 20
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
