"""Speed of PaletteNet recoloring against Chang's on the same images; prints a Markdown table.

    python -m benchmarks.bench_palettenet [--runs 5]

Uses the bundled checkpoint (checkpoints/palettenet). Images are scikit-image's astronaut photo
resized to each size; times are the median of ``--runs`` runs: the first recolor (preparation
included) and a palette edit on the prepared image. Chang, run in the same process on the same
images and palettes, is the reference.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.bench_recolor import hue_edits, median_ms, photo
from colorlab.hub import resolve
from colorlab.methods import get_method
from colorlab.palette import extract_palette
from colorlab.recolor.palettenet import load_palettenet

SIZES = (("256x256", 256 * 256 / 1e6), ("1 MP", 1.0), ("4 MP", 4.0))
K = 4


def time_method(name: str, image, source, target, runs: int) -> tuple[float, float]:
    """Median ms of a first recolor (preparation included) and of a palette edit."""
    method = get_method("recolor", name)
    first = median_ms(lambda: method.prepare(image, source)(target), runs)
    edit = method.prepare(image, source)
    return first, median_ms(lambda: edit(target), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per timing (median)")
    args = parser.parse_args()
    model = load_palettenet()
    parameters = sum(p.numel() for p in model.parameters())
    size_mb = Path(resolve("palettenet"), "model.safetensors").stat().st_size / 1e6
    print(
        f"PaletteNet: {parameters:,} parameters, {size_mb:.1f} MB on disk; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; k = {K}\n"
    )
    print("| size | method | first recolor ms | palette edit ms | edit vs Chang |")
    print("|---|---|---|---|---|")
    for label, megapixels in SIZES:
        image = photo("astronaut", megapixels)
        source = extract_palette(image, K).colors
        target = hue_edits(source)[1]
        edits = {}
        for name in ("chang", "palettenet"):
            first, edits[name] = time_method(name, image, source, target, args.runs)
            ratio = edits[name] / edits["chang"]
            print(f"| {label} | {name} | {first:.0f} | {edits[name]:.0f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
