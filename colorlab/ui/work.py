"""Per-image work the app does once and reuses: loading, palettes and prepared recolorers.

An image is identified by its file path plus modification time: Gradio stores every upload under
a directory named by its content hash, so the key changes exactly when the content does. The
caches are small LRUs because a full-resolution photo and its prepared recolorer can take
hundreds of megabytes. The browser preview is a copy at most ``PREVIEW_MAX_SIDE`` pixels on a
side, so palette edits stay interactive; downloads and the API always use the full image.
"""

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from colorlab.color import format_palette, parse_palette
from colorlab.errors import InvalidParameterError
from colorlab.imageio import load_image, save_image, to_pil
from colorlab.methods import get_method
from colorlab.palette import Palette, extract_palette

PREVIEW_MAX_SIDE = 1024
KEEP_FILES = 16  # full-resolution results kept on disk
_OUTPUT_DIR = Path(tempfile.gettempdir()) / "colorlab-app"

ImageKey = tuple[str, int]  # (path, mtime in ns)


def image_key(path: str) -> ImageKey:
    return str(path), os.stat(path).st_mtime_ns


@lru_cache(maxsize=4)
def full_image(key: ImageKey) -> np.ndarray:
    """The image at its original resolution, (H, W, 3) float32 sRGB."""
    return load_image(key[0])


def _needs_preview(key: ImageKey) -> bool:
    return max(full_image(key).shape[:2]) > PREVIEW_MAX_SIDE


@lru_cache(maxsize=4)
def _preview_image(key: ImageKey) -> np.ndarray:
    thumbnail = to_pil(full_image(key))
    thumbnail.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS)
    return load_image(thumbnail)


def working_image(key: ImageKey, preview: bool) -> np.ndarray:
    """The preview copy when asked for and the image is large, else the full image."""
    return _preview_image(key) if preview and _needs_preview(key) else full_image(key)


@lru_cache(maxsize=16)
def palette(key: ImageKey, k: int) -> Palette:
    """The image's own k-colour palette, always taken from the full image (as the CLI does)."""
    return extract_palette(full_image(key), k=int(k))


@lru_cache(maxsize=4)
def _recolorer(key: ImageKey, preview: bool, method_name: str, k: int) -> Callable:
    method = get_method("recolor", method_name)
    image = working_image(key, preview)
    source = palette(key, k).colors
    params = method.resolve_params()
    if method.prepare is not None:
        return method.prepare(image, source, **params)
    return lambda target: method.run(image, source_palette=source, target_palette=target, **params)


def recolor(key: ImageKey, target: np.ndarray, method: str, k: int, *, preview: bool) -> np.ndarray:
    """The image with its k-colour palette moved to ``target`` (one colour per entry).

    Preparation is cached per image, size, method and k, so a palette edit costs only the
    function the method's ``prepare`` returned.
    """
    preview = preview and _needs_preview(key)
    return _recolored(key, format_palette(target), method, int(k), preview)


@lru_cache(maxsize=2)
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


def full_resolution_png(key: ImageKey, target: np.ndarray, method: str, k: int) -> str:
    """A PNG of the recolored image at its original size; repeated requests reuse the file.

    Files live in one folder per result (so the download keeps a readable name), and only the
    newest ``KEEP_FILES`` are kept: a full-resolution PNG can take tens of megabytes and one is
    written after every palette edit. A pruned result is simply rendered again.
    """
    target_hex = format_palette(target)
    digest = hashlib.sha256(repr((key, target_hex, method, int(k))).encode()).hexdigest()[:16]
    path = _OUTPUT_DIR / digest / f"{Path(key[0]).stem or 'image'}-recolored.png"
    if not path.exists():
        image = _recolored(key, target_hex, method, int(k), preview=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(image, path, fast=True)  # atomic: no reader ever sees half a file
        _prune()
    return str(path)


def _prune() -> None:
    with contextlib.suppress(FileNotFoundError):  # another thread may be pruning too
        files = sorted(_OUTPUT_DIR.glob("*/*.png"), key=lambda p: p.stat().st_mtime)
        for old in files[:-KEEP_FILES]:
            old.unlink(missing_ok=True)
