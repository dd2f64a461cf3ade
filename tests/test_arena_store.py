"""colorlab.arena.store: server-side battles, append-only votes that survive crashes and races."""

import hashlib
import hmac
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hub_server import HubServer

from colorlab.arena import store as store_module
from colorlab.arena.store import StoreError, VoteRejected, VoteStore, derive_key
from colorlab.errors import ColorLabError, InvalidParameterError

ROOT = Path(__file__).resolve().parent.parent
INPUT = "9" * 64  # an input's content hash
ADDRESS = "203.0.113.77"
TABLES = ("open_battles", "battles", "claims", "votes")
APPEND_ONLY = ("battles", "claims", "votes")
UNLIMITED = {
    "max_votes_per_minute": None,
    "max_client_votes_per_minute": None,
    "max_battles_per_minute": None,
    "max_client_battles_per_minute": None,
}
V1_DUMP = Path(__file__).parent / "data" / "arena_store_v1.sql"  # written by the v1 code
V1_VOTED, V1_OPEN = "EOvOdj_QTVACOh7AmrgC58cBeeu-7zaq", "sJQmPlk7AhDgeAvb-Xwcze_MfH-26RR9"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setenv("COLORLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COLORLAB_ARENA_SECRET", raising=False)
    monkeypatch.delenv("COLORLAB_ARENA_DATASET", raising=False)


@pytest.fixture
def store(tmp_path) -> VoteStore:
    return VoteStore(tmp_path / "votes.sqlite3", **UNLIMITED, clock=Clock())


def battle(store: VoteStore, session: str = "s1", **overrides) -> str:
    args = dict(task="recolor", input_hash=INPUT, method_a="chang", params_a={"strength": 0.5})
    args |= dict(method_b="palettenet", params_b={}, left="b", session=session)
    args |= dict(client_hash=store.client_hash(ADDRESS)) | overrides
    return store.issue_battle(**args)


def vote(store: VoteStore, battle_id: str, winner: str = "a", session: str = "s1"):
    return store.record_vote(battle_id, winner, session, store.client_hash(ADDRESS), 1200, "t")


def table_sizes(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        count = "SELECT count(*) FROM {}"
        return {table: conn.execute(count.format(table)).fetchone()[0] for table in TABLES}


# -- battles and votes ----------------------------------------------------------------------------


def test_vote_takes_methods_params_and_sides_from_the_issued_battle(store):
    battle_id = battle(store)
    recorded = store.record_vote(battle_id, "left", "s1", store.client_hash(ADDRESS), 830.5, "9.9")
    assert (recorded.method_a, recorded.params_a, recorded.method_b, recorded.params_b) == (
        "chang",
        {"strength": 0.5},
        "palettenet",
        {},
    )
    assert recorded.left == "b" and recorded.winner == "b"  # the left one was method b
    assert (recorded.task, recorded.input_hash, recorded.session_id) == ("recolor", INPUT, "s1")
    assert (recorded.latency_ms, recorded.app_version) == (830.5, "9.9")
    assert recorded.time == "2025-06-01T12:00:00.000000+00:00"
    assert len(recorded.vote_id) == 32 and len(battle_id) >= 32
    assert store.votes() == [recorded] and store.votes("colorize") == []
    assert store.count() == 1 and store.count("recolor") == 1 and store.count("colorize") == 0


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("forged", "unknown battle"),
        ("expired", "battle expired"),
        ("other session", "battle issued to another session"),
        ("double", "battle already voted"),
    ],
)
def test_bad_votes_are_rejected_with_their_reason_and_write_nothing(store, case, message):
    battle_id = battle(store)
    session = "s1"
    if case == "forged":
        battle_id = battle_id[:-4] + "AAAA"
    elif case == "expired":
        store.clock.now += timedelta(seconds=store.ttl_seconds + 1)
    elif case == "other session":
        session = "intruder"
    else:
        vote(store, battle_id)
    before = table_sizes(store.path)
    with pytest.raises(VoteRejected, match=f"^{message}"):
        vote(store, battle_id, session=session)
    assert table_sizes(store.path) == before
    assert issubclass(VoteRejected, ColorLabError)


