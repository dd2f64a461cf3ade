"""Loading and saving images: the edge where files become the image contract and back.

Inside ColorLab an image is a C-contiguous ``numpy.ndarray`` of shape (H, W, 3), dtype float32,
sRGB in [0, 1]. Everything that arrives from outside (paths, uploaded bytes, PIL images, arrays)
goes through :func:`load_image`, so the rest of the package never sees alpha, palettes, 16-bit
data, EXIF rotation or hostile files. Saving goes through :func:`save_image`, which never leaves a
half-written file behind.

>>> image = load_image("photo.jpg")         # (H, W, 3) float32 in [0, 1]
>>> path = save_image(image, "copy.png")
"""

from __future__ import annotations

import io
import os
import struct
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image

from colorlab.errors import (
    ColorLabError,
    EmptyImageError,
    ImageLoadError,
    ImageSaveError,
    ImageTooLargeError,
    InvalidParameterError,
)

__all__ = ["DEFAULT_MAX_PIXELS", "load_image", "save_image", "to_pil", "to_uint8"]

DEFAULT_MAX_PIXELS = 50_000_000
"""Largest image (width x height) :func:`load_image` decodes unless told otherwise.

50 MP is beyond any camera photo a user would recolor, yet its float32 copy (600 MB) still fits
in memory; the limit exists so that a tiny file declaring a gigantic size cannot exhaust memory.
Override it per call with ``max_pixels=`` or for the process with ``COLORLAB_MAX_PIXELS``.
"""

_MAX_PIXELS_ENV = "COLORLAB_MAX_PIXELS"

# Float inputs may overshoot [0, 1] by resampling noise; beyond half an 8-bit level the values
# were not meant as [0, 1] data (e.g. 0-255 floats), and clipping them would hide the mistake.
_FLOAT_TOLERANCE = 0.5 / 255

# What each PIL decoding failure looks like; Pillow's decoders raise all of these on bad data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)

# Modes numpy reads directly (see _to_float); every other mode is converted by Pillow first.
_ARRAY_MODES = {"1", "L", "LA", "RGB", "RGBA", "I;16", "I;16L", "I;16B", "I;16N", "I", "F"}
_ALPHA_MODES_TO_CONVERT = {"PA", "RGBa"}

# EXIF orientation -> the numpy view that undoes it (same result as PIL.ImageOps.exif_transpose,
# but as a view, so the one float conversion also does the rotation without another copy).
_ORIENTATIONS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: a.swapaxes(0, 1)[::-1],
}

# Formats whose decoders stop at the end of the (first) image, so that reading past the end of
# the data means truncation (JPEG 2000, for one, reads to the end by design and is not listed).
# MPO is how Pillow names the many camera JPEGs that carry extra images (MPF).
_TRUNCATION_CHECKED_FORMATS = {"PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF", "PPM", "TGA"}

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def load_image(
    source: str | os.PathLike | bytes | Image.Image | np.ndarray,
    *,
    max_pixels: int | None = None,
    name: str | None = None,
) -> np.ndarray:
    """Load an image from a path, encoded bytes, a PIL image or an array into the image contract.

    Returns a new C-contiguous (H, W, 3) float32 sRGB array in [0, 1].

    - EXIF orientation is applied, so phone photos come out upright.
    - Transparent pixels become white; the colour contract has no alpha. Partly transparent
      pixels are composited over white.
    - Grey (modes 1, L, I;16, I, F) is replicated to three channels; palettes are expanded;
      CMYK and other modes are converted by Pillow. Embedded ICC profiles are ignored.
    - 16-bit data (modes I;16*, I, uint16 arrays) is scaled by 1/65535, 8-bit by 1/255.
    - Float arrays and F-mode images must already be in [0, 1]; bool arrays map to 0 and 1.
    - Animated files give their first frame.

    ``max_pixels`` (default ``COLORLAB_MAX_PIXELS`` from the environment, else
    :data:`DEFAULT_MAX_PIXELS`) caps width x height. Files are checked from their header before
    any pixel is decoded. ``name`` is how error messages call the source (default: the path,
    or what kind of source it is); a web app passes the upload's own file name.

    Raises:
        ImageLoadError: missing/unreadable file, not an image, truncated or corrupt data, or
            values outside the documented ranges of a file.
        EmptyImageError: zero width or height.
        ImageTooLargeError: more pixels than the limit.
        InvalidParameterError: an array of the wrong shape, dtype or range, a bad limit, or a
            source of an unsupported type.
    """
    limit = _pixel_limit(max_pixels)
    if isinstance(source, np.ndarray):
        name = name or "the array"
        array = _as_hwc(source, name)
        _check_size(array.shape[1], array.shape[0], name, limit)
        return _to_float(array, name, InvalidParameterError)
    if isinstance(source, Image.Image):
        return _from_pil(source, name or "the PIL image", limit)
    if isinstance(source, bytes | bytearray):
        name = name or f"the image data ({len(source):,} bytes)"
        return _from_stream(io.BytesIO(source), name, limit)
    if isinstance(source, str | os.PathLike):
        name = name or repr(os.fsdecode(source))
        try:
            with open(source, "rb") as file:
                return _from_stream(file, name, limit)
        except FileNotFoundError as exc:
            raise ImageLoadError(f"{name} does not exist; check the path.") from exc
        except OSError as exc:  # a folder, no permission, an I/O error
            raise ImageLoadError(f"cannot read {name}: {exc.strerror or exc}.") from exc
    raise InvalidParameterError(
        "load_image expects a file path, encoded image bytes, a PIL image or a numpy array; "
        f"got {type(source).__name__}."
    )


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Quantise a float image in [0, 1] to (H, W, 3) uint8, clipping and rounding to nearest.

    ``to_uint8(load_image(x))`` gives back the 8-bit values of ``x`` exactly.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype.kind != "f":
        raise InvalidParameterError(
            f"to_uint8 expects an (H, W, 3) float image in [0, 1]; got shape {image.shape} "
            f"and dtype {image.dtype}."
        )
    scaled = np.multiply(image, 255, dtype=np.float32)
    np.clip(scaled, 0, 255, out=scaled)
    if np.isnan(scaled.min()):
        raise InvalidParameterError("to_uint8 got an image containing NaN values.")
    return np.rint(scaled, out=scaled).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    """Convert a contract image to an 8-bit RGB PIL image (for the UI and for saving)."""
    return Image.fromarray(to_uint8(image))


