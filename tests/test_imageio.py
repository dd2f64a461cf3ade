"""Spec of colorlab.imageio: every input becomes (H, W, 3) float32 sRGB in [0, 1], or a clear error.

Images are real files written into tmp_path by Pillow (or by hand where Pillow cannot write the
case), mostly from the scikit-image photos of conftest.
"""

import io
import os
import stat
import struct
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFile, ImageOps

from colorlab.errors import (
    EmptyImageError,
    ImageLoadError,
    ImageSaveError,
    ImageTooLargeError,
    InvalidParameterError,
)
from colorlab.imageio import DEFAULT_MAX_PIXELS, load_image, save_image, to_pil, to_uint8


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(image * 255).astype(np.uint8))


def _encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _write(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, **options)
    return path


def _png(width: int, height: int, bit_depth: int, colour_type: int, pixels: bytes) -> bytes:
    """A PNG written by hand, for what Pillow cannot write: 16-bit RGB, lying headers."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def _expect(image: np.ndarray, rgb: tuple[float, float, float]) -> None:
    np.testing.assert_allclose(image, np.broadcast_to(rgb, image.shape), atol=1e-6)


def _assert_contract(image: np.ndarray, shape: tuple[int, int]) -> None:
    assert image.shape == (*shape, 3)
    assert image.dtype == np.float32
    assert image.flags.c_contiguous
    assert image.min() >= 0 and image.max() <= 1


# --- sources -------------------------------------------------------------------------------------


def test_png_path_loads_as_the_exact_float32_contract(astronaut, tmp_path):
    path = _write(tmp_path / "astronaut.png", _pil(astronaut))
    for source in (path, str(path)):
        image = load_image(source)
        _assert_contract(image, astronaut.shape[:2])
        np.testing.assert_array_equal(image, astronaut)


def test_bytes_and_pil_image_load_like_the_file(coffee, tmp_path):
    path = _write(tmp_path / "coffee.png", _pil(coffee))
    expected = load_image(path)
    np.testing.assert_array_equal(load_image(path.read_bytes()), expected)
    np.testing.assert_array_equal(load_image(bytearray(path.read_bytes())), expected)
    with Image.open(path) as opened:
        np.testing.assert_array_equal(load_image(opened), expected)


def test_jpeg_path_loads_close_to_the_photo(coffee, tmp_path):
    path = _write(tmp_path / "coffee.jpg", _pil(coffee), quality=95)
    image = load_image(path)
    _assert_contract(image, coffee.shape[:2])
    assert np.abs(image - coffee).mean() < 0.01


def test_uint8_array_is_divided_by_255():
    pixels = np.array([[[0, 128, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(load_image(pixels), pixels.astype(np.float32) / 255)


def test_uint16_array_is_divided_by_65535():
    pixels = np.array([[[0, 32768, 65535]]], dtype=np.uint16)
    np.testing.assert_allclose(load_image(pixels), [[[0, 32768 / 65535, 1]]], rtol=1e-6)


def test_bool_array_maps_to_black_and_white():
    _assert_contract(image := load_image(np.array([[True, False]])), (1, 2))
    np.testing.assert_array_equal(image, [[[1, 1, 1], [0, 0, 0]]])


def test_float_arrays_become_a_new_float32_array(astronaut):
    for pixels in (astronaut, astronaut.astype(np.float64)):
        image = load_image(pixels)
        _assert_contract(image, astronaut.shape[:2])
        np.testing.assert_allclose(image, astronaut, atol=1e-7)
        assert not np.shares_memory(image, pixels)


def test_grey_arrays_are_replicated_to_three_channels():
    grey = np.array([[0, 51], [102, 255]], dtype=np.uint8)
    for pixels in (grey, grey[:, :, np.newaxis]):
        image = load_image(pixels)
        _assert_contract(image, (2, 2))
        np.testing.assert_array_equal(image, np.repeat(grey[:, :, None] / np.float32(255), 3, 2))


def test_rgba_array_is_composited_over_white():
    pixels = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [0, 0, 0, 51]]], dtype=np.uint8)
    np.testing.assert_allclose(load_image(pixels), [[[1, 0, 0], [1, 1, 1], [0.8] * 3]], atol=1e-6)


def test_float_array_with_rounding_overshoot_is_clipped():
    image = load_image(np.array([[[-1e-4, 0.5, 1 + 1e-4]]], dtype=np.float32))
    np.testing.assert_allclose(image, [[[0, 0.5, 1]]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_array_with_nan_or_inf_is_refused(bad):
    pixels = np.full((4, 4, 3), 0.5, dtype=np.float32)
    pixels[1, 2, 0] = bad
    with pytest.raises(InvalidParameterError, match="NaN or infinite"):
        load_image(pixels)


def test_float_array_in_0_255_is_refused_with_a_hint(astronaut):
    with pytest.raises(InvalidParameterError, match=r"from 0 to 255.*\[0, 1\].*divide 8-bit"):
        load_image(astronaut * 255)


@pytest.mark.parametrize("shape", [(5,), (4, 4, 5), (2, 4, 4, 3)])
def test_array_of_unsupported_shape_is_refused(shape):
    with pytest.raises(InvalidParameterError, match=rf"shape \({shape[0]},"):
        load_image(np.zeros(shape, dtype=np.uint8))


def test_array_of_unsupported_dtype_is_refused():
    with pytest.raises(InvalidParameterError, match="dtype int64; expected uint8, uint16"):
        load_image(np.zeros((4, 4, 3), dtype=np.int64))


@pytest.mark.parametrize("source", [None, 3, [[0, 1]], Path])
def test_unsupported_source_type_is_refused(source):
    with pytest.raises(InvalidParameterError, match="expects a file path, encoded image bytes"):
        load_image(source)


# --- EXIF orientation ----------------------------------------------------------------------------


def _marked_image() -> Image.Image:
    """60 x 40 grey image with a red block in its top-left corner, to see where it went."""
    pixels = np.full((40, 60, 3), 128, dtype=np.uint8)
    pixels[:10, :10] = (255, 0, 0)
    return Image.fromarray(pixels)


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def test_jpeg_with_exif_orientation_6_is_turned_upright(tmp_path):
    path = _write(tmp_path / "phone.jpg", _marked_image(), exif=_exif(6), quality=95)
    image = load_image(path)
    assert image.shape == (60, 40, 3)  # stored landscape, shown portrait
    np.testing.assert_allclose(image[2, -3], (1, 0, 0), atol=0.05)  # rotated 90 deg clockwise
    np.testing.assert_allclose(image[-3, 2], (128 / 255,) * 3, atol=0.05)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow_exif_transpose(orientation, tmp_path):
    path = _write(tmp_path / "oriented.png", _marked_image(), exif=_exif(orientation))
    with Image.open(path) as opened:
        expected = np.asarray(ImageOps.exif_transpose(opened)).astype(np.float32) / 255
    np.testing.assert_array_equal(load_image(path), expected)


# --- pixel modes ---------------------------------------------------------------------------------


def test_bilevel_image_loads_as_black_and_white(tmp_path):
    bilevel = Image.new("1", (3, 2), 0)
    bilevel.putpixel((1, 0), 1)
    image = load_image(_write(tmp_path / "bilevel.png", bilevel))
    expected = np.zeros((2, 3, 3), dtype=np.float32)
    expected[0, 1] = 1
    np.testing.assert_array_equal(image, expected)


def test_grey_png_is_replicated_to_three_channels(coffee, tmp_path):
    grey = _pil(coffee).convert("L")
    image = load_image(_write(tmp_path / "grey.png", grey))
    _assert_contract(image, coffee.shape[:2])
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], np.asarray(grey) / np.float32(255))


def test_grey_alpha_png_becomes_white_where_transparent(tmp_path):
    pixels = np.array([[[100, 255], [100, 0], [0, 128]]], dtype=np.uint8)
    image = load_image(_write(tmp_path / "la.png", Image.fromarray(pixels, "LA")))
    np.testing.assert_allclose(image[0, :, 0], [100 / 255, 1, 1 - 128 / 255], atol=1e-6)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_palette_png_expands_to_its_colours(tmp_path):
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([255, 0, 0, 0, 0, 255])
    palette_image.putpixel((1, 0), 1)
    image = load_image(_write(tmp_path / "palette.png", palette_image))
    np.testing.assert_array_equal(image, [[[1, 0, 0], [0, 0, 1]]])


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_transparent_palette_entry_becomes_white(suffix, tmp_path):
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([255, 0, 0, 0, 0, 255])
    palette_image.putpixel((1, 0), 1)
    image = load_image(_write(tmp_path / f"palette{suffix}", palette_image, transparency=0))
    np.testing.assert_array_equal(image, [[[1, 1, 1], [0, 0, 1]]])


def test_rgba_png_blends_partly_transparent_pixels_over_white(tmp_path):
    pixels = np.array([[[255, 0, 0, 255], [0, 0, 255, 0], [0, 0, 0, 102]]], dtype=np.uint8)
    image = load_image(_write(tmp_path / "rgba.png", Image.fromarray(pixels)))
    np.testing.assert_allclose(image, [[[1, 0, 0], [1, 1, 1], [0.6] * 3]], atol=1e-6)


def test_opaque_rgba_png_equals_its_rgb_pixels(astronaut, tmp_path):
    image = load_image(_write(tmp_path / "opaque.png", _pil(astronaut).convert("RGBA")))
    np.testing.assert_array_equal(image, astronaut)


def test_rgb_png_with_a_transparent_colour_key_becomes_white_there(tmp_path):
    rgb = Image.new("RGB", (2, 1), (10, 20, 30))
    rgb.putpixel((1, 0), (200, 100, 50))
    image = load_image(_write(tmp_path / "keyed.png", rgb, transparency=(10, 20, 30)))
    np.testing.assert_allclose(image, [[[1, 1, 1], [200 / 255, 100 / 255, 50 / 255]]], atol=1e-6)


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_image_is_converted_to_rgb(suffix, tmp_path):
    cyan = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    image = load_image(_write(tmp_path / f"cyan{suffix}", cyan))
    _assert_contract(image, (8, 8))
    np.testing.assert_allclose(image, np.broadcast_to((0, 1, 1), image.shape), atol=0.02)


def test_16_bit_grey_png_is_scaled_by_65535(tmp_path):
    levels = np.array([[0, 1000], [32768, 65535]], dtype=np.uint16)
    path = _write(tmp_path / "grey16.png", Image.fromarray(levels))
    assert Image.open(path).mode == "I;16"
    image = load_image(path)
    np.testing.assert_allclose(image[..., 1], levels / 65535, rtol=1e-6)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_16_bit_big_endian_grey_tiff_is_scaled_by_65535(tmp_path):
    levels = np.array([[0, 1000], [32768, 65535]], dtype=">u2")
    big_endian = Image.frombytes("I;16B", (2, 2), levels.tobytes())
    path = _write(tmp_path / "grey16b.tif", big_endian)
    assert Image.open(path).mode == "I;16B"
    np.testing.assert_allclose(load_image(path)[..., 0], levels / 65535, rtol=1e-6)


def test_32_bit_integer_grey_is_read_as_16_bit_data(tmp_path):
    levels = np.array([[0, 655], [6553, 65535]], dtype=np.int32)
    path = _write(tmp_path / "grey32.tif", Image.fromarray(levels))
    assert Image.open(path).mode == "I"
    np.testing.assert_allclose(load_image(path)[..., 0], levels / 65535, rtol=1e-6)


def test_32_bit_integer_grey_beyond_16_bit_is_refused(tmp_path):
    levels = np.array([[0, 70000]], dtype=np.int32)
    path = _write(tmp_path / "deep.tif", Image.fromarray(levels))
    with pytest.raises(ImageLoadError, match=r"deep\.tif.*values from 0 to 70000.*0-65535"):
        load_image(path)


def test_float_grey_tiff_in_unit_range_loads(tmp_path):
    values = np.array([[0, 0.25], [0.5, 1]], dtype=np.float32)
    path = _write(tmp_path / "float.tif", Image.fromarray(values))
    assert Image.open(path).mode == "F"
    np.testing.assert_array_equal(load_image(path)[..., 2], values)


def test_float_grey_tiff_outside_unit_range_is_refused(tmp_path):
    path = _write(tmp_path / "depth.tif", Image.fromarray(np.array([[0, 255]], dtype=np.float32)))
    with pytest.raises(ImageLoadError, match=r"depth\.tif.*from 0 to 255.*\[0, 1\]"):
        load_image(path)


def test_16_bit_rgb_png_loads_to_within_an_8_bit_level(tmp_path):
    levels = np.array([[[0, 65535, 1000], [30000, 60000, 257]]], dtype=">u2")
    rows = b"".join(b"\x00" + row.tobytes() for row in levels)
    path = tmp_path / "rgb16.png"
    path.write_bytes(_png(2, 1, 16, 2, rows))
    np.testing.assert_allclose(load_image(path), levels / 65535, atol=1 / 255)


# --- files that are not images, or not whole -----------------------------------------------------


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("a shopping list, not a picture\n")
    with pytest.raises(ImageLoadError, match=r"notes\.png' is not an image file Pillow can read"):
        load_image(path)


def test_non_image_bytes_are_refused():
    with pytest.raises(ImageLoadError, match=r"\(11 bytes\) is not an image file Pillow can read"):
        load_image(b"hello world")


def test_missing_file_error_names_the_path(tmp_path):
    with pytest.raises(ImageLoadError, match=r"nowhere\.jpg' does not exist"):
        load_image(tmp_path / "nowhere.jpg")


def test_folder_is_refused_with_its_name(tmp_path):
    with pytest.raises(ImageLoadError, match=rf"cannot read '{tmp_path}'"):
        load_image(tmp_path)


def _halves(astronaut) -> dict[str, bytes]:
    encoded = {
        "PNG": _encode(_pil(astronaut), "PNG"),
        "JPEG": _encode(_pil(astronaut), "JPEG", quality=90),
        "GIF": _encode(_pil(astronaut), "GIF"),
        "BMP": _encode(_pil(astronaut), "BMP"),
        "TIFF": _encode(_pil(astronaut), "TIFF"),
    }
    halves = {name: data[: len(data) // 2] for name, data in encoded.items()}
    # MPO, Pillow's name for camera JPEGs carrying extra images: cut inside the first image.
    mpo = _encode(_pil(astronaut), "MPO", save_all=True, append_images=[_pil(astronaut)])
    halves["MPO"] = mpo[: len(mpo) // 4]
    return halves


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_file_cut_in_half_is_refused_as_truncated(image_format, astronaut, tmp_path):
    half = _halves(astronaut)[image_format]
    path = tmp_path / f"half.{image_format.lower()}"
    path.write_bytes(half)
    for source in (path, half):
        with pytest.raises(ImageLoadError, match="is truncated or corrupt"):
            load_image(source)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF"])
def test_truncated_file_is_refused_even_if_pillow_is_told_to_pad_it(
    image_format, astronaut, monkeypatch
):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as some libraries set it
    with pytest.raises(ImageLoadError, match="is truncated or corrupt"):
        load_image(_halves(astronaut)[image_format])


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF", "WEBP"])
def test_complete_files_of_common_formats_load(image_format, astronaut, monkeypatch):
    options = (
        {"save_all": True, "append_images": [_pil(astronaut)]} if image_format == "MPO" else {}
    )
    data = _encode(_pil(astronaut), image_format, **options)
    for pad_truncated in (False, True):
        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", pad_truncated)
        image = load_image(data)
        _assert_contract(image, astronaut.shape[:2])
        assert np.abs(image - astronaut).mean() < 0.05


def test_png_with_a_damaged_checksum_is_refused(astronaut, tmp_path):
    data = bytearray(_encode(_pil(astronaut), "PNG"))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "damaged.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError, match=r"damaged\.png' is truncated or corrupt"):
        load_image(path)


def test_loading_leaves_pillow_globals_alone(astronaut):
    before = (ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS)
    for data in _halves(astronaut).values():
        with pytest.raises(ImageLoadError):
            load_image(data)
    load_image(_encode(_pil(astronaut), "PNG"))
    after = (ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS)
    assert after == before


# --- empty and oversized images ------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0), (0, 0, 4)])
def test_zero_size_array_is_refused_as_empty(shape):
    with pytest.raises(EmptyImageError, match="is empty"):
        load_image(np.zeros(shape, dtype=np.uint8))


def test_zero_size_pil_image_is_refused_as_empty():
    with pytest.raises(EmptyImageError, match=r"\(0 x 7 pixels\)"):
        load_image(Image.new("RGB", (0, 7)))


def test_image_over_the_default_limit_is_refused_from_its_header(tmp_path):
    # 8000 x 8000 declared, but the pixel data is garbage: only the header can be read, so the
    # error proves the limit is checked before decoding.
    path = tmp_path / "big.png"
    path.write_bytes(_png(8000, 8000, 8, 2, b"not really pixels"))
    with pytest.raises(ImageTooLargeError) as caught:
        load_image(path)
    message = str(caught.value)
    assert "big.png" in message and "8000 x 8000 = 64,000,000 pixels" in message
    assert f"{DEFAULT_MAX_PIXELS:,}" in message
    assert "max_pixels=" in message and "COLORLAB_MAX_PIXELS" in message


def test_huge_png_header_is_refused_fast_without_allocating_its_pixels():
    bomb = _png(100_000, 100_000, 8, 2, b"\x00")  # 30 GB of pixels declared in 60 bytes
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match=r"10000000000 pixels.*max_pixels="):
        load_image(bomb)
    assert time.perf_counter() - start < 0.5


def test_pillow_decompression_bomb_warning_becomes_too_large(monkeypatch):
    monkeypatch.setenv("COLORLAB_MAX_PIXELS", str(200_000_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLargeError, match=r"100000000 pixels.*MAX_IMAGE_PIXELS"):
            load_image(_png(10_000, 10_000, 8, 2, b"\x00"))


def test_max_pixels_argument_sets_the_limit_for_every_source(tmp_path):
    pixels = np.zeros((20, 20, 3), dtype=np.uint8)
    path = _write(tmp_path / "square.png", Image.fromarray(pixels))
    for source in (path, path.read_bytes(), Image.fromarray(pixels), pixels):
        with pytest.raises(ImageTooLargeError, match="= 400 pixels, over the limit of 399"):
            load_image(source, max_pixels=399)
        assert load_image(source, max_pixels=400).shape == (20, 20, 3)


def test_environment_variable_sets_the_limit_at_call_time(monkeypatch):
    pixels = np.zeros((20, 20, 3), dtype=np.uint8)
    monkeypatch.setenv("COLORLAB_MAX_PIXELS", "100")
    with pytest.raises(ImageTooLargeError, match="over the limit of 100 pixels"):
        load_image(pixels)
    assert load_image(pixels, max_pixels=400).shape == (20, 20, 3)  # the argument wins
    monkeypatch.setenv("COLORLAB_MAX_PIXELS", "1_000")
    assert load_image(pixels).shape == (20, 20, 3)


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5"])
def test_invalid_limit_in_environment_is_refused_naming_the_variable(value, monkeypatch):
    monkeypatch.setenv("COLORLAB_MAX_PIXELS", value)
    with pytest.raises(InvalidParameterError, match=f"COLORLAB_MAX_PIXELS .*got '{value}'"):
        load_image(np.zeros((2, 2), dtype=np.uint8))


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_invalid_max_pixels_argument_is_refused(value):
    with pytest.raises(InvalidParameterError, match="max_pixels must be a positive"):
        load_image(np.zeros((2, 2), dtype=np.uint8), max_pixels=value)


# --- performance ---------------------------------------------------------------------------------


def test_loading_a_4_megapixel_jpeg_converts_to_float_in_one_step(astronaut):
    data = _encode(_pil(astronaut).resize((2048, 2048)), "JPEG", quality=90)
    tracemalloc.start()
    try:
        image = load_image(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The float32 result plus Pillow's 8-bit copy (a quarter of it); a float temporary would
    # double the peak.
    assert peak < 1.4 * image.nbytes


# --- to_uint8 and to_pil -------------------------------------------------------------------------


def test_to_uint8_gives_back_every_8_bit_level_exactly():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb = np.stack([levels, levels[::-1], levels.T], axis=2)
    np.testing.assert_array_equal(to_uint8(load_image(rgb)), rgb)


@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=8).map(
            lambda s: (s[0], s[1], 3)
        ),
        elements=st.floats(-2, 3, width=32),
    )
)
def test_to_uint8_clips_and_rounds_to_nearest(image):
    result = to_uint8(image)
    assert result.dtype == np.uint8 and result.shape == image.shape
    reference = np.clip(image.astype(np.float64) * 255, 0, 255)
    assert np.abs(result - reference).max() <= 0.5 + 1e-4


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 4), np.float32), np.zeros((4, 4, 3), np.uint8), np.full((2, 2, 3), np.nan)],
    ids=["grey", "uint8", "nan"],
)
def test_to_uint8_refuses_what_is_not_a_contract_image(image):
    with pytest.raises(InvalidParameterError, match="to_uint8"):
        to_uint8(image)


def test_to_pil_gives_an_8_bit_rgb_image(coffee):
    pil_image = to_pil(coffee)
    assert pil_image.mode == "RGB" and pil_image.size == (coffee.shape[1], coffee.shape[0])
    np.testing.assert_array_equal(np.asarray(pil_image), to_uint8(coffee))


# --- save_image ----------------------------------------------------------------------------------


def test_png_save_round_trips_exactly_and_returns_the_path(astronaut, tmp_path):
    written = save_image(astronaut, str(tmp_path / "out.png"))
    assert written == tmp_path / "out.png"
    assert Image.open(written).format == "PNG"
    np.testing.assert_array_equal(load_image(written), astronaut)


def test_jpeg_save_is_close_and_quality_trades_size(coffee, tmp_path):
    best = save_image(coffee, tmp_path / "best.jpg")
    small = save_image(coffee, tmp_path / "small.jpeg", quality=20)
    assert Image.open(best).format == Image.open(small).format == "JPEG"
    assert np.abs(load_image(best) - coffee).mean() < 0.01
    assert small.stat().st_size < best.stat().st_size / 2


@pytest.mark.parametrize(
    ("name", "image_format"), [("A.PNG", "PNG"), ("B.JPG", "JPEG"), ("c.webp", "WEBP")]
)
def test_format_follows_the_suffix_in_any_case(name, image_format, coffee, tmp_path):
    path = save_image(coffee, tmp_path / name)
    assert Image.open(path).format == image_format
    assert load_image(path).shape == coffee.shape


@pytest.mark.parametrize("name", ["out.bmp", "out"])
def test_unsupported_suffix_is_refused_and_writes_nothing(name, coffee, tmp_path):
    with pytest.raises(InvalidParameterError, match=r"unsupported file type.*\.jpeg, \.jpg, \.png"):
        save_image(coffee, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("quality", [0, 101, 9.5, True])
def test_quality_out_of_range_is_refused(quality, coffee, tmp_path):
    with pytest.raises(InvalidParameterError, match="quality must be a whole number from 1 to 100"):
        save_image(coffee, tmp_path / "out.jpg", quality=quality)


def test_saving_into_a_missing_folder_raises_a_save_error(coffee, tmp_path):
    target = tmp_path / "missing" / "out.png"
    with pytest.raises(ImageSaveError, match=r"cannot write '.*missing/out\.png'"):
        save_image(coffee, target)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_partial_file(coffee, tmp_path, monkeypatch):
    target = save_image(coffee, tmp_path / "out.png")
    before = target.read_bytes()

    def disk_full(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half an image")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(ImageSaveError, match="No space left on device"):
        save_image(np.zeros_like(coffee), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_saved_file_gets_the_usual_permissions(coffee, tmp_path):
    (tmp_path / "plain").touch()
    path = save_image(coffee, tmp_path / "out.png")
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)