def test_battle_can_be_voted_until_its_own_ttl_runs_out(store):
    short, long = battle(store, ttl_seconds=10), battle(store, ttl_seconds=100)
    store.clock.now += timedelta(seconds=50)
    with pytest.raises(VoteRejected, match="battle expired"):
        vote(store, short)
    assert vote(store, long).battle_id == long


def test_racing_votes_on_one_battle_accept_exactly_one(store):
    battle_id = battle(store)
    results: list[str] = []

    def race() -> None:
        try:
            vote(store, battle_id)
            results.append("ok")
        except VoteRejected as error:
            results.append(str(error))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1 and store.count() == 1
    assert all(r.startswith("battle already voted") for r in results if r != "ok")


def test_rate_limit_per_session_and_per_client(tmp_path):
    clock = Clock()
    path = tmp_path / "v.sqlite3"
    store = VoteStore(path, max_votes_per_minute=2, max_client_votes_per_minute=3, clock=clock)
    for _ in range(2):
        vote(store, battle(store))
    extra = battle(store)
    with pytest.raises(VoteRejected, match="too many votes from this session: at most 2"):
        vote(store, extra)
    vote(store, battle(store, session="s2"), session="s2")  # same address, another session
    with pytest.raises(VoteRejected, match="too many votes from this client: at most 3"):
        vote(store, battle(store, session="s3"), session="s3")
    clock.now += timedelta(seconds=61)
    assert vote(store, extra).battle_id == extra  # a refused battle stays open
    assert store.count() == 4


def test_pair_counts_are_keyed_by_the_sorted_pair(store):
    vote(store, battle(store))
    vote(store, battle(store, method_a="palettenet", method_b="chang"))
    vote(store, battle(store, method_a="chang", method_b="reinhard"))
    vote(store, battle(store, task="stylize", method_a="mkl", method_b="idt"))
    assert store.pair_counts("recolor") == {("chang", "palettenet"): 2, ("chang", "reinhard"): 1}
    assert store.pair_counts("stylize") == {("idt", "mkl"): 1}


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"method_b": "chang"}, "two different methods"),
        ({"left": "right"}, "left must be"),
        ({"client_hash": ADDRESS}, "never the raw address"),
        ({"params_a": {"x": object()}}, "JSON"),
        ({"ttl_seconds": 0}, "ttl_seconds"),
    ],
)
def test_bad_battles_are_refused_naming_the_argument(store, overrides, match):
    with pytest.raises(InvalidParameterError, match=match):
        battle(store, **overrides)


def test_unknown_winner_is_refused(store):
    with pytest.raises(InvalidParameterError, match="winner must be one of"):
        vote(store, battle(store), winner="draw")
    assert store.count() == 0


INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("latency", [INF, -INF, NAN, -1, 8.64e7 + 1, "5"])
def test_latency_must_be_a_finite_time_of_at_most_a_day(store, latency):
    battle_id = battle(store)
    with pytest.raises(InvalidParameterError, match="latency_ms must be None or a number"):
        store.record_vote(battle_id, "a", "s1", store.client_hash(ADDRESS), latency)
    assert store.count() == 0
    assert store.record_vote(battle_id, "a", "s1", store.client_hash(ADDRESS), 86_400_000)


def test_issuing_battles_is_rate_limited_per_session_and_per_client(tmp_path):
    clock = Clock()
    limits = {"max_battles_per_minute": 2, "max_client_battles_per_minute": 3}
    store = VoteStore(tmp_path / "v.sqlite3", **(UNLIMITED | limits), clock=clock)
    vote(store, battle(store))  # a voted battle still counts: it moved to the battles table
    battle(store)
    with pytest.raises(VoteRejected, match="too many battles from this session: at most 2"):
        battle(store)
    battle(store, session="s2")  # same address, another session
    with pytest.raises(VoteRejected, match="too many battles from this client: at most 3"):
        battle(store, session="s3")
    assert table_sizes(store.path)["open_battles"] + table_sizes(store.path)["battles"] == 3
    clock.now += timedelta(seconds=61)
    assert battle(store)


