"""Shared fixtures: scikit-image's bundled photographs, the app on a local port, and a real
browser (headless Debian Chromium driven by Playwright) to open pages of it."""

import os
import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image
from skimage import data
from skimage.transform import resize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP, PHONE = (1400, 1000), (390, 844)  # the sizes the app is checked at
TIMEOUT_MS = 30_000

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


@pytest.fixture(scope="module")  # not longer: Playwright's loop would block asyncio.run elsewhere
def browser():
    if not CHROMIUM.exists():
        message = "install Debian's chromium (apt-get install chromium) to run browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, app_url):
    """``open_page(tab=None, phone=False, url=None)``: a new page of the app (or of ``url``) at
    desktop or phone size, on ``tab`` if one is named; every page is closed after the test."""
    pages = []

    def open_(tab: str | None = None, phone: bool = False, url: str | None = None):
        width, height = PHONE if phone else DESKTOP
        page = browser.new_page(viewport={"width": width, "height": height})
        pages.append(page)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url or app_url)
        if tab is not None:
            page.get_by_role("tab", name=tab).click()
        return page

    yield open_
    for page in pages:
        page.close()
