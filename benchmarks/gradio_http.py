"""The app as a separate process, driven over raw HTTP: what the load benchmark and the hardening
tests share.

:class:`AppProcess` runs ``python app.py`` on a free loopback port with the environment given
(its own temporary folder, data folder and limits) and reads its memory from ``/proc``.
:class:`GradioHTTP` speaks Gradio's plain HTTP API the way any client can, without
``gradio_client``: ``POST /gradio_api/upload``, ``POST /gradio_api/call/NAME`` (optionally
with a ``session_hash``) and the event's ``GET`` stream. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def isolated_env(root: Path) -> dict[str, str]:
    """Environment for an app whose temporary, upload and data folders are under ``root``."""
    (root / "app").mkdir(parents=True, exist_ok=True)
    return {
        "TMPDIR": str(root / "app"),
        "GRADIO_TEMP_DIR": str(root / "app"),
        "COLORLAB_DATA_DIR": str(root / "data"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """``python app.py`` in a child process; ``with AppProcess(env) as app: app.url``."""

    def __init__(self, env: dict[str, str] | None = None, startup_timeout: float = 120) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            **(env or {}),
        }
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: nobody reads a pipe while the app runs, and once its 64 KB buffer
        # fills (a few tracebacks) every write the app makes to stderr blocks.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (read after the app exits)

    def __enter__(self) -> AppProcess:
        self.process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited: {self.stderr_tail()}")
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"the app did not answer within {self.startup_timeout} s")

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stderr_tail(self, chars: int = 2000) -> str:
        """The last ``chars`` characters the app wrote to stderr."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-chars:]

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        return self._status("VmRSS")

    def peak_rss(self) -> int:
        """The highest resident memory since start or :meth:`reset_peak`, in bytes."""
        return self._status("VmHWM")

    def reset_peak(self) -> None:
        """Start measuring the peak afresh (Linux: ``5`` into ``/proc/PID/clear_refs``)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")


class GradioHTTP:
    """One client of the app's HTTP API; ``session_hash`` None lets each call have its own."""

    def __init__(
        self,
        url: str,
        session_hash: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> None:
        self.session_hash = session_hash
        self.http = httpx.Client(base_url=url, headers=headers or {}, timeout=timeout)

    def upload(self, path: str | Path) -> str:
        """Upload a file the way the page does; returns its path on the server."""
        path = Path(path)
        with path.open("rb") as file:
            response = self.http.post("/gradio_api/upload", files={"files": (path.name, file)})
        response.raise_for_status()
        return response.json()[0]

    def submit(self, api: str, data: list) -> tuple[int, str]:
        """Queue a call; returns (HTTP status, event id or the refusal's detail)."""
        body: dict[str, Any] = {"data": data}
        if self.session_hash is not None:
            body["session_hash"] = self.session_hash
        response = self.http.post(f"/gradio_api/call/{api}", json=body)
        if response.status_code != 200:
            return response.status_code, response.json().get("detail", response.text)
        return 200, response.json()["event_id"]

    def result(self, api: str, event_id: str) -> tuple[str, Any]:
        """Wait for a queued call: ("complete", outputs) or ("error", message or None)."""
        event, data = None, None
        with self.http.stream("GET", f"/gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line.split(":", 1)[1].strip() or "null")
                    break
        if event == "error":
            return "error", data.get("error") if isinstance(data, dict) else data
        return event or "none", data

    def session_results(
        self, api: str, event_id: str, expected: int, timeout: float
    ) -> list[tuple[str, float]]:
        """(outcome, monotonic time) of this session's next ``expected`` results, read from one
        stream: Gradio's ``GET /call/API/EVENT`` streams every message of the event's session,
        without event ids, and closing it cancels the session's waiting events, so a session
        with several jobs must read them all at once (:meth:`result` stops at the first)."""
        outcomes: list[tuple[str, float]] = []
        deadline = time.monotonic() + timeout
        with self.http.stream("GET", f"/gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                    if event in ("complete", "error"):
                        outcomes.append((event, time.monotonic()))
                if len(outcomes) >= expected or time.monotonic() > deadline:
                    break
        return outcomes

    def call(self, api: str, data: list) -> tuple[str, Any]:
        """Submit and wait: ("complete", outputs), ("error", message) or ("refused", detail)."""
        status, answer = self.submit(api, data)
        if status != 200:
            return "refused", answer
        return self.result(api, answer)

    def close(self) -> None:
        self.http.close()
