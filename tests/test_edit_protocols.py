"""The edit protocols tell a local edit from a global one (training/edit_protocols.py)."""

import numpy as np
import pytest

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.methods import get_method
from training.edit_protocols import HINT_OFFSET, hint_locality, single_entry_edit


def _with_ab(image: np.ndarray, ab: np.ndarray) -> np.ndarray:
    lab = srgb_to_lab(image)
    lab[..., 1:] = ab
    return lab_to_srgb(lab, keep_lightness=True)


def local_colorizer(image, hints):
    """Grey, except exactly where a hint is: a perfectly local colorizer."""
    ab = np.zeros((*image.shape[:2], 2), np.float32)
    if hints is not None:
        ab[hints.mask] = hints.ab[hints.mask]
    return _with_ab(image, ab)


def global_colorizer(image, hints):
    """Grey, shifted everywhere by the mean hint colour: one hint recolours the whole photo."""
    ab = np.zeros((*image.shape[:2], 2), np.float32)
    if hints is not None:
        ab[:] = hints.ab[hints.mask].mean(0)
    return _with_ab(image, ab)


def test_a_local_colorizer_changes_only_near_the_hint(small_photos):
    photo = np.full((96, 128, 3), 0.5, np.float32)  # mid grey: every hint colour displayable

    result = hint_locality(photo, local_colorizer, np.random.default_rng(0))

    assert result["offset"] == pytest.approx(HINT_OFFSET, abs=1)
    assert result["near"] > 5  # the hint square covers part of the near disc
    assert result["far"] == 0


def test_a_global_colorizer_is_caught_far_from_the_hint():
    photo = np.full((96, 128, 3), 0.5, np.float32)

    result = hint_locality(photo, global_colorizer, np.random.default_rng(0))

    assert result["far"] > 30
    assert result["far"] == pytest.approx(result["near"], rel=0.3)


def test_identity_leaves_the_edited_entry_where_it_was_and_the_rest_untouched(small_photos):
    result = single_entry_edit(small_photos[0], lambda image, source, target: image)

    assert result == {"remaining": 1.0, "collateral": 0.0, "unchanged": 0.0}


def test_chang_moves_the_edited_entry_and_is_exact_for_an_unchanged_palette(small_photos):
    chang = get_method("recolor", "chang")

    result = single_entry_edit(
        small_photos[0],
        lambda image, source, target: chang.run(
            image, source_palette=source, target_palette=target
        ),
    )

    assert result["remaining"] < 0.6
    assert result["unchanged"] < 0.5
    assert 0 < result["collateral"] < 10


def test_the_cli_prints_both_edit_tables(tmp_path, capsys):
    from tests.test_training import photo_folder
    from training.evaluate import main

    folder = photo_folder(tmp_path, count=24)  # a few fall into the validation split

    main(["hints", "--data", str(folder), "--size", "64", "--limit", "2"])
    main(["recolor", "--protocol", "single-entry", "--data", str(folder), "--size", "64"])

    printed = capsys.readouterr().out
    assert "| classification |" in printed and "| method | near | far | hint offset |" in printed
    assert "| identity | 1.000 | 0.00 | 0.00 |" in printed and "| chang |" in printed
