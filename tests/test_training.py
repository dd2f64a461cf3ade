"""Training PaletteNet and the colorizers: data, the fixed split, checkpoints, resume, DDP."""

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

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.colorize import colorize, hints_from_points, load_colorizer
from colorlab.hub import load_model_files
from colorlab.recolor.palettenet import PaletteNetRecolorer, load_palettenet
from training import train_colorizer
from training.data import (
    ColorizationSamples,
    ImageFolder,
    RecolorTriples,
    _rotate_hsv_hue,
    edit_entries,
    hue_shift,
    is_validation,
    sampling_weights,
)
from training.loop import WeightedDraws, learning_rate, warm_start
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


@pytest.mark.parametrize("kind", ["hue_shift", "entries", "identity"])
def test_recolor_triples_of_each_kind_keep_the_shapes_and_the_lightness(photos, kind):
    images = ImageFolder(photos, "all", short_side=40)
    item = RecolorTriples(images, crop=32, train=True, mix={kind: 1.0})[0]
    assert item["source"].shape == item["target"].shape == (3, 32, 32)
    assert item["palette"].shape == item["source_palette"].shape == (8, 4)
    assert 3 <= item["palette"][:, 3].sum() <= 8
    assert torch.equal(item["palette"][:, 3], item["source_palette"][:, 3])  # entry for entry
    assert (item["source"][0] - item["target"][0]).abs().mean() < 0.02  # same L (scaled)
    if kind == "identity":
        assert torch.equal(item["source"], item["target"])
    first = RecolorTriples(images, crop=32, train=False, seed=1)[3]
    again = RecolorTriples(images, crop=32, train=False, seed=1)[3]
    assert all(torch.equal(first[key], again[key]) for key in first)


def two_colour_image() -> tuple[np.ndarray, np.ndarray]:
    """Lab: a red left half and a blue right half, and that two-entry palette."""
    palette = np.array([[45.0, 60.0, 40.0], [40.0, 10.0, -55.0]], np.float32)
    lab = np.empty((8, 10, 3), np.float32)
    lab[:, :5], lab[:, 5:] = palette[0], palette[1]
    return lab, palette


def test_an_entry_edit_moves_that_entry_s_pixels_onto_its_new_colour_and_no_others():
    lab, palette = two_colour_image()
    target = palette.copy()
    target[0, 1:] = [-40.0, 45.0]  # red -> green, same lightness
    edited = edit_entries(lab, palette, target)
    np.testing.assert_allclose(edited[:, :5], np.broadcast_to(target[0], (8, 5, 3)), atol=0.1)
    np.testing.assert_allclose(edited[:, 5:], lab[:, 5:], atol=0.1)


def test_an_entry_edit_keeps_lightness_even_when_the_entry_s_lightness_moves():
    lab, palette = two_colour_image()
    target = palette.copy()
    target[0, 0] += 15
    np.testing.assert_allclose(edit_entries(lab, palette, target), lab, atol=1e-3)


def test_a_dominant_source_is_cut_to_half_of_the_draws_and_the_rest_shared_evenly():
    paths = [f"land_{i}.jpg" for i in range(80)] + [f"people_{i}.jpg" for i in range(15)]
    paths += [f"room_{i}.jpg" for i in range(5)]
    weights = sampling_weights(paths)
    assert weights.sum() == pytest.approx(1)
    assert weights[:80].sum() == pytest.approx(0.5)
    assert weights[80:95].sum() == pytest.approx(0.5 * 15 / 20)
    assert len(set(np.round(weights[80:], 12))) == 1  # the others: uniform per image
    balanced = [f"a_{i}.jpg" for i in range(3)] + [f"b_{i}.jpg" for i in range(3)] + ["c.jpg"]
    np.testing.assert_allclose(sampling_weights(balanced), 1 / 7)  # no source too big: uniform


