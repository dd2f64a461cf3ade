"""Shared fixtures: real photographs bundled with scikit-image, as float32 sRGB in [0, 1]."""

import numpy as np
import pytest
from skimage import data
from skimage.transform import resize


def _photo(name: str, max_side: int | None = None) -> np.ndarray:
    image = getattr(data, name)()[..., :3].astype(np.float32) / 255
    if max_side is not None and max(image.shape[:2]) > max_side:
        scale = max_side / max(image.shape[:2])
        shape = (round(image.shape[0] * scale), round(image.shape[1] * scale), 3)
        image = resize(image, shape, anti_aliasing=True).astype(np.float32)
    return image


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """512 x 512 colour portrait."""
    return _photo("astronaut")


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """400 x 600 colour still life."""
    return _photo("coffee")


@pytest.fixture(scope="session")
def small_photos() -> list[np.ndarray]:
    """Several different colour photos, at most 128 px on a side, for property tests."""
    return [_photo(name, 128) for name in ("astronaut", "coffee", "chelsea", "rocket", "retina")]
