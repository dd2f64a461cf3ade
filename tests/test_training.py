"""PaletteNet training: the data recipe, the fixed split, checkpoints, resume and DDP on CPUs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from skimage import data
from skimage.color import hsv2rgb, rgb2hsv

from colorlab.color import srgb_to_lab
from colorlab.hub import load_model_files
from colorlab.recolor.palettenet import PaletteNetRecolorer, load_palettenet
from training.data import (
    HueShiftTriples,
    ImageFolder,
    _rotate_hsv_hue,
    hue_shift,
    is_validation,
)
from training.loop import learning_rate
from training.train_palettenet import main, parse_args

REPO = Path(__file__).resolve().parent.parent
TINY_RUN = ["--channels", "8", "16", "--final-channels", "8", "--crop", "32", "--batch-size", "4"]
TINY_RUN += ["--workers", "0", "--log-every", "1", "--warmup-steps", "2"]


def hue_degrees(image: np.ndarray) -> np.ndarray:
    lab = srgb_to_lab(image)
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))


@pytest.mark.parametrize("shift", [0.15, 0.5, 0.8])
def test_hue_shift_keeps_lightness_and_turns_hue(small_photos, shift):
    image = small_photos[0]
    shifted = hue_shift(image, shift)
    lab, lab_shifted = srgb_to_lab(image), srgb_to_lab(shifted)
    assert np.abs(lab_shifted[..., 0] - lab[..., 0]).mean() < 0.5
    colourful = np.hypot(lab[..., 1], lab[..., 2]) > 15
    turn = (hue_degrees(shifted) - hue_degrees(image))[colourful]
    turn = np.abs((turn + 180) % 360 - 180)
    assert np.median(turn) > 25


def test_hue_rotation_agrees_with_scikit_image_hsv(small_photos):
    image = small_photos[2]
    for shift in (0.0, 0.3, 0.99):
        hsv = rgb2hsv(image)
        hsv[..., 0] = (hsv[..., 0] + shift) % 1
        np.testing.assert_allclose(_rotate_hsv_hue(image, shift), hsv2rgb(hsv), atol=1e-5)


def photo_folder(root: Path, count: int = 12) -> Path:
    """``count`` PNGs cut from scikit-image's photos, named so both splits get some."""
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    names = [f"photo_{i:03d}.png" for i in range(200)]
    val = [n for n in names if is_validation(n)][:2]
    chosen = val + [n for n in names if not is_validation(n)][: count - len(val)]
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(chosen):
        photo = photos[i % len(photos)]
        top = (i * 37) % (photo.shape[0] - 120)
        Image.fromarray(photo[top : top + 120, :160]).resize((80, 60)).save(root / name)
    return root


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return photo_folder(tmp_path_factory.mktemp("data") / "photos")


def test_dataset_skips_an_unreadable_file_with_a_warning(tmp_path):
    folder = photo_folder(tmp_path / "images", count=3)
    (folder / "nested").mkdir()
    (folder / "nested" / "broken.jpg").write_bytes(b"not a jpeg at all")
    Image.fromarray(data.coffee()).save(folder / "nested" / "coffee.jpg")
    with pytest.warns(UserWarning, match="broken.jpg"):
        images = ImageFolder(folder, "all", short_side=40)
    assert len(images) == 4  # three PNGs and the nested JPEG
    assert all(min(images[i].shape[:2]) == 40 for i in range(len(images)))


def test_validation_split_is_fixed_by_name_and_disjoint(photos, tmp_path):
    train = ImageFolder(photos, "train", short_side=40)
    val = ImageFolder(photos, "val", short_side=40)
    everything = ImageFolder(photos, "all", short_side=40)
    assert set(train.paths).isdisjoint(val.paths)
    assert set(train.paths) | set(val.paths) == set(everything.paths)
    assert len(val) == 2
    # Only the name counts: the same files elsewhere fall on the same side.
    assert all(is_validation(tmp_path / "other" / p.name) for p in val.paths)
    share = np.mean([is_validation(f"img_{i}.jpg") for i in range(5000)])
    assert 0.08 < share < 0.12


