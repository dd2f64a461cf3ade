"""Evaluate methods on the fixed validation split; prints a Markdown table.

    python -m training.evaluate recolor [--data DIR ...] [--k 4] [--card PATH]

Recolor protocol (REFERENCES.md section 3): for each validation image and each hue shift, the
target is the luminance-preserving hue shift of the image. Every method gets the source image,
the source's palette and the target's palette (both extracted with ``colorlab.palette``, matched
entry by entry in lightness order) and is scored against the target: PSNR and mean CIEDE2000,
plus SSIM of the output's lightness against the source's (structure kept). ``identity`` returns
the source unchanged: the baseline every method must beat.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorlab.methods import list_methods
from colorlab.metrics import delta_e_ciede2000, psnr, ssim_lightness
from colorlab.palette import extract_palette
from training.data import ImageFolder, hue_shift

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = [
    REPO.parent / "shared" / "data" / "photos",
    REPO.parent / "shared" / "data" / "paintings",
]
DEFAULT_SHIFTS = (0.2, 0.4, 0.6, 0.8)  # turns of the HSV hue circle
CARD_SECTION = "## Evaluation"

Recolor = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def recolor_methods(checkpoints: dict[str, str]) -> dict[str, Recolor]:
    """Identity, every registered recolor method, and extra PaletteNet checkpoints by name."""
    methods: dict[str, Recolor] = {"identity": lambda image, source, target: image}
    for method in list_methods("recolor"):
        methods[method.name] = lambda image, source, target, run=method.run: run(
            image, source_palette=source, target_palette=target
        )
    for name, directory in checkpoints.items():
        from colorlab.recolor.palettenet import PaletteNetRecolorer, load_palettenet

        model = load_palettenet(directory)
        methods[name] = lambda image, source, target, model=model: PaletteNetRecolorer(
            image, source, model=model
        ).apply(target)
    return methods


def evaluate_recolor(
    images: list[np.ndarray], methods: dict[str, Recolor], k: int, shifts: tuple[float, ...]
) -> dict[str, dict[str, float]]:
    """Mean PSNR, CIEDE2000, lightness SSIM and median ms per method over images x shifts."""
    scores: dict[str, dict[str, list[float]]] = {
        name: {"psnr": [], "de2000": [], "ssim_l": [], "ms": []} for name in methods
    }
    skipped = 0
    for image in tqdm(images, desc="evaluate", unit="image", file=sys.stderr):
        source = extract_palette(image, k).colors
        for shift in shifts:
            target_image = hue_shift(image, shift)
            target = extract_palette(target_image, k).colors
            if len(target) != len(source):
                skipped += 1
                continue
            for name, method in methods.items():
                start = time.perf_counter()
                out = method(image, source, target)
                scores[name]["ms"].append(1000 * (time.perf_counter() - start))
                scores[name]["psnr"].append(psnr(out, target_image))
                scores[name]["de2000"].append(float(delta_e_ciede2000(out, target_image).mean()))
                scores[name]["ssim_l"].append(ssim_lightness(out, image))
    if skipped:
        print(f"skipped {skipped} pairs whose palettes differ in size", file=sys.stderr)
    return {
        name: {
            "psnr": statistics.fmean(s["psnr"]),
            "de2000": statistics.fmean(s["de2000"]),
            "ssim_l": statistics.fmean(s["ssim_l"]),
            "ms": statistics.median(s["ms"]),
            "pairs": len(s["psnr"]),
        }
        for name, s in scores.items()
    }


def recolor_table(results: dict[str, dict[str, float]], images: int, k: int, size: int) -> str:
    lines = [
        f"Validation split: {images} images (short side {size} px), k = {k}, "
        f"{next(iter(results.values()))['pairs'] // max(images, 1)} hue shifts each.",
        "",
        "| method | PSNR dB (higher better) | mean CIEDE2000 (lower better) "
        "| SSIM of L vs source | ms / image |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['psnr']:.2f} | {r['de2000']:.2f} | {r['ssim_l']:.4f} | {r['ms']:.0f} |"
        )
    return "\n".join(lines)


def write_card_section(card: Path, table: str, command: str) -> None:
    """Replace (or append) the model card's evaluation section with this table."""
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    section = f"{CARD_SECTION}\n\n`{command}`\n\n{table}\n"
    pattern = re.compile(rf"^{re.escape(CARD_SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    text = pattern.sub(section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}"
    card.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tasks = parser.add_subparsers(dest="task", required=True)
    recolor = tasks.add_parser("recolor", help="palette recoloring on hue-shifted targets")
    recolor.add_argument("--data", nargs="+", default=[str(d) for d in DEFAULT_DATA])
    recolor.add_argument("--k", type=int, default=4, help="palette size (the seed project: 4)")
    recolor.add_argument("--size", type=int, default=192, help="short side of the images")
    recolor.add_argument("--shifts", type=float, nargs="+", default=list(DEFAULT_SHIFTS))
    recolor.add_argument("--limit", type=int, default=None, help="at most this many images")
    recolor.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also evaluate a PaletteNet checkpoint folder under NAME (repeatable)",
    )
    recolor.add_argument("--card", type=Path, help="write the table into this model card")
    args = parser.parse_args(argv)

    checkpoints = dict(item.split("=", 1) for item in args.checkpoint)
    validation = ImageFolder(args.data, split="val", short_side=args.size)
    images = [validation[i] for i in range(len(validation))][: args.limit]
    results = evaluate_recolor(images, recolor_methods(checkpoints), args.k, tuple(args.shifts))
    table = recolor_table(results, len(images), args.k, args.size)
    print(table)
    if args.card:
        command = "python -m training.evaluate " + " ".join(argv or sys.argv[1:])
        write_card_section(args.card, table, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
