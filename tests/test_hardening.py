"""The app under attack: an independent probe's findings, replayed over raw HTTP.

The app runs as its own process (``python app.py``) on a loopback port with its own temporary,
upload and data folders; every request goes to 127.0.0.1, and every loop is bounded in count and
time. The limits are set low here (4 MP images, 3 votes a minute per session, 8 per address, a
battle lives 8 s) so each probe is quick; the defaults are in colorlab/ui/server.py and work.py.
"""

import concurrent.futures
import os
import stat
import time
import types
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from benchmarks.gradio_http import AppProcess, GradioHTTP
from colorlab.arena.store import VoteStore

pytestmark = pytest.mark.server

MAX_PIXELS = 4_000_000
SECRET = "hardening-test-secret-0123456789abcdef"
NOT_UPLOADED = "must be a file uploaded to it"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hardening")
    names = ("tmp", "gradio", "data", "surveys", "outside")
    made = {name: root / name for name in names}
    for folder in made.values():
        folder.mkdir()
    return made


@pytest.fixture(scope="module")
def app(folders):
    env = {
        "TMPDIR": str(folders["tmp"]),
        "GRADIO_TEMP_DIR": str(folders["gradio"]),
        "COLORLAB_DATA_DIR": str(folders["data"]),
        "COLORLAB_SURVEY_DIR": str(folders["surveys"]),
        "COLORLAB_APP_MAX_PIXELS": str(MAX_PIXELS),
        "COLORLAB_ARENA_SECRET": SECRET,
        "COLORLAB_ARENA_MAX_VOTES_PER_MINUTE": "3",
        "COLORLAB_ARENA_MAX_CLIENT_VOTES_PER_MINUTE": "8",
        "COLORLAB_ARENA_TTL_SECONDS": "8",
        "COLORLAB_MAX_UPLOAD_MB": "16",
    }
    env.pop("COLORLAB_TRUSTED_PROXIES", None)
    with AppProcess(env) as process:
        yield process


@pytest.fixture
def client(app):
    http = GradioHTTP(app.url, session_hash=uuid.uuid4().hex)
    yield http
    http.close()


def _png(folder: Path, name: str, pixels: np.ndarray) -> Path:
    path = folder / name
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def photo(folders) -> Path:
    return _png(folders["outside"], "coffee.png", data.coffee())


@pytest.fixture(scope="module")
def server_secret_image(folders) -> Path:
    """An image on the server that no client uploaded (outside Gradio's upload folder)."""
    return _png(folders["outside"], "private.png", data.chelsea())


# -- 1. no server file can be read ------------------------------------------------------------


def test_a_file_object_without_gradios_meta_tag_cannot_read_a_server_image(
    client, photo, server_secret_image
):
    style = client.upload(photo)

    outcome, message = client.call(
        "stylize", [{"path": str(server_secret_image)}, {"path": style}, "reinhard", 0.0, False]
    )

    assert outcome == "error"
    assert NOT_UPLOADED in message


def test_the_arena_refuses_a_server_path_as_its_input(client, server_secret_image):
    outcome, outputs = client.call(
        "arena_new", ["stylize", {"path": str(server_secret_image)}, None]
    )

    # The tab's events warn in the page (a toast) and change nothing: no image comes back.
    assert outcome == "complete"
    assert all(output in (None, {"__type__": "update"}) for output in outputs)


def test_refusals_do_not_tell_what_exists_on_the_server(client, folders, server_secret_image):
    (folders["outside"] / "notes.txt").write_text("not an image")
    paths = [
        str(server_secret_image),
        str(folders["outside"]),
        str(folders["outside"] / "notes.txt"),
        str(folders["outside"] / "missing.png"),
        "/etc/passwd",
        "../../../../etc/passwd",
        "http://127.0.0.1:9/x.png",
    ]

    messages = {client.call("palette", [{"path": path}, 4]) for path in paths}

    assert len(messages) == 1
    outcome, message = messages.pop()
    assert outcome == "error" and NOT_UPLOADED in message


def test_a_symlink_in_the_upload_folder_leading_out_is_refused(client, folders, photo):
    uploaded = Path(client.upload(photo))
    link = uploaded.parent / "link.png"
    link.symlink_to(folders["outside"] / "private.png")

    outcome, message = client.call("palette", [{"path": str(link)}, 4])

    assert outcome == "error" and NOT_UPLOADED in message


