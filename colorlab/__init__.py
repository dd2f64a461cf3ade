"""ColorLab: recolor, colorize and restyle images, and run colour preference studies.

The public API is small: load and save images, extract a palette, and run any registered method.

>>> import colorlab
>>> image = colorlab.load_image("photo.jpg")              # (H, W, 3) float32 sRGB in [0, 1]
>>> palette = colorlab.extract_palette(image, k=4)
>>> method = colorlab.get_method("recolor", "chang")
>>> out = method.run(image, source_palette=palette.colors, target_palette=new_colors)
>>> colorlab.save_image(out, "recolored.png")

Tasks: ``recolor``, ``colorize`` and ``stylize`` (``colorlab.list_methods(task)``); the A/B
arena's store, ratings and surveys are in :mod:`colorlab.arena`.
"""

from colorlab.errors import ColorLabError
from colorlab.imageio import load_image, save_image
from colorlab.methods import get_method, list_methods
from colorlab.palette import Palette, extract_palette

__version__ = "0.1.0"

__all__ = [
    "ColorLabError",
    "Palette",
    "__version__",
    "extract_palette",
    "get_method",
    "list_methods",
    "load_image",
    "save_image",
]
