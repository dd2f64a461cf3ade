"""Shared fixtures: scikit-image's bundled photographs, and the app on a local port."""

import os
import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image
from skimage import data
from skimage.transform import resize

# CI replays the same examples every run (a red CI must be reproducible); local runs explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


def _photo(name: str, max_side: int | None = None) -> np.ndarray:
    image = getattr(data, name)()[..., :3].astype(np.float32) / 255
    if max_side is not None and max(image.shape[:2]) > max_side:
        scale = max_side / max(image.shape[:2])
        shape = (round(image.shape[0] * scale), round(image.shape[1] * scale), 3)
        image = resize(image, shape, anti_aliasing=True).astype(np.float32)
    return image


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """512 x 512 colour portrait."""
    return _photo("astronaut")


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """400 x 600 colour still life."""
    return _photo("coffee")


@pytest.fixture(scope="session")
def small_photos() -> list[np.ndarray]:
    """Several different colour photos, at most 128 px on a side, for property tests."""
    return [_photo(name, 128) for name in ("astronaut", "coffee", "chelsea", "rocket", "retina")]


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory) -> Path:
    """The astronaut photo as a PNG file, as a user would upload it."""
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The ColorLab app launched on a free local port for the whole test session.

    Its arena votes go to a fresh data folder (unless COLORLAB_DATA_DIR is set), with no vote
    or battle rate limit, so tests never write into ./data and are not throttled.
    """
    from colorlab.ui import build_app, launch_options

    os.environ.setdefault("COLORLAB_DATA_DIR", str(tmp_path_factory.mktemp("app-data")))
    os.environ.setdefault("COLORLAB_ARENA_MAX_VOTES_PER_MINUTE", "0")
    os.environ.setdefault("COLORLAB_ARENA_MAX_BATTLES_PER_MINUTE", "0")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = build_app()
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        **launch_options(),
    )
    yield f"http://127.0.0.1:{port}/"
    demo.close()