def save_image(
    image: np.ndarray, path: str | os.PathLike, *, quality: int = 95, fast: bool = False
) -> Path:
    """Write a contract image as PNG, JPEG or WebP, chosen by the suffix of ``path``.

    ``quality`` (1-100) applies to JPEG and WebP; JPEGs keep full colour resolution (no chroma
    subsampling), since colour is what ColorLab edits. ``fast`` writes PNGs with zlib's quickest
    level (about 4x faster, somewhat larger files) for downloads made after every edit. The file
    appears complete or not at all: it is written to a temporary file in the same folder and
    moved into place, so a failure never leaves a partial file or damages an existing one.
    Returns the path written.

    Raises:
        InvalidParameterError: unsupported suffix, quality out of range, or a bad image.
        ImageSaveError: the file could not be written (missing folder, permissions, disk full).
    """
    path = Path(path)
    image_format = SAVE_FORMATS.get(path.suffix.lower())
    if image_format is None:
        raise InvalidParameterError(
            f"cannot save {str(path)!r}: unsupported file type {path.suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(sorted(SAVE_FORMATS))}."
        )
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise InvalidParameterError(
            f"quality must be a whole number from 1 to 100; got {quality!r}."
        )
    options: dict[str, int] = {}
    if image_format == "JPEG":
        options = {"quality": quality, "subsampling": 0}
    elif image_format == "WEBP":
        options = {"quality": quality}
    elif fast:
        options = {"compress_level": 1}
    pil_image = to_pil(image)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temporary, "xb") as file:
            pil_image.save(file, format=image_format, **options)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise ImageSaveError(f"cannot write {str(path)!r}: {exc.strerror or exc}.") from exc
    finally:
        temporary.unlink(missing_ok=True)  # already gone after a successful replace
    return path


def _pixel_limit(max_pixels: int | None) -> int:
    """The limit in force for this call: the argument, else the environment, else the default."""
    if max_pixels is None:
        text = os.environ.get(_MAX_PIXELS_ENV)
        if text is None:
            return DEFAULT_MAX_PIXELS
        try:
            limit = int(text)
        except ValueError:
            limit = 0
        if limit < 1:
            raise InvalidParameterError(
                f"{_MAX_PIXELS_ENV} must be a positive whole number of pixels; got {text!r}."
            )
        return limit
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise InvalidParameterError(
            f"max_pixels must be a positive whole number of pixels; got {max_pixels!r}."
        )
    return max_pixels


def _check_size(width: int, height: int, name: str, limit: int) -> None:
    if width == 0 or height == 0:
        raise EmptyImageError(f"{name} is empty ({width} x {height} pixels); nothing to load.")
    if width * height > limit:
        raise ImageTooLargeError(
            f"{name} is {width} x {height} = {width * height:,} pixels, over the limit of "
            f"{limit:,} pixels. Downscale it, or raise the limit with max_pixels= or the "
            f"{_MAX_PIXELS_ENV} environment variable."
        )


def _too_large_for_pillow(name: str, limit: int, error: Exception) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{name} is too large to decode safely: {error} Downscale it first. ColorLab's limit is "
        f"{limit:,} pixels (max_pixels= or {_MAX_PIXELS_ENV}); Pillow's own limit is "
        "PIL.Image.MAX_IMAGE_PIXELS."
    )


def _corrupt(name: str, reason: object) -> ImageLoadError:
    return ImageLoadError(
        f"{name} is truncated or corrupt ({reason}); re-export or re-download it."
    )


