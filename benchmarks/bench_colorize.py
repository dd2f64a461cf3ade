"""Speed of every colorize method at 256x256 and 1 MP; prints a Markdown table.

    python -m benchmarks.bench_colorize [--runs 5]

Images are scikit-image's astronaut photo (as grey) resized to each size; times are the median
of ``--runs`` runs of the registered method, model already loaded. The reference, run in the
same process, is the grey baseline: the same L -> Lab -> sRGB round trip with ab = 0, i.e. the
cost of the colour conversions every method pays. The published reference models (ECCV16,
SIGGRAPH17) run on random weights, which cost what their released ones do; "x ours" compares
each row with the classification colorizer at the same size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.bench_recolor import median_ms, photo
from colorlab import releases
from colorlab.colorize import MODELS, grey, load_colorizer
from colorlab.colorize.reference import colorize_reference
from colorlab.errors import ModelNotFoundError
from colorlab.hub import resolve
from colorlab.methods import get_method

SIZES = (("256x256", 256 * 256 / 1e6), ("1 MP", 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per timing (median)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    rows = []  # (method, parameters, MB, size label, run)
    for name, checkpoint in MODELS.items():
        try:
            model = load_colorizer(checkpoint)
        except ModelNotFoundError as error:
            print(f"{name}: not available: {error}\n")
            continue
        megabytes = Path(resolve(checkpoint), "model.safetensors").stat().st_size / 1e6
        rows.append((name, parameter_count(model), megabytes, get_method("colorize", name).run))
    for name in ("eccv16", "siggraph17"):
        network = releases.network(name).eval()
        count = parameter_count(network)
        rows.append(
            (
                f"{name} (random weights)",
                count,
                count * 4 / 1e6,
                lambda image, network=network: colorize_reference(image, network),
            )
        )
    print("| method | parameters | MB | size | ms | grey ms | x grey | x ours |")
    print("|---|---|---|---|---|---|---|---|")
    ours: dict[str, float] = {}
    for label, megapixels in SIZES:
        image = photo("astronaut", megapixels)
        floor = median_ms(lambda image=image: grey(image), args.runs)
        for name, count, megabytes, run in rows:
            ms = median_ms(lambda image=image, run=run: run(image), args.runs)
            ours.setdefault(label, ms)  # the first row is the classification colorizer
            print(
                f"| {name} | {count:,} | {megabytes:.1f} | {label} | {ms:.0f} | {floor:.0f} "
                f"| {ms / floor:.1f}x | {ms / ours[label]:.1f}x |"
            )


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


if __name__ == "__main__":
    main()