def test_a_fifo_is_refused_at_once_and_blocks_nobody(client, folders, photo):
    inside = folders["gradio"] / "fifo"
    inside.mkdir()
    fifo = inside / "queue.png"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)

    outcome, message = client.call("palette", [{"path": str(fifo)}, 4])
    assert outcome == "error" and NOT_UPLOADED in message
    # The endpoint still serves the next caller.
    assert client.call("palette", [{"path": client.upload(photo)}, 4])[0] == "complete"


def test_the_upload_limit_refuses_a_larger_file(client, folders):
    big = folders["outside"] / "big.bin"
    big.write_bytes(os.urandom(17 * 2**20))  # over the 16 MB set for this app

    response = client.http.post(
        "/gradio_api/upload", files={"files": ("big.png", big.read_bytes())}
    )

    assert response.status_code in (400, 413)
    assert "size" in response.text.lower()


# -- 2. text inputs are capped and parsed in linear time --------------------------------------


@pytest.mark.parametrize(
    ("api", "arguments", "expected"),
    [
        ("recolor", ["#203040, " * 90_000, "chang", None], "at most 2,000"),
        ("colorize", ["classification", None, "[" * 200_000], "characters"),
        ("colorize", ["classification", None, "[" * 20_000], "nested too deeply"),
        ("colorize", ["x" * 100_000, None, None], "at most 64 are taken"),
    ],
)
def test_huge_texts_are_refused_quickly_with_a_specific_message(
    client, photo, api, arguments, expected
):
    image = {"path": client.upload(photo)}
    started = time.monotonic()

    outcome, message = client.call(api, [image, *arguments])

    assert outcome == "error" and expected in message
    assert len(message) < 400, "the message does not echo the text back"
    assert time.monotonic() - started < 10


def test_hint_points_are_capped_in_number_and_radius(client, photo):
    image = {"path": client.upload(photo)}
    many = "[" + ",".join(['{"x": 1, "y": 1, "color": "#3060c0"}'] * 501) + "]"
    wide = '[{"x": 10, "y": 10, "color": "#3060c0", "radius": 1000}]'

    assert client.call("colorize", [image, "classification", None, many]) == (
        "error",
        "501 hint points given; at most 500 are taken",
    )
    outcome, message = client.call("colorize", [image, "classification", None, wide])
    assert outcome == "error" and "radius must be a whole number of pixels from 0 to 64" in message


# -- 3. small uploads cannot cost huge memory -------------------------------------------------


def test_a_tiny_png_of_a_huge_image_is_refused_before_decoding(app, client, folders):
    bomb = folders["outside"] / "zeros.png"
    Image.new("L", (7000, 7000)).save(bomb, optimize=True)
    assert bomb.stat().st_size < 300_000
    path = client.upload(bomb)
    app.reset_peak()
    idle = app.rss()

    outcome, message = client.call("colorize", [{"path": path}, "classification", None, None])

    assert outcome == "error"
    assert "'zeros.png' has 49,000,000 pixels, more than the 4,000,000 this app takes" in message
    assert str(folders["gradio"]) not in message, "errors name the upload, not the server path"
    assert app.peak_rss() - idle < 150 * 2**20


def test_a_maximal_request_stays_under_its_memory_ceiling_and_memory_comes_back(
    app, client, folders
):
    from colorlab.ui.work import BYTES_PER_PIXEL

    small = client.upload(_png(folders["outside"], "small.png", data.astronaut()[:64, :64]))
    for api, arguments in _every_endpoint(small, small):
        assert client.call(api, arguments)[0] == "complete"  # models loaded
    side = int(MAX_PIXELS**0.5)
    big_photo = Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.BILINEAR)
    big_photo.save(folders["outside"] / "maximal.png")
    big = client.upload(folders["outside"] / "maximal.png")
    time.sleep(1)
    idle = app.rss()
    app.reset_peak()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # four users at once
        burst = list(
            pool.map(
                lambda job: GradioHTTP(app.url, session_hash=uuid.uuid4().hex).call(*job),
                _every_endpoint(big, small),
            )
        )

    assert [outcome for outcome, _ in burst] == ["complete"] * 4
    ceiling = 2 * MAX_PIXELS * BYTES_PER_PIXEL  # two heavy jobs run at once
    assert app.peak_rss() - idle < ceiling
    deadline = time.monotonic() + 10
    while app.rss() > 1.5 * idle and time.monotonic() < deadline:
        time.sleep(0.5)
    assert app.rss() <= 1.5 * idle