def test_triples_are_hue_shifts_with_the_target_palette(photos):
    images = ImageFolder(photos, "all", short_side=40)
    item = HueShiftTriples(images, crop=32, train=True)[0]
    assert item["source"].shape == item["target"].shape == (3, 32, 32)
    assert item["palette"].shape == (8, 4)
    assert 3 <= item["palette"][:, 3].sum() <= 8
    assert (item["source"][0] - item["target"][0]).abs().mean() < 0.02  # same L (scaled)
    first = HueShiftTriples(images, crop=32, train=False, seed=1)[3]
    again = HueShiftTriples(images, crop=32, train=False, seed=1)[3]
    assert all(torch.equal(first[key], again[key]) for key in first)


def logged_steps(state: Path) -> list[int]:
    lines = (state / "train_log.jsonl").read_text().splitlines()
    return [record["step"] for record in map(json.loads, lines) if "train_loss" in record]


def test_tiny_run_writes_a_loadable_checkpoint_and_resumes(photos, tmp_path, astronaut):
    out, state = tmp_path / "palettenet", tmp_path / "state"
    common = [*TINY_RUN, "--data", str(photos), "--out", str(out), "--state-dir", str(state)]
    main([*common, "--steps", "6", "--eval-every", "3"])

    for name in ("model.safetensors", "config.json", "README.md", "training_curve.png"):
        assert (out / name).is_file()
    _, config = load_model_files("palettenet", out)
    assert config["channels"] == [8, 16]
    card = (out / "README.md").read_text()
    assert "Validation" in card and "python -m training.train_palettenet" in card
    model = load_palettenet(str(out))
    result = PaletteNetRecolorer(astronaut[:100, :90], model=model).apply(np.eye(3))
    assert result.shape == (100, 90, 3)
    assert logged_steps(state) == [1, 2, 3, 4, 5, 6]

    # Resume to step 8, then once more into the adversarial stage (encoder frozen).
    main([*common, "--steps", "8", "--eval-every", "4", "--resume"])
    assert logged_steps(state) == list(range(1, 9))
    assert json.loads((state / "state.json").read_text())["step"] == 8
    encoder = {k: v for k, v in load_file(state / "state.safetensors").items() if "encoder" in k}
    main([*common, "--steps", "8", "--adversarial-steps", "2", "--eval-every", "1", "--resume"])
    assert logged_steps(state) == list(range(1, 11))
    adversarial = load_file(out.with_name("palettenet_adversarial") / "model.safetensors")
    for key, value in encoder.items():
        assert torch.equal(adversarial[key.removeprefix("model/")], value), key


def test_two_process_ddp_run_ends_with_identical_weights(photos, tmp_path):
    state = tmp_path / "state"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", "-m", "training.train_palettenet", *TINY_RUN]
    command += ["--data", str(photos), "--out", str(tmp_path / "out"), "--state-dir", str(state)]
    command += ["--steps", "4", "--eval-every", "4", "--write-rank-hashes"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    hashes = [(state / f"rank{rank}.sha256").read_text() for rank in (0, 1)]
    assert hashes[0] == hashes[1]
    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert "2 process(es)" in run.stdout


def test_time_budget_ends_the_run_with_a_checkpoint_at_the_low_learning_rate(photos, tmp_path):
    out, state = tmp_path / "palettenet", tmp_path / "state"
    main(
        [*TINY_RUN, "--data", str(photos), "--out", str(out), "--state-dir", str(state)]
        + ["--steps", "1000", "--eval-every", "1000", "--max-minutes", "0.0001"]
    )
    assert logged_steps(state)[-1] < 1000
    assert (out / "model.safetensors").is_file()
    args = parse_args(["--steps", "100", "--warmup-steps", "10", "--lr", "1e-3"])
    assert learning_rate(50, args, budget_used=1.0) == pytest.approx(1e-4)
    assert learning_rate(50, args) > 4e-4
