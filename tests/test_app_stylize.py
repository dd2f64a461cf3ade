"""The "Style transfer" tab and the /stylize endpoint, against the launched app.

Through gradio_client: the result has the content's size, strength 0 is the content, Reinhard
moves the Lab mean to the style's, and unknown or unavailable methods are errors with the reason.
The tab's long-method path (progress and Cancel) runs in-process with a stand-in slow method. In
headless Chromium: pick two examples, see the result, move the strength, download, and see the
neural method marked unavailable with its reason.
"""

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from skimage import data

from colorlab import methods
from colorlab.color import srgb_to_lab
from colorlab.errors import Cancelled
from colorlab.imageio import load_image
from colorlab.methods import Method, Param, get_method
from colorlab.stylize import PRESERVE_LIGHTNESS, STRENGTH
from colorlab.ui import stylize_tab, work
from colorlab.ui.examples import CONTENT_PHOTOS
from colorlab.ui.uploads import upload_folder
from tests.test_app_browser import TIMEOUT_MS, browser  # noqa: F401 (a fixture)

EIGHT_BIT = 1 / 255 + 1e-6


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def photos() -> dict[str, str]:
    """Content: coffee enlarged past the app's 1024 px preview; style: the rocket (another size).

    Written into Gradio's upload folder, as uploads are: the tab's handlers read no other file.
    """
    folder = upload_folder() / f"test-stylize-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"content": folder / "coffee-large.png", "style": folder / "rocket.png"}
    Image.fromarray(data.coffee()).resize((1300, 867), Image.Resampling.LANCZOS).save(
        paths["content"]
    )
    Image.fromarray(data.rocket()).save(paths["style"])
    return {name: str(path) for name, path in paths.items()}


def _stylize(client, photos, *args):
    out = client.predict(
        handle_file(photos["content"]), handle_file(photos["style"]), *args, api_name="/stylize"
    )
    return load_image(out)


def _neural_unavailable_reason() -> str:
    """The neural method's reason for being unavailable here; skips where it is not."""
    reason = get_method("stylize", "neural").unavailable_reason()
    if reason is None:
        pytest.skip("the neural method's weights are reachable here, so it is available")
    return reason


# --- /stylize ------------------------------------------------------------------------------


@pytest.mark.server
def test_stylize_returns_a_full_resolution_image_of_the_contents_size(client, photos):
    result = _stylize(client, photos)
    assert result.shape == (867, 1300, 3)


@pytest.mark.server
@pytest.mark.parametrize("method", ["reinhard", "mkl", "idt", "histogram"])
def test_strength_zero_returns_the_content(client, photos, method):
    result = _stylize(client, photos, method, 0.0, False)
    assert np.abs(result - load_image(photos["content"])).max() <= EIGHT_BIT


@pytest.mark.server
def test_reinhard_moves_the_lab_mean_to_the_styles(client, photos):
    content, style = load_image(photos["content"]), load_image(photos["style"])

    result = _stylize(client, photos, "reinhard", 1.0, False)

    def mean(image):
        return srgb_to_lab(image).reshape(-1, 3).mean(axis=0)

    before = np.linalg.norm(mean(content) - mean(style))
    after = np.linalg.norm(mean(result) - mean(style))
    assert after < 0.2 * before, (before, after)


@pytest.mark.server
def test_preserve_lightness_keeps_the_contents_lightness(client, photos):
    result = _stylize(client, photos, "mkl", 1.0, True)
    content = load_image(photos["content"])
    # 8-bit rounding and gamut clipping move L a little; the transfer itself leaves it alone.
    assert np.abs(srgb_to_lab(result)[..., 0] - srgb_to_lab(content)[..., 0]).mean() < 0.5


@pytest.mark.server
def test_stylize_with_an_unknown_method_lists_the_available_ones(client, photos):
    with pytest.raises(AppError, match=r"no stylize method named 'nope'; available: reinhard"):
        _stylize(client, photos, "nope")


