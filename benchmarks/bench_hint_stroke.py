"""How long a colour hint stroke takes to come back as a result, in a real browser; a table.

    python -m benchmarks.bench_hint_stroke [--runs 5] [--sizes 0.25 1]

The app runs in this process on a free local port; headless Debian Chromium (Playwright) opens
its Colorize tab, uploads scikit-image's chelsea photo resized to each size (in megapixels),
and draws ``--runs`` short strokes, one after another. Each time is from the mouse button's
release to the new result on screen (median). The reference, run in the same process, is the
work the server must do for a stroke: ``work.colorized`` on the editor's preview with a new
stroke (the default classification colorizer), without the browser, the queue or the encoding;
"x model" is the ratio of the two. (Gradio's ImageEditor, used before, took 3.3 s at 1 MP.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from benchmarks.bench_recolor import median_ms, photo
from colorlab.imageio import to_uint8
from colorlab.ui import build_app, launch_options, work
from colorlab.ui.colorize_tab import DEFAULT_METHOD

CHROMIUM = "/usr/bin/chromium"
NEW_RESULT = "src => document.querySelectorAll('#colorize-result img')[1]?.src !== src"


def stroke(number: int) -> list[tuple[float, float]]:
    """The ``number``-th stroke, as fractions of the photo: a short diagonal drag."""
    x, y = 0.2 + 0.06 * (number % 10), 0.25 + 0.05 * (number % 7)
    return [(x + 0.01 * step, y + 0.004 * step) for step in range(10)]


def browser_ms(url: str, path: Path, runs: int) -> float:
    """Median ms from a stroke's release to its result, over ``runs`` strokes after one more."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("tab", name="Colorize").click()
        page.locator("#colorize-photo input[type=file]").set_input_files(str(path))
        page.wait_for_function(
            "() => document.querySelector('#hint-editor .hint-photo')?.src?.startsWith('data:')"
        )
        page.wait_for_function(
            "() => !document.querySelector('#colorize-result-download').disabled"
        )
        times = []
        for number in range(runs + 1):  # the first stroke is untimed (first-call costs)
            box = page.locator("#hint-editor canvas").bounding_box()
            points = [
                (box["x"] + x * box["width"], box["y"] + y * box["height"])
                for x, y in stroke(number)
            ]
            shown = page.locator("#colorize-result img").nth(1).get_attribute("src")
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point)
            start = time.perf_counter()
            page.mouse.up()
            page.wait_for_function(NEW_RESULT, arg=shown)
            times.append(time.perf_counter() - start)
            # The download's full-resolution file follows each result; wait for it so that the
            # next stroke does not queue behind it.
            page.wait_for_function(
                "() => !document.querySelector('#colorize-result-download').disabled"
            )
        browser.close()
    return 1000 * statistics.median(times[1:])


def model_ms(path: Path, runs: int) -> float:
    """Median ms of the server's own work for a new stroke on the editor's preview."""
    key = work.image_key(str(path))
    height, width = work.grey_image(key, preview=True).shape[:2]
    counter = iter(range(10**6))

    def one() -> None:
        number = next(counter)
        points = [[x * width, y * height] for x, y in stroke(number)]
        strokes = json.dumps([{"color": "#d03a2a", "size": 12, "points": points, "n": number}])
        work.colorized(key, DEFAULT_METHOD, None, strokes, preview=True)

    return median_ms(one, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="strokes per size (median)")
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 1.0], help="megapixels")
    args = parser.parse_args()
    demo = build_app()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_options())
    folder = Path(tempfile.mkdtemp(prefix="bench-hint-"))
    print("| photo | preview | stroke -> result, browser (ms) | model alone (ms) | x model |")
    print("|---|---|---|---|---|")
    try:
        for megapixels in args.sizes:
            image = to_uint8(photo("chelsea", megapixels))
            path = folder / f"chelsea-{megapixels:g}mp.png"
            Image.fromarray(image).save(path)
            preview = work.grey_image(work.image_key(str(path)), preview=True).shape
            browser = browser_ms(demo.local_url, path, args.runs)
            model = model_ms(path, args.runs)
            print(
                f"| {image.shape[1]}x{image.shape[0]} ({megapixels:g} MP) "
                f"| {preview[1]}x{preview[0]} | {browser:.0f} | {model:.0f} "
                f"| {browser / model:.2f} |"
            )
    finally:
        demo.close()


if __name__ == "__main__":
    main()
