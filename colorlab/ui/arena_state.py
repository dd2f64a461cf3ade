"""The arena's state in the app, in one place: its vote store, who is voting, and how many
votes a method needs before it is scored. The API (:mod:`colorlab.ui.api`), the arena tab and
the survey view all take them from here.
"""

import functools

import gradio as gr

from colorlab.arena import ratings
from colorlab.arena.store import VoteStore
from colorlab.errors import InvalidParameterError
from colorlab.ui.server import setting


@functools.cache
def arena_store() -> VoteStore:
    """The app's vote store, opened on first use under ``COLORLAB_DATA_DIR`` (default ./data).

    ``COLORLAB_ARENA_MAX_VOTES_PER_MINUTE`` sets the per-session limit (default 30),
    ``COLORLAB_ARENA_MAX_CLIENT_VOTES_PER_MINUTE`` the per-address one (default 300),
    ``COLORLAB_ARENA_MAX_BATTLES_PER_MINUTE`` the battles a session may start (60; an address
    ten times that); 0 turns a limit off. ``COLORLAB_ARENA_TTL_SECONDS``: how long a battle
    waits for its vote (3600).
    """

    battles_per_minute = setting("COLORLAB_ARENA_MAX_BATTLES_PER_MINUTE", 60, minimum=0)
    return VoteStore(
        max_votes_per_minute=setting("COLORLAB_ARENA_MAX_VOTES_PER_MINUTE", 30, minimum=0) or None,
        max_client_votes_per_minute=(
            setting("COLORLAB_ARENA_MAX_CLIENT_VOTES_PER_MINUTE", 300, minimum=0) or None
        ),
        max_battles_per_minute=battles_per_minute or None,
        max_client_battles_per_minute=10 * battles_per_minute or None,
        ttl_seconds=setting("COLORLAB_ARENA_TTL_SECONDS", 3600, minimum=1, kind=float),
    )


def voter(request: gr.Request | None) -> tuple[str, str]:
    """Who is asking: Gradio's own session id, and the keyed hash of the client's address.

    Never a name the client supplies: a battle belongs to the session that asked for it, and the
    rate limits count sessions and addresses. The address is the connection's peer, or what a
    trusted proxy forwarded (:func:`colorlab.ui.server.trusted_proxies`).
    """
    session = request.session_hash if request is not None else None
    if not session:
        raise InvalidParameterError("the arena needs a Gradio session: call it through the queue")
    client = request.client if request is not None else None
    address = client.host if client is not None and client.host else "unknown"
    return session, arena_store().client_hash(address)


def arena_min_votes() -> int:
    """Votes a method needs before the leaderboard scores it: ``COLORLAB_ARENA_MIN_VOTES``
    (default ``ratings.MIN_VOTES``, 10), read on each call."""
    return setting("COLORLAB_ARENA_MIN_VOTES", ratings.MIN_VOTES)
