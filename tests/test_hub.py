"""colorlab.hub against the real huggingface_hub client and a local fake Hub (tests/hub_server.py).

The model is the real PaletteNet in a tiny configuration, so a pushed and downloaded checkpoint
is run through the same recoloring code the app uses.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hub_server import HubServer
from safetensors import safe_open

from colorlab import hub
from colorlab.errors import CheckpointError, ModelNotFoundError
from colorlab.palette import extract_palette
from colorlab.recolor.palettenet import DEFAULT_CONFIG, PaletteNet, PaletteNetRecolorer

NAME = "tiny"
REPO = "colorlab-test/tiny"
CARD = "---\nlibrary_name: colorlab\n---\n# tiny\nA test model.\n"


def tiny_config() -> dict:
    return {**DEFAULT_CONFIG, "channels": [4, 8], "final_channels": 4}


def build_model(config: dict) -> torch.nn.Module:
    """The model code a checkpoint is loaded into."""
    return PaletteNet(config)


def trained_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(tiny_config()).eval()


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """A running fake Hub as HF_ENDPOINT, an empty Hub cache, and the test model's repo set."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")  # never send a real token to the fake Hub
    monkeypatch.setenv("COLORLAB_TINY_REPO", REPO)
    monkeypatch.delenv("COLORLAB_TINY_REVISION", raising=False)
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


@pytest.fixture
def no_bundle(tmp_path) -> Path:
    """A checkpoints root with nothing in it, so resolve() has to go to the Hub."""
    root = tmp_path / "checkpoints"
    root.mkdir()
    return root


def push(model: torch.nn.Module, folder: Path, repo_id: str = REPO) -> str:
    hub.save_checkpoint(folder, model.state_dict(), tiny_config(), CARD)
    return hub.push_to_hub(folder, repo_id, token="hf_test_token")


def assert_same_tensors(loaded: dict, expected: dict) -> None:
    assert loaded.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key


def test_pushed_checkpoint_downloads_into_empty_cache_and_runs(
    fake_hub, no_bundle, tmp_path, astronaut, monkeypatch
):
    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load must never be needed: weights are safetensors")

    monkeypatch.setattr(torch, "load", no_unpickling)
    model = trained_model(seed=0)
    sha = push(model, tmp_path / "out")
    cache = tmp_path / "hf_home" / "hub"
    assert not cache.exists()

    directory = hub.resolve(NAME, checkpoints_root=no_bundle)
    state_dict, config = hub.load_model_files(NAME, checkpoints_root=no_bundle)

    assert directory.is_relative_to(cache) and directory.name == sha
    assert sorted(p.name for p in directory.iterdir()) == sorted(hub.FILES)
    assert (directory / "README.md").read_text() == CARD
    assert config == tiny_config()
    assert_same_tensors(state_dict, model.state_dict())
    loaded = hub.load_into(build_model(config), state_dict, NAME)
    image, palette = astronaut[::8, ::8], extract_palette(astronaut, 4).colors
    recolored = PaletteNetRecolorer(image, palette, model=loaded).apply(palette[::-1])
    expected = PaletteNetRecolorer(image, palette, model=model).apply(palette[::-1])
    assert recolored.shape == (64, 64, 3)
    assert np.array_equal(recolored, expected)


def test_push_creates_repo_once_and_commits_three_files_in_one_commit(fake_hub, tmp_path):
    first = push(trained_model(seed=0), tmp_path / "a")
    second = push(trained_model(seed=1), tmp_path / "b")

    commits = [
        r for r in fake_hub.requests if r.startswith("POST /api/models/") and "/commit/" in r
    ]
    assert len(commits) == 2 and first != second
    assert fake_hub.repos[REPO].branches["main"] == second
    assert set(hub.FILES) <= set(fake_hub.repos[REPO].commits[first])


