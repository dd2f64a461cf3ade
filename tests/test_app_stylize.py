"""The "Style" tab and the /stylize endpoint, against the launched app.

Through gradio_client: the result has the content's size, strength 0 is the content, Reinhard
moves the Lab mean to the style's, and unknown or unavailable methods are errors with the reason.
In-process: the tab's long-method path (progress and Cancel) with a stand-in slow method, a
method that cannot run here (one-line reason, Stylize disabled, the how-to, the result kept)
and the example pairs. The tab in a browser is in ``test_app_stylize_browser.py``.
"""

import dataclasses
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
from colorlab.paintings import FOLDER, PAINTINGS
from colorlab.stylize import PRESERVE_LIGHTNESS, STRENGTH
from colorlab.ui import stylize_tab, work
from colorlab.ui.examples import STYLE_PAIRS, style_pair_paths
from colorlab.ui.uploads import upload_folder
from colorlab.ui.widgets import method_choices, method_info, short_reason

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


def neural_unavailable_reason() -> str:
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
    reason = neural_unavailable_reason()
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
    assert load_image(stylize_tab.full_resolution(shown)).shape == (867, 1300, 3)


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


# --- a method that cannot run here ---------------------------------------------------------


def test_the_short_reason_is_the_first_sentence_of_a_long_one():
    long = "weights 'x' not found. Looked in X_DIR (unset) and on the Hub ([Errno -2]). Run `hf`."
    assert short_reason(long) == "weights 'x' not found"
    assert short_reason("weights not downloaded; needs internet once, or X_DIR") == (
        "weights not downloaded; needs internet once, or X_DIR"
    )


def test_the_neural_methods_reason_offline_is_one_line_with_no_error_number():
    entry = dict((name, label) for label, name in method_choices("stylize"))["neural"]
    short = short_reason(neural_unavailable_reason())
    assert entry == f"{get_method('stylize', 'neural').title} (unavailable: {short})"
    assert method_info("stylize", "neural") == f"Unavailable here: {short}."
    assert len(short) < 100 and "\n" not in short and "Errno" not in short


def _replaced(monkeypatch, name: str, **changes) -> Method:
    """Register the stylize method ``name`` again with ``changes``; return it as it was."""
    method = get_method("stylize", name)
    monkeypatch.setitem(
        methods._REGISTRY, ("stylize", name), dataclasses.replace(method, **changes)
    )
    return method


def test_an_unavailable_long_method_disables_stylize_and_offers_its_how_to_collapsed(
    monkeypatch, offline_method
):
    _replaced(monkeypatch, offline_method, long_running=True)
    _, _, run_button, cancel_button, how_to, how_to_text = stylize_tab.describe(offline_method)
    assert run_button.constructor_args == {"visible": True, "interactive": False}
    assert cancel_button.constructor_args["visible"] is False, "nothing can run to be cancelled"
    assert how_to.constructor_args == {"visible": True, "open": False}
    assert "put them in checkpoints/stand_in" in how_to_text.constructor_args["value"]

    _, _, run_button, _, how_to, how_to_text = stylize_tab.describe("reinhard")
    assert run_button.constructor_args["interactive"] is True
    assert how_to.constructor_args["visible"] is False


def test_the_how_to_adds_the_methods_details_to_its_reason(monkeypatch, offline_method):
    method = _replaced(monkeypatch, offline_method, details=lambda: "Weights from the release.")
    text = stylize_tab.describe(offline_method)[-1].constructor_args["value"]
    assert text == f"{method.unavailable_reason()}\n\nWeights from the release."


def test_choosing_an_unavailable_method_keeps_the_result_shown(offline_method, photos):
    shown = stylize_tab._wanted(photos["content"], photos["style"], "reinhard", 1.0, False)
    kept = stylize_tab.update(photos["content"], photos["style"], offline_method, 1, False, shown)
    assert kept == (gr.skip(),) * 3


# --- the example pairs ---------------------------------------------------------------------


def test_each_example_pair_is_a_photo_and_a_shipped_painting_all_of_them_used():
    pairs = style_pair_paths()
    assert [Path(content).stem for content, _ in pairs] == [photo for photo, _ in STYLE_PAIRS]
    assert {Path(style).name for _, style in pairs} == set(PAINTINGS)
    for _, style in pairs:
        assert Path(style).parent == FOLDER
        assert load_image(style).shape == (256, 256, 3)
    credits = (FOLDER / "README.md").read_text()
    assert all(file in credits and work in credits for file, work in PAINTINGS.items())
