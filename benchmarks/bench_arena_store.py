"""Votes per second into the arena's vote store with 1 and 8 writer processes; a Markdown table.

    python -m benchmarks.bench_arena_store [--runs 3] [--votes 2000] [--writers 1 8]

A vote is what the app does per battle: ``issue_battle`` then ``record_vote`` (the vote commits
with ``synchronous=FULL``, an fsync per vote, in WAL mode). Each run starts a fresh database in a
temporary folder on the same disk as ``COLORLAB_DATA_DIR`` would be (``--dir``, default the
system's temporary folder); ``--votes`` is split evenly between the writers and the clock runs from
a shared start signal to the last writer's end (process start-up excluded). Rates are the median of
``--runs`` runs. The reference, measured in this process, is the same number of plain ``INSERT``s
of one row each, committed one by one, into an in-memory SQLite table: what SQLite costs with no
disk, no checks and no second statement.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from colorlab.arena.store import VoteStore

INPUT = "9" * 64


def _writer(path: str, writer: int, n: int, ready, go) -> None:
    store = VoteStore(
        path,
        max_votes_per_minute=None,
        max_client_votes_per_minute=None,
        max_battles_per_minute=None,
        max_client_battles_per_minute=None,
    )
    client = store.client_hash(f"10.0.0.{writer}")
    session = f"bench-{writer}"
    ready.release()
    go.wait()
    for i in range(n):
        battle = store.issue_battle(
            "recolor", INPUT, f"m{i % 5}", {"i": i}, "m9", {}, "ab"[i % 2], session, client
        )
        store.record_vote(battle, "a", session, client, latency_ms=1000.0)


def store_rate(writers: int, votes: int, folder: str) -> float:
    """Votes per second with ``writers`` processes adding ``votes`` in all to a fresh store."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = str(Path(tmp) / "arena.sqlite3")
        VoteStore(path)
        context = multiprocessing.get_context("spawn")
        ready, go = context.Semaphore(0), context.Event()
        per_writer = votes // writers
        processes = [
            context.Process(target=_writer, args=(path, w, per_writer, ready, go))
            for w in range(writers)
        ]
        for process in processes:
            process.start()
        for _ in processes:
            ready.acquire()
        start = time.perf_counter()
        go.set()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - start
        if any(process.exitcode != 0 for process in processes):
            raise RuntimeError("a writer failed")
        stored = VoteStore(path).count()
        if stored != per_writer * writers:
            raise RuntimeError(f"expected {per_writer * writers} votes, found {stored}")
        return stored / elapsed


def plain_insert_rate(votes: int) -> float:
    """Rows per second of autocommitted single-row INSERTs into an in-memory table."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE votes (vote_id TEXT PRIMARY KEY, winner TEXT, latency_ms REAL)")
    start = time.perf_counter()
    for i in range(votes):
        conn.execute("INSERT INTO votes VALUES (?, ?, ?)", (f"{i:032x}", "a", 1000.0))
    return votes / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--votes", type=int, default=2000, help="votes per run, all writers")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the databases go")
    args = parser.parse_args()

    print(f"Vote store throughput, median of {args.runs} runs (database under {args.dir})\n")
    print("| writers | votes per run | votes/s | plain in-memory INSERTs/s (reference) |")
    print("|---:|---:|---:|---:|")
    for writers in args.writers:
        rates = [store_rate(writers, args.votes, args.dir) for _ in range(args.runs)]
        reference = statistics.median(plain_insert_rate(args.votes) for _ in range(args.runs))
        votes = args.votes // writers * writers
        print(f"| {writers} | {votes} | {statistics.median(rates):.0f} | {reference:.0f} |")


if __name__ == "__main__":
    main()
