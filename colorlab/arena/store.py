"""The arena's vote store: append-only SQLite that survives crashes, optionally mirrored to the Hub.

A battle (two methods shown on one input, sides randomised) is issued and kept here, under an
unguessable id, before the browser sees anything; a vote names only that id and a winner, so the
methods, their parameters and the sides always come from the server. One file, ``arena.sqlite3``
under the data directory (``COLORLAB_DATA_DIR``, default ``./data``), holds four tables:

- ``schema_version``: one row, the layout version (1), checked on every open.
- ``battles``: one row per issued battle; ``claims``: one row per voted battle (``battle_id`` is
  UNIQUE, so a second vote fails on the constraint even when two arrive at once).
- ``votes``: one record per vote with the fields of REFERENCES.md section 7.

Nothing is ever rewritten: triggers abort any UPDATE or DELETE (and an ``INSERT OR REPLACE`` that
would overwrite a row) on battles, claims and votes. The database runs in WAL mode; a vote commits
with ``synchronous=FULL``, so a vote whose :meth:`VoteStore.record_vote` returned survives a crash
or a power cut. Issuing a battle commits with ``synchronous=NORMAL`` (no fsync of its own): it is
made durable by the next vote, and a battle lost to a power cut can only come back "unknown".

The client address is stored only as an HMAC-SHA256 keyed by ``COLORLAB_ARENA_SECRET`` or, when
that is unset, by a random secret created once in ``arena.secret`` beside the database.

When ``COLORLAB_ARENA_DATASET`` names a Hub dataset repo, each process also appends every vote as a
JSON line to its own file ``votes/votes-<host>-<pid>-<uuid>.jsonl`` and a
``huggingface_hub.CommitScheduler`` pushes it every ``COLORLAB_ARENA_PUSH_MINUTES`` (default 5),
the pattern Hugging Face documents for Spaces, whose disk does not survive a restart.

>>> store = VoteStore()  # $COLORLAB_DATA_DIR/arena.sqlite3
>>> me = store.client_hash("203.0.113.7")
>>> battle = store.issue_battle("recolor", input_hash, "chang", {}, "palettenet", {}, "b", "s1", me)
>>> store.record_vote(battle, "left", "s1", me, latency_ms=5400).winner  # palettenet was left
'b'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from colorlab.errors import ColorLabError, InvalidParameterError

SCHEMA_VERSION = 1
DB_NAME = "arena.sqlite3"
SECRET_NAME = "arena.secret"
WINNERS = ("a", "b", "tie", "both_bad")
SIDES = ("a", "b")
DEFAULT_ENDPOINT = "https://huggingface.co"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_VOTE_COLUMNS = (
    "vote_id, battle_id, time, session_id, client_hash, input_hash, task, method_a, params_a, "
    "method_b, params_b, left_side, winner, latency_ms, app_version"
)
_BATTLE_COLUMNS = (
    "battle_id, issued_at, expires_at, session_id, client_hash, task, input_hash, "
    "method_a, params_a, method_b, params_b, left_side"
)
_SCHEMA = [
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION})",
    """CREATE TABLE battles (
        battle_id TEXT PRIMARY KEY, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL,
        session_id TEXT NOT NULL, client_hash TEXT NOT NULL, task TEXT NOT NULL,
        input_hash TEXT NOT NULL, method_a TEXT NOT NULL, params_a TEXT NOT NULL,
        method_b TEXT NOT NULL, params_b TEXT NOT NULL,
        left_side TEXT NOT NULL CHECK (left_side IN ('a', 'b')))""",
    """CREATE TABLE claims (
        battle_id TEXT NOT NULL UNIQUE REFERENCES battles (battle_id),
        vote_id TEXT NOT NULL UNIQUE, claimed_at TEXT NOT NULL)""",
    """CREATE TABLE votes (
        vote_id TEXT PRIMARY KEY, battle_id TEXT NOT NULL UNIQUE REFERENCES claims (battle_id),
        time TEXT NOT NULL, session_id TEXT NOT NULL, client_hash TEXT NOT NULL,
        input_hash TEXT NOT NULL, task TEXT NOT NULL, method_a TEXT NOT NULL,
        params_a TEXT NOT NULL, method_b TEXT NOT NULL, params_b TEXT NOT NULL,
        left_side TEXT NOT NULL CHECK (left_side IN ('a', 'b')),
        winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
        latency_ms REAL, app_version TEXT NOT NULL)""",
    "CREATE INDEX votes_by_session ON votes (session_id, time)",
    "CREATE INDEX votes_by_client ON votes (client_hash, time)",
    "CREATE INDEX votes_by_task ON votes (task)",
]
for _table, _key in (("battles", "battle_id"), ("claims", "battle_id"), ("votes", "vote_id")):
    _SCHEMA += [
        f"CREATE TRIGGER {_table}_no_{verb.lower()} BEFORE {verb} ON {_table} BEGIN "
        f"SELECT RAISE(ABORT, '{_table} are append-only: {verb} is not allowed'); END"
        for verb in ("UPDATE", "DELETE")
    ]
    # INSERT OR REPLACE deletes the old row without firing DELETE triggers; refuse it up front.
    _SCHEMA.append(
        f"CREATE TRIGGER {_table}_no_overwrite BEFORE INSERT ON {_table} "
        f"WHEN EXISTS (SELECT 1 FROM {_table} WHERE {_key} = NEW.{_key}) BEGIN "
        f"SELECT RAISE(ABORT, '{_table} are append-only: {_key} exists'); END"
    )

log = logging.getLogger(__name__)


class StoreError(ColorLabError):
    """The vote store cannot be opened or used: unknown schema, not a vote store, bad secret."""


class VoteRejected(ColorLabError):
    """A vote was refused (unknown, expired, foreign or already voted battle; too many votes)."""


@dataclass(frozen=True)
class Vote:
    """One vote as stored; ``left`` says which method ("a" or "b") was shown on the left.

    ``winner`` is "a" or "b" (the method, not the side), "tie" or "both_bad"; ``time`` is UTC ISO
    8601; ``latency_ms`` is from showing the outputs to the vote, as the client measured it.
    """

    vote_id: str
    battle_id: str
    time: str
    session_id: str
    client_hash: str
    input_hash: str
    task: str
    method_a: str
    params_a: dict[str, Any]
    method_b: str
    params_b: dict[str, Any]
    left: str
    winner: str
    latency_ms: float | None
    app_version: str

    @classmethod
    def from_row(cls, row: tuple) -> Vote:
        values = list(row)
        values[8], values[10] = json.loads(values[8]), json.loads(values[10])
        return cls(*values)


def data_dir() -> Path:
    """Where ColorLab keeps data, from ``COLORLAB_DATA_DIR`` as it is now; default ``./data``."""
    return Path(os.environ.get("COLORLAB_DATA_DIR") or "data")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class VoteStore:
    """Battles and votes in one SQLite file; safe to share between threads and processes.

    ``path`` is the database file (default ``data_dir() / "arena.sqlite3"``, read when the store is
    made). ``max_votes_per_minute`` limits votes per session, ``max_client_votes_per_minute`` per
    client hash (higher by default: a classroom shares one address); None means no limit.
    ``ttl_seconds`` is how long an issued battle can be voted on; ``busy_timeout`` (seconds) is how
    long a writer waits for another; ``clock`` returns the current time (tests move it).
    ``dataset`` is a Hub dataset repo id to mirror votes to (default ``COLORLAB_ARENA_DATASET``).
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        max_votes_per_minute: int | None = 30,
        max_client_votes_per_minute: int | None = 300,
        ttl_seconds: float = 3600,
        busy_timeout: float = 60,
        clock: Callable[[], datetime] = _now,
        dataset: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else data_dir() / DB_NAME
        self.max_votes_per_minute = max_votes_per_minute
        self.max_client_votes_per_minute = max_client_votes_per_minute
        self.ttl_seconds = ttl_seconds
        self.busy_timeout = busy_timeout
        self.clock = clock
        self._local = threading.local()
        self._secret_from_file: bytes | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open_schema()
        dataset = dataset or os.environ.get("COLORLAB_ARENA_DATASET")
        self.mirror = _hub_mirror(dataset, self.path.parent / "hub") if dataset else None

    # -- connections and transactions ------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: SQLite handles must not cross it)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            try:
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as error:
                raise StoreError(f"cannot open the vote store {self.path}: {error}") from error
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE (take the write lock now, waiting up to busy_timeout) ... COMMIT."""
        conn = self._conn()
        conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _open_schema(self) -> None:
        try:
            with self._transaction() as conn:
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
                if not tables:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                elif "schema_version" not in tables:
                    raise StoreError(
                        f"{self.path} is not a ColorLab vote store (no schema_version table); "
                        "point COLORLAB_DATA_DIR at another folder"
                    )
                versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open the vote store {self.path}: {error}") from error
        if versions != [SCHEMA_VERSION]:
            newer = (
                len(versions) == 1 and isinstance(versions[0], int) and versions[0] > SCHEMA_VERSION
            )
            raise StoreError(
                f"the vote store {self.path} has schema version {versions}, this ColorLab reads "
                f"version {SCHEMA_VERSION}; "
                + ("it was written by a newer ColorLab: upgrade" if newer else "it is damaged")
            )

    # -- the client's keyed hash ------------------------------------------------------------------

    def client_hash(self, address: str) -> str:
        """HMAC-SHA256 (hex) of a client address: the only form in which an address is stored."""
        secret = os.environ.get("COLORLAB_ARENA_SECRET", "").encode()
        if not secret:
            if self._secret_from_file is None:
                self._secret_from_file = _load_or_create_secret(self.path.parent / SECRET_NAME)
            secret = self._secret_from_file
        return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()

    # -- writing ----------------------------------------------------------------------------------

    def issue_battle(
        self,
        task: str,
        input_hash: str,
        method_a: str,
        params_a: dict[str, Any],
        method_b: str,
        params_b: dict[str, Any],
        left: str,
        session: str,
        client_hash: str,
        ttl_seconds: float | None = None,
    ) -> str:
        """Keep a battle server-side and return its unguessable id (``secrets.token_urlsafe``).

        ``left`` is "a" or "b": which method the browser shows on the left. ``client_hash`` must
        come from :meth:`client_hash`. The battle can be voted on for ``ttl_seconds`` (default the
        store's), by ``session`` only, once.
        """
        if method_a == method_b:
            raise InvalidParameterError(f"a battle needs two different methods, got {method_a!r}")
        if left not in SIDES:
            raise InvalidParameterError(f"left must be 'a' or 'b', got {left!r}")
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        if not ttl > 0:
            raise InvalidParameterError(f"ttl_seconds must be > 0, got {ttl!r}")
        for name, value in (("task", task), ("input_hash", input_hash), ("session", session)):
            if not isinstance(value, str) or not value:
                raise InvalidParameterError(f"{name} must be a non-empty string, got {value!r}")
        _check_client_hash(client_hash)
        battle_id = secrets.token_urlsafe(24)
        now = self.clock()
        row = (battle_id, _iso(now), _iso(now + timedelta(seconds=ttl)), session, client_hash)
        row += (task, input_hash, method_a, _params_json(params_a, "params_a"))
        row += (method_b, _params_json(params_b, "params_b"), left)
        with self._transaction(durable=False) as conn:
            conn.execute(f"INSERT INTO battles ({_BATTLE_COLUMNS}) VALUES ({_marks(row)})", row)
        return battle_id

    def record_vote(
        self,
        battle_id: str,
        winner: str,
        session: str,
        client_hash: str,
        latency_ms: float | None = None,
        app_version: str | None = None,
    ) -> Vote:
        """Append the vote on an issued battle and return it (method names included, to reveal).

        ``winner`` is "a", "b", "tie" or "both_bad"; "left" and "right" are accepted too and
        turned into "a"/"b" from the battle's sides. In one transaction the battle must exist, be
        issued to ``session``, not be voted yet and not be expired, and the session and client must
        be under the rate limit; otherwise :class:`VoteRejected` says which, and nothing is written.
        """
        if winner not in (*WINNERS, "left", "right"):
            raise InvalidParameterError(
                f"winner must be one of {', '.join(WINNERS)}, left or right; got {winner!r}"
            )
        if latency_ms is not None and not latency_ms >= 0:
            raise InvalidParameterError(f"latency_ms must be >= 0 or None, got {latency_ms!r}")
        _check_client_hash(client_hash)
        if app_version is None:
            from colorlab import __version__ as app_version
        now = self.clock()
        with self._transaction() as conn:
            battle = conn.execute(
                f"SELECT {_BATTLE_COLUMNS} FROM battles WHERE battle_id = ?", (battle_id,)
            ).fetchone()
            if battle is None:
                raise VoteRejected("unknown battle: this battle was never issued; start a new one")
            if battle[3] != session:
                raise VoteRejected("battle issued to another session: start a new battle")
            claimed = conn.execute("SELECT 1 FROM claims WHERE battle_id = ?", (battle_id,))
            if claimed.fetchone() is not None:
                raise VoteRejected("battle already voted: each battle takes one vote")
            if _iso(now) >= battle[2]:
                raise VoteRejected("battle expired: it waited too long for a vote; start a new one")
            self._check_rate(conn, now, session, client_hash)
            if winner in ("left", "right"):
                other = "b" if battle[11] == "a" else "a"
                winner = battle[11] if winner == "left" else other
            row = (uuid.uuid4().hex, battle_id, _iso(now), session, client_hash, battle[6])
            row += (battle[5], *battle[7:12], winner, latency_ms, app_version)
            vote = Vote.from_row(row)
            try:
                conn.execute(
                    "INSERT INTO claims (battle_id, vote_id, claimed_at) VALUES (?, ?, ?)",
                    (battle_id, vote.vote_id, vote.time),
                )
                conn.execute(f"INSERT INTO votes ({_VOTE_COLUMNS}) VALUES ({_marks(row)})", row)
            except sqlite3.IntegrityError as error:
                raise VoteRejected("battle already voted: each battle takes one vote") from error
        if self.mirror is not None:
            self.mirror.append(vote)
        return vote

    def _check_rate(self, conn: sqlite3.Connection, now: datetime, session: str, client: str):
        since = _iso(now - timedelta(minutes=1))
        for who, column, value, limit in (
            ("session", "session_id", session, self.max_votes_per_minute),
            ("client", "client_hash", client, self.max_client_votes_per_minute),
        ):
            query = f"SELECT count(*) FROM votes WHERE {column} = ? AND time > ?"
            if limit and conn.execute(query, (value, since)).fetchone()[0] >= limit:
                raise VoteRejected(
                    f"too many votes from this {who}: at most {limit} a minute; wait a little"
                )

    # -- reading ----------------------------------------------------------------------------------

    def votes(self, task: str | None = None) -> list[Vote]:
        """Every vote (of ``task``, if given) in the order they were recorded."""
        where, args = ("WHERE task = ?", (task,)) if task is not None else ("", ())
        query = f"SELECT {_VOTE_COLUMNS} FROM votes {where} ORDER BY rowid"
        return [Vote.from_row(row) for row in self._conn().execute(query, args)]

    def count(self, task: str | None = None) -> int:
        """How many votes (of ``task``, if given) the store holds."""
        where, args = ("WHERE task = ?", (task,)) if task is not None else ("", ())
        return self._conn().execute(f"SELECT count(*) FROM votes {where}", args).fetchone()[0]

    def pair_counts(self, task: str) -> dict[tuple[str, str], int]:
        """Votes per unordered method pair of ``task``, keyed by the sorted pair of names.

        Pairs never voted on are absent: the caller knows which methods exist.
        """
        query = (
            "SELECT min(method_a, method_b), max(method_a, method_b), count(*) FROM votes "
            "WHERE task = ? GROUP BY 1, 2"
        )
        return {(a, b): n for a, b, n in self._conn().execute(query, (task,))}

    def close(self) -> None:
        """Close this thread's connection (others close when their thread's store is collected)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _marks(row: tuple) -> str:
    return ", ".join("?" * len(row))


