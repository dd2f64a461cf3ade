"""The published reference models (ECCV16, SIGGRAPH17, AdaIN): layout, equivalence, downloads.

No network: the release site is the local server of ``hub_server``, serving files saved with
``torch.save`` in the official key layout (random values: the compute is the same). The
networks are checked against functional re-statements written here from the papers' layer
tables, not against our modules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hub_server import HubServer
from PIL import Image

from colorlab import releases
from colorlab.cli import main
from colorlab.color import srgb_to_lightness
from colorlab.colorize.hints import Hints
from colorlab.colorize.reference import (
    ECCV16,
    SIGGRAPH17,
    colorize_reference,
    input_shape,
)
from colorlab.errors import CheckpointError, MethodUnavailableError, ModelNotFoundError
from colorlab.methods import get_method
from colorlab.stylize.adain import AdaIN
from training import convert_reference


class Payload:
    """Not a tensor: what a malicious or foreign pickle would carry."""


TASKS = {"eccv16": "colorize", "siggraph17": "colorize", "adain": "stylize"}


def randomized(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """``module`` with random weights and BatchNorm statistics set by ``seed``, in eval mode."""
    torch.manual_seed(seed)
    for name, tensor in module.state_dict().items():
        if tensor.ndim == 4:  # convolutions: scaled so activations stay of order one
            tensor.copy_(torch.randn_like(tensor) * (2 / tensor[0].numel()) ** 0.5)
        elif name.endswith("running_var"):
            tensor.copy_(torch.rand_like(tensor) + 0.5)
        elif name.endswith(("running_mean", "bias")):
            tensor.copy_(torch.randn_like(tensor) * 0.1)
        elif name.endswith("weight") and tensor.ndim == 1:  # BatchNorm scale
            tensor.copy_(torch.rand_like(tensor) + 0.5)
    return module.eval()


def official_files(name: str, seed: int = 0) -> dict[str, bytes]:
    """The release's files as the authors save them: ``torch.save`` of plain state dicts."""
    state = randomized(releases.network(name), seed).state_dict()
    files = {}
    for filename, prefix in releases.RELEASES[name].files.items():
        part = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        part = {k: v for k, v in part.items() if not k.endswith("num_batches_tracked")}
        buffer = io.BytesIO()
        torch.save(part, buffer)
        files[filename] = buffer.getvalue()
    return files


# --- the networks, restated from the layer tables -------------------------------------------

ECCV16_TABLE = [  # block: (in, out, stride, dilation) per 3x3 conv, each + ReLU, then BatchNorm
    ("model1", [(1, 64, 1, 1), (64, 64, 2, 1)]),
    ("model2", [(64, 128, 1, 1), (128, 128, 2, 1)]),
    ("model3", [(128, 256, 1, 1), (256, 256, 1, 1), (256, 256, 2, 1)]),
    ("model4", [(256, 512, 1, 1), (512, 512, 1, 1), (512, 512, 1, 1)]),
    ("model5", [(512, 512, 1, 2)] * 3),
    ("model6", [(512, 512, 1, 2)] * 3),
    ("model7", [(512, 512, 1, 1)] * 3),
]


def conv_bn_block(x, w, block, convs, first=0):
    for i, (_, _, stride, dilation) in enumerate(convs):
        key = f"{block}.{first + 2 * i}"
        x = F.relu(F.conv2d(x, w[f"{key}.weight"], w[f"{key}.bias"], stride, dilation, dilation))
    bn = f"{block}.{first + 2 * len(convs)}"
    return F.batch_norm(
        x, w[f"{bn}.running_mean"], w[f"{bn}.running_var"], w[f"{bn}.weight"], w[f"{bn}.bias"]
    )


def eccv16_functional(w: dict, lightness: torch.Tensor) -> torch.Tensor:
    x = (lightness - 50) / 100
    for block, convs in ECCV16_TABLE:
        x = conv_bn_block(x, w, block, convs)
    x = F.relu(F.conv_transpose2d(x, w["model8.0.weight"], w["model8.0.bias"], 2, 1))
    x = F.relu(F.conv2d(x, w["model8.2.weight"], w["model8.2.bias"], padding=1))
    x = F.relu(F.conv2d(x, w["model8.4.weight"], w["model8.4.bias"], padding=1))
    x = F.conv2d(x, w["model8.6.weight"], w["model8.6.bias"])
    ab = F.conv2d(torch.softmax(x, 1), w["model_out.weight"]) * 110
    return F.interpolate(ab, scale_factor=4, mode="bilinear")


