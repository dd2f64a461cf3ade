"""Does an edit act where it is made? Two protocols on validation images (issue 11).

**Hint locality** (colorize): the automatic result of an image is computed; one hint, a 5 px
square (half-side ``HINT_RADIUS``) at a random point of the image's central half, asks for a
colour ``HINT_OFFSET`` ab units away from the automatic result there (the direction is drawn
among those still at least 40 ab units away once the hint is made displayable at that pixel's
lightness, as :meth:`colorlab.colorize.hints.Hints.fitted_to` does). Reported: the mean change
of ab (result with the hint against the automatic one) within ``NEAR`` of the image diagonal
from the hint, and beyond ``FAR``. A user who paints one thing expects it to change, and the
rest to stay (targets: near >= 15, far <= 3).

**Single-entry edit** (recolor): the image's k-colour palette is extracted and its most
chromatic entry turned by ``EDIT_DEGREES`` of hue (lightness and chroma kept). Reported:
how far the pixels of that entry (those nearest to it in Lab) remain from the new colour,
as the distance of their mean ab to the target's ab after the edit over before it; the mean
CIEDE2000 change of the pixels that belong to other entries (farther than ``OTHERS_LAB`` Lab
units from the edited entry); and the mean CIEDE2000 between the input and the method's output
for the unchanged palette (a method should leave an unedited image alone).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from colorlab.color import rotate_hues, srgb_to_lab, srgb_to_lightness
from colorlab.colorize.hints import Hints
from colorlab.metrics import delta_e_ciede2000
from colorlab.palette import extract_palette
from training.tables import markdown_table

HINT_OFFSET = 50.0  # ab units between the hint and the automatic result at its pixel
HINT_RADIUS = 2  # a 5 x 5 px square
MIN_FITTED_OFFSET = 40.0  # a hint direction must stay this far away once displayable
NEAR, FAR = 0.02, 0.4  # fractions of the image diagonal
EDIT_DEGREES = 120.0
OTHERS_LAB = 25.0

ColorizeWithHints = Callable[[np.ndarray, Hints | None], np.ndarray]
Recolor = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def hint_locality(
    image: np.ndarray, colorize: ColorizeWithHints, rng: np.random.Generator
) -> dict[str, float]:
    """``{"near", "far", "offset"}`` for one image: mean ab change near and far from one hint,
    and the hint's distance from the automatic result once displayable."""
    height, width = image.shape[:2]
    automatic = srgb_to_lab(colorize(image, None))[..., 1:]
    y = int(rng.integers(height // 4, max(height // 4 + 1, 3 * height // 4)))
    x = int(rng.integers(width // 4, max(width // 4 + 1, 3 * width // 4)))
    hints = _one_hint(automatic, srgb_to_lightness(image), y, x, rng)
    offset = float(
        np.linalg.norm(hints.fitted_to(srgb_to_lightness(image)).ab[y, x] - automatic[y, x])
    )
    hinted = srgb_to_lab(colorize(image, hints))[..., 1:]
    change = np.linalg.norm(hinted - automatic, axis=-1)
    rows, cols = np.mgrid[:height, :width]
    distance = np.hypot(rows - y, cols - x) / np.hypot(height, width)
    far = distance > FAR
    return {
        "near": float(change[distance <= NEAR].mean()),
        "far": float(change[far].mean()) if far.any() else float("nan"),
        "offset": offset,
    }


def _one_hint(
    automatic: np.ndarray, lightness: np.ndarray, y: int, x: int, rng: np.random.Generator
) -> Hints:
    """The 5 px hint at (y, x), ``HINT_OFFSET`` away from the automatic ab in a direction that
    stays at least ``MIN_FITTED_OFFSET`` away once displayable (else the farthest one)."""
    best, best_offset = None, -1.0
    for angle in rng.permutation(np.linspace(0, 2 * np.pi, 24, endpoint=False)):
        hints = Hints.empty(automatic.shape[:2])
        square = (
            slice(max(0, y - HINT_RADIUS), y + HINT_RADIUS + 1),
            slice(max(0, x - HINT_RADIUS), x + HINT_RADIUS + 1),
        )
        hints.ab[square] = automatic[y, x] + HINT_OFFSET * np.array(
            [np.cos(angle), np.sin(angle)], dtype=np.float32
        )
        hints.mask[square] = True
        offset = float(np.linalg.norm(hints.fitted_to(lightness).ab[y, x] - automatic[y, x]))
        if offset >= MIN_FITTED_OFFSET:
            return hints
        if offset > best_offset:
            best, best_offset = hints, offset
    return best


def single_entry_edit(image: np.ndarray, recolor: Recolor, k: int = 5) -> dict[str, float]:
    """``{"remaining", "collateral", "unchanged"}`` for one image (see the module docstring);
    ``remaining`` is NaN when the edited entry's pixels already sit at the target."""
    palette = extract_palette(image, k).colors
    palette_lab = srgb_to_lab(palette)
    edited = int(np.argmax(np.hypot(palette_lab[:, 1], palette_lab[:, 2])))
    target = palette.copy()
    target[edited] = rotate_hues(palette[edited : edited + 1], EDIT_DEGREES)[0]
    target_ab = srgb_to_lab(target[edited])[1:]

    source_lab = srgb_to_lab(image)
    to_entries = np.linalg.norm(source_lab[..., None, :] - palette_lab[None, None], axis=-1)
    members = np.argmin(to_entries, axis=-1) == edited
    others = to_entries[..., edited] > OTHERS_LAB

    out = recolor(image, palette, target)
    before = np.linalg.norm(source_lab[members][:, 1:].mean(0) - target_ab)
    after = np.linalg.norm(srgb_to_lab(out)[members][:, 1:].mean(0) - target_ab)
    unchanged = recolor(image, palette, palette.copy())
    return {
        "remaining": float(after / before) if before > 0 else float("nan"),
        "collateral": float(delta_e_ciede2000(out, image)[others].mean())
        if others.any()
        else float("nan"),
        "unchanged": float(delta_e_ciede2000(unchanged, image).mean()),
    }


def evaluate_edits(
    images: list[np.ndarray], methods: dict[str, Callable], measure: Callable
) -> dict[str, dict[str, float]]:
    """Per method, the mean over images of each number ``measure(image, method, index)``
    reports (NaNs left out)."""
    scores: dict[str, dict[str, list[float]]] = {name: {} for name in methods}
    for index, image in enumerate(tqdm(images, desc="evaluate", unit="image", file=sys.stderr)):
        for name, method in methods.items():
            for key, value in measure(image, method, index).items():
                scores[name].setdefault(key, []).append(value)
    return {
        name: {key: float(np.nanmean(values)) for key, values in s.items()}
        for name, s in scores.items()
    }


def single_entry_table(results: dict[str, dict[str, float]], images: int, k: int, size: int):
    return markdown_table(
        f"Single-entry edits: {images} validation images (short side {size} px), k = {k}, the "
        "most chromatic entry turned 120 degrees of hue. Remaining: distance of that entry's "
        "pixels' mean ab to the target, after / before (0 = reached). Collateral: mean "
        f"CIEDE2000 change of pixels farther than {OTHERS_LAB:g} Lab units from the edited "
        "entry. Unchanged: mean CIEDE2000 to the input for the unedited palette.",
        ["method", "remaining", "collateral dE2000", "unchanged palette dE2000"],
        ([name, f"{r['remaining']:.3f}", f"{r['collateral']:.2f}", f"{r['unchanged']:.2f}"]
         for name, r in results.items()),
    )  # fmt: skip


def hint_locality_table(results: dict[str, dict[str, float]], images: int, size: int) -> str:
    return markdown_table(
        f"Hint locality: {images} validation images (short side {size} px), one 5 px hint "
        "50 ab units from the automatic result at a random point of the central half. Mean ab "
        f"change within {NEAR} of the diagonal from the hint (target >= 15) and beyond {FAR} "
        "(target <= 3); offset: the hint's distance from the automatic result once displayable.",
        ["method", "near", "far", "hint offset"],
        ([name, f"{r['near']:.2f}", f"{r['far']:.2f}", f"{r['offset']:.1f}"]
         for name, r in results.items()),
    )  # fmt: skip