def test_pinned_revision_gets_the_weights_of_that_commit(
    fake_hub, no_bundle, tmp_path, monkeypatch
):
    old, new = trained_model(seed=0), trained_model(seed=1)
    old_sha = push(old, tmp_path / "old")
    push(new, tmp_path / "new")

    latest, _ = hub.load_model_files(NAME, checkpoints_root=no_bundle)
    monkeypatch.setenv("COLORLAB_TINY_REVISION", old_sha)
    pinned, _ = hub.load_model_files(NAME, checkpoints_root=no_bundle)

    assert_same_tensors(latest, new.state_dict())
    assert_same_tensors(pinned, old.state_dict())
    assert hub.resolve(NAME, checkpoints_root=no_bundle).name == old_sha


def test_registered_model_uses_its_table_entry_and_env_overrides_it(monkeypatch):
    monkeypatch.delenv("COLORLAB_PALETTENET_REPO", raising=False)
    monkeypatch.delenv("COLORLAB_PALETTENET_REVISION", raising=False)
    assert hub.hub_model("palettenet") == hub.MODELS["palettenet"]

    train = hub.MODELS["palettenet"].train  # how to make the weights does not change
    monkeypatch.setenv("COLORLAB_PALETTENET_REPO", "someone/palettenet")
    assert hub.hub_model("palettenet") == hub.HubModel("someone/palettenet", "main", train)
    monkeypatch.setenv("COLORLAB_PALETTENET_REVISION", "v2")
    assert hub.hub_model("palettenet") == hub.HubModel("someone/palettenet", "v2", train)
    assert hub.hub_model("never-registered") is None


def test_local_dir_and_bundled_checkpoint_win_over_the_hub(fake_hub, tmp_path):
    on_hub, bundled, local = trained_model(seed=0), trained_model(seed=1), trained_model(seed=2)
    push(on_hub, tmp_path / "pushed")
    root = tmp_path / "checkpoints"
    hub.save_checkpoint(root / NAME, bundled.state_dict(), tiny_config(), CARD)
    hub.save_checkpoint(tmp_path / "mine", local.state_dict(), tiny_config(), CARD)
    fake_hub.requests.clear()

    from_bundle, _ = hub.load_model_files(NAME, checkpoints_root=root)
    from_local, _ = hub.load_model_files(NAME, tmp_path / "mine", checkpoints_root=root)

    assert_same_tensors(from_bundle, bundled.state_dict())
    assert_same_tensors(from_local, local.state_dict())
    assert hub.resolve(NAME, checkpoints_root=root) == root / NAME
    assert fake_hub.requests == []


def test_missing_local_dir_is_an_error_not_a_silent_download(fake_hub, no_bundle, tmp_path):
    push(trained_model(seed=0), tmp_path / "pushed")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        hub.resolve(NAME, tmp_path / "nowhere", checkpoints_root=no_bundle)


def test_offline_with_empty_cache_names_model_places_and_remedies(
    fake_hub, no_bundle, tmp_path, monkeypatch
):
    push(trained_model(seed=0), tmp_path / "out", repo_id="colorlab/palettenet")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake_hub.requests.clear()

    with pytest.raises(ModelNotFoundError) as raised:
        hub.resolve("palettenet", checkpoints_root=no_bundle)

    message = str(raised.value)
    for expected in (
        "'palettenet'",
        str(no_bundle / "palettenet"),
        "colorlab/palettenet@main",
        fake_hub.url,
        "HF_HUB_OFFLINE",
        str(tmp_path / "hf_home" / "hub"),
        "python -m training.train_palettenet",
        "COLORLAB_PALETTENET_REPO",
    ):
        assert expected in message
    assert fake_hub.requests == []


def test_offline_works_from_the_cache_after_one_download(
    fake_hub, no_bundle, tmp_path, monkeypatch
):
    model = trained_model(seed=0)
    push(model, tmp_path / "out")
    online = hub.resolve(NAME, checkpoints_root=no_bundle)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake_hub.requests.clear()

    assert hub.resolve(NAME, checkpoints_root=no_bundle) == online
    state_dict, _ = hub.load_model_files(NAME, checkpoints_root=no_bundle)
    assert_same_tensors(state_dict, model.state_dict())
    assert fake_hub.requests == []


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_unreachable_hub_fails_fast_with_model_not_found(fake_hub, no_bundle, monkeypatch):
    url = closed_port_url()
    monkeypatch.setenv("HF_ENDPOINT", url)
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError, match="could not be reached") as raised:
        hub.resolve(NAME, checkpoints_root=no_bundle)
    assert time.monotonic() - start < 5  # huggingface_hub alone retries for ~25 s
    assert REPO in str(raised.value) and url in str(raised.value)