SIGGRAPH17_ENCODER = [  # as ECCV16's, but strides come from subsampling between blocks
    ("model1", [(4, 64, 1, 1), (64, 64, 1, 1)]),
    ("model2", [(64, 128, 1, 1), (128, 128, 1, 1)]),
    ("model3", [(128, 256, 1, 1)] + [(256, 256, 1, 1)] * 2),
    ("model4", [(256, 512, 1, 1)] + [(512, 512, 1, 1)] * 2),
    ("model5", [(512, 512, 1, 2)] * 3),
    ("model6", [(512, 512, 1, 2)] * 3),
    ("model7", [(512, 512, 1, 1)] * 3),
]


def siggraph17_functional(w, lightness, hint_ab, mask):
    def conv(x, key, padding=1):
        return F.conv2d(x, w[f"{key}.weight"], w[f"{key}.bias"], padding=padding)

    def up(x, key):
        return F.conv_transpose2d(x, w[f"{key}.weight"], w[f"{key}.bias"], 2, 1)

    x = torch.cat([(lightness - 50) / 100, hint_ab / 110, mask], 1)
    skips = []
    for index, (block, convs) in enumerate(SIGGRAPH17_ENCODER):
        if 1 <= index <= 3:
            x = x[:, :, ::2, ::2]
        x = conv_bn_block(x, w, block, convs)
        skips.append(x)
    x = up(x, "model8up.0") + conv(skips[2], "model3short8.0")
    x = conv_bn_block(F.relu(x), w, "model8", [(256, 256, 1, 1)] * 2, first=1)
    x = up(x, "model9up.0") + conv(skips[1], "model2short9.0")
    x = conv_bn_block(F.relu(x), w, "model9", [(128, 128, 1, 1)], first=1)
    x = up(x, "model10up.0") + conv(skips[0], "model1short10.0")
    x = F.leaky_relu(conv(F.relu(x), "model10.1"), 0.2)
    return torch.tanh(conv(x, "model_out.0", padding=0)) * 110


