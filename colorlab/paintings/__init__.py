"""Public-domain paintings shipped as style examples (credited in this folder's README.md).

The app's Style tab pairs them with photos (:mod:`colorlab.ui.examples`), and the arena's
stylize battles take their style from one (:mod:`colorlab.arena.battles`).
"""

from pathlib import Path

FOLDER = Path(__file__).parent
PAINTER = "Vincent van Gogh (public domain)"
PAINTINGS = {  # file in FOLDER -> what it shows (a description, not a catalogued title)
    "vangogh-00021.jpg": "café terrace at night",
    "vangogh-00046.jpg": "fishing boats on a beach",
    "vangogh-00061.jpg": "haystacks",
    "vangogh-00114.jpg": "a blossoming tree",
}