@pytest.mark.server
def test_stylize_with_the_neural_method_offline_gives_its_reason(client, photos):
    reason = _neural_unavailable_reason()
    with pytest.raises(AppError, match="unavailable here") as error:
        _stylize(client, photos, "neural")
    assert reason in str(error.value)


@pytest.fixture
def offline_method(monkeypatch):
    """A stylize method that says it cannot run here: the app must refuse it with the reason."""
    name = "offline_stand_in"

    def run(content, style, **params):
        raise AssertionError("an unavailable method must not run")

    method = Method(
        "stylize",
        name,
        "Stand-in",
        "Unavailable on purpose.",
        run,
        (STRENGTH, PRESERVE_LIGHTNESS),
        unavailable=lambda: "its weights are not here (put them in checkpoints/stand_in)",
        preserve="preserve_lightness",
    )
    monkeypatch.setitem(methods._REGISTRY, ("stylize", name), method)
    return name


@pytest.mark.server
def test_an_unavailable_method_is_an_error_naming_its_reason(client, photos, offline_method):
    with pytest.raises(AppError, match=r"unavailable here: its weights are not here \(put"):
        _stylize(client, photos, offline_method)


@pytest.mark.server
def test_the_api_page_documents_stylize_with_its_clean_signature(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = [p["parameter_name"] for p in endpoints["/stylize"]["parameters"]]
    assert names == ["content", "style", "method", "strength", "preserve_lightness"]


# --- the tab's long-method path: progress and Cancel ----------------------------------------


@pytest.fixture
def slow_method(monkeypatch):
    """A stand-in long method: 200 steps of 10 ms, reporting each, stopping when cancelled."""
    name = "slow_stand_in"

    def run(content, style, *, strength, preserve_colour=False, progress=None, cancel=None):
        total = 200
        for step in range(total):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"stopped after {step} of {total} steps")
            if progress is not None:
                progress(step + 1, total)
            time.sleep(0.01)
        return content * (1 - strength) + style.mean(axis=(0, 1)) * strength

    method = Method(
        "stylize",
        name,
        "Slow stand-in",
        "Long on purpose.",
        run,
        (STRENGTH, Param("preserve_colour", False, "keep the content's colours")),
        long_running=True,
        preserve="preserve_colour",
    )
    monkeypatch.setitem(methods._REGISTRY, ("stylize", name), method)
    return name


def test_only_methods_registered_as_long_running_get_the_button_and_progress(slow_method):
    assert work.takes_progress(slow_method)
    assert not any(work.takes_progress(m) for m in ("reinhard", "mkl", "idt", "histogram"))


def test_the_colour_switch_is_the_methods_own_preservation_parameter(slow_method, photos):
    assert stylize_tab.preservation_param("reinhard").name == "preserve_lightness"
    assert stylize_tab.preservation_param(slow_method).name == "preserve_colour"
    checkbox = stylize_tab.describe(slow_method)[1]
    assert (checkbox.label, checkbox.info) == ("Preserve colour", "keep the content's colours")
    wanted = stylize_tab._wanted(photos["content"], photos["style"], slow_method, 0.5, True)
    assert wanted["params"] == {"strength": 0.5, "preserve_colour": True}


def test_a_long_run_reports_progress_and_shows_the_full_result(slow_method, photos):
    steps = []
    session = SimpleNamespace(session_hash="progress")

    def progress(step_total, **_):  # as gr.Progress is called
        steps.append(step_total)

    comparison, shown, _ = stylize_tab.run(
        photos["content"], photos["style"], slow_method, 1.0, False, {}, session, progress
    )

    assert steps == [(step, 200) for step in range(1, 201)]
    before, after = comparison
    assert before.shape == after.shape  # both preview copies of the content's size
    assert shown["method"] == slow_method
    download = stylize_tab.download(shown)
    assert load_image(download.value["path"]).shape == (867, 1300, 3)