VGG_TO_RELU4_1 = [(3, 64), (64, 64), "pool", (64, 128), (128, 128), "pool"]
VGG_TO_RELU4_1 += [(128, 256)] + [(256, 256)] * 3 + ["pool", (256, 512)]
DECODER = [(512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up"]
DECODER += [(128, 128), (128, 64), "up", (64, 64)]


def reflect_conv(x, w, key):
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w[f"{key}.weight"], w[f"{key}.bias"])


def adain_functional(w, content, style, alpha):
    def encode(x):
        x, index = F.conv2d(x, w["vgg.0.weight"], w["vgg.0.bias"]), 1
        for step in VGG_TO_RELU4_1:
            if step == "pool":
                x, index = F.max_pool2d(x, 2, 2, ceil_mode=True), index + 1
            else:
                x, index = F.relu(reflect_conv(x, w, f"vgg.{index + 1}")), index + 3
        return x

    def stats(f):
        flat = f.flatten(2)
        return flat.mean(2)[..., None, None], (flat.var(2) + 1e-5).sqrt()[..., None, None]

    c, s = encode(content), encode(style)
    (cm, cs), (sm, ss) = stats(c), stats(s)
    x = alpha * ((c - cm) / cs * ss + sm) + (1 - alpha) * c
    index = 0
    for step in DECODER:
        if step == "up":
            x, index = F.interpolate(x, scale_factor=2, mode="nearest"), index + 1
        else:
            x, index = F.relu(reflect_conv(x, w, f"decoder.{index + 1}")), index + 3
    return reflect_conv(x, w, f"decoder.{index + 1}")


@torch.inference_mode()
def test_eccv16_is_the_papers_network_at_256():
    model = randomized(ECCV16())
    lightness = torch.rand(1, 1, 256, 256) * 100
    expected = eccv16_functional(model.state_dict(), lightness)
    assert expected.shape == (1, 2, 256, 256)
    torch.testing.assert_close(model(lightness), expected, atol=1e-5, rtol=1e-5)


@torch.inference_mode()
def test_siggraph17_is_the_papers_network_at_256():
    model = randomized(SIGGRAPH17())
    lightness = torch.rand(1, 1, 256, 256) * 100
    hint_ab = torch.randn(1, 2, 256, 256) * 40
    mask = (torch.rand(1, 1, 256, 256) < 0.01).float()
    expected = siggraph17_functional(model.state_dict(), lightness, hint_ab * mask, mask)
    assert expected.shape == (1, 2, 256, 256)
    got = model(lightness, hint_ab * mask, mask)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@torch.inference_mode()
def test_adain_is_the_papers_network_at_256():
    model = randomized(AdaIN())
    content, style = torch.rand(1, 3, 256, 256), torch.rand(1, 3, 192, 224)
    expected = adain_functional(model.state_dict(), content, style, 0.7)
    assert expected.shape == (1, 3, 256, 256)
    torch.testing.assert_close(model(content, style, 0.7), expected, atol=1e-5, rtol=1e-5)


def test_siggraph17_without_hints_is_siggraph17_with_an_empty_mask(astronaut):
    model = randomized(SIGGRAPH17())
    ignored = np.random.default_rng(0).normal(0, 40, (*astronaut.shape[:2], 2))
    without = colorize_reference(astronaut, model)
    masked_out = colorize_reference(
        astronaut, model, Hints(ignored.astype(np.float32), np.zeros(astronaut.shape[:2], bool))
    )
    np.testing.assert_array_equal(without, masked_out)


def test_a_siggraph17_hint_changes_the_result_and_eccv16_keeps_the_lightness(coffee):
    model = randomized(SIGGRAPH17())
    mask = np.zeros(coffee.shape[:2], bool)
    mask[190:210, 290:310] = True
    ab = np.zeros((*coffee.shape[:2], 2), np.float32)
    ab[mask] = (20.0, -50.0)
    assert not np.allclose(
        colorize_reference(coffee, model),
        colorize_reference(coffee, model, Hints(ab, mask)),
        atol=1e-3,
    )
    out = colorize_reference(coffee, randomized(ECCV16()), temperature=0.38)
    assert out.shape == coffee.shape
    np.testing.assert_allclose(srgb_to_lightness(out), srgb_to_lightness(coffee), atol=0.05)


@pytest.mark.parametrize(
    ("shape", "keep_aspect", "expected"),
    [
        ((400, 1600), True, (256, 1024)),
        ((400, 1600), False, (256, 256)),
        ((512, 512), True, (256, 256)),
    ],
)
def test_the_short_side_goes_to_256_and_the_aspect_is_kept_unless_asked(
    shape, keep_aspect, expected
):
    assert input_shape(shape, keep_aspect) == expected


# --- where the weights come from ---------------------------------------------------------------


@pytest.fixture
def release_site(monkeypatch, tmp_path):
    """An empty HF_HOME, and the local server standing in for every release's site."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    releases._answers.cache_clear()
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")  # never send a real token to the fake Hub
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        for name in releases.RELEASES:
            monkeypatch.setenv(releases.RELEASES[name].env_url, f"{server.url}/{name}")
            monkeypatch.delenv(releases.RELEASES[name].env_dir, raising=False)
        yield server
    releases._answers.cache_clear()


def publish(server: HubServer, monkeypatch, name: str, files: dict[str, bytes]) -> None:
    """Serve ``files`` as ``name``'s release. A torch.hub-style name carries the sha256 prefix of
    the authors' file; random weights have another hash, so the file name is made to carry
    theirs, as the authors' naming would for these bytes."""
    renamed = {}
    for filename, data in files.items():
        prefix = releases.published_hash(filename)
        if prefix is not None:
            digest = hashlib.sha256(data).hexdigest()[: len(prefix)]
            filename = filename.replace(f"-{prefix}.", f"-{digest}.")
        renamed[filename] = data
        server.add_file(f"/{name}/{filename}", data, redirect=name == "adain")
    release = releases.RELEASES[name]
    keys = dict(zip(release.files, renamed, strict=True))
    table = {keys[f]: prefix for f, prefix in release.files.items()}
    monkeypatch.setitem(releases.RELEASES, name, dataclasses.replace(release, files=table))


@pytest.mark.parametrize("name", list(TASKS))
def test_first_use_downloads_checks_converts_and_later_loads_read_safetensors(
    release_site, monkeypatch, name, capsys
):
    monkeypatch.setenv("TQDM_POSITION", "-1")  # huggingface_hub: show bars off a terminal too
    files = official_files(name)
    publish(release_site, monkeypatch, name, files)
    assert get_method(TASKS[name], name).unavailable_reason() is None
    module = releases.load_module(name)
    expected = randomized(releases.network(name)).state_dict()
    for key, value in module.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    folder = releases.cache_dir(name)
    for filename in releases.RELEASES[name].files:
        stem = filename.removesuffix(".pth")
        record = json.loads((folder / f"{stem}.sha256.json").read_text())
        assert record["sha256"] == hashlib.sha256((folder / filename).read_bytes()).hexdigest()
        assert (folder / f"{stem}.safetensors").is_file()
    assert filename in capsys.readouterr().err  # the progress bar names the file

    downloads = len(release_site.requests)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("unpickled a cached file"))
    releases._read_stamped.cache_clear()  # as a new process would: read the files again
    assert releases.load_module(name) is not module
    assert len(release_site.requests) == downloads