def test_unreachable_hub_falls_back_to_the_cache(fake_hub, no_bundle, tmp_path, monkeypatch):
    push(trained_model(seed=0), tmp_path / "out")
    online = hub.resolve(NAME, checkpoints_root=no_bundle)
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    assert hub.resolve(NAME, checkpoints_root=no_bundle) == online


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("REPO", "colorlab-test/absent", "repository does not exist"),
        ("REVISION", "no-such-branch", "no revision 'no-such-branch'"),
    ],
)
def test_unknown_repo_or_revision_is_model_not_found(
    fake_hub, no_bundle, tmp_path, monkeypatch, setting, value, reason
):
    push(trained_model(seed=0), tmp_path / "out")
    monkeypatch.setenv(f"COLORLAB_TINY_{setting}", value)
    with pytest.raises(ModelNotFoundError, match=reason):
        hub.resolve(NAME, checkpoints_root=no_bundle)


def test_unregistered_model_says_how_to_register(no_bundle, monkeypatch):
    monkeypatch.delenv("COLORLAB_UNHEARD_OF_REPO", raising=False)
    with pytest.raises(ModelNotFoundError, match="COLORLAB_UNHEARD_OF_REPO"):
        hub.resolve("unheard-of", checkpoints_root=no_bundle)


def test_corrupt_download_is_a_checkpoint_error_that_says_fetch_again(
    fake_hub, no_bundle, tmp_path
):
    push(trained_model(seed=0), tmp_path / "out")
    fake_hub.serve_corrupted("model.safetensors")
    with pytest.raises(
        CheckpointError, match="model.safetensors is not a valid safetensors"
    ) as raised:
        hub.load_model_files(NAME, checkpoints_root=no_bundle)
    assert "fetch or save it again" in str(raised.value)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (
            lambda d: (d / "model.safetensors").write_bytes(b"not a checkpoint at all"),
            "safetensors",
        ),
        (
            lambda d: (d / "model.safetensors").write_bytes(
                (d / "model.safetensors").read_bytes()[:-40]
            ),
            "safetensors",
        ),
        (lambda d: (d / "config.json").write_text("{'model': tiny"), "not valid JSON"),
        (lambda d: (d / "config.json").write_text("[1, 2]"), "JSON object"),
        (lambda d: (d / "config.json").unlink(), "lacks config.json"),
    ],
    ids=["garbage weights", "truncated weights", "bad json", "json not an object", "no config"],
)
def test_damaged_local_checkpoint_is_a_checkpoint_error(tmp_path, damage, match):
    folder = hub.save_checkpoint(
        tmp_path / NAME, trained_model(0).state_dict(), tiny_config(), CARD
    )
    damage(folder)
    with pytest.raises(CheckpointError, match=match):
        hub.load_model_files(NAME, folder)


def test_config_missing_a_key_the_model_needs_is_a_checkpoint_error(tmp_path):
    folder = hub.save_checkpoint(
        tmp_path / NAME, trained_model(0).state_dict(), {"model": NAME}, CARD
    )
    with pytest.raises(CheckpointError, match="lacks channels"):
        hub.load_model_files(NAME, folder, required_keys=["channels"])


def test_weights_of_another_model_are_a_checkpoint_error(tmp_path):
    folder = hub.save_checkpoint(
        tmp_path / NAME, trained_model(0).state_dict(), tiny_config(), CARD
    )
    state_dict, _ = hub.load_model_files(NAME, folder)
    with pytest.raises(CheckpointError, match="does not fit the model code"):
        hub.load_into(build_model({**tiny_config(), "channels": [8, 16]}), state_dict, NAME)