def test_cancel_stops_a_long_run_and_leaves_the_result_as_it_was(slow_method, photos):
    session = SimpleNamespace(session_hash="cancel")
    started, outcome = threading.Event(), []

    def progress(step_total, **_):
        started.set()

    worker = threading.Thread(
        target=lambda: outcome.append(
            stylize_tab.run(
                photos["content"], photos["style"], slow_method, 0.5, False, {}, session, progress
            )
        )
    )
    worker.start()
    assert started.wait(30)
    stylize_tab.stop(session)
    worker.join(30)

    assert not worker.is_alive(), "the run stopped"
    assert outcome == [(gr.skip(),) * 3], "nothing shown changes"
    assert not stylize_tab._RUNS, "the run's cancel event is forgotten"


# --- in the browser --------------------------------------------------------------------------


@pytest.fixture
def stylize_page(browser, app_url):  # noqa: F811 (the imported fixture)
    """A fresh page on the Style transfer tab with the astronaut restyled by the coffee photo."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.get_by_role("tab", name="Style transfer").click()
    page.locator("#stylize-content-examples button.gallery-item").first.click()  # astronaut
    page.locator("#stylize-style-examples button.gallery-item").nth(2).click()  # coffee
    page.wait_for_function("() => document.querySelectorAll('#stylize-result img').length == 2")
    _wait_for_download_ready(page)
    yield page
    page.close()


def _after(page) -> tuple[str, np.ndarray]:
    """The "after" side of the comparison: its address and its pixels."""
    src = page.locator("#stylize-result img").nth(1).get_attribute("src")
    return src, load_image(page.request.get(src).body())


def _wait_for_download_ready(page) -> None:
    page.wait_for_function("() => !document.querySelector('#stylize-download').disabled")


@pytest.mark.browser
def test_two_examples_give_a_result_and_strength_changes_it(stylize_page):
    page = stylize_page
    src, full = _after(page)
    astronaut = data.astronaut().astype(np.float32) / 255
    assert full.shape == astronaut.shape
    assert np.abs(full - astronaut).mean() > 0.03, "the result is not the content"

    track = page.locator("#stylize-strength input[type=range]").bounding_box()
    page.mouse.click(track["x"] + track["width"] * 0.3, track["y"] + track["height"] / 2)

    page.wait_for_function(
        "s => document.querySelectorAll('#stylize-result img')[1]?.src !== s", arg=src
    )
    _, weaker = _after(page)
    assert float(page.locator("#stylize-strength input[type=number]").input_value()) < 0.4
    # Nearer the content than the full transfer was (JPEG noise is far below this).
    assert np.abs(weaker - astronaut).mean() < 0.6 * np.abs(full - astronaut).mean()


@pytest.mark.browser
def test_the_download_is_the_full_resolution_png(stylize_page):
    page = stylize_page
    with page.expect_download() as download:
        page.click("#stylize-download")
    assert download.value.suggested_filename == f"{CONTENT_PHOTOS[0]}-stylized.png"
    saved = load_image(Path(download.value.path()))
    assert saved.shape == (512, 512, 3)
    _, shown = _after(page)
    assert np.abs(saved - shown).mean() < 0.02  # the file is the result on screen


@pytest.mark.browser
def test_the_neural_method_shows_as_unavailable_with_its_reason(stylize_page):
    reason = _neural_unavailable_reason()
    page = stylize_page
    title = get_method("stylize", "neural").title
    page.locator("#stylize-method input").click()
    page.get_by_role("option", name=f"{title} (unavailable)").click()

    page.locator("#stylize-method").get_by_text("Unavailable here:").wait_for()
    assert reason[:60] in page.locator("#stylize-method").inner_text()
    page.locator("#stylize-result img").first.wait_for(state="detached")  # no stale result
    page.click("#stylize-run")
    toast = page.locator(".toast-body", has_text="unavailable here")
    toast.wait_for()
    assert reason[:60] in toast.inner_text()
