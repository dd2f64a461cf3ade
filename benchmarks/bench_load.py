"""The app under load over HTTP: latency with many clients, and a second user during a flood.

    python -m benchmarks.bench_load [--clients 8 16] [--requests 5]

Starts ``python app.py`` (:class:`benchmarks.gradio_http.AppProcess`) on a loopback port with a
fresh temporary folder as ``TMPDIR``, ``GRADIO_TEMP_DIR`` and ``COLORLAB_DATA_DIR`` and the
default queue settings, and prints two Markdown tables:

- **Concurrent clients**: each client (a thread with its own ``session_hash``) sends
  ``--requests`` requests in a row to ``/recolor`` (chang, a 4-colour palette) and then to
  ``/colorize`` (classification) on the 512x512 astronaut photo; p50, p95 (nearest rank) and max
  latency, completed, refused (HTTP 503 from the queue caps) and errors. The reference, in the
  same process, is one client alone sending the same requests in a row: the latency floor.
- **Flood vs second user**: one session submits 40 ``/colorize`` jobs on a 1024x1024 astronaut
  as fast as it can, then collects them; once they are submitted a second session sends a
  128x128 ``/colorize`` 5 times in a row. The reference is the second user with no flood,
  measured first (a note gives one flood job's time alone: what a second user may wait for).

The app caches results per image, so every request sends a different file (the photo with a
few pixels changed: same work, no cache hit). Files are uploaded before the clock starts;
latency is submit to result. Every request goes to 127.0.0.1 only; every loop is bounded in
count and time (``--max-seconds`` per measurement).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import re
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from skimage import data

from benchmarks.gradio_http import AppProcess, GradioHTTP, isolated_env

PALETTE = "#203040, #c05030, #e0c080, #f0f0f0"
CALLS = {
    "recolor": lambda file: [file, PALETTE, "chang", None],
    "colorize": lambda file: [file, "classification", None, None],
}
FLOOD_JOBS = 40
FLOOD_SIDE = 1024
SMALL_SIDE = 128
SECOND_USER_REQUESTS = 5
EXC = re.compile(r"^\w+(Error|Exception): ")  # the last line of a traceback
_SERIAL = itertools.count(1)  # every file the benchmark writes has different pixels


class Photos:
    """Distinct PNGs of the astronaut at one size: the photo with its first pixels set to a
    serial number, so no two files (and no two requests) share a cache entry."""

    def __init__(self, folder: Path, side: int) -> None:
        self.folder, self.side = folder, side
        image = Image.fromarray(data.astronaut()[..., :3])
        if image.size != (side, side):
            image = image.resize((side, side), Image.Resampling.LANCZOS)
        self.base = np.asarray(image).copy()

    def new(self) -> Path:
        serial = next(_SERIAL)
        pixels = self.base.copy()
        pixels[0, :3] = [[serial % 256, serial // 256 % 256, serial // 65536 % 256]] * 3
        path = self.folder / f"astronaut-{self.side}-{serial}.png"
        Image.fromarray(pixels).save(path, compress_level=1)
        return path


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1]); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def new_client(url: str, timeout: float) -> GradioHTTP:
    return GradioHTTP(url, session_hash=f"bench-{uuid.uuid4().hex[:12]}", timeout=timeout)


def timed_call(client: GradioHTTP, api: str, data: list) -> tuple[str, float, Any]:
    """(outcome, seconds, detail): outcome complete, error or refused; an HTTP failure counts
    as an error."""
    start = time.perf_counter()
    try:
        outcome, detail = client.call(api, data)
    except Exception as error:  # noqa: BLE001 (a timeout or a dropped connection is a result)
        outcome, detail = "error", f"{type(error).__name__}: {error}"
    if outcome not in ("complete", "refused"):
        outcome = "error"
    return outcome, time.perf_counter() - start, detail


def run_in_a_row(client: GradioHTTP, api: str, files: list[str], deadline: float) -> list[tuple]:
    results = []
    for file in files:
        if time.monotonic() > deadline:
            break
        results.append(timed_call(client, api, CALLS[api]({"path": file})))
    return results


def prepared_clients(url: str, photos: Photos, count: int, requests: int, timeout: float):
    """``count`` clients, each with ``requests`` distinct photos already uploaded."""
    clients = [new_client(url, timeout) for _ in range(count)]
    files = [[client.upload(photos.new()) for _ in range(requests)] for client in clients]
    return clients, files


def concurrent_row(
    url: str, api: str, photos: Photos, count: int, requests: int, args: argparse.Namespace
) -> dict:
    clients, files = prepared_clients(url, photos, count, requests, args.timeout)
    deadline = time.monotonic() + args.max_seconds
    start = time.perf_counter()
    try:
        if count == 1:
            results = run_in_a_row(clients[0], api, files[0], deadline)
        else:
            with ThreadPoolExecutor(max_workers=count) as pool:
                futures = [
                    pool.submit(run_in_a_row, client, api, mine, deadline)
                    for client, mine in zip(clients, files, strict=True)
                ]
                results = [result for future in futures for result in future.result()]
    finally:
        for client in clients:
            client.close()
    wall = time.perf_counter() - start
    latencies = [seconds for outcome, seconds, _ in results if outcome == "complete"]
    errors = [detail for outcome, _, detail in results if outcome == "error"]
    return {
        "latencies": latencies,
        "completed": len(latencies),
        "refused": sum(outcome == "refused" for outcome, _, _ in results),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "sent": len(results),
        "wall": wall,
    }


def concurrent_table(url: str, photos: Photos, args: argparse.Namespace) -> list[str]:
    print(
        f"## Concurrent clients: {args.requests} requests in a row per client, "
        f"astronaut {photos.side}x{photos.side} PNG\n"
    )
    print(
        "| endpoint | clients | sent | p50 s | p95 s | max s | completed | refused | errors "
        "| wall s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for api in CALLS:
        for count in (1, *args.clients):
            row = concurrent_row(url, api, photos, count, args.requests, args)
            lat = row["latencies"]
            label = "1 alone (reference)" if count == 1 else str(count)
            print(
                f"| /{api} | {label} | {row['sent']} | {percentile(lat, 0.5):.2f} "
                f"| {percentile(lat, 0.95):.2f} | {max(lat, default=math.nan):.2f} "
                f"| {row['completed']} | {row['refused']} | {row['errors']} | {row['wall']:.1f} |",
                flush=True,
            )
            if row["first_error"] is not None:
                notes.append(f"/{api}, {count} clients, first error: {row['first_error']}")
    return notes


def second_user(url: str, photos: Photos, args: argparse.Namespace) -> tuple[list, list[str]]:
    client = new_client(url, args.timeout)
    try:
        files = [client.upload(photos.new()) for _ in range(SECOND_USER_REQUESTS)]
        results = run_in_a_row(client, "colorize", files, time.monotonic() + args.max_seconds)
    finally:
        client.close()
    return (
        [seconds for outcome, seconds, _ in results if outcome == "complete"],
        [f"{outcome}: {detail}" for outcome, _, detail in results if outcome != "complete"],
    )


def flood_table(url: str, big: Photos, small: Photos, args: argparse.Namespace) -> list[str]:
    print(
        f"\n## Flood vs second user: one session submits {FLOOD_JOBS} /colorize jobs on "
        f"{big.side}x{big.side}, another sends {SECOND_USER_REQUESTS} /colorize on "
        f"{small.side}x{small.side} in a row\n"
    )
    print(
        "| scenario | flood accepted | flood refused | flood completed | flood errors "
        "| second user median s | second user max s | second user completed | flood wall s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    notes = []
    job = new_client(url, args.timeout)
    try:
        runs = run_in_a_row(
            job, "colorize", [job.upload(big.new()) for _ in range(3)], time.monotonic() + 300
        )
    finally:
        job.close()
    job_alone = [seconds for outcome, seconds, _ in runs if outcome == "complete"]
    alone, problems = second_user(url, small, args)
    notes += [f"second user alone: {p}" for p in problems]
    print(
        f"| no flood (reference) | - | - | - | - | {statistics.median(alone):.2f} "
        f"| {max(alone):.2f} | {len(alone)}/{SECOND_USER_REQUESTS} | - |",
        flush=True,
    )

    flooder = new_client(url, args.timeout)
    try:
        files = [flooder.upload(big.new()) for _ in range(FLOOD_JOBS)]
        accepted, refusals = [], []
        for file in files:
            status, answer = flooder.submit("colorize", CALLS["colorize"]({"path": file}))
            (accepted if status == 200 else refusals).append(answer)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1) as pool:
            collected = (
                pool.submit(
                    flooder.session_results,
                    "colorize",
                    accepted[0],
                    len(accepted),
                    args.max_seconds,
                )
                if accepted
                else None
            )
            during, problems = second_user(url, small, args)
            outcomes = [o for o, _ in collected.result()] if collected is not None else []
        wall = time.perf_counter() - start
    finally:
        flooder.close()
    notes += [f"second user during the flood: {p}" for p in problems]
    if refusals:
        notes.append(f"flood refusal (HTTP 503): {refusals[0]}")
    print(
        f"| flood of {FLOOD_JOBS} | {len(accepted)} | {len(refusals)} "
        f"| {outcomes.count('complete')} | {outcomes.count('error')} "
        f"| {statistics.median(during) if during else math.nan:.2f} "
        f"| {max(during, default=math.nan):.2f} | {len(during)}/{SECOND_USER_REQUESTS} "
        f"| {wall:.1f} |",
        flush=True,
    )
    notes.append(
        f"one {big.side}x{big.side} /colorize alone (the flood's job): median "
        f"{statistics.median(job_alone) if job_alone else math.nan:.2f} s of {len(job_alone)}"
    )
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 16], help="client counts")
    parser.add_argument("--requests", type=int, default=5, help="requests in a row per client")
    parser.add_argument("--timeout", type=float, default=120, help="HTTP timeout per request, s")
    parser.add_argument("--max-seconds", type=float, default=600, help="bound per measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="colorlab-bench-load-") as temp:
        root = Path(temp)
        env, photos_dir = isolated_env(root), root / "photos"
        photos_dir.mkdir()
        defaults = {
            "COLORLAB_QUEUE_MAX_SIZE": 64,
            "COLORLAB_QUEUE_PER_SESSION": 8,
            "COLORLAB_QUEUE_PER_CLIENT": 24,
            "COLORLAB_HEAVY_JOBS": 2,
        }
        settings = [f"{k}={os.environ.get(k) or f'{v} (default)'}" for k, v in defaults.items()]
        print(
            f"{os.cpu_count()} cores (os.cpu_count), {len(os.sched_getaffinity(0))} usable; "
            f"settings in force: {', '.join(settings)}\n"
        )
        photo, big, small = (Photos(photos_dir, side) for side in (512, FLOOD_SIDE, SMALL_SIDE))
        with AppProcess(env) as app:
            notes = []
            warm = new_client(app.url, args.timeout)  # load the models before any clock runs
            for api in CALLS:
                outcome, detail = warm.call(api, CALLS[api]({"path": warm.upload(small.new())}))
                if outcome != "complete":
                    notes.append(f"warm-up /{api} failed: {outcome}: {detail}")
            warm.close()
            notes += concurrent_table(app.url, photo, args)
            notes += flood_table(app.url, big, small, args)
            alive = app.process.poll() is None
            raised = sorted(
                {line for line in app.stderr_tail(10**6).splitlines() if EXC.match(line)}
            )
        print()
        for note in notes:
            print(f"- {note}")
        for line in raised:
            print(f"- the app's stderr has: {line}")
        print(f"- the app {'was still running' if alive else 'had exited'} at the end")


if __name__ == "__main__":
    main()
