"""PaletteNet: what the recolor tab, the CLI and the benchmarks rely on, model and wrapper."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from colorlab.color import rotate_hues, srgb_to_lab
from colorlab.errors import CheckpointError, InvalidParameterError
from colorlab.hub import save_checkpoint
from colorlab.methods import get_method
from colorlab.palette import extract_palette
from colorlab.recolor.palettenet import (
    AB_SCALE,
    DEFAULT_CONFIG,
    PaletteNet,
    PaletteNetRecolorer,
    encode_palette,
    entry_moves,
    lab_to_tensor,
    load_palettenet,
    membership_logits,
    slots_to_lab,
    tensor_lab_units,
)

TINY = {"channels": [8, 16, 32], "final_channels": 8}


@pytest.fixture(scope="module")
def tiny() -> PaletteNet:
    """A random PaletteNet, its membership correction random too (a fresh one's is zero)."""
    torch.manual_seed(0)
    model = PaletteNet(TINY).eval()
    model.decoder.to_membership.reset_parameters()
    return model


@pytest.fixture(scope="module")
def photo(small_photos) -> np.ndarray:
    return small_photos[1]  # coffee, 85 x 128


def net_input(image: np.ndarray, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    palette = extract_palette(image, k).colors
    return lab_to_tensor(srgb_to_lab(image)), encode_palette(palette)[None]


def test_an_unedited_palette_leaves_every_pixel_where_it_was(tiny, photo):
    """Whatever the network's memberships, entries that do not move move no pixel."""
    palette = extract_palette(photo, 4).colors
    out = PaletteNetRecolorer(photo, palette, working_size=32, model=tiny).apply(palette)
    np.testing.assert_allclose(out, photo, atol=2e-3)  # the Lab round trip only


def test_a_fresh_network_is_the_prior_membership_alone(photo):
    source, slots = net_input(photo, 4)
    fresh = PaletteNet(TINY).eval()
    with torch.inference_mode():
        correction = fresh.correction(source, slots)
        weights = fresh.memberships(tensor_lab_units(source), slots, correction)
    palette, used = slots_to_lab(slots)
    prior = torch.softmax(membership_logits(tensor_lab_units(source), palette, used), dim=1)
    assert not correction.any()
    torch.testing.assert_close(weights, prior)
    assert not weights[:, 4:].any()  # unused slots own no pixel
    torch.testing.assert_close(weights.sum(1), torch.ones_like(weights[:, 0]))


def two_colours() -> tuple[torch.Tensor, torch.Tensor]:
    """Lab (1, 3, 8, 10): a red left half and a blue right half, and that palette (1, 2, 3)."""
    palette = torch.tensor([[[45.0, 60.0, 40.0], [40.0, 10.0, -55.0]]])
    lab = torch.empty(1, 3, 8, 10)
    lab[..., :5], lab[..., 5:] = palette[0, 0, :, None, None], palette[0, 1, :, None, None]
    return lab, palette


def test_prior_membership_is_a_soft_partition_that_favours_the_nearest_entry():
    lab, palette = two_colours()
    lab[0, :, 0, 0] = palette[0].mean(0)  # halfway: shared
    weights = torch.softmax(membership_logits(lab, palette, torch.ones(1, 2, dtype=bool)), 1)
    assert (weights[0, 0, 1:, :5] > 0.99).all() and (weights[0, 1, :, 5:] > 0.99).all()
    torch.testing.assert_close(weights[0, :, 0, 0], torch.tensor([0.5, 0.5]))


def test_a_moved_entry_turns_and_scales_its_pixels_and_a_grey_one_translates_them():
    source = torch.tensor([[[30.0, 40.0], [2.0, 1.0]]])  # chromatic, then near grey
    target = torch.tensor([[[-40.0, 30.0], [12.0, -9.0]]])  # a quarter turn; a translation
    ab = torch.tensor([[30.0, 60.0], [40.0, 80.0]]).view(1, 2, 1, 2)  # on the entry; twice it
    moves = entry_moves(ab, source, target)
    turned = ab + moves[:, 0]
    torch.testing.assert_close(turned[0, :, 0, 0], target[0, 0])  # a pixel at c lands on c'
    torch.testing.assert_close(turned[0, :, 0, 1], 2 * target[0, 0])
    torch.testing.assert_close(moves[0, 1, :, 0, 0], target[0, 1] - source[0, 1])
    assert not entry_moves(ab, source, source).any()


@pytest.mark.parametrize("k", range(3, 9))
def test_every_palette_size_from_3_to_8_gives_a_full_lab_image(tiny, photo, k):
    source, palette = net_input(photo, k)
    assert palette[0, :, 3].sum() == len(extract_palette(photo, k))  # the used-slot mask
    target = palette.clone()
    target[:, :k, 1:3] = -target[:, :k, 1:3]  # every hue turned half way round
    with torch.inference_mode():
        out = tiny(source, palette, target)
    assert out.shape == source.shape
    assert torch.isfinite(out).all()
    assert (out[:, 1:] - source[:, 1:]).abs().mean() > 0.01


def test_output_lightness_is_the_source_lightness_exactly(tiny, photo):
    source, palette = net_input(photo, 5)
    with torch.inference_mode():
        out = tiny(source, palette, palette.flip(1))
    assert torch.equal(out[:, 0], source[:, 0])


def test_predicted_ab_stays_in_the_lab_range(tiny, photo):
    source, palette = net_input(photo, 5)
    extreme = palette.clone()
    extreme[0, :5, 1:3] = 30.0  # far outside anything the encoding produces
    with torch.inference_mode():
        out = tiny(source, palette, extreme)
    assert out[:, 1:].abs().max() <= 1  # |ab| <= 110 Lab units


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (33, 17), (64, 64), (150, 97), (17, 300)])
def test_any_image_size_comes_back_at_its_own_size(tiny, shape):
    rng = np.random.default_rng(sum(shape))
    image = rng.random((*shape, 3), dtype=np.float32)
    palette = np.array([[0.1, 0.2, 0.3], [0.9, 0.5, 0.1], [0.8, 0.9, 0.95]], np.float32)
    out = PaletteNetRecolorer(image, palette, working_size=64, model=tiny).apply(palette[::-1])
    assert out.shape == image.shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_full_resolution_output_keeps_the_image_lightness(tiny, astronaut):
    palette = extract_palette(astronaut, 5).colors
    vivid = rotate_hues(palette, 150) * 0.2 + np.array([0.8, 0, 0], np.float32)  # out of gamut
    out = PaletteNetRecolorer(astronaut, palette, working_size=128, model=tiny).apply(vivid)
    change = np.abs(srgb_to_lab(out)[..., 0] - srgb_to_lab(astronaut)[..., 0])
    assert change.max() < 0.05  # colours pushed out of gamut are desaturated, not clipped


