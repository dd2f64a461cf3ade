"""Per-image work the app does once and reuses: loading, palettes, recolorers, colorizations,
style transfers.

An image is identified by its file path plus modification time: Gradio stores every upload under
a directory named by its content hash, so the key changes exactly when the content does. A file
a client names becomes a key only through :func:`upload_key` (see :mod:`colorlab.ui.uploads`).
The app takes images of at most ``COLORLAB_APP_MAX_PIXELS`` (default 16 MP; the CLI keeps the
library's 50 MP). Every cache shares one bound in bytes (``COLORLAB_APP_CACHE_MB``, default 128:
an 8 MP image, so an idle app stays near its own size after a burst), and every
full-resolution job first reserves its memory from one budget (``COLORLAB_APP_MEMORY_MB``,
default half the machine's memory): see :mod:`colorlab.ui.memory`. The browser preview is a
copy at most ``PREVIEW_MAX_SIDE`` pixels on a side, so palette edits stay interactive; downloads
and the API always use the full image.
"""

import contextlib
import functools
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from colorlab.color import format_palette, parse_palette
from colorlab.colorize import grey
from colorlab.colorize.hints import Hints, hints_from_points, hints_from_strokes
from colorlab.errors import ImageTooLargeError, InvalidParameterError
from colorlab.imageio import load_image, save_image, to_pil
from colorlab.methods import get_method
from colorlab.palette import Palette, extract_palette
from colorlab.ui.memory import ByteCache, MemoryBudget, physical_memory
from colorlab.ui.server import setting
from colorlab.ui.uploads import uploaded_path

PREVIEW_MAX_SIDE = 1024
APP_MAX_PIXELS = 16_000_000  # default of COLORLAB_APP_MAX_PIXELS
# Peak memory of the heaviest full-resolution job per pixel of its images, measured with
# benchmarks/bench_memory.py (colorize and stylize at 16 MP), with a margin.
BYTES_PER_PIXEL = 200
KEEP_FILES = 16  # full-resolution results kept on disk ...
KEEP_BYTES = 512 * 2**20  # ... and at most this many bytes of them
_OUTPUT_DIR = Path(tempfile.gettempdir()) / "colorlab-app"
# Results are named per app process too: one started with new weights never serves old files.
_RUN = f"{os.getpid()}-{time.time_ns()}"


def app_max_pixels() -> int:
    """The largest image (width x height) the app takes: ``COLORLAB_APP_MAX_PIXELS``, 16 MP."""
    return setting("COLORLAB_APP_MAX_PIXELS", APP_MAX_PIXELS)


@functools.cache
def memory_budget() -> MemoryBudget:
    """The process-wide budget of heavy work, read from the environment on first use."""
    default_mb = physical_memory() // 2 // 2**20
    capacity = setting("COLORLAB_APP_MEMORY_MB", default_mb) * 2**20
    return MemoryBudget(max(capacity, app_max_pixels() * BYTES_PER_PIXEL))


CACHE = ByteCache(setting("COLORLAB_APP_CACHE_MB", 128) * 2**20)


class ImageKey(NamedTuple):
    """An image file as the caches know it; ``pixels`` (from its header, 0 if unreadable)
    sizes the memory its jobs reserve."""

    path: str
    mtime_ns: int
    pixels: int


def image_key(path: str) -> ImageKey:
    """The key of a file the app itself wrote or trusts; client files go through upload_key."""
    mtime = os.stat(path).st_mtime_ns
    return ImageKey(str(path), mtime, _header_pixels(str(path), mtime))


def upload_key(upload: Any, what: str = "an image") -> ImageKey:
    """The key of a file a client sent (a path or Gradio's file payload): only files Gradio
    received are accepted (:func:`colorlab.ui.uploads.uploaded_path`)."""
    return image_key(uploaded_path(upload, what))


@functools.lru_cache(maxsize=256)
def _header_pixels(path: str, mtime_ns: int) -> int:
    """Width x height from the file's header, read once per file version (every event asks)."""
    try:
        with Image.open(path) as image:
            return image.width * image.height
    except Exception:  # not an image: loading it says so, with the reason
        return 0


def heavy(fn: Callable) -> Callable:
    """Run ``fn`` inside a reservation of the memory budget sized by the images it is given."""

    @functools.wraps(fn)
    def reserved(*args: Any, **kwargs: Any) -> Any:
        keys = [a for a in (*args, *kwargs.values()) if isinstance(a, ImageKey)]
        pixels = sum(min(key.pixels, app_max_pixels()) for key in keys)
        with memory_budget().reserve(pixels * BYTES_PER_PIXEL):
            return fn(*args, **kwargs)

    return reserved