def test_pickled_weights_alone_are_refused(tmp_path):
    folder = tmp_path / NAME
    folder.mkdir()
    torch.save(trained_model(0).state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps(tiny_config()))
    (folder / "README.md").write_text(CARD)
    with pytest.raises(CheckpointError, match="pytorch_model.bin, pickled weights"):
        hub.load_model_files(NAME, folder)


def test_save_checkpoint_writes_the_hub_layout_and_no_stray_files(tmp_path):
    weight = torch.arange(12.0).reshape(3, 4)
    state_dict = {"weight": weight.t(), "tied": weight}  # non-contiguous and sharing memory
    folder = hub.save_checkpoint(tmp_path / "ckpt", state_dict, {"b": 1, "a": [1, 2]}, CARD)

    assert sorted(p.name for p in folder.iterdir()) == sorted(hub.FILES)  # no temporary files left
    with safe_open(folder / "model.safetensors", framework="pt") as weights:
        assert weights.metadata() == {"format": "pt"}
        assert torch.equal(weights.get_tensor("weight"), weight.t())
    assert (folder / "config.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert (folder / "README.md").read_text() == CARD


def test_files_are_read_once_per_process_until_they_change(tmp_path):
    folder = hub.save_checkpoint(
        tmp_path / NAME, trained_model(0).state_dict(), tiny_config(), CARD
    )
    first = hub.load_model_files(NAME, folder)
    assert hub.load_model_files(NAME, folder)[0] is first[0]

    replacement = trained_model(seed=1)
    hub.save_checkpoint(folder, replacement.state_dict(), tiny_config(), CARD)
    reloaded, _ = hub.load_model_files(NAME, folder)
    assert_same_tensors(reloaded, replacement.state_dict())


def test_push_while_offline_is_refused(tmp_path, monkeypatch):
    folder = hub.save_checkpoint(
        tmp_path / NAME, trained_model(0).state_dict(), tiny_config(), CARD
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE"):
        hub.push_to_hub(folder, REPO, token="hf_test_token")


def test_push_to_unreachable_hub_says_the_checkpoint_is_kept(tmp_path, monkeypatch):
    folder = hub.save_checkpoint(
        tmp_path / NAME, trained_model(0).state_dict(), tiny_config(), CARD
    )
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    with pytest.raises(CheckpointError, match="still in"):
        hub.push_to_hub(folder, REPO, token="hf_test_token")


def test_model_names_cannot_escape_the_checkpoints_folder(no_bundle):
    with pytest.raises(ValueError, match="model name"):
        hub.resolve("../etc", checkpoints_root=no_bundle)


def test_the_colorizer_is_a_hub_mixin_whose_files_are_our_checkpoint_layout(tmp_path):
    """``from_pretrained`` reads the shipped checkpoint; what ``save_pretrained`` writes loads
    through our loader with the same weights."""
    from colorlab.colorize import load_colorizer
    from colorlab.colorize.models import ColorizerNet

    ours = load_colorizer()
    by_mixin = ColorizerNet.from_pretrained(hub.CHECKPOINTS_ROOT / "colorizer", strict=True)
    assert_same_tensors(by_mixin.state_dict(), ours.state_dict())
    by_mixin.save_pretrained(tmp_path / "saved")
    again = load_colorizer("colorizer", str(tmp_path / "saved"))
    assert again.prior_correction == ours.prior_correction
    assert_same_tensors(again.state_dict(), ours.state_dict())


def test_palettenet_is_a_hub_mixin_whose_files_are_our_checkpoint_layout(tmp_path):
    from colorlab.recolor.palettenet import load_palettenet

    ours = load_palettenet()
    by_mixin = PaletteNet.from_pretrained(hub.CHECKPOINTS_ROOT / "palettenet", strict=True)
    assert_same_tensors(by_mixin.state_dict(), ours.state_dict())
    by_mixin.save_pretrained(tmp_path / "saved")
    assert_same_tensors(load_palettenet(str(tmp_path / "saved")).state_dict(), ours.state_dict())
