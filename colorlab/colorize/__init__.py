"""Grayscale colorization; importing this package registers its methods under ``colorize``.

Methods (all trained here, weights through :mod:`colorlab.hub`):

- ``classification``: the main model, classes + rebalancing + annealed mean (Zhang et al. 2016),
  with user colour hints (Zhang et al. 2017). ``temperature`` sets vivid (low) vs safe (high).
- ``paintings``: the same model fine-tuned on paintings (the seed 001 system).
- ``regression``: L1 regression baseline (desaturated, brownish by construction).
- ``pix2pix``: conditional GAN baseline.
- ``eccv16`` and ``siggraph17``: Zhang et al.'s own networks with their released weights,
  downloaded once (:mod:`colorlab.colorize.reference`, :mod:`colorlab.releases`).

Any input size: the image's L is shrunk to the working size (long side ``working_size`` px),
the network predicts ab there, ab is upsampled bilinearly to the full image and recombined with
the full-resolution L, so the output's lightness is the input's exactly. A colour input is
converted to L first (its colours are discarded).
"""

from __future__ import annotations

import numpy as np
import torch

from colorlab.color import lab_to_srgb, srgb_to_lab, srgb_to_lightness
from colorlab.colorize.bins import DEFAULT_TEMPERATURE
from colorlab.colorize.hints import Hints, checked_input, hints_from_points
from colorlab.colorize.models import ColorizerNet
from colorlab.errors import InvalidParameterError
from colorlab.methods import Method, Param, get_method, list_methods, register
from colorlab.nn import AB_SCALE, resize, scale_lightness, working_shape

__all__ = ["Hints", "colorize", "grey", "hints_from_points", "load_colorizer"]

DEFAULT_WORKING_SIZE = 256
MODELS = {  # method name -> checkpoint name in colorlab.hub
    "classification": "colorizer",
    "paintings": "colorizer_paintings",
    "regression": "colorizer_regression",
    "pix2pix": "colorizer_pix2pix",
}


def load_colorizer(name: str = "colorizer", local_dir: str | None = None) -> ColorizerNet:
    """A trained colorizer in eval mode, loaded through ``colorlab.hub`` once per process."""
    from colorlab.hub import load_model

    return load_model(ColorizerNet, name, local_dir, required_keys=("kind", "channels"))


def colorize(
    image: np.ndarray,
    model: ColorizerNet,
    temperature: float = DEFAULT_TEMPERATURE,
    hints: Hints | None = None,
    working_size: int = DEFAULT_WORKING_SIZE,
) -> np.ndarray:
    """Colorize ``image`` ((H, W) or (H, W, 3) in [0, 1]; colours ignored) -> (H, W, 3) sRGB.

    ``hints`` (full resolution) are only for models trained with them; the output keeps the
    input's Lab L exactly.
    """
    if not 64 <= working_size <= 1024:
        raise InvalidParameterError(f"working_size must be 64 to 1024, got {working_size}")
    image, shape = checked_input(image, temperature, hints)
    has_hints = hints is not None and hints.count > 0
    if has_hints and not model.hints:
        raise InvalidParameterError(
            f"this {model.kind} model takes no colour hints; use one that does "
            f"({', '.join(hint_methods())})"
        )
    lightness = srgb_to_lightness(image)
    work = working_shape(shape, working_size)
    with torch.inference_mode():
        scaled = scale_lightness(torch.from_numpy(lightness)[None, None])
        if work != shape:
            scaled = resize(scaled, work)
        hint_channels = None
        if model.hints:
            hints = hints.fitted_to(lightness) if has_hints else Hints.empty(shape)
            hint_channels = torch.from_numpy(hints.channels(work))[None]
        scaled = scaled.contiguous(memory_format=torch.channels_last)
        ab = model.predict_ab(scaled, hint_channels, temperature, size=shape)[0] * AB_SCALE
    lab = np.empty((*shape, 3), dtype=np.float32)
    lab[..., 0] = lightness
    lab[..., 1:] = ab.permute(1, 2, 0).numpy()
    return lab_to_srgb(lab, keep_lightness=True)


def hint_methods() -> list[str]:
    """The colorize methods that take colour hints."""
    return [m.name for m in list_methods("colorize") if m.takes_hints]


def grey(image: np.ndarray) -> np.ndarray:
    """The image's L with ab = 0: the baseline every colorizer must beat on colour."""
    lab = srgb_to_lab(np.asarray(image, dtype=np.float32))
    lab[..., 1:] = 0
    return lab_to_srgb(lab)


def _method_run(method: str):
    def run(
        image: np.ndarray,
        hints: Hints | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        working_size: int = DEFAULT_WORKING_SIZE,
    ) -> np.ndarray:
        if hints is not None and hints.count and not get_method("colorize", method).takes_hints:
            raise InvalidParameterError(
                f"the {method} method takes no colour hints; use {' or '.join(hint_methods())}"
            )
        model = load_colorizer(MODELS[method])
        return colorize(image, model, temperature, hints, working_size)

    return run


WORKING_SIZE = Param(
    "working_size",
    DEFAULT_WORKING_SIZE,
    "long side (pixels) at which the network predicts colour; larger is slower",
    minimum=64,
    maximum=1024,
)
TEMPERATURE = Param(
    "temperature",
    DEFAULT_TEMPERATURE,
    "annealed-mean temperature: low = vivid (the most likely colour), 1 = the mean (dull)",
    minimum=0.01,
    maximum=1.0,
)

for _name, _title, _summary, _params in (
    (
        "classification",
        "Classification + hints",
        "Zhang et al. 2016/2017, trained here: predicts a distribution over colours per pixel, "
        "rebalanced toward rare vivid colours, decoded at a temperature. Takes colour hints.",
        (TEMPERATURE, WORKING_SIZE),
    ),
    (
        "paintings",
        "Classification, paintings",
        "The classification model fine-tuned on Van Gogh paintings. Takes colour hints.",
        (TEMPERATURE, WORKING_SIZE),
    ),
    (
        "regression",
        "Regression baseline (L1)",
        "Predicts the colour directly; averages plausible colours, so results look brownish.",
        (WORKING_SIZE,),
    ),
    (
        "pix2pix",
        "pix2pix baseline (GAN)",
        "U-Net trained with L1 plus a PatchGAN discriminator (Isola et al. 2017). No hints.",
        (WORKING_SIZE,),
    ),
):
    register(
        Method(
            "colorize",
            _name,
            _title,
            _summary,
            _method_run(_name),
            _params,
            takes_hints=_name in ("classification", "paintings"),  # trained with them
        )
    )

from colorlab.colorize import reference  # noqa: E402, F401 - registers eccv16 and siggraph17
