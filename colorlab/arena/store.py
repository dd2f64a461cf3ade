"""The arena's vote store: append-only SQLite that survives crashes, optionally mirrored to the Hub.

A battle (two methods shown on one input, sides randomised) is issued and kept here, under an
unguessable id, before the browser sees anything; a vote names only that id and a winner, so the
methods, their parameters and the sides always come from the server. One file, ``arena.sqlite3``
under the data directory (``COLORLAB_DATA_DIR``, default ``./data``), holds five tables:

- ``schema_version``: one row, the layout version (2), checked on every open.
- ``open_battles``: battles issued and not voted yet, the one table whose rows are deleted:
  :meth:`VoteStore.prune_expired` deletes those past their expiry, so unvoted battles do not
  pile up.
- ``battles``: voted battles (same columns). A vote, in one transaction, copies its battle here
  from ``open_battles``, deletes the open row and adds its claim and its vote.
- ``claims``: one row per voted battle (``battle_id`` is UNIQUE, so a second vote fails on the
  constraint even when two arrive at once).
- ``votes``: one record per vote with the fields of REFERENCES.md section 7.

Retention: a vote and its battle are kept for ever; nothing in ``battles``, ``claims`` or
``votes`` is ever rewritten: triggers abort any UPDATE or DELETE (and an ``INSERT OR REPLACE``
that would overwrite a row). An unvoted battle is kept until it expires (``ttl_seconds``) and a
minute more (so the issue rate limit still counts it), then pruned. A battle's images on disk
live as long (:mod:`colorlab.arena.battles`).

Version 1 kept every issued battle in ``battles``. Opening a version-1 store upgrades it in place
(adds ``open_battles`` and the rate-limit indexes); its rows stay where they are, so a battle
still unvoted at the upgrade can no longer be voted (it is answered "battle expired"). A store of
a newer version is refused.

The database runs in WAL mode; a vote commits with ``synchronous=FULL``, so a vote whose
:meth:`VoteStore.record_vote` returned survives a crash or a power cut. Issuing a battle commits
with ``synchronous=NORMAL`` (no fsync of its own): it is made durable by the next vote, and a
battle lost to a power cut can only come back "unknown".

Keys: one master secret, ``COLORLAB_ARENA_SECRET`` or, when that is unset, a random secret created
once in ``arena.secret`` beside the database, is never used as a key itself; each use gets its own
key from :func:`derive_key`. The client address is stored only as an HMAC-SHA256 under the
client-address key.

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
import numbers
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

SCHEMA_VERSION = 2
DB_NAME = "arena.sqlite3"
SECRET_NAME = "arena.secret"
CLIENT_ADDRESS_PURPOSE = "client-address"  # the derive_key purpose of client hashes
WINNERS = ("a", "b", "tie", "both_bad")
SIDES = ("a", "b")
MAX_LATENCY_MS = 24 * 3600 * 1000  # one day: a longer "time to vote" is a broken client clock
DEFAULT_ENDPOINT = "https://huggingface.co"
UNKNOWN = (
    "unknown battle: this battle was never issued (or expired and was cleared); start a new one"
)
ALREADY_VOTED = "battle already voted: each battle takes one vote"
EXPIRED = "battle expired: it waited too long for a vote; start a new one"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_VOTE_COLUMNS = (
    "vote_id, battle_id, time, session_id, client_hash, input_hash, task, method_a, params_a, "
    "method_b, params_b, left_side, winner, latency_ms, app_version"
)
_BATTLE_COLUMNS = (
    "battle_id, issued_at, expires_at, session_id, client_hash, task, input_hash, "
    "method_a, params_a, method_b, params_b, left_side"
)
_BATTLE_FIELDS = """battle_id TEXT PRIMARY KEY, issued_at TEXT NOT NULL, expires_at TEXT NOT NULL,
        session_id TEXT NOT NULL, client_hash TEXT NOT NULL, task TEXT NOT NULL,
        input_hash TEXT NOT NULL, method_a TEXT NOT NULL, params_a TEXT NOT NULL,
        method_b TEXT NOT NULL, params_b TEXT NOT NULL,
        left_side TEXT NOT NULL CHECK (left_side IN ('a', 'b'))"""
# A new store is made at version 1 and upgraded like an old one: one path to the current layout.
_SCHEMA_V1 = [
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES (1)",
    f"CREATE TABLE battles ({_BATTLE_FIELDS})",
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
    _SCHEMA_V1 += [
        f"CREATE TRIGGER {_table}_no_{verb.lower()} BEFORE {verb} ON {_table} BEGIN "
        f"SELECT RAISE(ABORT, '{_table} are append-only: {verb} is not allowed'); END"
        for verb in ("UPDATE", "DELETE")
    ]
    # INSERT OR REPLACE deletes the old row without firing DELETE triggers; refuse it up front.
    _SCHEMA_V1.append(
        f"CREATE TRIGGER {_table}_no_overwrite BEFORE INSERT ON {_table} "
        f"WHEN EXISTS (SELECT 1 FROM {_table} WHERE {_key} = NEW.{_key}) BEGIN "
        f"SELECT RAISE(ABORT, '{_table} are append-only: {_key} exists'); END"
    )
_UPGRADES = {  # version -> the statements that take a store from it to the next version
    1: [
        f"CREATE TABLE open_battles ({_BATTLE_FIELDS})",
        "CREATE INDEX open_battles_by_expiry ON open_battles (expires_at)",
        *(
            f"CREATE INDEX {table}_by_{who} ON {table} ({column}, issued_at)"
            for table in ("open_battles", "battles")
            for who, column in (("session", "session_id"), ("client", "client_hash"))
        ),
        "UPDATE schema_version SET version = 2",
    ],
}
_RECENT = {  # how many votes / battles a session or client had since a moment: ?1 who, ?2 since
    "votes": "SELECT count(*) FROM votes WHERE {column} = ?1 AND time > ?2",
    "battles": (
        "SELECT (SELECT count(*) FROM open_battles WHERE {column} = ?1 AND issued_at > ?2)"
        " + (SELECT count(*) FROM battles WHERE {column} = ?1 AND issued_at > ?2)"
    ),
}

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
    client hash (higher by default: a classroom shares one address); ``max_battles_per_minute``
    and ``max_client_battles_per_minute`` limit issued battles the same way (each costs the server
    two method runs); None means no limit.
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
        max_battles_per_minute: int | None = 60,
        max_client_battles_per_minute: int | None = 600,
        ttl_seconds: float = 3600,
        busy_timeout: float = 60,
        clock: Callable[[], datetime] = _now,
        dataset: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else data_dir() / DB_NAME
        self.limits = {
            "votes": (max_votes_per_minute, max_client_votes_per_minute),
            "battles": (max_battles_per_minute, max_client_battles_per_minute),
        }
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
        """Create the store, or check its version and upgrade it, in one transaction."""
        try:
            with self._transaction() as conn:
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
                if not tables:
                    for statement in _SCHEMA_V1:
                        conn.execute(statement)
                elif "schema_version" not in tables:
                    raise StoreError(
                        f"{self.path} is not a ColorLab vote store (no schema_version table); "
                        "point COLORLAB_DATA_DIR at another folder"
                    )
                for version in range(_schema_version(conn, self.path), SCHEMA_VERSION):
                    for statement in _UPGRADES[version]:
                        conn.execute(statement)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open the vote store {self.path}: {error}") from error

    # -- keys -------------------------------------------------------------------------------------

    def secret(self) -> bytes:
        """The master secret: ``COLORLAB_ARENA_SECRET`` as it is now, else ``arena.secret``
        beside the database (created once). Key nothing with it directly: use :func:`derive_key`.
        """
        secret = os.environ.get("COLORLAB_ARENA_SECRET", "").encode()
        if secret:
            return secret
        if self._secret_from_file is None:
            self._secret_from_file = load_or_create_secret(self.path.parent / SECRET_NAME)
        return self._secret_from_file

    def client_hash(self, address: str) -> str:
        """HMAC-SHA256 (hex) of a client address: the only form in which an address is stored."""
        key = derive_key(self.secret(), CLIENT_ADDRESS_PURPOSE)
        return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()

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
        store's), by ``session`` only, once. A session or client over its battle rate limit gets
        :class:`VoteRejected`, and nothing is written.
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
            self._check_rate(conn, "battles", now, session, client_hash)
            insert = f"INSERT INTO open_battles ({_BATTLE_COLUMNS}) VALUES ({_marks(row)})"
            conn.execute(insert, row)
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
        turned into "a"/"b" from the battle's sides. ``latency_ms`` is None or from 0 to
        ``MAX_LATENCY_MS``. In one transaction the battle must be open (issued, not voted yet,
        not expired) and issued to ``session``, and the session and client must be under the
        rate limit; otherwise :class:`VoteRejected` says which, and nothing is written.
        """
        if winner not in (*WINNERS, "left", "right"):
            raise InvalidParameterError(
                f"winner must be one of {', '.join(WINNERS)}, left or right; got {winner!r}"
            )
        latency_ms = _checked_latency(latency_ms)
        _check_client_hash(client_hash)
        if app_version is None:
            from colorlab import __version__ as app_version
        now = self.clock()
        with self._transaction() as conn:
            battle = _open_battle(conn, battle_id, session, now)
            self._check_rate(conn, "votes", now, session, client_hash)
            if winner in ("left", "right"):
                other = "b" if battle[11] == "a" else "a"
                winner = battle[11] if winner == "left" else other
            row = (uuid.uuid4().hex, battle_id, _iso(now), session, client_hash, battle[6])
            row += (battle[5], *battle[7:12], winner, latency_ms, app_version)
            vote = Vote.from_row(row)
            conn.execute(
                f"INSERT INTO battles ({_BATTLE_COLUMNS}) "
                f"SELECT {_BATTLE_COLUMNS} FROM open_battles WHERE battle_id = ?",
                (battle_id,),
            )
            conn.execute("DELETE FROM open_battles WHERE battle_id = ?", (battle_id,))
            try:
                conn.execute(
                    "INSERT INTO claims (battle_id, vote_id, claimed_at) VALUES (?, ?, ?)",
                    (battle_id, vote.vote_id, vote.time),
                )
                conn.execute(f"INSERT INTO votes ({_VOTE_COLUMNS}) VALUES ({_marks(row)})", row)
            except sqlite3.IntegrityError as error:
                raise VoteRejected(ALREADY_VOTED) from error
        if self.mirror is not None:
            self.mirror.append(vote)
        return vote

    def prune_expired(self) -> list[str]:
        """Delete the open battles that have expired (store clock); return their ids.

        Only unvoted battles are ever deleted; votes and voted battles are never touched. (The
        battle rate limit counts the battles still held, so with a ``ttl_seconds`` under a
        minute, pruned battles no longer count against it.)
        """
        with self._transaction(durable=False) as conn:
            rows = conn.execute(
                "DELETE FROM open_battles WHERE expires_at <= ? RETURNING battle_id",
                (_iso(self.clock()),),
            ).fetchall()
        return [battle_id for (battle_id,) in rows]

    def _check_rate(
        self, conn: sqlite3.Connection, kind: str, now: datetime, session: str, client: str
    ) -> None:
        """Refuse a vote or battle (``kind``) past the session's or the client's limit a minute."""
        since = _iso(now - timedelta(minutes=1))
        for who, column, value, limit in zip(
            ("session", "client"),
            ("session_id", "client_hash"),
            (session, client),
            self.limits[kind],
            strict=True,
        ):
            query = _RECENT[kind].format(column=column)
            if limit and conn.execute(query, (value, since)).fetchone()[0] >= limit:
                raise VoteRejected(
                    f"too many {kind} from this {who}: at most {limit} a minute; wait a little"
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


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The store's layout version; :class:`StoreError` for a newer or a damaged one."""
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
    version = versions[0] if len(versions) == 1 and isinstance(versions[0], int) else None
    if version is not None and 1 <= version <= SCHEMA_VERSION:
        return version
    newer = version is not None and version > SCHEMA_VERSION
    raise StoreError(
        f"the vote store {path} has schema version {versions}, this ColorLab reads versions up "
        f"to {SCHEMA_VERSION}; "
        + ("it was written by a newer ColorLab: upgrade" if newer else "it is damaged")
    )


def _open_battle(conn: sqlite3.Connection, battle_id: str, session: str, now: datetime) -> tuple:
    """The open battle's row, or :class:`VoteRejected` saying why it cannot take this vote."""
    row = conn.execute(
        f"SELECT {_BATTLE_COLUMNS}, 1 FROM open_battles WHERE battle_id = ?1 "
        f"UNION ALL SELECT {_BATTLE_COLUMNS}, 0 FROM battles WHERE battle_id = ?1",
        (battle_id,),
    ).fetchone()
    if row is None:
        raise VoteRejected(UNKNOWN)
    if row[3] != session:
        raise VoteRejected("battle issued to another session: start a new battle")
    if not row[-1]:  # closed: voted, or issued by a version-1 store and never voted
        claimed = conn.execute("SELECT 1 FROM claims WHERE battle_id = ?", (battle_id,))
        raise VoteRejected(ALREADY_VOTED if claimed.fetchone() else EXPIRED)
    if _iso(now) >= row[2]:
        raise VoteRejected(EXPIRED)
    return row[:-1]


def derive_key(secret: bytes, purpose: str) -> bytes:
    """The 32-byte key of one ``purpose``: HMAC-SHA256(secret, b"colorlab/" + purpose).

    One secret serves several uses (client hashes, survey completion codes); with a key per use,
    what one use reveals (a hash, a code) can never stand in for, or help forge, another's.
    """
    return hmac.new(secret, b"colorlab/" + purpose.encode(), hashlib.sha256).digest()


def _checked_latency(latency_ms: float | None) -> float | None:
    if latency_ms is None:
        return None
    if (
        isinstance(latency_ms, bool)
        or not isinstance(latency_ms, numbers.Real)
        or not 0 <= latency_ms <= MAX_LATENCY_MS
    ):
        raise InvalidParameterError(
            f"latency_ms must be None or a number of milliseconds from 0 to {MAX_LATENCY_MS} "
            f"(one day); got {latency_ms!r}"
        )
    return float(latency_ms)


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


def load_or_create_secret(path: Path) -> bytes:
    """The secret in the file ``path``, created once (random, mode 0600, atomically: link or
    lose the race to another process and use theirs)."""
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
