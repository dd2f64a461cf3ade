"""Example photos for the app: scikit-image's bundled colour photographs, written once as PNG."""

import os
import tempfile
from pathlib import Path

from PIL import Image

EXAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
_FOLDER = Path(tempfile.gettempdir()) / "colorlab-examples"


def example_paths() -> list[str]:
    """Paths of the example PNGs, written on first use (scikit-image ships them as arrays)."""
    from skimage import data

    _FOLDER.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in EXAMPLE_PHOTOS:
        path = _FOLDER / f"{name}.png"
        if not path.exists():  # write then rename, so a parallel app never reads half a file
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            Image.fromarray(getattr(data, name)()[..., :3]).save(partial, format="PNG")
            partial.replace(path)
        paths.append(str(path))
    return paths