@pytest.mark.parametrize("name", ["eccv16", "siggraph17"])
def test_a_download_with_the_wrong_hash_is_refused_naming_the_file(release_site, name):
    (filename,) = releases.RELEASES[name].files
    release_site.add_file(f"/{name}/{filename}", official_files(name)[filename])
    with pytest.raises(CheckpointError, match=rf"{filename}.*sha256 .*not the published"):
        releases.load_module(name)
    assert not any(releases.cache_dir(name).iterdir())  # nothing half-kept


def test_an_adain_file_changed_after_its_first_download_is_refused(release_site, monkeypatch):
    publish(release_site, monkeypatch, "adain", official_files("adain"))
    releases.load_module("adain")
    converted = releases.cache_dir("adain") / "decoder.safetensors"
    converted.write_bytes(converted.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(CheckpointError, match="decoder.safetensors has changed"):
        releases.load_module("adain")


def test_a_pickle_that_carries_an_object_is_refused(release_site, monkeypatch, tmp_path):
    buffer = io.BytesIO()
    torch.save({"model_out.weight": torch.zeros(2, 313, 1, 1), "note": Payload()}, buffer)
    (filename,) = releases.RELEASES["eccv16"].files
    (tmp_path / filename).write_bytes(buffer.getvalue())
    monkeypatch.setenv("COLORLAB_ECCV16_DIR", str(tmp_path))
    with pytest.raises(CheckpointError, match=rf"{filename} holds objects other than tensors"):
        releases.load_module("eccv16")


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda state: state.pop("model8.6.bias"), "model8.6.bias"),
        (
            lambda state: state.update({"model_out.weight": torch.zeros(2, 300, 1, 1)}),
            "model_out.weight",
        ),
    ],
)
def test_a_users_folder_with_a_missing_or_misshapen_tensor_is_named(
    release_site, monkeypatch, tmp_path, damage, named
):
    state = randomized(ECCV16()).state_dict()
    damage(state)
    (filename,) = releases.RELEASES["eccv16"].files
    torch.save(state, tmp_path / filename)  # the published hash is not asked of a user's file
    monkeypatch.setenv("COLORLAB_ECCV16_DIR", str(tmp_path))
    with pytest.raises(CheckpointError, match=named):
        releases.load_module("eccv16")
    assert release_site.requests == []


def test_reference_weights_run_through_the_method_and_the_cli(
    release_site, monkeypatch, tmp_path, astronaut_png
):
    monkeypatch.setenv("COLORLAB_ECCV16_DIR", str(tmp_path))
    for filename, data in official_files("eccv16").items():
        (tmp_path / filename).write_bytes(data)
    method = get_method("colorize", "eccv16")
    assert method.unavailable_reason() is None
    photo = np.asarray(Image.open(astronaut_png), dtype=np.float32) / 255
    out = method.run(photo, **method.resolve_params(temperature=0.5))
    assert out.shape == photo.shape
    target = tmp_path / "out.png"
    assert main(["colorize", str(astronaut_png), "-o", str(target), "--method", "eccv16"]) == 0
    assert Image.open(target).size == (512, 512)
    assert release_site.requests == []


