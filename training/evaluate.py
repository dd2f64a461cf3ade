"""Evaluate methods on the fixed validation split; prints a Markdown table.

    python -m training.evaluate recolor [--data DIR ...] [--k 4] [--card PATH]
    python -m training.evaluate recolor --protocol single-entry [--k 5]
    python -m training.evaluate colorize [--data DIR ...] [--card PATH ...]
    python -m training.evaluate hints [--data DIR ...] [--methods classification ...]
    python -m training.evaluate stylize [--photos DIR] [--paintings DIR] [--pairs N] [--card PATH]

Recolor protocol (REFERENCES.md section 3): for each validation image and each hue shift, the
target is the luminance-preserving hue shift of the image. Every method gets the source image,
the source's palette and the target's palette (both extracted with ``colorlab.palette``, matched
entry by entry in lightness order) and is scored against the target: PSNR and mean CIEDE2000,
plus SSIM of the output's lightness against the source's (structure kept). ``identity`` returns
the source unchanged: the baseline every method must beat.

Colorize protocol (REFERENCES.md section 5): each validation image is reduced to its L and
colorized; the output is scored against the original colours: PSNR, SSIM, mean CIE76 and
CIEDE2000, colourfulness (and DeltaCF against the originals), AuC and rebalanced AuC (pixels
weighted by 1 / prior of their true colour's class, the prior of the classification model's
training data). ``grey`` (ab = 0) is the baseline. Hints are simulated from the ground truth
with :func:`colorlab.colorize.hints.simulate_hints` (fixed seed per image).

Single-entry recolor and hint-locality protocols (issue 11): one palette entry, or one hint,
changes; is the change where it was asked for, and only there? See :mod:`training.edit_protocols`.

Stylize protocol (issue 5): content i of the photos' validation split is paired with painting
i mod (number of validation paintings). Every registered stylize method that is available here
runs with its default parameters, and once more with ``preserve_lightness=True`` where it has
that switch. Scores: the Lab statistics distance to the style
(:func:`colorlab.metrics.lab_statistics_distance`) of the content ("before") and of the output
("after"), their ratio, and SSIM of the output's L against the content's (structure kept).
"""

from __future__ import annotations

import argparse
import copy
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.errors import UnknownMethodError
from colorlab.methods import get_method, list_methods
from colorlab.metrics import (
    auc,
    colorfulness,
    delta_e_cie76,
    delta_e_ciede2000,
    lab_statistics_distance,
    psnr,
    ssim,
    ssim_lightness,
)
from colorlab.palette import extract_palette
from training.data import ImageFolder, hue_shift
from training.edit_protocols import (
    evaluate_edits,
    hint_locality,
    hint_locality_table,
    single_entry_edit,
    single_entry_table,
)
from training.tables import markdown_table

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = [
    REPO.parent / "shared" / "data" / "photos",
    REPO.parent / "shared" / "data" / "paintings",
]
DEFAULT_SHIFTS = (0.2, 0.4, 0.6, 0.8)  # turns of the HSV hue circle
CARD_SECTION = "## Evaluation"  # each protocol writes "## Evaluation: <protocol>"

Recolor = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def split_images(data, size: int, limit: int | None, split: str = "val") -> list[np.ndarray]:
    """The images of one split (short side ``size``); with ``limit``, that many spread evenly
    over the split (files sort by source, so the first ones would all be of one source)."""
    folder = ImageFolder(data, split=split, short_side=size)
    count = len(folder) if limit is None else min(limit, len(folder))
    return [folder[round(i)] for i in np.linspace(0, len(folder) - 1, count)] if count else []


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
    shifts = next(iter(results.values()))["pairs"] // max(images, 1)
    return markdown_table(
        f"Validation split: {images} images (short side {size} px), k = {k}, {shifts} hue "
        "shifts each.",
        ["method", "PSNR dB (higher better)", "mean CIEDE2000 (lower better)",
         "SSIM of L vs source", "ms / image"],
        ([name, f"{r['psnr']:.2f}", f"{r['de2000']:.2f}", f"{r['ssim_l']:.4f}", f"{r['ms']:.0f}"]
         for name, r in results.items()),
    )  # fmt: skip


