"""Speed of neural style (seconds per iteration) and palette transfer (ms at 1 MP); Markdown.

    python -m benchmarks.bench_neural [--sizes 256 384] [--iterations 5] [--runs 5]

Neural style runs the registered ``neural`` method on scikit-image's astronaut (content, square,
painted at each size) and coffee photo (style); the time of one iteration is the median gap
between the method's progress reports, so loading and the final conversions are left out. It
uses the real VGG-19 weights when colorlab.hub can resolve them, and otherwise a full-width
VGG-19 with random weights written to a temporary folder named by ``COLORLAB_VGG19_DIR``: the
same layers and shapes, hence the same compute, through the same code (the output says which).
Palette transfer is the ``palette`` method with its defaults (Chang's recoloring), median of
``--runs`` runs, with a 0.25 MP style. Torch uses as many threads as it is given (shown).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from benchmarks.bench_recolor import median_ms, photo
from colorlab.methods import get_method
from colorlab.stylize import neural


def random_vgg19(folder: Path) -> None:
    """Write a full-width VGG-19 ``features[:30]`` with random weights as model.safetensors."""
    torch.manual_seed(0)
    model = neural.vgg19_features(neural.WIDTHS)
    tensors = {f"features.{key}": value for key, value in model.state_dict().items()}
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


def seconds_per_iteration(size: int, iterations: int) -> float:
    content, style = photo("astronaut", size * size / 1e6), photo("coffee", 0.25)
    stamps = []
    get_method("stylize", "neural").run(
        content,
        style,
        iterations=iterations,
        max_size=size,
        progress=lambda step, total: stamps.append(time.perf_counter()),
    )
    return statistics.median(b - a for a, b in zip(stamps, stamps[1:], strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 384], help="long sides")
    parser.add_argument("--iterations", type=int, default=5, help="L-BFGS iterations per size")
    parser.add_argument("--runs", type=int, default=5, help="palette transfer runs (median)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        reason = neural.vgg19_unavailable()
        if reason is None:
            weights = "the real VGG-19 weights"
        else:
            random_vgg19(Path(folder))
            os.environ["COLORLAB_VGG19_DIR"] = folder
            weights = (
                "a full-width VGG-19 with random weights (the real ones are unavailable here;"
                " same layers and shapes, so the same compute)"
            )
        print(
            f"## Neural style, astronaut content, coffee style, {torch.get_num_threads()} torch"
            f" thread(s), {weights}; median of {args.iterations - 1} iteration gaps\n"
        )
        print("| painted at (px) | s / iteration | min for 100 iterations |")
        print("|---|---|---|")
        for size in args.sizes:
            seconds = seconds_per_iteration(size, args.iterations)
            print(f"| {size}x{size} | {seconds:.2f} | {100 * seconds / 60:.1f} |")

    content, style = photo("astronaut", 1.0), photo("coffee", 0.25)
    run = get_method("stylize", "palette").run
    ms = median_ms(lambda: run(content, style), args.runs)
    print(
        f"\n## Palette transfer, astronaut {content.shape[1]}x{content.shape[0]} content, coffee"
        f" {style.shape[1]}x{style.shape[0]} style (median of {args.runs} runs)\n"
    )
    print("| method | ms |")
    print("|---|---|")
    print(f"| palette (k=5, chang) | {ms:.0f} |")


if __name__ == "__main__":
    main()
