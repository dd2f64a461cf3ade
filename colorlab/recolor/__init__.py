"""Palette recoloring methods; importing this package registers them under the task ``recolor``."""

from colorlab.recolor import chang, palettenet  # noqa: F401  (registers "chang", "palettenet")