def test_weighted_draws_follow_the_weights_and_differ_by_rank_and_epoch():
    weights = np.array([0.7, 0.1, 0.1, 0.1])
    draws = WeightedDraws(np.repeat(weights / 1000, 1000), rank=0, world=1, seed=0)
    assert len(list(draws)) == 4000
    indices = np.array(list(draws)) // 1000
    assert abs(np.mean(indices == 0) - 0.7) < 0.03
    other_rank = WeightedDraws(np.ones(100), rank=1, world=2, seed=0)
    first_rank = WeightedDraws(np.ones(100), rank=0, world=2, seed=0)
    assert len(first_rank) == 50 and list(first_rank) != list(other_rank)
    before = list(first_rank)
    first_rank.set_epoch(1)
    assert list(first_rank) != before


def test_a_warm_start_loads_what_fits_and_keeps_the_leading_input_channels():
    old = torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3), torch.nn.Conv2d(6, 2, 1))
    new = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3), torch.nn.Conv2d(6, 3, 1))
    fresh = warm_start(new, old.state_dict())
    assert fresh == ["1.bias", "1.weight"]  # the head changed shape: left as initialised
    torch.testing.assert_close(new[0].weight, old[0].weight[:, :1])
    torch.testing.assert_close(new[0].bias, old[0].bias)


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
    recolorer = PaletteNetRecolorer(astronaut[:100, :90], np.eye(3)[::-1], model=model)
    result = recolorer.apply(np.eye(3))
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


@pytest.mark.parametrize("script", ["train_palettenet", "train_colorizer"])
def test_two_process_ddp_run_ends_with_identical_weights(photos, tmp_path, script):
    state = tmp_path / "state"
    tiny = {"train_palettenet": TINY_RUN, "train_colorizer": COLORIZER_RUN}[script]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", "-m", f"training.{script}", *tiny]
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


# --- colorizers ------------------------------------------------------------------------------

COLORIZER_RUN = ["--channels", "8", "16", "32", "64", "--crop", "32", "--batch-size", "2"]
COLORIZER_RUN += [
    "--workers",
    "0",
    "--precision",
    "fp32",
    "--log-every",
    "1",
    "--warmup-steps",
    "2",
]


@pytest.fixture(scope="module")
def colour_images(photos) -> ImageFolder:
    return ImageFolder(photos, "all", short_side=40)


@pytest.fixture(scope="module")
def colour_bins(colour_images):
    return train_colorizer.training_bins(colour_images, 1)


def test_colorization_samples_have_the_documented_shapes_and_types(colour_images, colour_bins):
    item = ColorizationSamples(colour_images, crop=32, train=True, bins=colour_bins)[0]
    expected = {
        "lightness": ((1, 32, 32), torch.float32),
        "hints": ((3, 32, 32), torch.float32),
        "ab": ((2, 32, 32), torch.float32),
        "classes": ((5, 8, 8), torch.int64),
        "class_weights": ((5, 8, 8), torch.float32),
        "pixel_weights": ((8, 8), torch.float32),
    }
    assert {key: (tuple(v.shape), v.dtype) for key, v in item.items()} == expected
    assert item["lightness"].min() >= -1 and item["lightness"].max() <= 1
    assert item["ab"].abs().max() <= 1
    assert item["classes"].min() >= 0 and item["classes"].max() < colour_bins.size
    assert (item["pixel_weights"] > 0).all()
    without_bins = ColorizationSamples(colour_images, crop=32, train=True)[0]
    assert set(without_bins) == {"lightness", "hints", "ab"}


def test_class_targets_are_soft_encodings_of_the_4x4_mean_colour(colour_images, colour_bins):
    for item in ColorizationSamples(colour_images, crop=32, train=False, bins=colour_bins):
        torch.testing.assert_close(item["class_weights"].sum(0), torch.ones(8, 8))
        assert (item["class_weights"] >= 0).all()
        coarse = item["ab"].reshape(2, 8, 4, 8, 4).mean(dim=(2, 4)) * 110
        coarse = coarse.permute(1, 2, 0).reshape(-1, 2).numpy()
        nearest, _ = colour_bins.nearest(coarse)
        np.testing.assert_array_equal(item["classes"][0].reshape(-1).numpy(), nearest[:, 0])
        weights = colour_bins.weights[nearest[:, 0]]
        np.testing.assert_allclose(item["pixel_weights"].reshape(-1).numpy(), weights)