@heavy
@CACHE.memoize
def full_image(key: ImageKey) -> np.ndarray:
    """The image at its original resolution, (H, W, 3) float32 sRGB; errors name the file by
    its own name (an upload's cache folder is nobody's business)."""
    name, limit = repr(Path(key.path).name), app_max_pixels()
    try:
        return load_image(key.path, max_pixels=limit, name=name)
    except ImageTooLargeError as error:  # the library's message names the CLI's settings
        raise ImageTooLargeError(
            f"{name} has {key.pixels:,} pixels, more than the {limit:,} this app takes "
            "(COLORLAB_APP_MAX_PIXELS); downscale it and upload it again"
        ) from error


def _needs_preview(key: ImageKey) -> bool:
    return max(full_image(key).shape[:2]) > PREVIEW_MAX_SIDE


@CACHE.memoize
def _preview_image(key: ImageKey) -> np.ndarray:
    thumbnail = to_pil(full_image(key))
    thumbnail.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS)
    return load_image(thumbnail)


def working_image(key: ImageKey, preview: bool) -> np.ndarray:
    """The preview copy when asked for and the image is large, else the full image."""
    return _preview_image(key) if preview and _needs_preview(key) else full_image(key)


@heavy
@CACHE.memoize
def palette(key: ImageKey, k: int) -> Palette:
    """The image's own k-colour palette, always taken from the full image (as the CLI does)."""
    return extract_palette(full_image(key), k=int(k))


@CACHE.memoize
def _recolorer(key: ImageKey, preview: bool, method_name: str, k: int) -> Callable:
    method = get_method("recolor", method_name)
    image = working_image(key, preview)
    source = palette(key, k).colors
    params = method.resolve_params()
    if method.prepare is not None:
        return method.prepare(image, source, **params)
    return lambda target: method.run(image, source_palette=source, target_palette=target, **params)


@heavy
def recolor(key: ImageKey, target: np.ndarray, method: str, k: int, *, preview: bool) -> np.ndarray:
    """The image with its k-colour palette moved to ``target`` (one colour per entry).

    Preparation is cached per image, size, method and k, so a palette edit costs only the
    function the method's ``prepare`` returned.
    """
    preview = preview and _needs_preview(key)
    return _recolored(key, format_palette(target), method, int(k), preview)


@CACHE.memoize
def _recolored(key: ImageKey, target_hex: str, method: str, k: int, preview: bool) -> np.ndarray:
    # Remembers the last results: for a small image the preview is the download, computed once.
    target = parse_palette(target_hex)
    source = palette(key, k)
    if len(target) != len(source):
        raise InvalidParameterError(
            f"the image's palette has {len(source)} colours but {len(target)} targets were "
            f"given: give one colour per palette entry"
        )
    return _recolorer(key, preview, method, k)(target)


@heavy
def full_resolution_png(key: ImageKey, target: np.ndarray, method: str, k: int) -> str:
    """A PNG of the recolored image at its original size; repeated requests reuse the file."""
    target_hex = format_palette(target)
    return result_png(
        key,
        "recolored",
        ("recolor", target_hex, method, int(k)),
        lambda: _recolored(key, target_hex, method, int(k), preview=False),
    )


@heavy
def grey_image(key: ImageKey, preview: bool) -> np.ndarray:
    """The image's Lab L as a grey image: what a colorizer sees, and the "before" of the tab."""
    return _grey(key, preview and _needs_preview(key))


@CACHE.memoize
def _grey(key: ImageKey, preview: bool) -> np.ndarray:
    return grey(working_image(key, preview))


def colorize(
    image: np.ndarray, method: str, temperature: float | None, hints: Hints | None
) -> np.ndarray:
    """``image`` colorized by a method of the registry; ``temperature`` None is its default.

    A temperature for a method that has none is an error rather than silently ignored, and
    empty hints count as none, so a method without hint input runs until a stroke is drawn.
    """
    chosen = get_method("colorize", method)
    params = chosen.resolve_params(**({} if temperature is None else {"temperature": temperature}))
    return chosen.run(image, hints=hints if hints is not None and hints.count else None, **params)


@heavy
def colorized(
    key: ImageKey, method: str, temperature: float | None, strokes: str, *, preview: bool
) -> np.ndarray:
    """The image colorized with the hint editor's strokes (their JSON text) as hints."""
    return _colorized(key, method, temperature, strokes, preview and _needs_preview(key))


@CACHE.memoize
def _colorized(
    key: ImageKey, method: str, temperature: float | None, strokes: str, preview: bool
) -> np.ndarray:
    # Remembers the last results: for a small image the preview is the download, computed once.
    image = working_image(key, preview)
    frame = working_image(key, preview=True).shape[:2]  # the editor shows the preview
    hints = hints_from_strokes(strokes, frame, image.shape[:2]) if strokes else None
    return colorize(image, method, temperature, hints)


