"""Which files a web client may make the app read: only the ones Gradio received from a client.

A client names a file by its path (``{"path": ...}``, as Gradio's file payloads do). Gradio checks
that a payload's path lies in its upload folder only when the payload carries its ``meta`` tag,
and our events read raw payloads, so without this check a crafted ``{"path": "/etc/..."}`` made
the app open any file on the server (or block on a FIFO). :func:`uploaded_path` is the one gate:
every path that comes from a client goes through it before anything opens it.

Every refusal is the same message, so a client learns nothing about what exists on the server.
"""

import os
import stat
from pathlib import Path
from typing import Any

from gradio.utils import get_upload_folder

from colorlab.errors import ColorLabError

MAX_PATH_LENGTH = 4096


class NotUploadedError(ColorLabError):
    """A client named a file the app did not receive from a client."""


def upload_folder() -> Path:
    """Gradio's upload and cache folder (``GRADIO_TEMP_DIR``, else ``<tmp>/gradio``), resolved."""
    return Path(get_upload_folder()).resolve()


def uploaded_path(value: Any, what: str = "an image") -> str:
    """The resolved path of a file a client sent, checked to be one Gradio received.

    ``value`` is a path, Gradio's file payload (a dict with ``"path"``) or a ``FileData``. The
    path must resolve (symlinks followed) to a regular file inside :func:`upload_folder`;
    anything else (another server file, a folder, a FIFO, a symlink leading out, a URL, a
    missing file) is a :class:`NotUploadedError`. ``what`` names the file in the messages.
    """
    if value is None:
        raise NotUploadedError(f"Upload {what} or pick an example first.")
    path = value if isinstance(value, str) else _payload_path(value)
    refused = NotUploadedError(
        f"{what[0].upper()}{what[1:]} sent to the app must be a file uploaded to it "
        "(through the page, gradio_client's handle_file or /gradio_api/upload); upload it again."
    )
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_LENGTH or "\0" in path:
        raise refused
    root = upload_folder()
    try:
        real = Path(path).resolve(strict=True)
        mode = real.stat().st_mode
    except (OSError, RuntimeError):  # missing, unreadable, a symlink loop
        raise refused from None
    if real == root or not real.is_relative_to(root) or not stat.S_ISREG(mode):
        raise refused
    return os.fspath(real)


def _payload_path(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("path")
    return getattr(value, "path", None)
