"""How the app serves many users on a small machine: its queue, its limits, its proxies.

- **Queue** (``Blocks.queue``): at most ``COLORLAB_QUEUE_MAX_SIZE`` (default 64) waiting jobs.
  Full-resolution work shares one concurrency group, ``HEAVY`` (``COLORLAB_HEAVY_JOBS`` at
  once, default 2: one per core of a basic CPU Space); long runs (neural style) have their own,
  ``LONG``, one at a time; everything else (votes, menus) runs four at a time per event.
- **Per-client caps**: one browser session may have at most ``COLORLAB_QUEUE_PER_SESSION``
  (default 8) jobs waiting, one client address ``COLORLAB_QUEUE_PER_CLIENT`` (default 24); more
  are refused with a message, so one client cannot fill the queue. Waiting jobs are served
  round-robin between sessions (each session's first waiting job before anyone's second), and a
  session runs one job of a group at a time: a flood takes one heavy slot, and another user's
  request starts at once in the other. Gradio shows each job's queue position in the page.
- **Uploads**: at most ``COLORLAB_MAX_UPLOAD_MB`` (default 50) per file; images of at most
  ``COLORLAB_APP_MAX_PIXELS`` (see :mod:`colorlab.ui.work`).
- **Client addresses** (for the arena's rate limits): the connection's peer, unless the peer is
  a trusted proxy, in which case the right-most address in ``X-Forwarded-For`` that is not a
  trusted proxy. Trusted proxies are ``COLORLAB_TRUSTED_PROXIES`` (comma-separated addresses or
  networks); by default none, so a forged header changes nothing. On a Hugging Face Space
  (``SPACE_ID`` is set) the platform's proxy connects from its private network and appends the
  visitor's address to ``X-Forwarded-For``; there the default is that network, ``10.0.0.0/8``.
  Uvicorn applies the rule: :func:`launch_options` sets its ``FORWARDED_ALLOW_IPS`` to the list.
"""

from __future__ import annotations

import math
import os
from typing import Any

import gradio as gr

from colorlab.errors import InvalidParameterError

SPACE_PROXIES = "10.0.0.0/8"


def setting(name: str, default: float, minimum: float = 1, kind: type = int) -> float:
    """The number in environment variable ``name`` as it is now (``kind``, at least
    ``minimum``), else ``default``; a malformed value is an error naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        raise InvalidParameterError(
            f"{name} must be a {'whole ' if kind is int else ''}number of at least {minimum}, "
            f"got {text!r}"
        )
    return value


HEAVY: dict[str, Any] = {
    "concurrency_id": "heavy",
    "concurrency_limit": setting("COLORLAB_HEAVY_JOBS", 2),
}
LONG: dict[str, Any] = {"concurrency_id": "long", "concurrency_limit": 1}


def trusted_proxies() -> str:
    """The proxies whose ``X-Forwarded-For`` is believed (see the module docstring)."""
    configured = os.environ.get("COLORLAB_TRUSTED_PROXIES")
    if configured is not None:
        return configured.strip()
    return SPACE_PROXIES if os.environ.get("SPACE_ID") else ""


def configure_queue(demo: gr.Blocks) -> gr.Blocks:
    """Give ``demo`` its queue: bounded, capped per session and per client, and fair."""
    demo.queue(max_size=setting("COLORLAB_QUEUE_MAX_SIZE", 64), default_concurrency_limit=4)
    # Gradio has no hooks for admission or scheduling; these wrap its two entry points.
    queue = demo._queue
    queue.push = _capped(
        queue,
        per_session=setting("COLORLAB_QUEUE_PER_SESSION", 8),
        per_client=setting("COLORLAB_QUEUE_PER_CLIENT", 24),
    )
    queue.get_events = _one_running_job_per_session(queue)
    return demo


def _capped(queue: Any, per_session: int, per_client: int):
    """Gradio's ``Queue.push``, refusing a job when its session or address has too many waiting,
    and keeping each waiting line in :func:`round_robin` order."""
    push = queue.push

    async def capped_push(body, request, username):
        address = _address(request)
        waiting = [e for line in queue.event_queue_per_concurrency_id.values() for e in line.queue]
        mine = sum(e.session_hash == body.session_hash for e in waiting) if body.session_hash else 0
        if mine >= per_session:
            return False, f"You have {mine} jobs waiting already; wait for them.", "queue_full"
        if sum(_address(e.request) == address for e in waiting) >= per_client:
            message = f"{per_client} jobs from your address are waiting; try again later."
            return False, message, "queue_full"
        accepted = await push(body, request, username)
        if accepted[0] and (event := queue.event_ids_to_events.get(accepted[1])) is not None:
            line = queue.event_queue_per_concurrency_id.get(event.concurrency_id)
            if line is not None and len(line.queue) > 1:
                line.queue[:] = round_robin(line.queue)
                queue.broadcast_estimations(event.concurrency_id)
        return accepted

    return capped_push


def _one_running_job_per_session(queue: Any):
    """Gradio's ``Queue.get_events`` (which starts the first waiting job of a line with a free
    slot), choosing only among sessions with no job of that line running: one client's flood
    occupies one slot, and the others stay free for everyone else."""
    get_events = queue.get_events

    def fair_get_events():
        held = {}
        for concurrency_id, line in queue.event_queue_per_concurrency_id.items():
            busy = {
                event.session_hash
                for job in queue.active_jobs
                if job
                for event in job
                if event.concurrency_id == concurrency_id
            }
            if busy and any(event.session_hash in busy for event in line.queue):
                held[concurrency_id] = [e for e in line.queue if e.session_hash in busy]
                line.queue[:] = [e for e in line.queue if e.session_hash not in busy]
        try:
            return get_events()
        finally:
            for concurrency_id, events in held.items():
                line = queue.event_queue_per_concurrency_id[concurrency_id]
                line.queue[:] = round_robin(line.queue + events)

    return fair_get_events


def round_robin(events: list) -> list:
    """Waiting events ordered so that each session's n-th waiting event comes after every
    session's (n-1)-th; within a rank, and within a session, by arrival."""
    arrived = sorted(events, key=lambda event: event.enqueue_time)
    seen: dict[str, int] = {}
    ranked = []
    for event in arrived:
        rank = seen.get(event.session_hash, 0)
        seen[event.session_hash] = rank + 1
        ranked.append((rank, event.enqueue_time, event))
    return [event for *_, event in sorted(ranked, key=lambda item: item[:2])]


def _address(request: Any) -> str | None:
    client = getattr(request, "client", None)
    return client.host if client is not None else None


def launch_options() -> dict:
    """``Blocks.launch`` settings: upload size limit, and the trusted proxies for Uvicorn.

    Uvicorn reads ``FORWARDED_ALLOW_IPS`` when the server starts, so this sets it to
    :func:`trusted_proxies` (Uvicorn's own default trusts any local peer's forwarded header).
    """
    os.environ["FORWARDED_ALLOW_IPS"] = trusted_proxies()
    return {"max_file_size": f"{setting('COLORLAB_MAX_UPLOAD_MB', 50)}mb"}