def test_prepared_edits_match_one_shot_runs_and_run_no_network(tiny, photo):
    source = extract_palette(photo, 4).colors
    targets = [source[::-1].copy(), np.clip(source + 0.2, 0, 1)]
    recolorer = PaletteNetRecolorer(photo, source, working_size=96, model=tiny)
    calls = []
    hooks = [m.register_forward_hook(lambda *_: calls.append(1)) for m in tiny.children()]
    try:
        prepared = [recolorer.apply(t) for t in targets]
    finally:
        [hook.remove() for hook in hooks]
    assert calls == []  # the memberships were computed once, at preparation
    for target, result in zip(targets, prepared, strict=True):
        fresh = PaletteNetRecolorer(photo, source, working_size=96, model=tiny).apply(target)
        np.testing.assert_allclose(result, fresh, atol=1e-6)
    assert np.abs(prepared[0] - prepared[1]).mean() > 1e-4  # the palette matters


def test_palettes_outside_1_to_8_colours_or_mismatched_are_refused(tiny, photo):
    with pytest.raises(InvalidParameterError, match="1 to 8 colours"):
        PaletteNetRecolorer(photo, np.zeros((9, 3), np.float32), model=tiny)
    recolorer = PaletteNetRecolorer(photo, np.zeros((4, 3), np.float32), model=tiny)
    with pytest.raises(InvalidParameterError, match="one target colour per palette entry"):
        recolorer.apply(np.zeros((5, 3), np.float32))


def test_default_model_is_small_enough_to_ship():
    model = PaletteNet(DEFAULT_CONFIG)
    count = sum(p.numel() for p in model.parameters())
    assert 1_000_000 < count < 3_500_000
    assert count * 4 < 20e6  # bytes as float32 safetensors


def test_checkpoint_round_trip_through_the_hub_files(tmp_path, tiny, photo):
    save_checkpoint(tmp_path / "pn", tiny.state_dict(), tiny.config, "# tiny PaletteNet\n")
    loaded = load_palettenet(str(tmp_path / "pn"))
    assert loaded is load_palettenet(str(tmp_path / "pn"))  # once per process
    source, palette = net_input(photo, 6)
    with torch.inference_mode():
        target = palette.flip(1)
        torch.testing.assert_close(loaded(source, palette, target), tiny(source, palette, target))

    other = {**tiny.config, "channels": [8, 16, 64]}
    save_checkpoint(tmp_path / "bad", tiny.state_dict(), other, "# mismatched\n")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_palettenet(str(tmp_path / "bad"))


def test_registered_as_a_recolor_method_without_loading_weights_at_import():
    method = get_method("recolor", "palettenet")  # registered by importing the module
    assert method.prepare is not None
    assert method.title == "PaletteNet (learned)"
    code = (
        "import sys, colorlab.recolor.palettenet; "
        "assert 'colorlab.hub' not in sys.modules"  # the loader: not even imported yet
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_palette_slots_are_scaled_lab_in_the_given_order():
    colors = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 1]], np.float32)
    slots = encode_palette(colors)
    lab = srgb_to_lab(colors)
    np.testing.assert_allclose(slots[:3, 0], lab[:, 0] / 50 - 1, atol=1e-6)
    np.testing.assert_allclose(slots[:3, 1:3], lab[:, 1:] / AB_SCALE, atol=1e-6)
    assert slots[:3, 3].tolist() == [1, 1, 1]
    assert not slots[3:].any()
