"""Contact sheets: validation photos colorized by each model, beside grey and the truth.

    python -m training.contact_sheet --methods regression pix2pix classification \\
        --card checkpoints/colorizer/README.md --card checkpoints/colorizer_regression/README.md

A metric says how far off the colours are on average; a sheet shows how they go wrong (bleeding,
blotches, brown). The photos are fixed: ``--count`` validation photos, half taken evenly from
the largest source (the Flickr landscapes) and half evenly from the others, so people, objects
and interiors are always in view. One row per photo: grey input, each method, the truth. The
PNG is written beside every ``--card`` and the card gets a section that shows it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from colorlab.colorize import MODELS, colorize, grey, load_colorizer
from colorlab.imageio import to_uint8
from training.data import ImageFolder, source_of
from training.evaluate import DEFAULT_DATA, write_card_section

SHEET_NAME = "contact_sheet.png"
CELL = 160  # pixels: the short side of each picture on the sheet
LABEL_HEIGHT = 18


def pick_photos(paths: list[Path], count: int) -> list[int]:
    """Indices of ``count`` photos: half evenly spaced over the largest source, half over the
    rest (all from one side when the other has too few)."""
    largest = Counter(source_of(p) for p in paths).most_common(1)[0][0]
    big = [i for i, p in enumerate(paths) if source_of(p) == largest]
    rest = [i for i, p in enumerate(paths) if source_of(p) != largest]
    from_rest = min(len(rest), count - min(len(big), count // 2))
    from_big = min(len(big), count - from_rest)

    def evenly(indices: list[int], n: int) -> list[int]:
        return [indices[round(j)] for j in np.linspace(0, len(indices) - 1, n)] if n else []

    return evenly(rest, from_rest) + evenly(big, from_big)


def square(image: np.ndarray) -> np.ndarray:
    """The centre square of an image, as the sheet shows every photo."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top : top + side, left : left + side]


def contact_sheet(images: list[np.ndarray], columns: dict[str, Callable]) -> Image.Image:
    """A grid: one row per image, one column per (label, image -> image) in ``columns``."""
    sheet = Image.new("RGB", (CELL * len(columns), LABEL_HEIGHT + CELL * len(images)), "white")
    draw = ImageDraw.Draw(sheet)
    for column, label in enumerate(columns):
        draw.text((column * CELL + 4, 3), label, fill="black")
    for row, image in enumerate(tqdm(images, desc="sheet", unit="photo", file=sys.stderr)):
        for column, make in enumerate(columns.values()):
            picture = Image.fromarray(to_uint8(square(make(image))))
            picture = picture.resize((CELL, CELL), Image.Resampling.LANCZOS)
            sheet.paste(picture, (column * CELL, LABEL_HEIGHT + row * CELL))
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=[str(DEFAULT_DATA[0])])
    parser.add_argument("--methods", nargs="+", default=["regression", "pix2pix", "classification"])
    parser.add_argument("--count", type=int, default=12, help="photos on the sheet")
    parser.add_argument("--size", type=int, default=256, help="short side of the photos")
    parser.add_argument("--out", type=Path, default=None, help="also write the PNG here")
    parser.add_argument(
        "--card", type=Path, action="append", default=[], help="show the sheet in this card"
    )
    args = parser.parse_args(argv)
    validation = ImageFolder(args.data, split="val", short_side=args.size)
    images = [validation[i] for i in pick_photos(validation.paths, args.count)]
    columns = {"grey input": grey}
    for name in args.methods:
        model = load_colorizer(MODELS[name])
        columns[name] = lambda image, model=model: colorize(image, model)
    columns["truth"] = lambda image: image
    sheet = contact_sheet(images, columns)
    targets = [card.parent / SHEET_NAME for card in args.card] + ([args.out] if args.out else [])
    if not targets:
        parser.error("give --card or --out: where should the sheet go?")
    sheet.save(targets[0])
    for target in targets[1:]:
        shutil.copyfile(targets[0], target)
    command = "python -m training.contact_sheet " + " ".join(argv or sys.argv[1:])
    text = (
        f"{len(images)} validation photos (centre squares), automatic colorization at the "
        f"default temperature: grey input, {', '.join(args.methods)}, truth.\n\n"
        f"![contact sheet]({SHEET_NAME})"
    )
    for card in args.card:
        write_card_section(card, "contact sheet", text, command)
    print(f"wrote {', '.join(map(str, targets))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