@heavy
def colorized_png(key: ImageKey, method: str, temperature: float | None, strokes: str) -> str:
    """A PNG of :func:`colorized` at the image's original size; repeated requests reuse it."""
    return result_png(
        key,
        "colorized",
        ("colorize", method, temperature, strokes),
        lambda: colorized(key, method, temperature, strokes, preview=False),
    )


def takes_progress(method_name: str) -> bool:
    """Whether the stylize method is long (it takes ``progress`` and ``cancel``), so the app
    runs it on request, with a progress bar and a Cancel button, not on every slider move."""
    return get_method("stylize", method_name).long_running


def stylize(
    content: np.ndarray,
    style: np.ndarray,
    method_name: str,
    params: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Event | None = None,
) -> np.ndarray:
    """``content`` given the colours or style of ``style`` by a stylize method of the registry.

    A method that cannot run here is an error with its reason, never a substitute.
    ``progress(step, total)`` and ``cancel`` reach only methods that take them
    (:func:`takes_progress`), so callers need not know which do.
    """
    method = get_method("stylize", method_name)
    method.check_available()
    extra = {}
    if takes_progress(method_name):
        extra = {k: v for k, v in (("progress", progress), ("cancel", cancel)) if v is not None}
    return method.run(content, style, **params, **extra)


@heavy
def stylized(
    content: ImageKey, style: ImageKey, method: str, params: dict[str, Any], *, preview: bool
) -> np.ndarray:
    """The content stylized, from preview copies of both images when asked for (live view)."""
    preview = preview and (_needs_preview(content) or _needs_preview(style))
    return _stylized(content, style, method, tuple(sorted(params.items())), preview)


@CACHE.memoize
def _stylized(
    content: ImageKey, style: ImageKey, method: str, params: tuple, preview: bool
) -> np.ndarray:
    # Remembers the last results: for small images the preview is the download, computed once.
    return stylize(
        working_image(content, preview), working_image(style, preview), method, dict(params)
    )


@heavy
def stylized_png(
    content: ImageKey,
    style: ImageKey,
    method: str,
    params: dict[str, Any],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Event | None = None,
) -> str:
    """A PNG of the content stylized at its original size; repeated requests reuse the file.

    With ``progress`` or ``cancel`` (a long method run from the tab) the full image is rendered
    straight into the file, which the tab then shows a preview copy of: a run of minutes
    happens once, for both the view and the download.
    """

    def render() -> np.ndarray:
        if progress is None and cancel is None:
            return stylized(content, style, method, params, preview=False)
        return stylize(
            full_image(content), full_image(style), method, params, progress=progress, cancel=cancel
        )

    return result_png(
        content, "stylized", ("stylize", style, method, sorted(params.items())), render
    )


@heavy
def colorized_from_points_png(
    key: ImageKey, method: str, temperature: float | None, points: str | None
) -> str:
    """A PNG of the image colorized at its original size with hints given as JSON points
    (:func:`colorlab.colorize.hints.hints_from_points`); repeated requests reuse the file."""
    full = full_image(key)
    given = hints_from_points(points, full.shape[:2]) if points else None
    return result_png(
        key,
        "colorized",
        ("colorize-api", method, temperature, points),
        lambda: colorize(full, method, temperature, given),
    )


def result_png(key: ImageKey, suffix: str, spec: tuple, render: Callable[[], np.ndarray]) -> str:
    """A PNG of ``render()``, written once per image and ``spec`` (what determines the result).

    Files live in one folder per result (so the download keeps a readable name, the photo's
    name plus ``suffix``), and only the newest ``KEEP_FILES``, at most ``KEEP_BYTES`` in all,
    are kept: a full-resolution PNG can take tens of megabytes and one is written after every
    edit. A pruned result is simply rendered again.
    """
    digest = hashlib.sha256(repr((_RUN, key, spec)).encode()).hexdigest()[:16]
    path = _OUTPUT_DIR / digest / f"{Path(key.path).stem or 'image'}-{suffix}.png"
    if not path.exists():
        image = render()
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(image, path, fast=True)  # atomic: no reader ever sees half a file
        _prune()
    return str(path)


def _prune() -> None:
    """Delete the oldest results beyond ``KEEP_FILES`` or ``KEEP_BYTES``, with their folders."""
    with contextlib.suppress(FileNotFoundError):  # another thread may be pruning too
        files = sorted(_OUTPUT_DIR.glob("*/*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
        kept = 0
        for number, file in enumerate(files):
            kept += file.stat().st_size
            if number >= KEEP_FILES or kept > KEEP_BYTES:
                file.unlink(missing_ok=True)
                with contextlib.suppress(OSError):  # not empty: a result being written
                    file.parent.rmdir()