@pytest.mark.parametrize("name", list(TASKS))
def test_offline_with_an_empty_cache_each_is_unavailable_in_one_line(
    release_site, monkeypatch, name
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    method = get_method(TASKS[name], name)
    reason = method.unavailable_reason()
    assert reason == f"weights not downloaded; needs internet once, or COLORLAB_{name.upper()}_DIR"
    assert "\n" not in reason and len(reason) < 80
    with pytest.raises(MethodUnavailableError, match="needs internet once"):
        method.check_available()
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE is set"):
        releases.load_module(name)
    assert release_site.requests == []


def test_an_unreachable_release_site_is_asked_once_per_process(release_site, monkeypatch):
    method = get_method("colorize", "eccv16")
    assert method.unavailable_reason().startswith("weights not downloaded")  # the server has none
    assert method.unavailable_reason().startswith("weights not downloaded")
    assert len(release_site.requests) == 1


def test_a_converted_mirror_on_the_hub_is_tried_before_the_release_url(
    release_site, monkeypatch, tmp_path
):
    publish(release_site, monkeypatch, "siggraph17", official_files("siggraph17", seed=3))
    convert_reference.main(
        ["siggraph17", "--out", str(tmp_path / "ckpt"), "--push-to-hub", "colorlab/siggraph17"]
    )
    card = (tmp_path / "ckpt" / "README.md").read_text()
    assert "SIGGRAPH 2017" in card and "BSD-2-Clause" in card
    monkeypatch.setenv("HF_HOME", str(tmp_path / "fresh_home"))  # no cache of the release
    monkeypatch.setenv("COLORLAB_SIGGRAPH17_REPO", "colorlab/siggraph17")
    release_site.requests.clear()
    module = releases.load_module("siggraph17")
    expected = randomized(releases.network("siggraph17"), seed=3).state_dict()
    torch.testing.assert_close(
        module.state_dict()["model_out.0.weight"], expected["model_out.0.weight"], rtol=0, atol=0
    )
    assert [r for r in release_site.requests if r.split()[1].startswith("/siggraph17/")] == []
    assert any("/colorlab/siggraph17/resolve/" in r for r in release_site.requests)
    asked = len(release_site.requests)
    assert releases.load_module("siggraph17") is module
    assert len(release_site.requests) == asked  # the mirror is asked once per process


def test_methods_json_carries_the_long_explanation_and_the_short_reason(
    release_site, monkeypatch, capsys
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["methods", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    for name in TASKS:
        assert listed[name]["unavailable"].startswith("weights not downloaded")
        assert releases.RELEASES[name].origin in listed[name]["details"]
        assert releases.RELEASES[name].env_dir in listed[name]["details"]


@pytest.mark.server
def test_reference_weights_run_through_the_app_api(app_url, monkeypatch, tmp_path, astronaut_png):
    from gradio_client import Client, handle_file

    monkeypatch.setenv("COLORLAB_SIGGRAPH17_DIR", str(tmp_path))
    for filename, data in official_files("siggraph17").items():
        (tmp_path / filename).write_bytes(data)
    hint = json.dumps([{"x": 256, "y": 100, "color": "#2060d0"}])
    client = Client(app_url, verbose=False)
    plain = client.predict(
        handle_file(astronaut_png), "siggraph17", None, None, api_name="/colorize"
    )
    hinted = client.predict(
        handle_file(astronaut_png), "siggraph17", None, hint, api_name="/colorize"
    )
    plain, hinted = (np.asarray(Image.open(p), dtype=np.float32) for p in (plain, hinted))
    assert plain.shape == hinted.shape == (512, 512, 3)
    assert np.abs(plain - hinted).max() > 1  # the hint reached the network


def test_offline_the_app_builds_without_a_request_and_lists_them_as_unavailable(
    release_site, monkeypatch
):
    import gradio as gr

    from colorlab.ui import build_app

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    demo = build_app()
    assert release_site.requests == []
    dropdowns = {b.elem_id: b for b in demo.blocks.values() if isinstance(b, gr.Dropdown)}
    colorize = dict((value, label) for label, value in dropdowns["colorize-method"].choices)
    stylize = dict((value, label) for label, value in dropdowns["stylize-method"].choices)
    for labels, name in ((colorize, "eccv16"), (colorize, "siggraph17"), (stylize, "adain")):
        assert "(unavailable: " in labels[name]
    assert "(unavailable" not in colorize["classification"]
