"""Training data: image folders, a fixed split, balanced sources, and made-up edit targets.

Recoloring has no ground-truth pairs, so they are made (REFERENCES.md section 3): two
luminance-preserving hue shifts of one photo give a source and a target with the same lightness
and different colours, and the target's palette, extracted exactly as the app extracts palettes,
tells the network where to go. Since a user usually edits one entry, not all, most targets
instead move one to three entries of the source's palette and the pixels that belong to them.

- :class:`ImageFolder` decodes every image under some folders once, scales it so its short side
  is a little longer than the training crop (crops then show most of the scene) and keeps it in
  memory as uint8: about 110 KB per image, so a thousand photos take about 130 MB, and no JPEG
  is decoded again during training.
- :func:`is_validation` fixes the split by a hash of the file name: it never changes between
  runs or machines, and adding images never moves old ones across the split.
- :func:`sampling_weights` balances the sources (the file-name tag before the first ``_``)
  when drawing training samples, so one huge source does not drown the others.
- :class:`RecolorTriples` turns those images into (source Lab, palettes, target Lab)
  samples as tensors for :class:`colorlab.recolor.palettenet.PaletteNet`: whole-image hue
  shifts mixed with edits of single palette entries (:func:`edit_entries`).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.colorize.bins import ColorBins
from colorlab.colorize.hints import Hints, simulate_hints
from colorlab.colorize.models import OUTPUT_STRIDE
from colorlab.errors import ColorLabError
from colorlab.imageio import load_image, to_uint8
from colorlab.nn import AB_SCALE, scale_lightness
from colorlab.palette import extract_palette
from colorlab.recolor.palettenet import (
    PALETTE_SLOTS,
    apply_memberships,
    encode_palette,
    lab_to_tensor,
    membership_logits,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
VALIDATION_MODULUS = 10  # one file name in ten (by hash) is held out
PALETTE_SIZES = (3, 8)  # inclusive range of palette sizes drawn per training sample
MAX_SOURCE_SHARE = 0.5  # no source gets more than half of the training draws
HINT_STROKE_SHARE = 0.5  # simulated training hints: half clicks, half short strokes


def list_images(roots: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Image files (by suffix) anywhere under the given folder(s), sorted, each listed once."""
    if isinstance(roots, str | os.PathLike):
        roots = [roots]
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
        found.update(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(p for p in found if p.is_file())


def is_validation(path: str | os.PathLike) -> bool:
    """Whether a file belongs to the validation split: sha1 of its name, modulo 10, is 0.

    Only the file name counts (not the folder), so moving the data keeps the split.
    """
    digest = hashlib.sha1(Path(path).name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % VALIDATION_MODULUS == 0


def source_of(path: str | os.PathLike) -> str:
    """The source set a file comes from: its name's tag before the first ``_`` (SOURCES.md)."""
    name = Path(path).name
    return name.split("_", 1)[0] if "_" in name else ""


def sampling_weights(
    paths: Sequence[str | os.PathLike], max_share: float = MAX_SOURCE_SHARE
) -> np.ndarray:
    """Per-image draw probabilities: uniform, except that a source holding more than
    ``max_share`` of the images is cut down to ``max_share`` of the draws (its images equally).

    With the photos here, the Flickr landscapes (81% of the files) get half the draws and the
    people, objects and interiors of the other sources the other half, each of those images
    about 4x as often as a landscape. Capping instead of equalising keeps tiny sources (a
    handful of images) from being repeated until the model memorises them.
    """
    sources = [source_of(p) for p in paths]
    names, index, counts = np.unique(sources, return_inverse=True, return_counts=True)
    shares = counts / counts.sum()
    big = shares > max_share
    if big.any() and not big.all():
        shares = np.where(big, max_share / big.sum(), shares)
        rest = ~big
        shares[rest] *= (1 - max_share) / shares[rest].sum()
    return (shares / counts)[index]


def describe_sampling(paths: Sequence[str | os.PathLike]) -> str:
    """One line for a model card: how :func:`sampling_weights` shares the draws among sources."""
    weights = sampling_weights(paths)
    sources = np.array([source_of(p) for p in paths])
    names, counts = np.unique(sources, return_counts=True)
    share = {name: float(weights[sources == name].sum()) for name in names}
    order = sorted(names, key=lambda name: -share[name])
    top = order[0]
    rest = [name for name in order if name != top]
    rest_count = int(sum(counts[names == name][0] for name in rest))
    text = f"`{top}_`: {int(counts[names == top][0]):,} images, {share[top]:.0%} of the draws"
    if rest:
        text += (
            f"; the {len(rest)} other sources: {rest_count:,} images, "
            f"{sum(share[n] for n in rest):.0%} (uniform per image)"
        )
    return text


def _load_small(path: Path, short_side: int) -> np.ndarray | None:
    """The image scaled so its short side is ``short_side`` px, as uint8; None if unreadable."""
    try:
        image = load_image(path)
    except ColorLabError as exc:
        warnings.warn(f"skipping {str(path)!r}: {exc}", stacklevel=3)
        return None
    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
    small = Image.fromarray(to_uint8(image)).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(small)


class ImageFolder(Dataset):
    """Every readable image under ``roots`` (recursive) of one split, decoded once, in memory.

    ``split``: ``"train"``, ``"val"`` (see :func:`is_validation`) or ``"all"``. Images are
    scaled so their short side is ``short_side`` pixels. Unreadable files are skipped with a
    warning naming them. Items are (H, W, 3) float32 sRGB arrays in [0, 1].
    """

    def __init__(
        self,
        roots: str | os.PathLike | Sequence[str | os.PathLike],
        split: str = "train",
        short_side: int = 160,
        threads: int = 2,
    ) -> None:
        if split not in ("train", "val", "all"):
            raise ValueError(f"split must be 'train', 'val' or 'all', got {split!r}")
        paths = [
            p for p in list_images(roots) if split == "all" or is_validation(p) == (split == "val")
        ]
        with ThreadPoolExecutor(max(1, threads)) as pool:
            images = list(pool.map(lambda p: _load_small(p, short_side), paths))
        self.paths = [p for p, image in zip(paths, images, strict=True) if image is not None]
        self.images = [image for image in images if image is not None]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.images[index].astype(np.float32) / 255


def hue_shift(image: np.ndarray, shift: float, lightness: np.ndarray | None = None) -> np.ndarray:
    """Rotate hues by ``shift`` turns (0..1) keeping CIELAB lightness; sRGB in, sRGB out.

    RGB -> HSV, add ``shift`` to H, -> RGB -> Lab, put back the original L, -> sRGB clipped to
    the gamut. Clipping can move L where the shifted colour is not displayable at the original
    lightness (a few saturated pixels); elsewhere L is unchanged. ``lightness`` (the image's
    Lab L, (H, W)) may be passed to save recomputing it for several shifts of one image.
    """
    if lightness is None:
        lightness = srgb_to_lab(image)[..., 0]
    lab = srgb_to_lab(_rotate_hsv_hue(image, shift))
    lab[..., 0] = lightness
    return lab_to_srgb(lab)


def _rotate_hsv_hue(image: np.ndarray, shift: float) -> np.ndarray:
    """RGB -> HSV, H + ``shift`` turns, -> RGB; S and V are kept (the usual hexcone formulas).

    The same as scikit-image's ``hsv2rgb`` of ``rgb2hsv`` with H shifted, several times faster:
    each pixel keeps its max (V) and max - min (chroma), so only the hue sector is computed.
    """
    image = np.asarray(image, dtype=np.float32)
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    value = image.max(axis=-1)
    chroma = value - image.min(axis=-1)
    safe = np.where(chroma > 0, chroma, np.float32(1))
    hue6 = np.where(  # hue in sixths of a turn, in [-1, 5)
        value == red,
        (green - blue) / safe,
        np.where(value == green, (blue - red) / safe + 2, (red - green) / safe + 4),
    )
    hue6 += np.float32(6 * (shift % 1.0) + 6)  # now in [5, 17)
    out = np.empty_like(image)
    for channel, n in enumerate((5, 3, 1)):
        k = hue6 + n
        k %= 6
        out[..., channel] = value - chroma * np.clip(np.minimum(k, 4 - k), 0, 1)
    return out


def sample_rng(train: bool, seed: int, index: int) -> np.random.Generator:
    """A sample's random generator: fresh when training, fixed by (seed, index) for validation.

    Training draws follow torch's seeding, which DataLoader sets per worker.
    """
    if train:
        return np.random.default_rng(int(torch.randint(2**62, ()).item()))
    return np.random.default_rng([seed, index])


EDIT_MIX = {"hue_shift": 0.35, "entries": 0.55, "identity": 0.10}  # target kinds, by share


def edit_entries(lab: np.ndarray, palette_lab: np.ndarray, target_lab: np.ndarray) -> np.ndarray:
    """The image (H, W, 3 Lab) with each palette entry's pixels moved as the entry moved.

    Each pixel belongs to the entries softly, by PaletteNet's prior memberships
    (:func:`colorlab.recolor.palettenet.membership_logits`), and moves as they moved
    (:func:`~colorlab.recolor.palettenet.apply_memberships`: a hue and chroma move; a pixel
    of an entry lands exactly on its new colour). L is kept; Lab out, not yet in gamut.
    """
    image = torch.from_numpy(np.ascontiguousarray(lab, np.float32)).permute(2, 0, 1)[None]
    before = torch.from_numpy(np.asarray(palette_lab, np.float32))[None]
    after = torch.from_numpy(np.asarray(target_lab, np.float32))[None]
    used = torch.ones(before.shape[:2], dtype=torch.bool)
    weights = torch.softmax(membership_logits(image, before, used), dim=1)
    return apply_memberships(image, weights, before, after)[0].permute(1, 2, 0).numpy()


def moved_palette(palette_lab: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The palette with one to three entries moved, as a user edits one: hue turned up to a
    half turn, chroma scaled 0.5-1.5 (a grey entry given a hue), and lightness moved by up to
    20 in a third of the edits."""
    target = palette_lab.copy()
    count = min(len(target), int(rng.choice([1, 1, 1, 2, 3])))
    keep_lightness = rng.random() < 2 / 3
    for entry in rng.choice(len(target), count, replace=False):
        chroma = np.hypot(*target[entry, 1:])
        hue = np.arctan2(target[entry, 2], target[entry, 1]) + rng.uniform(-np.pi, np.pi)
        chroma = chroma * rng.uniform(0.5, 1.5) if chroma > 5 else rng.uniform(15, 50)
        target[entry, 1:] = chroma * np.cos(hue), chroma * np.sin(hue)
        if not keep_lightness:
            target[entry, 0] = np.clip(target[entry, 0] + rng.uniform(-20, 20), 5, 95)
    return target


class RecolorTriples(Dataset):
    """(source, source palette, target palette, target) samples for PaletteNet, from crops.

    For each item: a ``crop`` x ``crop`` crop (random position and horizontal flip when
    ``train``, else the centre), as it is or (half the time) hue-shifted at random to give the
    source (luminance kept), and a k-colour palette (k from 3 to 8). The target is, by
    :data:`EDIT_MIX`:
    ``hue_shift``: another hue shift of the whole crop, its palette extracted as the app does;
    ``entries``: one to three entries of the source's palette moved (:func:`moved_palette`)
    and the pixels moved with them (:func:`edit_entries`, the network's own prior), the edited
    palette as target, so the correction learns to keep the memberships where colour alone
    decides them; ``identity``: the source and its own palette. Validation items
    (``train=False``) draw everything from a generator seeded by ``seed`` and the index, so
    the validation set is the same every run.

    Items are dicts of tensors: ``source`` and ``target`` (3, crop, crop) scaled Lab (see
    :func:`colorlab.recolor.palettenet.lab_to_tensor`), ``source_palette`` and ``palette``
    (the target's) (8, 4) slots, entry i of one matched with entry i of the other.
    """

    def __init__(
        self,
        images: ImageFolder,
        crop: int = 128,
        train: bool = True,
        seed: int = 0,
        mix: dict[str, float] | None = None,
    ) -> None:
        self.images, self.crop, self.train, self.seed = images, crop, train, seed
        self.kinds = list(mix or EDIT_MIX)
        shares = np.array(list((mix or EDIT_MIX).values()), float)
        self.shares = shares / shares.sum()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.train, self.seed, index)
        image = _crop(self.images[index], self.crop, rng if self.train else None)
        lightness = srgb_to_lab(image)[..., 0]
        shift = float(rng.random()) if rng.random() < 0.5 else 0.0  # half are the photo as is
        source = hue_shift(image, shift, lightness)
        k = int(rng.integers(PALETTE_SIZES[0], PALETTE_SIZES[1] + 1))
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.shares))]
        source_lab = srgb_to_lab(source)
        palette = extract_palette(source, k).colors
        target_palette, target_lab = palette, source_lab
        if kind == "hue_shift":
            target = hue_shift(image, float(rng.random()), lightness)
            shifted = extract_palette(target, len(palette)).colors
            if len(shifted) == len(palette):  # else (a crop of very few colours) the identity
                target_palette, target_lab = shifted, srgb_to_lab(target)
        elif kind == "entries":
            palette_lab = srgb_to_lab(palette)
            moved = moved_palette(palette_lab, rng)
            # PaletteNet keeps L exactly: an entry moved in lightness lends hue and chroma.
            edited = edit_entries(source_lab, palette_lab, moved)
            target_lab = srgb_to_lab(lab_to_srgb(edited, keep_lightness=True))
            target_palette = lab_to_srgb(moved, keep_lightness=True)
        return {
            "source": lab_to_tensor(source_lab)[0],
            "source_palette": encode_palette(palette, PALETTE_SLOTS),
            "palette": encode_palette(target_palette, PALETTE_SLOTS),
            "target": lab_to_tensor(target_lab)[0],
        }


class ColorizationSamples(Dataset):
    """(L, simulated hints, true ab, class targets) samples from crops of ``images``.

    For each item: a ``crop`` x ``crop`` crop (random position and flip when ``train``, else the
    centre) in Lab. ``hints``: simulate user hints from the true colours
    (:func:`colorlab.colorize.hints.simulate_hints`, geometric count, half of them short
    strokes) or give none. With
    ``bins``, the class targets at the network's output resolution (a quarter, ab averaged over
    4 x 4 blocks) are added: the 5 soft-encoded classes, their weights, and the rebalancing
    weight of each output pixel.

    Items are dicts of float32 tensors: ``lightness`` (1, crop, crop) as L/50 - 1, ``hints``
    (3, crop, crop), ``ab`` (2, crop, crop) as ab/110, and with ``bins`` ``classes`` (5, c, c)
    int64, ``class_weights`` (5, c, c), ``pixel_weights`` (c, c) with c = crop / 4.
    """

    def __init__(
        self,
        images: ImageFolder,
        crop: int = 128,
        train: bool = True,
        bins: ColorBins | None = None,
        hints: bool = True,
        seed: int = 0,
    ) -> None:
        if crop % OUTPUT_STRIDE:
            raise ValueError(f"crop must be a multiple of {OUTPUT_STRIDE}, got {crop}")
        self.images, self.crop, self.train = images, crop, train
        self.bins, self.hints, self.seed = bins, hints, seed

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.train, self.seed, index)
        image = _crop(self.images[index], self.crop, rng if self.train else None)
        lab = srgb_to_lab(image)
        ab = lab[..., 1:]
        hints = (
            simulate_hints(ab, rng, stroke_share=HINT_STROKE_SHARE)
            if self.hints
            else Hints.empty(ab.shape[:2])
        )
        sample = {
            "lightness": torch.from_numpy(scale_lightness(lab[None, ..., 0])),
            "hints": torch.from_numpy(hints.channels(ab.shape[:2])),
            "ab": torch.from_numpy(np.ascontiguousarray(np.moveaxis(ab, -1, 0)) / AB_SCALE),
        }
        if self.bins is not None:
            side = self.crop // OUTPUT_STRIDE
            coarse = ab.reshape(side, OUTPUT_STRIDE, side, OUTPUT_STRIDE, 2).mean(axis=(1, 3))
            classes, weights = self.bins.soft_encode(coarse)
            sample["classes"] = torch.from_numpy(classes.T.reshape(-1, side, side))
            sample["class_weights"] = torch.from_numpy(weights.T.reshape(-1, side, side))
            pixel = self.bins.weights[classes[:, 0]]
            sample["pixel_weights"] = torch.from_numpy(pixel.reshape(side, side))
        return sample


def _crop(image: np.ndarray, size: int, rng: np.random.Generator | None) -> np.ndarray:
    """A ``size`` square crop: random position and horizontal flip with ``rng``, else centred."""
    height, width = image.shape[:2]
    size = min(size, height, width)
    if rng is not None:
        top = int(rng.integers(0, height - size + 1))
        left = int(rng.integers(0, width - size + 1))
    else:
        top, left = (height - size) // 2, (width - size) // 2
    image = image[top : top + size, left : left + size]
    if rng is not None and rng.random() < 0.5:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)