def _every_endpoint(image: str, style: str) -> list[tuple[str, list]]:
    return [
        ("palette", [{"path": image}, 5]),
        ("recolor", [{"path": image}, "#203040, #c05030, #e0c080", "chang", None]),
        ("colorize", [{"path": image}, "classification", None, None]),
        ("stylize", [{"path": image}, {"path": style}, "reinhard", 1.0, False]),
    ]


# -- 4. one client cannot monopolise an endpoint ----------------------------------------------


def test_a_flooding_client_is_capped_and_a_second_user_is_served_ahead_of_the_flood(app, folders):
    flooder = GradioHTTP(app.url, session_hash="flooder")
    other = GradioHTTP(app.url, session_hash="other")
    big = np.asarray(Image.fromarray(data.coffee()).resize((1200, 800)))  # ~1 MP: ~0.5 s a job
    flood_image = {"path": flooder.upload(_png(folders["outside"], "flood.png", big))}
    tiny = {"path": other.upload(_png(folders["outside"], "tiny.png", data.coffee()[:64, :64]))}

    submitted = [  # a new temperature each time: no cached result to reuse
        flooder.submit("colorize", [flood_image, "classification", 0.2 + i / 100, None])
        for i in range(40)
    ]
    accepted = [event for status, event in submitted if status == 200]
    refused = [detail for status, detail in submitted if status != 200]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        flood = pool.submit(flooder.session_results, "colorize", accepted[0], len(accepted), 120)
        status, victim = other.submit("colorize", [tiny, "classification", None, None])
        assert status == 200
        ((victim_outcome, victim_done),) = other.session_results("colorize", victim, 1, 60)
        flood_done = flood.result()

    assert len(accepted) <= 12, "8 waiting, one running, and a few finished while submitting"
    assert refused and all("jobs waiting already" in detail for detail in refused)
    assert victim_outcome == "complete"
    assert [outcome for outcome, _ in flood_done] == ["complete"] * len(accepted)
    after_victim = [moment for _, moment in flood_done if moment > victim_done]
    assert len(after_victim) >= len(accepted) - 3, "the second user waited for no flood queue"


# -- 5. the disk does not fill up -------------------------------------------------------------


def test_battle_images_go_once_voted_or_expired(app, folders):
    arena = folders["tmp"] / "colorlab-arena"
    voter = GradioHTTP(app.url, session_hash="disk-voter")
    issued = [voter.call("battle", ["colorize"]) for _ in range(50)]
    assert all(outcome == "complete" for outcome, _ in issued)
    for _, (battle,) in issued[-3:]:  # the newest: the first may have expired already
        assert voter.call("vote", [battle["battle_id"], "left", 1200.0])[0] == "complete"
    files = _files(arena)
    assert 0 < len(files) <= 47 * 3, "the voted battles' images are gone"

    time.sleep(9)  # every battle has expired (8 s)
    assert voter.call("battle", ["colorize"])[0] == "complete"

    assert len(_files(arena)) == 3, "only the newest battle's images are left"
    results = folders["tmp"] / "colorlab-app"
    assert not results.exists() or all(any(d.iterdir()) for d in results.iterdir())


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


# -- 6. vote limits hold ----------------------------------------------------------------------


def test_a_battle_belongs_to_the_gradio_session_that_started_it(app):
    owner = GradioHTTP(app.url, session_hash="owner")
    thief = GradioHTTP(app.url, session_hash="thief")
    _, (battle,) = owner.call("battle", ["stylize"])

    assert thief.call("vote", [battle["battle_id"], "left", None]) == (
        "error",
        "battle issued to another session: start a new battle",
    )
    outcome, message = thief.call("vote", [battle["battle_id"], "left", "owner"])
    assert outcome == "error" and "latency_ms must be a number" in message


