"""Style and colour transfer; importing this package registers its methods under ``stylize``.

Methods (``run(content, style, **params)``, both sRGB images of any sizes, output the content's
size). The first four are plain numpy colour transfers, offline, milliseconds to about a
second at 1 MP:

- ``reinhard``: Lab mean and standard deviation per channel (Reinhard et al. 2001).
- ``mkl``: Lab mean and covariance, linear Monge-Kantorovich map (Pitie and Kokaram 2007).
- ``idt``: the whole Lab distribution, iterative distribution transfer (Pitie et al. 2005/2007).
- ``histogram``: each Lab channel's histogram (scikit-image's ``match_histograms``).
- ``palette``: palette transfer, the style's palette matched to the content's and applied by a
  ``recolor`` method (:mod:`colorlab.stylize.palette`); offline, under a second at 1 MP.
- ``neural``: neural style, Gatys et al. on VGG-19 weights from the Hub
  (:mod:`colorlab.stylize.neural`); minutes on a CPU, unavailable without the weights. Its run
  also takes ``progress(step, total)`` and a ``cancel`` threading.Event.
- ``adain``: arbitrary style transfer in one forward pass (Huang and Belongie 2017,
  :mod:`colorlab.stylize.adain`) with the authors' released weights, downloaded once
  (:mod:`colorlab.releases`). AdaAttN (Liu et al. 2021) is not offered: it publishes no weights
  that can be pinned.

Every method takes ``strength`` (blend with the content in Lab; 0 is the content) and
``preserve_lightness`` (transfer a and b only; the content's L is kept exactly).
"""

from __future__ import annotations

import functools

import numpy as np

from colorlab import releases
from colorlab.methods import Method, Param, register
from colorlab.stylize.adain import adain_style
from colorlab.stylize.neural import (
    DEFAULT_CONTENT_WEIGHT,
    DEFAULT_ITERATIONS,
    DEFAULT_MAX_SIZE,
    DEFAULT_STYLE_WEIGHT,
    neural_style,
    vgg19_unavailable,
)
from colorlab.stylize.palette import RECOLOR_METHODS, palette_transfer
from colorlab.stylize.transfer import histogram, idt, mkl, reinhard

__all__ = ["adain", "histogram", "idt", "mkl", "neural_style", "palette_transfer", "reinhard"]

STRENGTH = Param(
    "strength",
    1.0,
    "how far to go: 0 keeps the content, 1 is the full transfer (blended in Lab)",
    minimum=0,
    maximum=1,
)
PRESERVE_LIGHTNESS = Param(
    "preserve_lightness",
    False,
    "keep the content's lightness exactly and transfer only its colours (a and b)",
)

for _run, _title, _summary, _params in (
    (
        reinhard,
        "Reinhard (mean, spread)",
        "Shifts and scales each Lab channel to the style's mean and standard deviation "
        "(Reinhard et al. 2001). The fastest; ignores how colours vary together.",
        (),
    ),
    (
        mkl,
        "Monge-Kantorovich (linear)",
        "Moves the Lab colours by the linear optimal-transport map onto the style's mean and "
        "covariance (Pitie and Kokaram 2007): correlated colours move together, with no grain.",
        (),
    ),
    (
        idt,
        "Iterative distribution",
        "Matches the whole Lab colour distribution by repeated 1-D histogram matching along "
        "random axes (Pitie et al. 2005/2007). The closest match; regrain removes its grain.",
        (
            Param("iterations", 20, "rotate-and-match rounds", minimum=1, maximum=100),
            Param("bins", 300, "histogram bins per 1-D match", minimum=16, maximum=4096),
            Param(
                "regrain",
                False,
                "keep the content's gradients (Pitie et al. 2007): removes stretched noise",
            ),
            Param("seed", 0, "seed of the random axes (same seed, same result)", minimum=0),
        ),
    ),
    (
        histogram,
        "Histogram matching (Lab)",
        "Matches the histogram of each Lab channel separately (scikit-image). Exact per "
        "channel, but channels are independent, so colour combinations can be unnatural.",
        (),
    ),
):
    register(
        Method(
            "stylize",
            _run.__name__,
            _title,
            _summary,
            _run,
            (STRENGTH, PRESERVE_LIGHTNESS, *_params),
            preserve="preserve_lightness",
        )
    )

register(
    Method(
        "stylize",
        "palette",
        "Palette transfer",
        "Extracts both palettes, gives each content colour the style's lightness at its rank "
        "and the style hue that moves it least, and recolours the content with a recolor "
        "method (Chang's by default). Keeps the image's structure; under a second at 1 MP.",
        palette_transfer,
        (
            STRENGTH,
            PRESERVE_LIGHTNESS,
            Param("k", 5, "palette colours taken from each image", minimum=2, maximum=10),
            Param(
                "recolor_method",
                "chang",
                "the recolor method that moves the content's colours (PaletteNet needs weights)",
                choices=RECOLOR_METHODS,
            ),
        ),
        preserve="preserve_lightness",
    )
)
register(
    Method(
        "stylize",
        "neural",
        "Neural style (Gatys, VGG-19)",
        "Repaints the content with the style's textures and colours by optimising VGG-19 "
        "feature statistics (Gatys et al. 2016). Minutes on a CPU; needs the VGG-19 weights "
        "from the Hugging Face Hub (timm/vgg19.tv_in1k).",
        neural_style,
        (
            STRENGTH,
            Param(
                "preserve_colors",
                False,
                "keep the content's colours: only the lightness is stylised (Gatys et al. 2017)",
            ),
            PRESERVE_LIGHTNESS,
            Param(
                "iterations",
                DEFAULT_ITERATIONS,
                "L-BFGS iterations (one loss evaluation each); a few hundred finish the painting",
                minimum=1,
                maximum=1000,
            ),
            Param(
                "max_size",
                DEFAULT_MAX_SIZE,
                "long side (pixels) the image is painted at, then upsampled; time grows with "
                "its square",
                minimum=64,
                maximum=1024,
            ),
            Param(
                "style_weight", DEFAULT_STYLE_WEIGHT, "weight of the style (Gram) loss", minimum=0
            ),
            Param(
                "content_weight", DEFAULT_CONTENT_WEIGHT, "weight of the content loss", minimum=0
            ),
        ),
        unavailable=vgg19_unavailable,
        long_running=True,
        preserve="preserve_colors",  # the switch the app offers: keep the content's colours
    )
)


def adain(
    content: np.ndarray, style: np.ndarray, strength: float = 1.0, preserve_lightness: bool = False
) -> np.ndarray:
    """AdaIN with the released weights (see :func:`colorlab.stylize.adain.adain_style`)."""
    model = releases.load_module("adain")
    return adain_style(content, style, model, strength, preserve_lightness)


register(
    Method(
        "stylize",
        "adain",
        "AdaIN (Huang 2017)",
        "Huang and Belongie 2017, arbitrary style transfer in one forward pass: the content's"
        " VGG features take the style's channel means and spreads, and the authors' decoder"
        " paints them. Seconds on a CPU; weights downloaded once from the authors' release.",
        adain,
        (STRENGTH, PRESERVE_LIGHTNESS),
        preserve="preserve_lightness",
        unavailable=functools.partial(releases.unavailable, "adain"),
        details=functools.partial(releases.explain, "adain"),
    )
)
