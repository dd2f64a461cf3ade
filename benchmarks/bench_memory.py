"""Peak memory of the app per request at full resolution, after a burst, and for a decompression
bomb; prints Markdown tables.

    python -m benchmarks.bench_memory [--megapixels 16] [--settle 10]

Starts ``python app.py`` (:class:`benchmarks.gradio_http.AppProcess`) with a fresh temporary
folder as ``TMPDIR``, ``GRADIO_TEMP_DIR`` and ``COLORLAB_DATA_DIR`` and default settings
otherwise, and reads its resident memory from ``/proc`` (``VmRSS``; the peak is ``VmHWM``,
reset before each measurement). Images are scikit-image's astronaut resized with PIL's Lanczos
filter to a square of ``--megapixels`` (16: 4000x4000), saved as PNG; the stylize style is the
coffee photo at 512 px on its long side. Each endpoint runs once on a 256x256 image first, so
model loading is not counted, and every request sends a different file (the photo with a few
pixels changed), so no result comes from the app's caches.

- **One request per endpoint**: ``/palette`` (k 5), ``/recolor`` (chang), ``/colorize``
  (classification), ``/stylize`` (reinhard): idle RSS just before, peak, peak minus idle, and
  that per pixel of the (content) image. The reference is the app's idle RSS after warm-up.
- **Burst**: the four at once (one session each), then ``--settle`` seconds of rest: RSS then
  against the idle baseline (the target is at most 1.5x).
- **Decompression bomb**: a 7000x7000 all-zeros PNG (143 KB on disk, 49 MP decoded) sent to
  ``/colorize``: the message returned and the peak during it (it should be refused by the
  16 MP limit before decoding).

MB are 2^20 bytes, as in the app's settings. Every request goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from skimage import data

from benchmarks.gradio_http import AppProcess, GradioHTTP, isolated_env

MB = 2**20
ENDPOINTS = ("palette", "recolor", "colorize", "stylize")
PALETTE = "#203040, #c05030, #e0c080, #f0f0f0"
BOMB_SIDE = 7000
EXPECTED = ("colorlab.errors.", "gradio.exceptions.Error")  # refusals the app means
_SERIAL = itertools.count(1)


def base_photo(megapixels: float) -> np.ndarray:
    side = round((megapixels * 1e6) ** 0.5)
    image = Image.fromarray(data.astronaut()[..., :3])
    return np.asarray(image.resize((side, side), Image.Resampling.LANCZOS)).copy()


def distinct_png(base: np.ndarray, folder: Path, stem: str) -> Path:
    """``base`` with its first pixels set to a serial number, as a PNG: a file no cache knows."""
    serial = next(_SERIAL)
    pixels = base.copy()
    pixels[0, :3] = [[serial % 256, serial // 256 % 256, 1]] * 3
    path = folder / f"{stem}-{serial}.png"
    Image.fromarray(pixels).save(path, compress_level=1)
    return path


def style_png(folder: Path) -> Path:
    image = Image.fromarray(data.coffee())
    scale = 512 / max(image.size)
    image = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
    )
    path = folder / "coffee-512.png"
    image.save(path)
    return path


class Request:
    """One endpoint's request on a fresh upload of ``base``, from its own session."""

    def __init__(self, url: str, api: str, base: np.ndarray, folder: Path, style: Path) -> None:
        self.api = api
        self.pixels = base.shape[0] * base.shape[1]
        self.client = GradioHTTP(url, session_hash=f"mem-{uuid.uuid4().hex[:12]}", timeout=600)
        image = {"path": self.client.upload(distinct_png(base, folder, f"{api}-{base.shape[0]}"))}
        self.data: list[Any] = {
            "palette": [image, 5],
            "recolor": [image, PALETTE, "chang", None],
            "colorize": [image, "classification", None, None],
            "stylize": [image, {"path": self.client.upload(style)}, "reinhard", 1.0, False],
        }[api]

    def __call__(self) -> tuple[str, float, Any]:
        start = time.perf_counter()
        try:
            outcome, detail = self.client.call(self.api, self.data)
        except Exception as error:  # noqa: BLE001 (a timeout or a dropped connection is a result)
            outcome, detail = "error", f"{type(error).__name__}: {error}"
        finally:
            self.client.close()
        return outcome, time.perf_counter() - start, detail


def settled_rss(app: AppProcess, seconds: float = 2.0) -> int:
    time.sleep(seconds)
    return app.rss()