def write_card_section(card: Path, protocol: str, table: str, command: str) -> None:
    """Replace (or append) the model card's evaluation section of ``protocol`` with this table."""
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    heading = f"{CARD_SECTION}: {protocol}"
    section = f"{heading}\n\n`{command}`\n\n{table}\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):  # the next section's heading keeps its blank line before it
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = f"{text.rstrip()}\n\n{section}"
    card.write_text(text, encoding="utf-8")


Colorize = Callable[[np.ndarray, np.random.Generator], np.ndarray]
COLORIZE_TEMPERATURES = (0.2, 0.38, 0.6, 1.0)
COLORIZE_HINTS = (0, 1, 2, 5, 10)


def with_ab(image: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The image's L with the given ab (one colour (2,) or per pixel (H, W, 2)), as sRGB."""
    lab = srgb_to_lab(image)
    lab[..., 1:] = ab
    return lab_to_srgb(lab)


def colorize_methods(
    models: dict[str, str], mean_ab: np.ndarray, prior_corrections: tuple[float, ...] = ()
) -> dict[str, Colorize]:
    """Grey and the mean colour ``mean_ab`` everywhere (the two baselines), then per model name
    -> checkpoint name: the model (classification models at each temperature, with 1..10
    simulated hints, and at each temperature with each of ``prior_corrections``, rows then
    naming the correction they decode with)."""
    from colorlab.colorize import colorize, grey, load_colorizer
    from colorlab.colorize.hints import simulate_hints

    methods: dict[str, Colorize] = {
        "grey (ab = 0)": lambda image, rng: grey(image),
        "mean colour": lambda image, rng: with_ab(image, mean_ab),
    }
    for label, checkpoint in models.items():
        model = load_colorizer(checkpoint)
        if model.kind != "classification":
            methods[label] = lambda image, rng, model=model: colorize(image, model)
            continue
        own = f", prior correction {model.prior_correction:g}" if prior_corrections else ""
        for t in COLORIZE_TEMPERATURES:
            methods[f"{label} T={t}{own}"] = lambda image, rng, m=model, t=t: colorize(image, m, t)
        for correction in prior_corrections:
            variant = copy.copy(model)  # the same weights, decoded otherwise
            variant.prior_correction = correction
            for t in COLORIZE_TEMPERATURES:
                methods[f"{label} T={t}, prior correction {correction:g}"] = (
                    lambda image, rng, m=variant, t=t: colorize(image, m, t)
                )
        if model.hints:
            for n in COLORIZE_HINTS[1:]:
                methods[f"{label} T=0.38{own}, {n} hints"] = lambda image, rng, m=model, n=n: (
                    colorize(
                        image, m, hints=simulate_hints(srgb_to_lab(image)[..., 1:], rng, count=n)
                    )
                )
    return methods


def evaluate_colorize(
    images: list[np.ndarray], methods: dict[str, Colorize], prior_weights: Callable
) -> dict[str, dict[str, float]]:
    """Per method: mean PSNR, SSIM, CIE76, CIEDE2000, colourfulness, AuC, rebalanced AuC, and
    DeltaCF against the originals; median ms per image."""
    keys = ("psnr", "ssim", "cie76", "de2000", "cf", "auc", "auc_rebal", "ms")
    scores = {name: {k: [] for k in keys} for name in methods}
    for index, image in enumerate(tqdm(images, desc="evaluate", unit="image", file=sys.stderr)):
        true_ab = srgb_to_lab(image)[..., 1:]
        weights = prior_weights(true_ab)
        for name, method in methods.items():
            rng = np.random.default_rng([index, 7])  # the same hints for every method
            start = time.perf_counter()
            out = method(image, rng)
            s = scores[name]
            s["ms"].append(1000 * (time.perf_counter() - start))
            s["psnr"].append(psnr(out, image))
            s["ssim"].append(ssim(out, image))
            s["cie76"].append(float(delta_e_cie76(out, image).mean()))
            s["de2000"].append(float(delta_e_ciede2000(out, image).mean()))
            s["cf"].append(colorfulness(out))
            pred_ab = srgb_to_lab(out)[..., 1:]
            s["auc"].append(auc(pred_ab, true_ab))
            s["auc_rebal"].append(auc(pred_ab, true_ab, weights))
    truth_cf = statistics.fmean(colorfulness(image) for image in images)
    results = {}
    for name, s in scores.items():
        results[name] = {k: statistics.fmean(v) for k, v in s.items() if k != "ms"}
        results[name]["ms"] = statistics.median(s["ms"])
        results[name]["dcf"] = abs(results[name]["cf"] - truth_cf)
    results["ground truth"] = {"cf": truth_cf}
    return results


def colorize_table(
    results: dict[str, dict[str, float]], images: int, size: int, data, split: str = "val"
) -> str:
    def row(name: str, r: dict[str, float]) -> list[str]:
        if name == "ground truth":
            return [name, "", "", "", "", f"{r['cf']:.1f}", "0", "", "", ""]
        return [
            name, f"{r['psnr']:.2f}", f"{r['ssim']:.4f}", f"{r['cie76']:.2f}",
            f"{r['de2000']:.2f}", f"{r['cf']:.1f}", f"{r['dcf']:.1f}", f"{r['auc']:.4f}",
            f"{r['auc_rebal']:.4f}", f"{r['ms']:.0f}",
        ]  # fmt: skip

    return markdown_table(
        f"{'Validation' if split == 'val' else 'Training'} split of "
        f"{', '.join(Path(d).name for d in data)}: {images} images "
        f"(short side {size} px), colorized from their L at working size 256; classification "
        "rows decode with the checkpoint's own prior correction unless they name one. Mean "
        "colour: the training photos' mean ab everywhere. ms: wall time "
        "per image as evaluated (other jobs may share the CPU; `benchmarks.bench_colorize` "
        "times the models alone).",
        ["method", "PSNR dB", "SSIM", "CIE76", "CIEDE2000", "colourfulness", "DeltaCF", "AuC",
         "rebal. AuC", "ms"],
        (row(name, r) for name, r in results.items()),
    )  # fmt: skip


Stylize = Callable[[np.ndarray, np.ndarray], np.ndarray]


def stylize_methods(names: list[str] | None = None) -> dict[str, Stylize]:
    """Registered stylize methods (all, or those named) that can run here, at their default
    parameters, plus a ``<name>, preserve_lightness`` variant of each that has the switch.

    Unavailable methods (neural style without its weights) are skipped with their reason on
    stderr, never replaced by another method.
    """
    registered = (
        list_methods("stylize") if names is None else [get_method("stylize", n) for n in names]
    )
    methods: dict[str, Stylize] = {}
    for method in registered:
        reason = method.unavailable_reason()
        if reason is not None:
            print(f"skipped {method.name}: {reason}", file=sys.stderr)
            continue
        params = method.resolve_params()
        methods[method.name] = lambda content, style, run=method.run, p=params: run(
            content, style, **p
        )
        if "preserve_lightness" in params:
            kept = {**params, "preserve_lightness": True}
            methods[f"{method.name}, preserve_lightness"] = (
                lambda content, style, run=method.run, p=kept: run(content, style, **p)
            )
    return methods


def evaluate_stylize(
    pairs: list[tuple[np.ndarray, np.ndarray]], methods: dict[str, Stylize]
) -> dict[str, dict[str, float]]:
    """Per method, over (content, style) pairs: mean Lab statistics distance to the style of the
    content (``before``) and of the output (``after``), mean per-pair ratio after / before,
    mean SSIM of the output's L against the content's, and median ms per pair."""
    keys = ("before", "after", "ratio", "ssim_l", "ms")
    scores = {name: {k: [] for k in keys} for name in methods}
    for content, style in tqdm(pairs, desc="evaluate", unit="pair", file=sys.stderr):
        before = lab_statistics_distance(content, style)
        for name, method in methods.items():
            start = time.perf_counter()
            out = method(content, style)
            s = scores[name]
            s["ms"].append(1000 * (time.perf_counter() - start))
            after = lab_statistics_distance(out, style)
            s["before"].append(before)
            s["after"].append(after)
            s["ratio"].append(after / before)
            s["ssim_l"].append(ssim_lightness(out, content))
    results = {}
    for name, s in scores.items():
        results[name] = {k: statistics.fmean(v) for k, v in s.items() if k != "ms"}
        results[name]["ms"] = statistics.median(s["ms"])
        results[name]["pairs"] = len(s["ms"])
    return results


def stylize_table(
    results: dict[str, dict[str, float]], pairs: int, size: int, skipped: list[str]
) -> str:
    return markdown_table(
        f"Validation splits: N = {pairs} photo/painting pairs (photo i with painting i mod the "
        f"number of validation paintings; short side {size} px), default parameters. Distance: "
        "||mean - mean_style|| + ||cov - cov_style||_F of the Lab colours (lower is closer to "
        "the style); after / before is the mean of the per-pair ratios; SSIM of L is the "
        "output's lightness against the content's (1 is the content's structure and tones)."
        + (f" Not run (unavailable here): {', '.join(skipped)}." if skipped else ""),
        ["method", "distance before", "distance after", "after / before",
         "SSIM of L vs content", "ms / pair"],
        ([name, f"{r['before']:.1f}", f"{r['after']:.1f}", f"{r['ratio']:.3f}",
          f"{r['ssim_l']:.4f}", f"{r['ms']:.0f}"] for name, r in results.items()),
    )  # fmt: skip


def run_stylize(args: argparse.Namespace) -> str:
    if args.pairs is not None and args.pairs < 1:
        raise SystemExit(f"--pairs must be at least 1, got {args.pairs}")
    names = args.methods or [m.name for m in list_methods("stylize")]
    try:
        methods = stylize_methods(names)
    except UnknownMethodError as error:
        raise SystemExit(str(error)) from None
    skipped = [n for n in names if n not in methods]
    contents = ImageFolder(args.photos, split="val", short_side=args.size)
    styles = ImageFolder(args.paintings, split="val", short_side=args.size)
    if not len(contents) or not len(styles):
        raise SystemExit(
            f"no validation images: {len(contents)} in {args.photos}, {len(styles)} in "
            f"{args.paintings}"
        )
    count = len(contents) if args.pairs is None else min(args.pairs, len(contents))
    pairs = [(contents[i], styles[i % len(styles)]) for i in range(count)]
    results = evaluate_stylize(pairs, methods)
    return stylize_table(results, len(pairs), args.size, skipped)


def run_recolor(args: argparse.Namespace) -> str:
    checkpoints = dict(item.split("=", 1) for item in args.checkpoint)
    images = split_images(args.data, args.size, args.limit)
    methods = recolor_methods(checkpoints)
    if args.protocol == "single-entry":
        measure = lambda image, method, index: single_entry_edit(image, method, args.k)  # noqa: E731
        results = evaluate_edits(images, methods, measure)
        return single_entry_table(results, len(images), args.k, args.size)
    results = evaluate_recolor(images, methods, args.k, tuple(args.shifts))
    return recolor_table(results, len(images), args.k, args.size)


def run_hints(args: argparse.Namespace) -> str:
    from colorlab.colorize import MODELS, colorize, load_colorizer

    images = split_images(args.data, args.size, args.limit)
    methods = {}
    for name in args.methods:
        model = load_colorizer(MODELS[name])
        methods[name] = lambda image, hints, model=model: colorize(image, model, hints=hints)
    results = evaluate_edits(
        images,
        methods,
        lambda image, method, index: hint_locality(
            image, method, np.random.default_rng([index, 11])
        ),
    )
    return hint_locality_table(results, len(images), args.size)


def run_colorize(args: argparse.Namespace) -> str:
    from colorlab.colorize import MODELS, load_colorizer
    from colorlab.colorize.bins import ColorBins

    reference = load_colorizer(MODELS["classification"])
    bins = ColorBins(reference.bin_centres.numpy(), reference.bin_prior.numpy())
    inverse_prior = 1 / bins.prior

    def prior_weights(ab: np.ndarray) -> np.ndarray:
        return inverse_prior[bins.nearest(ab)[0][:, 0]].reshape(ab.shape[:2])

    images = split_images(args.data, args.size, args.limit, args.split)
    models = {name: MODELS[name] for name in args.methods}
    mean_ab = bins.prior @ bins.centres  # the training photos' mean colour
    methods = colorize_methods(models, mean_ab, tuple(args.prior_corrections))
    results = evaluate_colorize(images, methods, prior_weights)
    return colorize_table(results, len(images), args.size, args.data, args.split)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tasks = parser.add_subparsers(dest="task", required=True)
    colorize = tasks.add_parser("colorize", help="colorization of validation images from L")
    colorize.add_argument("--data", nargs="+", default=[str(DEFAULT_DATA[0])])
    colorize.add_argument("--size", type=int, default=256, help="short side of the images")
    colorize.add_argument("--limit", type=int, default=None, help="at most this many images")
    colorize.add_argument(
        "--prior-corrections",
        type=float,
        nargs="*",
        default=[],
        help="also decode classification models with these prior corrections (0 to 1)",
    )
    colorize.add_argument(
        "--split",
        choices=["val", "train"],
        default="val",
        help="train: to choose settings (the default temperature) without looking at validation",
    )
    colorize.add_argument(
        "--methods",
        nargs="+",
        default=["regression", "pix2pix", "classification"],
        help="colorize methods (registry names) to compare with grey",
    )
    colorize.add_argument(
        "--card", type=Path, action="append", default=[], help="write the table into this card"
    )
    recolor = tasks.add_parser("recolor", help="palette recoloring on hue-shifted targets")
    recolor.add_argument("--data", nargs="+", default=[str(d) for d in DEFAULT_DATA])
    recolor.add_argument("--k", type=int, default=4, help="palette size (the seed project: 4)")
    recolor.add_argument("--size", type=int, default=192, help="short side of the images")
    recolor.add_argument("--shifts", type=float, nargs="+", default=list(DEFAULT_SHIFTS))
    recolor.add_argument(
        "--protocol",
        choices=["hue-shift", "single-entry"],
        default="hue-shift",
        help="whole-image hue shifts (default), or one entry turned 120 degrees",
    )
    recolor.add_argument("--limit", type=int, default=None, help="at most this many images")
    recolor.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also evaluate a PaletteNet checkpoint folder under NAME (repeatable)",
    )
    recolor.add_argument(
        "--card", type=Path, action="append", default=[], help="write the table into this card"
    )
    hints = tasks.add_parser("hints", help="does one colour hint act only where it is drawn")
    hints.add_argument("--data", nargs="+", default=[str(DEFAULT_DATA[0])])
    hints.add_argument("--size", type=int, default=256, help="short side of the images")
    hints.add_argument("--limit", type=int, default=None, help="at most this many images")
    hints.add_argument(
        "--methods", nargs="+", default=["classification"], help="colorizers that take hints"
    )
    hints.add_argument(
        "--card", type=Path, action="append", default=[], help="write the table into this card"
    )
    stylize = tasks.add_parser("stylize", help="colour transfer on photo/painting pairs")
    stylize.add_argument("--photos", default=str(DEFAULT_DATA[0]), help="content images")
    stylize.add_argument("--paintings", default=str(DEFAULT_DATA[1]), help="style images")
    stylize.add_argument(
        "--pairs", type=int, default=None, help="the first N pairs (default: every photo)"
    )
    stylize.add_argument("--size", type=int, default=256, help="short side of the images")
    stylize.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="stylize methods (registry names); default: every one available here",
    )
    stylize.add_argument(
        "--card", type=Path, action="append", default=[], help="write the table into this card"
    )
    args = parser.parse_args(argv)
    run = {
        "colorize": run_colorize,
        "recolor": run_recolor,
        "hints": run_hints,
        "stylize": run_stylize,
    }[args.task]
    table = run(args)
    print(table)
    command = "python -m training.evaluate " + " ".join(argv or sys.argv[1:])
    protocol = {
        "colorize": "colorize"
        if getattr(args, "split", "val") == "val"
        else "decoding, training split",
        "hints": "hint locality",
        "recolor": "single-entry edits"
        if getattr(args, "protocol", None) == "single-entry"
        else "hue shifts",
        "stylize": "stylize",
    }[args.task]
    for card in args.card:
        write_card_section(card, protocol, table, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
