"""Speed of the colour-transfer methods of the ``stylize`` task; prints a Markdown table.

    python -m benchmarks.bench_stylize [--runs 5] [--megapixels 1] [--style-megapixels 0.25]

Content is scikit-image's astronaut and style its coffee photo, each resized to the given size.
Times are the median of ``--runs`` runs of each registered method with its default parameters
(plus IDT with regrain). The reference is ``skimage.exposure.match_histograms`` on the sRGB
images, run in the same process: the ratio says how many of its runs one method run costs.
AdaIN (Huang and Belongie 2017) runs on random weights, which cost what its released ones do.
"""

from __future__ import annotations

import argparse

from skimage.exposure import match_histograms

from benchmarks.bench_recolor import median_ms, photo
from colorlab import releases
from colorlab.methods import get_method
from colorlab.stylize.adain import adain_style

# The colour-transfer methods (neural style has its own, per-iteration benchmark).
CASES = (("reinhard", {}), ("mkl", {}), ("idt", {}), ("idt", {"regrain": True}), ("histogram", {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--megapixels", type=float, default=1.0, help="content size")
    parser.add_argument("--style-megapixels", type=float, default=0.25, help="style size")
    args = parser.parse_args()
    content, style = photo("astronaut", args.megapixels), photo("coffee", args.style_megapixels)
    reference = median_ms(lambda: match_histograms(content, style, channel_axis=-1), args.runs)
    print(
        f"## Colour transfer, astronaut {content.shape[1]}x{content.shape[0]} content, "
        f"coffee {style.shape[1]}x{style.shape[0]} style (median of {args.runs} runs)\n"
    )
    print("| method | ms | x match_histograms (sRGB) |")
    print("|---|---|---|")
    print(f"| skimage match_histograms (reference) | {reference:.0f} | 1.00 |")
    for name, params in CASES:
        run = get_method("stylize", name).run
        ms = median_ms(lambda run=run, params=params: run(content, style, **params), args.runs)
        label = ", ".join([name, *(f"{k}={v}" for k, v in params.items())])
        print(f"| {label} | {ms:.0f} | {ms / reference:.2f} |")
    adain = releases.network("adain").eval()
    ms = median_ms(lambda: adain_style(content, style, adain), args.runs)
    count = sum(p.numel() for p in adain.parameters())
    print(
        f"| adain (random weights; {count:,} parameters, {count * 4 / 1e6:.0f} MB) | {ms:.0f} "
        f"| {ms / reference:.2f} |"
    )
    print()


if __name__ == "__main__":
    main()
