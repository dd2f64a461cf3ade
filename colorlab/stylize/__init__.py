"""Style and colour transfer; importing this package registers its methods under ``stylize``.

Methods (``run(content, style, **params)``, both sRGB images of any sizes, output the content's
size), all plain numpy and offline, milliseconds to about a second at 1 MP:

- ``reinhard``: Lab mean and standard deviation per channel (Reinhard et al. 2001).
- ``mkl``: Lab mean and covariance, linear Monge-Kantorovich map (Pitie and Kokaram 2007).
- ``idt``: the whole Lab distribution, iterative distribution transfer (Pitie et al. 2005/2007).
- ``histogram``: each Lab channel's histogram (scikit-image's ``match_histograms``).

Every method takes ``strength`` (blend with the content in Lab; 0 is the content) and
``preserve_lightness`` (transfer a and b only; the content's L is kept exactly).
"""

from __future__ import annotations

from colorlab.methods import Method, Param, register
from colorlab.stylize.transfer import histogram, idt, mkl, reinhard

__all__ = ["histogram", "idt", "mkl", "reinhard"]

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
        "Reinhard (mean and spread)",
        "Shifts and scales each Lab channel to the style's mean and standard deviation "
        "(Reinhard et al. 2001). The fastest; ignores how colours vary together.",
        (),
    ),
    (
        mkl,
        "Linear Monge-Kantorovich (mean and covariance)",
        "Moves the Lab colours by the linear optimal-transport map onto the style's mean and "
        "covariance (Pitie and Kokaram 2007): correlated colours move together, with no grain.",
        (),
    ),
    (
        idt,
        "Iterative distribution transfer",
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
        "Histogram matching (per Lab channel)",
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
        )
    )
