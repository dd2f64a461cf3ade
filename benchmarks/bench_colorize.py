"""Speed of every colorize method at 256x256 and 1 MP; prints a Markdown table.

    python -m benchmarks.bench_colorize [--runs 5]

Images are scikit-image's astronaut photo (as grey) resized to each size; times are the median
of ``--runs`` runs of the registered method, model already loaded. The reference, run in the
same process, is the grey baseline: the same L -> Lab -> sRGB round trip with ab = 0, i.e. the
cost of the colour conversions every method pays; "network" is the rest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.bench_recolor import median_ms, photo
from colorlab.colorize import MODELS, grey, load_colorizer
from colorlab.errors import ModelNotFoundError
from colorlab.hub import resolve
from colorlab.methods import get_method

SIZES = (("256x256", 256 * 256 / 1e6), ("1 MP", 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per timing (median)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| method | parameters | MB | size | ms | grey baseline ms | x grey |")
    print("|---|---|---|---|---|---|---|")
    for name, checkpoint in MODELS.items():
        try:
            model = load_colorizer(checkpoint)
        except ModelNotFoundError as error:
            print(f"| {name} | not available: {error} | | | | | |")
            continue
        parameters = sum(p.numel() for p in model.parameters())
        megabytes = Path(resolve(checkpoint), "model.safetensors").stat().st_size / 1e6
        run = get_method("colorize", name).run
        for label, megapixels in SIZES:
            image = photo("astronaut", megapixels)
            ms = median_ms(lambda image=image, run=run: run(image), args.runs)
            floor = median_ms(lambda image=image: grey(image), args.runs)
            print(
                f"| {name} | {parameters:,} | {megabytes:.1f} | {label} | {ms:.0f} "
                f"| {floor:.0f} | {ms / floor:.1f}x |"
            )


if __name__ == "__main__":
    main()
