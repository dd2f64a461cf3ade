"""The pieces that keep the app within bounds, without a server: the upload gate, the byte-bounded
cache, the memory budget, fair queue order and the trusted proxies."""

import asyncio
import os
import threading
import time
import types

import numpy as np
import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from colorlab.ui import server
from colorlab.ui.memory import ByteCache, MemoryBudget, ServerBusyError, nbytes
from colorlab.ui.uploads import NotUploadedError, uploaded_path

# -- the upload gate ------------------------------------------------------------------------------


@pytest.fixture
def upload_folder(tmp_path, monkeypatch):
    folder = tmp_path / "gradio"
    (folder / "abc").mkdir(parents=True)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def test_an_uploaded_file_is_accepted_as_a_path_or_a_payload(upload_folder):
    photo = upload_folder / "abc" / "photo.png"
    photo.write_bytes(b"png")

    assert uploaded_path(str(photo)) == str(photo.resolve())
    assert uploaded_path({"path": str(photo), "meta": {"_type": "gradio.FileData"}}) == str(photo)
    assert uploaded_path(types.SimpleNamespace(path=str(photo))) == str(photo)


def test_anything_but_a_regular_uploaded_file_is_refused_alike(upload_folder, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"png")
    (upload_folder / "abc" / "out.png").symlink_to(outside)
    os.mkfifo(upload_folder / "abc" / "fifo.png")
    candidates = [
        str(outside),
        str(upload_folder / "abc" / "out.png"),
        str(upload_folder / "abc" / "fifo.png"),
        str(upload_folder / "abc"),
        str(upload_folder),
        str(upload_folder / "abc" / ".." / ".." / "secret.png"),
        str(upload_folder / "abc" / "missing.png"),
        "x\0y",
        "a" * 5000,
        "",
        {"url": "http://127.0.0.1:9/x.png"},
        42,
    ]

    messages = set()
    for candidate in candidates:
        with pytest.raises(NotUploadedError) as refused:
            uploaded_path(candidate)
        messages.add(str(refused.value))

    assert len(messages) == 1
    with pytest.raises(NotUploadedError, match="Upload a photo or pick an example first"):
        uploaded_path(None, "a photo")


# -- memory ---------------------------------------------------------------------------------------


def test_nbytes_counts_each_array_once_through_closures_views_and_objects():
    image = np.zeros((100, 100, 3), np.float32)

    def prepare():
        view = image[10:20]
        return lambda target: (image, view, target)

    holder = types.SimpleNamespace(run=prepare(), copy=[image, {"again": image}])

    assert nbytes(holder) == image.nbytes
    assert nbytes([image, image.copy()]) == 2 * image.nbytes


def test_the_cache_keeps_the_newest_entries_within_its_bytes():
    cache = ByteCache(max_bytes=3000)
    computed = []

    @cache.memoize
    def block(n, fill=0):
        computed.append(n)
        return np.full(1000, fill, np.uint8)

    for n in range(5):
        block(n)
    block(3)  # remembered
    block(4, fill=1)  # another keyword: another entry

    assert cache.bytes <= 3000
    assert computed == [0, 1, 2, 3, 4, 4]
    block(0)
    assert computed[-1] == 0, "the oldest were dropped"


def test_a_value_larger_than_the_cache_is_returned_but_not_kept():
    cache = ByteCache(max_bytes=100)
    big = cache.memoize(lambda: np.zeros(1000, np.uint8))

    assert big().size == 1000
    assert cache.bytes == 0


def test_the_budget_refuses_a_job_larger_than_itself_at_once():
    with pytest.raises(ServerBusyError, match="more than the"), MemoryBudget(100).reserve(101):
        pass


def test_jobs_wait_for_room_and_nested_reservations_never_wait_on_themselves():
    budget = MemoryBudget(100, timeout=5)
    order = []

    def second_job():
        with budget.reserve(60):
            order.append("second")

    with budget.reserve(60):
        with budget.reserve(60):  # the same thread's inner step: already covered
            order.append("inner")
        worker = threading.Thread(target=second_job)
        worker.start()
        time.sleep(0.2)
        order.append("first done")
    worker.join(5)

    assert order == ["inner", "first done", "second"]
    assert budget.used == 0


def test_a_job_that_finds_no_room_in_time_is_told_the_server_is_busy():
    budget = MemoryBudget(100, timeout=0.1)
    with budget.reserve(80):
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(_try(budget, 80)))
        thread.start()
        thread.join(5)

    assert outcome == ["the server is busy with other images; try again shortly"]


