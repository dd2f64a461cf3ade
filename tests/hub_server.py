"""A tiny in-memory Hugging Face Hub, enough of the protocol for the real huggingface_hub client.

The routes are exactly those huggingface_hub 2.4 calls for ``create_repo``, ``create_commit`` and
``hf_hub_download`` (read from its source):

- ``POST /api/repos/create``: make a model repo with an initial commit; 409 if it exists.
- ``POST /api/validate-yaml``: ``create_commit`` checks a README.md's metadata first; accept it.
- ``POST /api/models/{repo}/preupload/{rev}``: every file is ``regular`` (inline base64, no LFS).
- ``POST /api/models/{repo}/commit/{rev}``: NDJSON, a header line then ``file`` lines.
- The same two routes under ``/api/datasets/`` (what ``CommitScheduler`` calls for a dataset repo);
  model and dataset repos share one namespace here.
- ``HEAD`` and ``GET /{repo}/resolve/{rev}/{path}``: the bytes, with ``X-Repo-Commit``, ``ETag``
  and ``Content-Length``.
- Plain files at any other path (:meth:`HubServer.add_file`), as an author's release site
  serves them, optionally behind a 302 redirect as GitHub's release downloads are.

Failures carry the ``X-Error-Code`` header (``RepoNotFound``, ``RevisionNotFound``,
``EntryNotFound``) that the client turns into its own exception classes. Use it as a context
manager: it listens on a random port of 127.0.0.1 and stops when the block ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

MAX_BODY_BYTES = 512 * 1024 * 1024  # a reference model (137 MB) inlined as base64
RESOLVE = re.compile(r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)")
REPO_API = re.compile(
    r"/api/(?:models|datasets)/(?P<repo>[^/]+/[^/]+)/(?P<action>preupload|commit)/(?P<rev>[^/]+)"
)


@dataclass
class Repo:
    """Branches point at commits; a commit is the whole file tree at that point."""

    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def commit_of(self, revision: str) -> str | None:
        """The commit sha a branch name or a full sha stands for, or None."""
        sha = self.branches.get(revision, revision)
        return sha if sha in self.commits else None


class HubServer:
    """The fake Hub: ``url`` is its endpoint, ``requests`` lists what the client asked for."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[str] = []
        self.corrupted: set[str] = set()
        self.plain: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(  # a short poll so that shutdown() returns at once
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve_corrupted(self, path: str) -> None:
        """Serve only the first half of ``path`` (in any repo) from now on, as a broken upload."""
        with self.lock:
            self.corrupted.add(path)

    def add_file(self, path: str, data: bytes, *, redirect: bool = False) -> str:
        """Serve ``data`` at ``path`` (e.g. ``/releases/v1/model.pth``); return its URL.

        With ``redirect`` the path answers 302 to a second location holding the bytes.
        """
        with self.lock:
            if redirect:
                self.redirects[path] = f"/objects{path}"
                self.plain[f"/objects{path}"] = data
            else:
                self.plain[path] = data
        return f"{self.url}{path}"

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def create_repo(self, repo_id: str) -> bool:
        """Make ``repo_id`` with an initial commit holding .gitattributes; False if it exists."""
        with self.lock:
            if repo_id in self.repos:
                return False
            self.repos[repo_id] = Repo()
        self.commit(repo_id, "main", {".gitattributes": b"*.safetensors filter=lfs\n"}, "initial")
        return True

    def commit(self, repo_id: str, branch: str, files: dict[str, bytes], summary: str) -> str:
        """Add ``files`` on top of the branch's tree; return the new commit's sha."""
        with self.lock:
            repo = self.repos[repo_id]
            parent = repo.branches.get(branch, "")
            tree = {**repo.commits.get(parent, {}), **files}
            digest = hashlib.sha1(f"{parent}{summary}{len(repo.commits)}".encode())
            for path in sorted(tree):
                digest.update(path.encode() + hashlib.sha256(tree[path]).digest())
            sha = digest.hexdigest()
            repo.commits[sha] = tree
            repo.branches[branch] = sha
            return sha

    def file(self, repo_id: str, revision: str, path: str) -> tuple[str, str, bytes | None]:
        """(error code or "", commit sha, bytes) for one file at one revision."""
        with self.lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                return "RepoNotFound", "", None
            sha = repo.commit_of(revision)
            if sha is None:
                return "RevisionNotFound", "", None
            data = repo.commits[sha].get(path)
            if data is None:
                return "EntryNotFound", sha, None
            if path in self.corrupted:
                data = data[: len(data) // 2]
            return "", sha, data


class _Handler(BaseHTTPRequestHandler):
    """One request; ``self.server.hub`` is the HubServer holding the state."""

    timeout = 5  # a stuck client cannot hold a thread past the test

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class name
        """Keep test output quiet."""

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined]

    def _route(self) -> str:
        path = urlsplit(self.path).path
        with self.hub.lock:
            self.hub.requests.append(f"{self.command} {path}")
        return path

    def do_HEAD(self) -> None:
        self._serve_file(send_body=False)

    def do_GET(self) -> None:
        self._serve_file(send_body=True)

    def _serve_file(self, send_body: bool) -> None:
        path = self._route()
        with self.hub.lock:
            plain, redirect = self.hub.plain.get(path), self.hub.redirects.get(path)
        if redirect is not None:
            self.send_response(302)
            self.send_header("Location", f"{self.hub.url}{redirect}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if plain is not None:
            self._send_bytes(plain, send_body)
            return
        match = RESOLVE.fullmatch(path)
        if match is None:
            self._error(404, "", "no such route", send_body)
            return
        code, sha, data = self.hub.file(
            match["repo"], unquote(match["rev"]), unquote(match["path"])
        )
        if data is None:
            self._error(404, code, f"{code}: {match['repo']}", send_body, commit=sha)
            return
        self._send_bytes(data, send_body, {"X-Repo-Commit": sha})

    def _send_bytes(self, data: bytes, send_body: bool, headers: dict | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def do_POST(self) -> None:
        path = self._route()
        length = int(self.headers.get("Content-Length", 0))
        if length > MAX_BODY_BYTES:
            self._error(413, "", "request too large")
            return
        body = self.rfile.read(length)
        if path == "/api/repos/create":
            payload = json.loads(body)
            repo_id = "/".join(filter(None, (payload.get("organization"), payload["name"])))
            url = f"{self.hub.url}/{repo_id}"
            if not self.hub.create_repo(repo_id):  # the client reads "url" even from the 409
                self._error(409, "", "You already created this model repo", url=url)
                return
            self._json({"url": url, "name": repo_id})
        elif path == "/api/validate-yaml":
            self._json({"errors": [], "warnings": []})
        elif (match := REPO_API.fullmatch(path)) is None:
            self._error(404, "", "no such route")
        elif match["repo"] not in self.hub.repos:
            self._error(404, "RepoNotFound", f"Repository not found: {match['repo']}")
        elif match["action"] == "preupload":
            files = json.loads(body)["files"]
            modes = [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
            ]
            self._json({"files": modes})
        else:
            self._commit(match["repo"], unquote(match["rev"]), body)

    def _commit(self, repo_id: str, branch: str, body: bytes) -> None:
        if branch not in self.hub.repos[repo_id].branches:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {branch}")
            return
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header, operations = lines[0]["value"], lines[1:]
        if any(op["key"] != "file" for op in operations):
            self._error(400, "", "this fake Hub accepts only regular files")
            return
        files = {op["value"]["path"]: base64.b64decode(op["value"]["content"]) for op in operations}
        sha = self.hub.commit(repo_id, branch, files, header["summary"])
        self._json({"commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}", "commitOid": sha})

    def _json(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(
        self,
        status: int,
        code: str,
        message: str,
        send_body: bool = True,
        commit: str = "",
        **extra: str,
    ) -> None:
        body = json.dumps({"error": message, **extra}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