# -- open battles: voted ones move, expired ones are pruned ---------------------------------------


def open_ids(store: VoteStore) -> set[str]:
    with sqlite3.connect(store.path) as conn:
        return {row[0] for row in conn.execute("SELECT battle_id FROM open_battles")}


def test_a_vote_moves_its_battle_from_open_to_the_append_only_table(store):
    battle_id = battle(store)
    assert open_ids(store) == {battle_id}
    recorded = vote(store, battle_id)
    assert open_ids(store) == set()
    with sqlite3.connect(store.path) as conn:
        kept = conn.execute("SELECT session_id, method_a FROM battles").fetchall()
    assert kept == [("s1", "chang")] and store.votes() == [recorded]
    assert table_sizes(store.path) == {"open_battles": 0, "battles": 1, "claims": 1, "votes": 1}


def test_prune_deletes_only_open_battles_expired_by_the_stores_clock(store):
    voted, short, long = battle(store), battle(store, ttl_seconds=10), battle(store)
    recorded = vote(store, voted)
    assert store.prune_expired() == []
    store.clock.now += timedelta(seconds=75)  # short expired 65 s ago
    assert store.prune_expired() == [short]
    assert open_ids(store) == {long}
    with pytest.raises(VoteRejected, match="^unknown battle"):
        vote(store, short)
    store.clock.now += timedelta(hours=2)
    assert store.prune_expired() == [long] and open_ids(store) == set()
    assert store.votes() == [recorded]
    assert table_sizes(store.path) == {"open_battles": 0, "battles": 1, "claims": 1, "votes": 1}


def test_a_battle_is_pruned_once_it_expires_not_before(store):
    short = battle(store, ttl_seconds=30)
    store.clock.now += timedelta(seconds=29)
    assert store.prune_expired() == [] and open_ids(store) == {short}
    store.clock.now += timedelta(seconds=1)
    assert store.prune_expired() == [short]


# -- append-only ----------------------------------------------------------------------------------


REWRITES = [
    statement
    for table in APPEND_ONLY
    for statement in (
        f"UPDATE {table} SET battle_id = 'x'",
        f"DELETE FROM {table}",
        f"INSERT OR REPLACE INTO {table} SELECT * FROM {table}",
    )
]


@pytest.mark.parametrize("statement", REWRITES)
def test_votes_battles_and_claims_cannot_be_rewritten(store, statement):
    recorded = vote(store, battle(store))
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(statement)
    conn.close()
    assert store.votes() == [recorded]
    assert table_sizes(store.path) == {"open_battles": 0, "battles": 1, "claims": 1, "votes": 1}


# -- keyed client hash ----------------------------------------------------------------------------


def test_raw_address_never_reaches_the_database_file(store):
    for _ in range(5):
        vote(store, battle(store))
    store.close()
    files = [p for p in store.path.parent.iterdir() if p.name.startswith(store.path.name)]
    assert files and not any(ADDRESS.encode() in p.read_bytes() for p in files)
    assert store.votes()[0].client_hash == store.client_hash(ADDRESS) != ADDRESS


def test_secret_file_is_created_once_private_and_reused(tmp_path):
    first = VoteStore(tmp_path / "v.sqlite3")
    digest = first.client_hash(ADDRESS)
    secret_file = tmp_path / "arena.secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    content = secret_file.read_bytes()
    assert VoteStore(tmp_path / "v.sqlite3").client_hash(ADDRESS) == digest
    assert secret_file.read_bytes() == content
    assert first.client_hash("203.0.113.78") != digest
    assert [p.name for p in tmp_path.iterdir() if "secret" in p.name] == ["arena.secret"]


def test_each_purpose_gets_its_own_key_from_the_one_secret(store, monkeypatch):
    monkeypatch.setenv("COLORLAB_ARENA_SECRET", "one-secret-for-the-whole-arena")
    secret = store.secret()
    keys = {derive_key(secret, purpose) for purpose in ("client-address", "survey-completion-code")}
    assert len(keys) == 2 and all(len(key) == 32 for key in keys)
    assert derive_key(secret, "client-address") == derive_key(secret, "client-address")
    unkeyed = hmac.new(secret, ADDRESS.encode(), hashlib.sha256).hexdigest()
    keyed = hmac.new(derive_key(secret, "client-address"), ADDRESS.encode(), hashlib.sha256)
    assert store.client_hash(ADDRESS) == keyed.hexdigest() != unkeyed