def _try(budget, size):
    try:
        with budget.reserve(size):
            return "ran"
    except ServerBusyError as error:
        return str(error)


# -- the queue ------------------------------------------------------------------------------------


def _event(session, moment, concurrency_id="heavy"):
    return types.SimpleNamespace(
        session_hash=session, enqueue_time=moment, concurrency_id=concurrency_id
    )


def test_waiting_jobs_take_turns_between_sessions():
    flood = [_event("flood", t) for t in range(5)]
    other = _event("other", 10)
    third = [_event("third", 11), _event("third", 12)]

    ordered = server.round_robin(flood + [other] + third)

    sessions = [e.session_hash for e in ordered]
    assert sessions == ["flood", "other", "third", "flood", "third", "flood", "flood", "flood"]
    assert [e.enqueue_time for e in ordered if e.session_hash == "flood"] == [0, 1, 2, 3, 4]


def test_a_session_with_a_running_job_waits_while_others_are_started():
    running = _event("flood", 0)
    line = types.SimpleNamespace(queue=[_event("flood", 1), _event("flood", 2), _event("b", 3)])
    started = []

    def get_events():  # Gradio's: start the first waiting event of the line
        started.append(line.queue.pop(0))
        return started[-1]

    queue = types.SimpleNamespace(
        event_queue_per_concurrency_id={"heavy": line},
        active_jobs=[[running], None],
        get_events=get_events,
    )

    fair = server._one_running_job_per_session(queue)
    fair()

    assert started[0].session_hash == "b"
    assert [e.enqueue_time for e in line.queue] == [1, 2], "the flood waits, in order"
    queue.active_jobs = [None, None]
    fair()
    assert started[1].enqueue_time == 1


def test_push_refuses_a_session_over_its_cap_and_an_address_over_its_own():
    def request(host):
        return types.SimpleNamespace(client=types.SimpleNamespace(host=host))

    line = types.SimpleNamespace(queue=[])
    queue = types.SimpleNamespace(
        event_queue_per_concurrency_id={"heavy": line}, event_ids_to_events={}
    )

    async def push(body, req, username):
        event = _event(body.session_hash, len(line.queue))
        event.request = req
        line.queue.append(event)
        return True, "id", "success"

    queue.push = push
    capped = server._capped(queue, per_session=2, per_client=3)

    def submit(session, host):
        body = types.SimpleNamespace(session_hash=session)
        return asyncio.run(capped(body, request(host), None))

    assert [submit("a", "1.1.1.1")[0] for _ in range(3)] == [True, True, False]
    assert "2 jobs waiting already" in submit("a", "1.1.1.1")[1]
    assert submit("b", "1.1.1.1")[0] is True
    assert submit("c", "1.1.1.1")[1] == "3 jobs from your address are waiting; try again later."
    assert submit("c", "2.2.2.2")[0] is True


# -- client addresses -----------------------------------------------------------------------------


def _client_seen(trusted: str, peer: str, forwarded: str | None) -> str:
    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"][0]

    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "client": (peer, 5000), "headers": headers}
    asyncio.run(ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None))
    return seen["client"]


def test_by_default_no_proxy_is_trusted_and_a_forged_header_changes_nothing(monkeypatch):
    monkeypatch.delenv("COLORLAB_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)

    assert server.trusted_proxies() == ""
    assert _client_seen(server.trusted_proxies(), "127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_on_a_space_the_platforms_proxy_is_trusted_and_forgery_is_ignored(monkeypatch):
    monkeypatch.delenv("COLORLAB_TRUSTED_PROXIES", raising=False)
    monkeypatch.setenv("SPACE_ID", "colorlab/colorlab")
    trusted = server.trusted_proxies()

    # The visitor sent a forged header; the platform's proxy appended the real address.
    assert _client_seen(trusted, "10.16.3.80", "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    assert _client_seen(trusted, "203.0.113.50", "198.51.100.1") == "203.0.113.50"


def test_configured_proxies_win_and_launch_passes_them_to_uvicorn(monkeypatch):
    monkeypatch.setenv("COLORLAB_TRUSTED_PROXIES", "192.0.2.1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")

    options = server.launch_options()

    assert os.environ["FORWARDED_ALLOW_IPS"] == "192.0.2.1"
    assert options == {"max_file_size": "50mb"}


def test_a_malformed_setting_names_its_variable(monkeypatch):
    monkeypatch.setenv("COLORLAB_QUEUE_PER_SESSION", "many")

    with pytest.raises(ValueError, match="COLORLAB_QUEUE_PER_SESSION must be a whole number"):
        server.setting("COLORLAB_QUEUE_PER_SESSION", 8)