def test_the_session_limit_counts_gradio_sessions(app):
    voter = GradioHTTP(app.url, session_hash="eager")
    outcomes = []
    for _ in range(4):
        _, (battle,) = voter.call("battle", ["stylize"])
        outcomes.append(voter.call("vote", [battle["battle_id"], "tie", None]))

    assert [outcome for outcome, _ in outcomes] == ["complete"] * 3 + ["error"]
    assert "too many votes from this session" in outcomes[-1][1]


def test_forged_forwarding_headers_neither_pass_the_client_limit_nor_reach_the_store(app, folders):
    results = []
    for number in range(10):
        forger = GradioHTTP(
            app.url,
            session_hash=f"forger-{number}",
            headers={"X-Forwarded-For": f"203.0.113.{number + 1}"},
        )
        _, (battle,) = forger.call("battle", ["stylize"])
        results.append(forger.call("vote", [battle["battle_id"], "left", None]))

    refused = [message for outcome, message in results if outcome == "error"]
    assert refused and all("too many votes from this client" in m for m in refused)
    os.environ["COLORLAB_ARENA_SECRET"] = SECRET
    try:
        store = VoteStore(folders["data"] / "arena.sqlite3")
        loopback = store.client_hash("127.0.0.1")
        assert {vote.client_hash for vote in store.votes()} == {loopback}
        assert store.count() <= 8 + 3, "the address limit (8) held, plus one session's 3"
    finally:
        del os.environ["COLORLAB_ARENA_SECRET"]


def test_non_finite_latency_is_refused(app):
    voter = GradioHTTP(app.url, session_hash="latency")
    _, (battle,) = voter.call("battle", ["stylize"])
    battle_id = battle["battle_id"]
    body = f'{{"data": ["{battle_id}", "left", Infinity], "session_hash": "latency"}}'

    response = voter.http.post(
        "/gradio_api/call/vote", content=body, headers={"content-type": "application/json"}
    )
    if response.status_code == 200:
        outcome, message = voter.result("vote", response.json()["event_id"])
        assert outcome == "error" and "latency_ms" in message
    else:
        assert response.status_code == 422  # the JSON itself refused: nothing stored


# -- 10. errors say what is wrong -------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "arguments", "expected"),
    [
        ("palette", ["abc"], "k must be a whole number from 2 to 8, got a str"),
        ("palette", [1.5], "k must be a whole number from 2 to 8, got 1.5"),
        ("recolor", ["#203040", "chang", -5], "k must be a whole number from 2 to 8, got -5"),
        (
            "colorize",
            ["classification", "hot", None],
            "parameter 'temperature' must be a float, got 'hot'",
        ),
    ],
)
def test_bad_parameters_get_specific_errors(client, photo, api, arguments, expected):
    outcome, message = client.call(api, [{"path": client.upload(photo)}, *arguments])

    assert (outcome, message) == ("error", expected)


def test_a_broken_upload_is_named_by_its_own_file_name(client, folders):
    broken = folders["outside"] / "holiday.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)

    outcome, message = client.call("palette", [{"path": client.upload(broken)}, 4])

    assert outcome == "error" and "'holiday.png'" in message
    assert str(folders["gradio"]) not in message


# -- 8. the survey page never renders client text ---------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"survey": "[click me](https://evil.example)"},
        {"survey": "![t](http://127.0.0.1:9/x.png)"},
        {"survey": "x" * 5000},
        {"survey": "mini", "participant": "<img src=x onerror=alert(1)>"},
    ],
)
def test_a_bad_survey_link_shows_a_fixed_message(tmp_path, monkeypatch, query):
    from colorlab.ui import survey_view
    from tests.test_survey_runs import write_survey

    monkeypatch.setenv("COLORLAB_SURVEY_DIR", str(tmp_path))
    monkeypatch.setenv("COLORLAB_DATA_DIR", str(tmp_path / "data"))
    write_survey(tmp_path, "mini")
    request = types.SimpleNamespace(
        query_params=query, session_hash="s1", client=types.SimpleNamespace(host="127.0.0.1")
    )

    _, group, title, *_ = survey_view.open_survey(request, "arena")

    assert title == f"## Survey not available\n\n{survey_view.LINK_REFUSED}"
    for value in query.values():
        assert value not in title