def shown(outcome: str, detail: Any) -> str:
    return "ok" if outcome == "complete" else f"{outcome}: {detail}".replace("|", "/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=16.0, help="image size, MP")
    parser.add_argument("--settle", type=float, default=10.0, help="rest after the burst, s")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="colorlab-bench-memory-") as temp:
        root = Path(temp)
        env, photos = isolated_env(root), root / "photos"
        photos.mkdir()
        big, small, style = base_photo(args.megapixels), base_photo(0.065536), style_png(photos)
        bomb = photos / "zeros-7000.png"
        Image.fromarray(np.zeros((BOMB_SIDE, BOMB_SIDE, 3), np.uint8)).save(bomb, optimize=True)
        size = f"{big.shape[1]}x{big.shape[0]} ({big.shape[0] * big.shape[1] / 1e6:.1f} MP)"
        print(
            f"{os.cpu_count()} cores; images: astronaut {size}, style coffee "
            f"{Image.open(style).size[0]}x{Image.open(style).size[1]}; settings: "
            + ", ".join(
                f"{name}={os.environ.get(name) or 'default'}"
                for name in (
                    "COLORLAB_APP_MAX_PIXELS",
                    "COLORLAB_APP_CACHE_MB",
                    "COLORLAB_APP_MEMORY_MB",
                    "COLORLAB_HEAVY_JOBS",
                )
            )
            + "\n"
        )
        with AppProcess(env) as app:
            started = app.rss()
            warm_up = [Request(app.url, api, small, photos, style)() for api in ENDPOINTS]
            idle = settled_rss(app)
            print(f"## One {size} request per endpoint (MB = 2^20 bytes)\n")
            print(
                f"App RSS after start {started / MB:.0f} MB; idle after warm-up on 256x256 "
                f"(reference): {idle / MB:.0f} MB; warm-up: "
                + ", ".join(
                    f"/{api} {shown(o, d)}"
                    for api, (o, _, d) in zip(ENDPOINTS, warm_up, strict=True)
                )
                + "\n"
            )
            print("| endpoint | outcome | s | idle MB | peak MB | peak - idle MB | B/px |")
            print("|---|---|---|---|---|---|---|")
            for api in ENDPOINTS:
                request = Request(app.url, api, big, photos, style)
                before = settled_rss(app)
                app.reset_peak()
                outcome, seconds, detail = request()
                peak = app.peak_rss()
                print(
                    f"| /{api} | {shown(outcome, detail)} | {seconds:.1f} | {before / MB:.0f} "
                    f"| {peak / MB:.0f} | {round((peak - before) / MB)} "
                    f"| {(peak - before) / request.pixels:.0f} |",
                    flush=True,
                )

            print(f"\n## Burst: the four endpoints at once on {size}, one session each\n")
            burst = [Request(app.url, api, big, photos, style) for api in ENDPOINTS]
            before = settled_rss(app)
            app.reset_peak()
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=len(burst)) as pool:
                results = list(pool.map(lambda request: request(), burst))
            wall = time.perf_counter() - start
            peak = app.peak_rss()
            rested = settled_rss(app, args.settle)
            print(
                "Outcomes: "
                + ", ".join(
                    f"/{api} {shown(o, d)} in {s:.1f} s"
                    for api, (o, s, d) in zip(ENDPOINTS, results, strict=True)
                )
                + f"; all done in {wall:.1f} s\n"
            )
            print("| moment | RSS MB | x idle baseline |")
            print("|---|---|---|")
            for moment, value in (
                ("idle after warm-up (baseline)", idle),
                ("just before the burst", before),
                ("peak during the burst", peak),
                (f"{args.settle:g} s after the burst (target <= 1.5x)", rested),
            ):
                print(f"| {moment} | {value / MB:.0f} | {value / idle:.2f} |", flush=True)

            print(
                f"\n## Decompression bomb: {BOMB_SIDE}x{BOMB_SIDE} all-zeros PNG "
                f"({bomb.stat().st_size / 1e3:.0f} KB, {BOMB_SIDE**2 / 1e6:.0f} MP) to /colorize\n"
            )
            client = GradioHTTP(app.url, session_hash=f"mem-{uuid.uuid4().hex[:12]}", timeout=600)
            file = {"path": client.upload(bomb)}
            before = settled_rss(app)
            app.reset_peak()
            start = time.perf_counter()
            outcome, detail = client.call("colorize", [file, "classification", None, None])
            seconds = time.perf_counter() - start
            peak = app.peak_rss()
            client.close()
            print("| outcome | message | s | idle MB | peak MB | peak - idle MB |")
            print("|---|---|---|---|---|---|")
            message = str(detail).replace("|", "/") if outcome != "complete" else detail
            print(
                f"| {outcome} | {message} | {seconds:.1f} | {before / MB:.0f} | {peak / MB:.0f} "
                f"| {round((peak - before) / MB)} |"
            )
            alive = app.process.poll() is None
            errors = sorted(
                {
                    line
                    for line in app.stderr_tail(10**6).splitlines()
                    if "Error: " in line and not line.startswith(EXPECTED)
                }
            )
        print()
        for line in errors:
            print(f"- the app's stderr has: {line}")
        print(f"- the app {'was still running' if alive else 'had exited'} at the end")


if __name__ == "__main__":
    main()