def test_secret_from_the_environment_wins(tmp_path, monkeypatch):
    store = VoteStore(tmp_path / "v.sqlite3")
    from_file = store.client_hash(ADDRESS)
    monkeypatch.setenv("COLORLAB_ARENA_SECRET", "a-secret-from-the-space-settings")
    from_env = store.client_hash(ADDRESS)
    assert from_env != from_file
    assert VoteStore(tmp_path / "other" / "v.sqlite3").client_hash(ADDRESS) == from_env
    assert not (tmp_path / "other" / "arena.secret").exists()


# -- schema and location --------------------------------------------------------------------------


def test_newer_schema_version_is_a_clear_error(store):
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE schema_version SET version = 3")
    with pytest.raises(StoreError, match="schema version .3.*newer ColorLab"):
        VoteStore(store.path)


def version_1_store(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_DUMP.read_text())
    return path


def test_a_version_1_store_is_upgraded_on_open_and_keeps_its_votes(tmp_path):
    path = version_1_store(tmp_path / "v1.sqlite3")
    store = VoteStore(path, **UNLIMITED, clock=Clock())
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
    assert table_sizes(path) == {"open_battles": 0, "battles": 2, "claims": 1, "votes": 1}
    (old,) = store.votes()
    assert (old.battle_id, old.winner, old.params_a, old.latency_ms) == (
        V1_VOTED, "b", {"strength": 0.5}, 1200.0
    )  # fmt: skip
    with pytest.raises(VoteRejected, match="^battle already voted"):
        vote(store, V1_VOTED)
    with pytest.raises(VoteRejected, match="^battle expired"):  # unvoted at the upgrade
        vote(store, V1_OPEN)
    assert vote(store, battle(store)).battle_id not in (V1_VOTED, V1_OPEN)
    reopened = VoteStore(path)  # a second open finds version 2 and changes nothing
    assert reopened.count() == 2
    assert table_sizes(path) == {"open_battles": 0, "battles": 3, "claims": 2, "votes": 2}
    conn = sqlite3.connect(path)
    for statement in REWRITES:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    conn.close()


def test_a_failed_upgrade_leaves_the_version_1_store_as_it_was(tmp_path):
    path = version_1_store(tmp_path / "v1.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE battles_by_client (x)")  # the upgrade's last index clashes
    with pytest.raises(StoreError, match="cannot open the vote store.*battles_by_client"):
        VoteStore(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "open_battles" not in names and "battles_by_session" not in names


def test_a_database_that_is_not_a_vote_store_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (name TEXT)")
    with pytest.raises(StoreError, match="not a ColorLab vote store"):
        VoteStore(path)
    (tmp_path / "junk.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        VoteStore(tmp_path / "junk.sqlite3")


def test_data_dir_comes_from_the_environment_at_call_time(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLAB_DATA_DIR", str(tmp_path / "elsewhere"))
    store = VoteStore()
    assert store.path == tmp_path / "elsewhere" / "arena.sqlite3" and store.path.exists()
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.delenv("COLORLAB_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert VoteStore().path.resolve() == tmp_path / "data" / "arena.sqlite3"


# -- reliability ----------------------------------------------------------------------------------

WRITERS, VOTES = 8, 10_000


def write_votes(path: str, writer: int, n: int) -> None:
    """One writer: issue and vote ``n`` battles under its own session (process or thread)."""
    store = VoteStore(path, **UNLIMITED)
    client = store.client_hash(f"10.0.0.{writer}")
    for i in range(n):
        battle_id = store.issue_battle(
            "recolor", INPUT, f"m{i % 4}", {"i": i}, "m9", {}, "a", f"w{writer}", client
        )
        store.record_vote(battle_id, "tie", f"w{writer}", client, latency_ms=i)


def test_eight_concurrent_writers_lose_and_duplicate_no_vote(tmp_path):
    path = str(tmp_path / "v.sqlite3")
    VoteStore(path)  # the schema exists before the writers race
    per_writer = VOTES // WRITERS
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=write_votes, args=(path, w, per_writer)) for w in range(4)]
    errors: list[BaseException] = []

    def thread_writer(w: int) -> None:
        try:
            write_votes(path, w, per_writer)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=thread_writer, args=(w,)) for w in range(4, 8)]
    start = time.perf_counter()
    for worker in [*processes, *threads]:
        worker.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(timeout=300)
    elapsed = time.perf_counter() - start
    assert not errors and [p.exitcode for p in processes] == [0] * 4
    with sqlite3.connect(path) as conn:
        total, vote_ids, battle_ids = conn.execute(
            "SELECT count(*), count(DISTINCT vote_id), count(DISTINCT battle_id) FROM votes"
        ).fetchone()
        per_session = dict(conn.execute("SELECT session_id, count(*) FROM votes GROUP BY 1"))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert total == vote_ids == battle_ids == VOTES
    assert per_session == {f"w{w}": per_writer for w in range(WRITERS)}
    print(f"{VOTES} votes by {WRITERS} writers in {elapsed:.1f} s")