def test_validation_samples_are_the_centre_crop_in_lab(colour_images):
    item = ColorizationSamples(colour_images, crop=32, train=False, hints=False)[1]
    lab = torch.cat([(item["lightness"] + 1) * 50, item["ab"] * 110]).permute(1, 2, 0).numpy()
    image = colour_images[1]
    top, left = (image.shape[0] - 32) // 2, (image.shape[1] - 32) // 2
    np.testing.assert_allclose(lab_to_srgb(lab), image[top : top + 32, left : left + 32], atol=1e-3)


def test_validation_samples_are_the_same_in_every_run(colour_images, colour_bins):
    first = ColorizationSamples(colour_images, 32, train=False, bins=colour_bins, seed=5)
    again = ColorizationSamples(colour_images, 32, train=False, bins=colour_bins, seed=5)
    for index in range(len(colour_images)):
        a, b = first[index], again[index]
        assert all(torch.equal(a[key], b[key]) for key in a), index


@pytest.mark.parametrize("train", [True, False])
def test_samples_without_hints_have_all_zero_hint_channels(colour_images, train):
    samples = ColorizationSamples(colour_images, crop=32, train=train, hints=False)
    assert all(not samples[i]["hints"].any() for i in range(len(samples)))


def test_sample_hints_are_patches_and_strokes_of_mean_true_colour(colour_images):
    """Pixels sharing one hint colour form a region valued at the mean true ab under it (a
    later hint may cover part of an earlier one, moving that one's mean: some do on 32 px
    crops); some regions are strokes, not squares."""
    regions, exact, strokes = 0, 0, 0
    for seed in range(2):
        for item in ColorizationSamples(colour_images, 32, train=False, hints=True, seed=seed):
            ab = item["ab"].permute(1, 2, 0).numpy()
            hint_ab = item["hints"][:2].permute(1, 2, 0).numpy()
            mask = item["hints"][2].numpy() > 0
            assert set(np.unique(item["hints"][2].numpy())) <= {0.0, 1.0}
            assert not hint_ab[~mask].any()
            values, groups = np.unique(hint_ab[mask], axis=0, return_inverse=True)
            ys, xs = np.nonzero(mask)
            for group, value in enumerate(values):
                inside = groups.ravel() == group
                regions += 1
                exact += np.abs(ab[ys[inside], xs[inside]].mean(axis=0) - value).max() < 1e-4
                box = (np.ptp(ys[inside]) + 1) * (np.ptp(xs[inside]) + 1)
                strokes += box > inside.sum()
    assert regions > 10 and exact > 0.5 * regions and strokes > 0.1 * regions


def colorizer_files(out: Path) -> None:
    for name in ("model.safetensors", "config.json", "README.md", "training_curve.png"):
        assert (out / name).is_file(), name


@pytest.mark.parametrize("kind", ["classification", "regression", "pix2pix"])
def test_tiny_colorizer_run_writes_a_loadable_checkpoint_and_resumes(
    photos, tmp_path, astronaut, kind
):
    out, state = tmp_path / "colorizer", tmp_path / "state"
    common = [*COLORIZER_RUN, "--kind", kind, "--data", str(photos)]
    common += ["--out", str(out), "--state-dir", str(state)]
    train_colorizer.main([*common, "--steps", "6", "--eval-every", "3"])

    colorizer_files(out)
    _, config = load_model_files("colorizer", out)
    assert config["kind"] == kind and config["channels"] == [8, 16, 32, 64]
    assert config["hints"] == (kind == "classification")
    card = (out / "README.md").read_text()
    assert "Validation" in card and "python -m training.train_colorizer" in card
    assert logged_steps(state) == [1, 2, 3, 4, 5, 6]

    model = load_colorizer("colorizer", str(out))
    assert model.kind == kind and not model.training
    image = astronaut[:50, :70]
    assert colorize(image, model).shape == (50, 70, 3)
    if kind == "classification":
        bins = train_colorizer.training_bins(ImageFolder(photos, "train", short_side=40), 1)
        assert config["num_bins"] == bins.size
        np.testing.assert_array_equal(model.bin_centres.numpy(), bins.centres)
        hints = hints_from_points([{"x": 3, "y": 4, "color": "#2040ff"}], (50, 70))
        assert colorize(image, model, hints=hints).shape == (50, 70, 3)

    train_colorizer.main([*common, "--steps", "8", "--eval-every", "4", "--resume"])
    assert logged_steps(state) == list(range(1, 9))  # continued from step 6, not restarted
    assert json.loads((state / "state.json").read_text())["step"] == 8
    colorizer_files(out)


