"""Example images for the app: scikit-image's bundled photographs, written once as PNG, and
the public-domain paintings of :mod:`colorlab.paintings` as styles."""

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from colorlab.paintings import FOLDER, PAINTER, PAINTINGS

EXAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
# Two photos that were taken in grey, and three colour ones shown in grey: their true colours
# are known, so a colorization of them can be judged.
GREY_PHOTOS = ("camera", "moon", "astronaut", "coffee", "chelsea")
# Style transfer: (photo, painting) pairs on which every fast method looks good, picked from a
# contact sheet of each photo restyled by each painting with each of them.
STYLE_PAIRS = (
    ("chelsea", "vangogh-00021.jpg"),
    ("coffee", "vangogh-00061.jpg"),
    ("astronaut", "vangogh-00046.jpg"),
    ("astronaut", "vangogh-00114.jpg"),
    ("rocket", "vangogh-00021.jpg"),
)
_FOLDER = Path(tempfile.gettempdir()) / "colorlab-examples"


def example_paths(names: Sequence[str] = EXAMPLE_PHOTOS) -> list[str]:
    """Paths of colour example PNGs (scikit-image ``data`` names), written on first use."""
    return [_written(name, "", lambda photo: photo[..., :3]) for name in names]


def style_pair_paths() -> list[list[str]]:
    """[content photo, style painting] paths of each of :data:`STYLE_PAIRS`, for one
    ``gr.Examples`` over both inputs."""
    return [[*example_paths((photo,)), str(FOLDER / file)] for photo, file in STYLE_PAIRS]


def painting_credits() -> str:
    """The line crediting the style paintings, naming each work."""
    return f"Style paintings by {PAINTER}: {', '.join(PAINTINGS.values())}."


def grey_example_paths() -> list[str]:
    """Paths of the grey example PNGs (8-bit greyscale files), written on first use."""
    return [_written(name, "-grey", _grey) for name in GREY_PHOTOS]


def _grey(photo: np.ndarray) -> np.ndarray:
    return photo if photo.ndim == 2 else np.asarray(Image.fromarray(photo[..., :3]).convert("L"))


def _written(name: str, suffix: str, convert) -> str:
    from skimage import data

    _FOLDER.mkdir(parents=True, exist_ok=True)
    path = _FOLDER / f"{name}{suffix}.png"
    if not path.exists():  # write then rename, so a parallel app never reads half a file
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        Image.fromarray(convert(getattr(data, name)())).save(partial, format="PNG")
        partial.replace(path)
    return str(path)