CRASHING_WRITER = """
import sys
from colorlab.arena.store import VoteStore
store = VoteStore(sys.argv[1], max_votes_per_minute=None, max_client_votes_per_minute=None,
                  max_battles_per_minute=None, max_client_battles_per_minute=None)
client = store.client_hash("10.1.1.1")
i = 0
while True:
    battle = store.issue_battle("recolor", "9" * 64, "a1", {"i": i}, "b1", {}, "b", "s", client)
    print(store.record_vote(battle, "a", "s", client).vote_id, flush=True)
    i += 1
"""


def test_writer_killed_mid_stream_keeps_every_returned_vote(tmp_path):
    path = tmp_path / "v.sqlite3"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(path)], stdout=subprocess.PIPE, env=env
    )
    printed = [writer.stdout.readline().decode().strip() for _ in range(300)]
    writer.send_signal(signal.SIGKILL)
    printed += writer.stdout.read().decode().split()  # lines already in the pipe
    assert writer.wait(timeout=30) == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT vote_id FROM votes")}
    assert len(printed) >= 300 and set(printed) <= stored
    assert len(stored) - len(printed) <= 1  # at most the vote committed but not yet printed
    after = VoteStore(path, **UNLIMITED)  # the store opens and writes again
    vote(after, battle(after))
    assert after.count() == len(stored) + 1


# -- mirror to a Hub dataset ----------------------------------------------------------------------


def test_votes_are_pushed_as_json_lines_to_the_hub_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")  # never send a real token to the fake Hub
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("COLORLAB_ARENA_DATASET", "colorlab/arena-votes")
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        try:
            store = VoteStore(tmp_path / "v.sqlite3", **UNLIMITED)
            assert VoteStore(tmp_path / "v.sqlite3").mirror is store.mirror  # one per process
            first = [vote(store, battle(store)) for _ in range(3)]
            store.mirror.scheduler.trigger().result()
            second = [vote(store, battle(store), winner="both_bad")]
            store.mirror.scheduler.trigger().result()
        finally:
            store_module.stop_mirrors(push=False)
        repo = server.repos["colorlab/arena-votes"]
        tree = repo.commits[repo.branches["main"]]
    name = f"votes/{store.mirror.file.name}"
    assert name.startswith("votes/votes-") and f"-{os.getpid()}-" in name
    lines = tree[name].decode().splitlines()
    assert [json.loads(line) for line in lines] == [v.__dict__ for v in first + second]
    assert "POST /api/datasets/colorlab/arena-votes/commit/main" in server.requests
    assert store.count() == 4


def test_unreachable_hub_dataset_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    with pytest.raises(StoreError, match="COLORLAB_ARENA_DATASET"):
        VoteStore(tmp_path / "v.sqlite3", dataset="colorlab/nowhere")