def _params_json(params: dict[str, Any], name: str) -> str:
    if not isinstance(params, dict):
        raise InvalidParameterError(f"{name} must be a dict, got {type(params).__name__}")
    try:
        return json.dumps(params, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"{name} must be JSON-serialisable: {error}") from error


def _check_client_hash(value: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise InvalidParameterError(
            "client_hash must come from VoteStore.client_hash(address) (64 hex digits), never "
            f"the raw address; got a {type(value).__name__} of length {len(str(value))}"
        )


def _load_or_create_secret(path: Path) -> bytes:
    """Read the secret file, creating it once (mode 0600, atomically: link or lose the race)."""
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(secrets.token_hex(32).encode())
                file.flush()
                os.fsync(file.fileno())
            with suppress(FileExistsError):  # another process got there first: use theirs
                os.link(temporary, path)
        finally:
            temporary.unlink()
    secret = path.read_bytes().strip()
    if len(secret) < 32:
        raise StoreError(f"the arena secret {path} is damaged (too short); delete it to renew it")
    return secret


class _HubMirror:
    """This process's JSON-lines file of votes, pushed to a Hub dataset by ``CommitScheduler``."""

    def __init__(self, repo_id: str, root: Path, every: float) -> None:
        from huggingface_hub import CommitScheduler, HfApi

        host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())
        name = f"votes-{host}-{os.getpid()}-{uuid.uuid4().hex}"
        self.file = root / name / f"{name}.jsonl"  # a folder per process: no one else's files
        endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")
        try:
            self.scheduler = CommitScheduler(
                repo_id=repo_id,
                repo_type="dataset",
                folder_path=self.file.parent,
                path_in_repo="votes",
                every=every,
                hf_api=HfApi(endpoint=endpoint),
            )
        except Exception as error:  # the Hub client raises many kinds; all mean "cannot push"
            raise StoreError(
                f"cannot mirror votes to the dataset {repo_id} at {endpoint}: {error}; unset "
                "COLORLAB_ARENA_DATASET to keep votes only in the local database"
            ) from error

    def append(self, vote: Vote) -> None:
        """Append one line; under the scheduler's lock, so a push never takes half a line."""
        line = json.dumps(asdict(vote), sort_keys=True) + "\n"
        try:
            with self.scheduler.lock, self.file.open("a", encoding="utf-8") as file:
                file.write(line)
        except OSError as error:  # the vote is already safe in SQLite
            log.error("could not append vote %s to %s: %s", vote.vote_id, self.file, error)

    def push(self) -> None:
        """Push now and wait for it (the scheduler otherwise pushes every few minutes)."""
        self.scheduler.trigger().result()


_MIRRORS: dict[tuple[str, Path, int], _HubMirror] = {}
_MIRRORS_LOCK = threading.Lock()


def _hub_mirror(repo_id: str, root: Path) -> _HubMirror:
    """One mirror (one file, one scheduler) per dataset, folder and process."""
    key = (repo_id, root.resolve(), os.getpid())
    with _MIRRORS_LOCK:
        if key not in _MIRRORS:
            every = float(os.environ.get("COLORLAB_ARENA_PUSH_MINUTES") or 5)
            _MIRRORS[key] = _HubMirror(repo_id, root, every)
        return _MIRRORS[key]


def stop_mirrors(push: bool = True) -> None:
    """Push this process's vote files one last time (if ``push``) and stop their schedulers."""
    with _MIRRORS_LOCK:
        mirrors = [_MIRRORS.pop(key) for key in list(_MIRRORS)]
    for mirror in mirrors:
        try:
            if push:
                mirror.push()
        finally:
            mirror.scheduler.stop()
