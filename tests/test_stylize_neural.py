"""Neural style (task ``stylize``, method ``neural``): VGG-19 weights through colorlab.hub.

No network: the local fake Hub (tests/hub_server.py) serves a VGG-19-shaped model.safetensors
with the real key names and every width divided by 16 (random weights, about 90 kB), plus keys
the method must not read. Images are scikit-image photos of 29 to 43 px.
"""

from __future__ import annotations

import contextlib
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hub_server import HubServer
from safetensors import safe_open
from safetensors.torch import save

from colorlab import hub
from colorlab.color import srgb_to_lab
from colorlab.errors import Cancelled, InvalidParameterError, ModelNotFoundError
from colorlab.methods import get_method
from colorlab.stylize import neural

REPO = hub.PRETRAINED["vgg19"].repo_id
PINNED = hub.PRETRAINED["vgg19"].revision
NEEDED = {f"features.{i}.{kind}" for i in neural.CONV_LAYERS for kind in ("weight", "bias")}
JUNK = {"features.30.weight", "features.30.bias", "head.fc.weight"}  # in the real file too


def tiny_vgg19_file(seed: int = 0) -> bytes:
    """A model.safetensors like timm's VGG-19 at 1/16 of the width, with extra tensors."""
    torch.manual_seed(seed)
    model = neural.vgg19_features([w // 16 for w in neural.WIDTHS])
    for module in model:
        if isinstance(module, torch.nn.Conv2d):  # He initialisation keeps activations alive
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            torch.nn.init.uniform_(module.bias, -0.1, 0.1)
    tensors = {f"features.{key}": value for key, value in model.state_dict().items()}
    tensors |= {
        "features.30.weight": torch.randn(32, 32, 3, 3),
        "features.30.bias": torch.randn(32),
        "head.fc.weight": torch.randn(10, 32),
    }
    return save(tensors, metadata={"format": "pt"})


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """An empty Hub cache, and nothing set that would point colorlab.hub at other weights."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")  # never send a real token anywhere
    for variable in ("HF_HUB_CACHE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    for key in ("DIR", "REPO", "REVISION"):
        monkeypatch.delenv(f"COLORLAB_VGG19_{key}", raising=False)
    assert not (hub.CHECKPOINTS_ROOT / "vgg19").exists(), "tests need checkpoints/vgg19 absent"
    return tmp_path


@pytest.fixture
def vgg_hub(clean_env, monkeypatch):
    """The fake Hub as HF_ENDPOINT, holding the tiny VGG-19 at a commit the method is pinned to."""
    with HubServer() as server:
        server.create_repo(REPO)
        sha = server.commit(REPO, "main", {"model.safetensors": tiny_vgg19_file()}, "Add model")
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("COLORLAB_VGG19_REVISION", sha)
        server.requests.clear()
        yield SimpleNamespace(server=server, sha=sha)


@pytest.fixture
def local_vgg(clean_env, monkeypatch):
    """The tiny VGG-19 in a folder named by COLORLAB_VGG19_DIR; no Hub at all."""
    folder = clean_env / "vgg19"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(tiny_vgg19_file())
    monkeypatch.setenv("COLORLAB_VGG19_DIR", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return folder


@pytest.fixture(scope="module")
def images(small_photos):
    """(content, style): the astronaut at 43 x 43 px and the coffee photo at 43 x 29."""
    astronaut, coffee = small_photos[:2]
    return astronaut[::3, ::3], coffee[::3, ::3]


def as_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]


def test_vgg19_features_has_torchvisions_layout_and_size():
    model = neural.vgg19_features(neural.WIDTHS)
    kinds = {i: type(m).__name__ for i, m in enumerate(model)}
    assert len(model) == 30
    assert {i for i, k in kinds.items() if k == "Conv2d"} == set(neural.CONV_LAYERS)
    assert {i for i, k in kinds.items() if k == "MaxPool2d"} == set(neural.POOL_LAYERS)
    assert {kinds[i] for i in (*neural.STYLE_LAYERS, neural.CONTENT_LAYER)} == {"ReLU"}
    # 12.9 M parameters, 52 MB in float32: VGG-19 up to conv5_1 (REFERENCES.md section 6).
    assert sum(p.numel() for p in model.parameters()) == 12_944_960
    assert model.state_dict()["28.weight"].shape == (512, 512, 3, 3)


def test_downloads_only_the_weights_reads_only_features_and_the_loss_falls(
    vgg_hub, images, monkeypatch
):
    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load must never be needed: weights are safetensors")

    read = []

    @contextlib.contextmanager
    def spying_open(path, framework):
        with safe_open(path, framework=framework) as weights:
            yield SimpleNamespace(
                keys=weights.keys,
                get_tensor=lambda key: read.append(key) or weights.get_tensor(key),
            )

    monkeypatch.setattr(torch, "load", no_unpickling)
    monkeypatch.setattr(hub, "safe_open", spying_open)
    method = get_method("stylize", "neural")
    content, style = images

    assert method.unavailable_reason() is None
    assert not any(
        r.startswith("GET") for r in vgg_hub.server.requests
    )  # the check downloads nothing
    steps = []
    result = method.run(
        content, style, iterations=8, max_size=64, progress=lambda *step: steps.append(step)
    )

    assert f"GET /{REPO}/resolve/{vgg_hub.sha}/model.safetensors" in vgg_hub.server.requests
    assert not any("config.json" in r or "README.md" in r for r in vgg_hub.server.requests)
    assert set(read) == NEEDED and not JUNK & set(read)
    assert steps == [(step, 8) for step in range(1, 9)]
    assert result.shape == content.shape and result.dtype == np.float32
    assert result.min() >= 0 and result.max() <= 1
    model = neural.load_vgg19()
    assert model is neural.load_vgg19() and model[0].out_channels == 4  # widths from the file
    loss = neural.StyleLoss(model, as_tensor(content), as_tensor(style))
    with torch.no_grad():
        before, after = float(loss(as_tensor(content))), float(loss(as_tensor(result)))
    assert after < 0.5 * before  # measured: 0.13


def test_the_hub_is_asked_about_the_weights_once_per_process(vgg_hub):
    method = get_method("stylize", "neural")
    assert method.unavailable_reason() is None
    asked = len(vgg_hub.server.requests)
    assert asked >= 1
    assert method.unavailable_reason() is None and method.to_dict()["unavailable"] is None
    assert len(vgg_hub.server.requests) == asked  # building the app or a battle asks no more


def test_offline_without_weights_says_which_where_and_how_and_never_substitutes(
    clean_env, monkeypatch, images
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    method = get_method("stylize", "neural")
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        reason = method.unavailable_reason()
        with pytest.raises(ModelNotFoundError) as raised:
            method.run(*images, iterations=2)
        assert server.requests == []

    assert str(raised.value) == reason and method.to_dict()["unavailable"] == reason
    for expected in (
        "weights 'vgg19'",
        f"model.safetensors of {REPO}",
        f"{REPO}@{PINNED} at {server.url}",
        "HF_HUB_OFFLINE is set",
        str(clean_env / "hf_home" / "hub"),
        str(hub.CHECKPOINTS_ROOT / "vgg19"),
        f"hf download {REPO} model.safetensors --revision {PINNED} --local-dir DIR",
        "COLORLAB_VGG19_DIR=DIR",
    ):
        assert expected in reason


def test_offline_after_one_download_runs_from_the_cache(vgg_hub, monkeypatch, images):
    hub.resolve_weights("vgg19")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vgg_hub.server.requests.clear()

    assert get_method("stylize", "neural").unavailable_reason() is None
    assert get_method("stylize", "neural").run(*images, iterations=1).shape == images[0].shape
    assert vgg_hub.server.requests == []


def test_local_folder_is_used_and_a_folder_without_the_file_is_named(local_vgg, monkeypatch):
    assert hub.resolve_weights("vgg19") == local_vgg / "model.safetensors"
    monkeypatch.setenv("COLORLAB_VGG19_DIR", str(local_vgg.parent / "elsewhere"))
    reason = get_method("stylize", "neural").unavailable_reason()
    assert "COLORLAB_VGG19_DIR" in reason and "elsewhere" in reason


def test_cancel_stops_the_run_after_the_iteration_it_was_set_in(local_vgg, images):
    cancel, steps = threading.Event(), []

    def progress(step, total):
        steps.append(step)
        if step == 2:
            cancel.set()

    with pytest.raises(Cancelled, match="cancelled after 2 of 50 iterations"):
        neural.neural_style(*images, iterations=50, progress=progress, cancel=cancel)
    assert steps == [1, 2]


def test_an_exception_from_progress_stops_the_run_unchanged(local_vgg, images):
    class Stop(Exception):
        pass

    def progress(step, total):
        if step == 3:
            raise Stop

    with pytest.raises(Stop):
        neural.neural_style(*images, iterations=50, progress=progress)


def test_colour_and_lightness_preservation(local_vgg, images):
    content = images[0]
    painted, colors, lightness = (
        srgb_to_lab(neural.neural_style(*images, iterations=6, **flags))
        for flags in ({}, {"preserve_colors": True}, {"preserve_lightness": True})
    )
    original = srgb_to_lab(content)
    assert np.abs(painted - original).mean() > 1  # the painting did change the image

    # Luminance-only transfer: the painted L, the content's a and b (desaturated where the
    # pair is out of gamut, hence the median).
    assert np.abs(colors[..., 0] - painted[..., 0]).max() < 0.5
    assert np.median(np.abs(colors[..., 1:] - original[..., 1:])) < 0.5
    assert np.abs(lightness[..., 0] - original[..., 0]).max() < 0.5
    assert np.median(np.abs(lightness[..., 1:] - painted[..., 1:])) < 0.5


def test_large_content_is_painted_small_and_returned_at_its_size(local_vgg, small_photos):
    content, style = small_photos[0], small_photos[1]  # 128 x 128 and 85 x 128
    result = neural.neural_style(content, style, iterations=2, max_size=32)
    assert result.shape == content.shape


def test_strength_zero_is_the_content_and_bad_settings_are_refused_before_work(local_vgg, images):
    content, style = images
    assert np.array_equal(neural.neural_style(content, style, strength=0), content)
    with pytest.raises(InvalidParameterError, match="Choose one"):
        neural.neural_style(content, style, preserve_colors=True, preserve_lightness=True)
    with pytest.raises(InvalidParameterError, match="at least 16 px"):
        neural.neural_style(np.zeros((8, 200, 3), np.float32), style, max_size=64)