class _ReadTracker:
    """A binary stream that remembers whether a read found no data left.

    Pillow silently pads truncated images when ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is set,
    and any library may set that global. Decoders of _TRUNCATION_CHECKED_FORMATS never read past
    the end of a complete file, so for them an empty read while decoding means truncation,
    whatever the global says.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.ran_out = False

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(size)
        if not data and size != 0:
            self.ran_out = True
        return data

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _from_stream(stream: BinaryIO, name: str, limit: int) -> np.ndarray:
    """Identify an encoded image from its header, check its size, then decode it."""
    tracker = _ReadTracker(stream)
    try:
        image = Image.open(tracker)  # type: ignore[arg-type]  # duck-typed binary stream
    except _BOMB_ERRORS as exc:
        raise _too_large_for_pillow(name, limit, exc) from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageLoadError(
            f"{name} is not an image file Pillow can read (PNG, JPEG, WebP, TIFF, BMP, GIF, ...), "
            "or it is damaged."
        ) from exc
    except _DECODE_ERRORS as exc:
        raise _corrupt(name, exc) from exc
    with image:
        tracker.ran_out = False  # identifying may probe past the end; only decoding counts
        return _from_pil(image, name, limit, tracker)


def _from_pil(
    image: Image.Image, name: str, limit: int, tracker: _ReadTracker | None = None
) -> np.ndarray:
    _check_size(image.width, image.height, name, limit)
    try:
        image.load()
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except _BOMB_ERRORS as exc:
        raise _too_large_for_pillow(name, limit, exc) from exc
    except _DECODE_ERRORS as exc:
        raise _corrupt(name, exc) from exc
    if tracker is not None and tracker.ran_out and image.format in _TRUNCATION_CHECKED_FORMATS:
        raise _corrupt(name, "the data ends before the image does")
    array = _pil_pixels(image, name)
    undo_orientation = _ORIENTATIONS.get(orientation)
    if undo_orientation is not None:
        array = undo_orientation(array)
    return _to_float(_as_hwc(array, name), name, ImageLoadError)


def _pil_pixels(image: Image.Image, name: str) -> np.ndarray:
    """The pixels as a numpy array in a dtype and layout that _to_float understands."""
    has_transparency = "transparency" in image.info
    if has_transparency or image.mode not in _ARRAY_MODES:
        target = "RGBA" if has_transparency or image.mode in _ALPHA_MODES_TO_CONVERT else "RGB"
        try:
            image = image.convert(target)
        except ValueError as exc:
            raise ImageLoadError(
                f"{name} has pixel mode {image.mode!r}, which cannot be converted to RGB ({exc})."
            ) from exc
    array = np.asarray(image)
    if image.mode == "I":  # 32-bit integer grey; ColorLab reads it as 16-bit data
        if array.min() < 0 or array.max() > 65535:
            raise ImageLoadError(
                f"{name} is a 32-bit integer image with values from {array.min()} to "
                f"{array.max()}; only values 0-65535 (16-bit) are supported. Convert it to "
                "8- or 16-bit first."
            )
        array = array.astype(np.uint16)
    return array


def _as_hwc(array: np.ndarray, name: str) -> np.ndarray:
    """View a (H, W) or (H, W, C) image as (H, W, C) with C in 1-4, or say what was wrong."""
    if array.ndim == 2:
        return array[:, :, np.newaxis]
    if array.ndim == 3 and 1 <= array.shape[2] <= 4:
        return array
    raise InvalidParameterError(
        f"{name} has shape {array.shape}; expected (H, W) or (H, W, C) with C = 1 (grey), "
        "2 (grey + alpha), 3 (RGB) or 4 (RGBA)."
    )


def _to_float(array: np.ndarray, name: str, error: type[ColorLabError]) -> np.ndarray:
    """Scale (H, W, C) pixels to the contract in one pass, compositing alpha over white."""
    if array.dtype == np.bool_:
        scale = 1
    elif array.dtype == np.uint8:
        scale = 255
    elif array.dtype.kind == "u" and array.dtype.itemsize == 2:
        scale = 65535
    elif array.dtype.kind == "f":
        scale = 1
        low, high = array.min(), array.max()
        if not (np.isfinite(low) and np.isfinite(high)):
            raise error(f"{name} contains NaN or infinite values; pixel values must be finite.")
        if low < -_FLOAT_TOLERANCE or high > 1 + _FLOAT_TOLERANCE:
            raise error(
                f"{name} has float values from {low:.4g} to {high:.4g}; float images must be in "
                "[0, 1] (divide 8-bit data by 255, 16-bit data by 65535)."
            )
    else:
        raise error(
            f"{name} has dtype {array.dtype}; expected uint8, uint16, bool, or float in [0, 1]."
        )
    height, width, channels = array.shape
    colour = array[:, :, : 3 if channels >= 3 else 1]
    image = np.empty((height, width, 3), dtype=np.float32)
    np.divide(colour, scale, out=image, dtype=np.float32)  # grey broadcasts to 3 channels
    if channels in (2, 4):
        alpha = np.divide(array[:, :, -1:], scale, dtype=np.float32)
        image *= alpha
        image += 1 - alpha
    if array.dtype.kind == "f":
        np.clip(image, 0, 1, out=image)
    return image