def test_fine_tuning_needs_a_checkpoint_of_the_same_kind(photos, tmp_path):
    out = tmp_path / "colorizer"
    common = [*COLORIZER_RUN, "--data", str(photos), "--state-dir", str(tmp_path / "state")]
    train_colorizer.main([*common, "--out", str(out), "--steps", "2", "--eval-every", "2"])
    tuned = tmp_path / "tuned"
    train_colorizer.main(
        [*common, "--init", str(out), "--out", str(tuned), "--steps", "2", "--eval-every", "2"]
    )
    colorizer_files(tuned)
    assert "fine-tuned" in (tuned / "README.md").read_text()
    with pytest.raises(SystemExit, match="is a classification model, not regression"):
        train_colorizer.main([*common, "--init", str(out), "--kind", "regression", "--steps", "2"])


# --- the colorization evaluation -------------------------------------------------------------


def test_colorize_evaluation_scores_the_truth_perfectly_and_grey_as_colourless(astronaut):
    from training.evaluate import colorize_table, evaluate_colorize

    images = [astronaut[::8, ::8], astronaut[100:164, 200:296]]
    methods = {
        "truth": lambda image, rng: image,
        "grey": lambda image, rng: lab_to_srgb(srgb_to_lab(image) * [1, 0, 0]),
    }
    uniform = lambda ab: np.ones(ab.shape[:2])  # noqa: E731

    results = evaluate_colorize(images, methods, uniform)

    truth, grey = results["truth"], results["grey"]
    assert truth["auc"] == pytest.approx(1) and truth["auc_rebal"] == pytest.approx(1)
    assert truth["de2000"] < 0.01 and truth["dcf"] == pytest.approx(0)
    assert grey["cf"] == pytest.approx(0, abs=0.5) and grey["auc"] < 1 and grey["psnr"] < 40
    assert results["ground truth"]["cf"] == pytest.approx(grey["dcf"], abs=0.5)
    table = colorize_table(results, len(images), 64, ["photos"])
    assert "| grey |" in table and "| ground truth |" in table


# --- the stylize evaluation ------------------------------------------------------------------


def test_stylize_evaluation_moves_colours_toward_the_style_and_keeps_structure(small_photos):
    from training.evaluate import evaluate_stylize, stylize_methods, stylize_table

    astronaut, coffee, chelsea = small_photos[:3]
    pairs = [(astronaut, coffee), (chelsea, astronaut)]
    methods = stylize_methods(["reinhard", "histogram"])
    assert set(methods) == {
        "reinhard",
        "reinhard, preserve_lightness",
        "histogram",
        "histogram, preserve_lightness",
    }

    results = evaluate_stylize(pairs, methods)

    for name, r in results.items():
        assert r["pairs"] == 2, name
        assert r["ratio"] < 1 and r["after"] < r["before"], name
        assert 0 < r["ssim_l"] <= 1 + 1e-6, name  # identical L: 1 up to float rounding
    table = stylize_table(results, len(pairs), 128, ["neural"])
    assert "N = 2 " in table and "| reinhard, preserve_lightness |" in table
    assert "unavailable here): neural." in table


def test_a_card_section_is_replaced_in_place_keeping_the_sections_around_it(tmp_path):
    from training.evaluate import CARD_SECTION, write_card_section

    card = tmp_path / "README.md"
    card.write_text(
        f"# Model\n\n{CARD_SECTION}: colorize\n\n`old`\n\n| a |\n|---|\n| 1 |\n\n## Notes\nkept\n"
    )
    write_card_section(card, "colorize", "| a |\n|---|\n| 2 |", "new command")
    assert card.read_text() == (
        f"# Model\n\n{CARD_SECTION}: colorize\n\n`new command`\n\n| a |\n|---|\n| 2 |\n\n"
        "## Notes\nkept\n"
    )
    write_card_section(card, "hints", "| b |", "hints command")
    assert card.read_text().endswith(f"kept\n\n{CARD_SECTION}: hints\n\n`hints command`\n\n| b |\n")
