"""Speed and accuracy of palette extraction and Chang recoloring; prints Markdown tables.

    python -m benchmarks.bench_recolor [--runs 5] [--sizes 0.25 1 4]

Images are scikit-image's bundled colour photos resized to each size. Times are the median of
``--runs`` runs. The reference is the same transfer evaluated directly at every pixel
(``colorlab.recolor.chang.transfer_lab``), run in the same process: its speed is measured on
10,000 random pixels and scaled per pixel, and the lattice's error is the CIEDE2000 difference
between the two on those pixels, over 12 one-entry hue edits (times: median over the edits).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from skimage import data
from skimage.transform import resize

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.metrics import delta_e_ciede2000
from colorlab.palette import extract_palette
from colorlab.recolor.chang import DEFAULT_LATTICE_SIZE, ChangRecolorer, transfer_lab

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
K = 4  # the seed project's palette size
SAMPLE = 10_000


def photo(name: str, megapixels: float) -> np.ndarray:
    image = getattr(data, name)()[..., :3]
    scale = (megapixels * 1e6 / (image.shape[0] * image.shape[1])) ** 0.5
    shape = (round(image.shape[0] * scale), round(image.shape[1] * scale), 3)
    return resize(image, shape, order=3, anti_aliasing=scale < 1).astype(np.float32)


def median_ms(function, runs: int) -> float:
    """Median wall time of ``runs`` calls, after one untimed call (first-call costs: kernel
    selection, caches, lazy imports, belong to no run)."""
    function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def hue_edits(palette: np.ndarray) -> list[np.ndarray]:
    """Realistic edits: one entry at a time, its hue turned by 60, 120 or 180 degrees."""
    lab = srgb_to_lab(palette).astype(np.float64)
    edits = []
    for entry in range(len(palette)):
        for degrees in (60, 120, 180):
            angle = np.radians(degrees)
            a, b = lab[entry, 1:]
            moved = lab[entry].copy()
            moved[1:] = a * np.cos(angle) - b * np.sin(angle), a * np.sin(angle) + b * np.cos(angle)
            target = palette.copy()
            target[entry] = lab_to_srgb(moved.astype(np.float32))
            edits.append(target)
    return edits


def speed_table(sizes: list[float], runs: int) -> None:
    print(f"## Speed (median of {runs} runs, k = {K}, lattice {DEFAULT_LATTICE_SIZE}^3)\n")
    print("| size | image | extraction ms | first recolor ms | palette edit ms |")
    print("|---|---|---|---|---|")
    for megapixels in sizes:
        for name in PHOTOS[:2]:
            image = photo(name, megapixels)
            palette = extract_palette(image, K).colors
            edit = hue_edits(palette)[1]
            extraction = median_ms(lambda image=image: extract_palette(image, K), runs)
            first = median_ms(
                lambda image=image, palette=palette, edit=edit: ChangRecolorer(
                    image, palette
                ).apply(edit),
                runs,
            )
            prepared = ChangRecolorer(image, palette)
            editing = median_ms(lambda prepared=prepared, edit=edit: prepared.apply(edit), runs)
            size = f"{image.shape[1]}x{image.shape[0]} ({megapixels} MP)"
            print(f"| {size} | {name} | {extraction:.0f} | {first:.0f} | {editing:.0f} |")
    print()


def accuracy_table() -> None:
    print(f"## Lattice vs direct per-pixel evaluation ({SAMPLE} random pixels, 1 MP, k = {K})\n")
    print(
        "| image | lattice | edits | mean dE2000 | p99 dE2000 | max dE2000 "
        "| lattice edit ms/MP | direct ms/MP | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name in PHOTOS:
        image = photo(name, 1.0)
        pixels = image.reshape(-1, 3)
        palette = extract_palette(image, K).colors
        edits = hue_edits(palette)
        sample = rng.choice(len(pixels), SAMPLE, replace=False)
        source_lab, sample_lab = srgb_to_lab(palette), srgb_to_lab(pixels[sample])
        direct, direct_times = [], []
        for target in edits:
            start = time.perf_counter()
            moved = transfer_lab(sample_lab, source_lab, srgb_to_lab(target))
            direct_times.append(time.perf_counter() - start)
            direct.append(lab_to_srgb(moved.astype(np.float32)))
        direct_ms = 1000 * statistics.median(direct_times) * len(pixels) / SAMPLE
        for size in (13, DEFAULT_LATTICE_SIZE):
            prepared = ChangRecolorer(image, palette, lattice_size=size)
            errors, lattice_times = [], []
            for target, reference in zip(edits, direct, strict=True):
                start = time.perf_counter()
                out = prepared.apply(target)
                lattice_times.append(time.perf_counter() - start)
                errors.append(delta_e_ciede2000(out.reshape(-1, 3)[sample], reference))
            errors = np.concatenate(errors)
            lattice_ms = 1000 * statistics.median(lattice_times)
            print(
                f"| {name} | {size}^3 | {len(edits)} | {errors.mean():.3f} "
                f"| {np.percentile(errors, 99):.2f} | {errors.max():.2f} | {lattice_ms:.0f} "
                f"| {direct_ms:.0f} | {direct_ms / lattice_ms:.0f}x |"
            )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 1.0, 4.0])
    args = parser.parse_args()
    speed_table(args.sizes, args.runs)
    accuracy_table()


if __name__ == "__main__":
    main()
