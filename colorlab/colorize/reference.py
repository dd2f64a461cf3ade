"""Zhang et al.'s published colorizers, written for their released weights.

- :class:`ECCV16` (Zhang, Isola, Efros 2016): 313 colour classes, decoded by a 1x1 convolution
  whose weights are the classes' ab centres (the annealed mean).
- :class:`SIGGRAPH17` (Zhang et al. 2017): L plus user hints (ab and a mask) in, ab out through
  its regression head; its 529-class head is in the file and kept, unused.

The layers and their order follow richzhang/colorization's ``colorizers/eccv16.py`` and
``siggraph17.py``, so the official state dicts (``model1.0.weight`` ... ``model_out.weight``)
load as they are. Inputs are L in [0, 100] and ab in Lab units; each network does its own
scaling ((L - 50) / 100, ab / 110) as the authors' do.

The authors resize every image to 256 x 256; here the short side goes to 256 and the aspect
ratio is kept (a panorama squashed to a square loses its shapes), unless ``keep_aspect=False``
asks for their exact preprocessing. ab is predicted at that size, upsampled bilinearly and
joined to the full-resolution L.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorlab import releases
from colorlab.color import lab_to_srgb, srgb_to_lightness
from colorlab.colorize.hints import Hints, checked_input
from colorlab.errors import InvalidParameterError
from colorlab.methods import Method, Param, register
from colorlab.nn import pad_to_multiple, resize

L_CENT, L_NORM, AB_NORM = 50.0, 100.0, 110.0  # the authors' BaseColor scalings
INPUT_SIZE = 256  # the side (short side here) the released models were trained at
STRIDE = 8  # both networks halve the resolution three times


def conv_block(
    channels: list[int], *, dilation: int = 1, last_stride: int = 1, leading_relu: bool = False
) -> nn.Sequential:
    """3x3 convolutions each followed by ReLU, then BatchNorm: the authors' ``modelN`` blocks.

    ``leading_relu`` starts with a ReLU (SIGGRAPH17's decoder blocks, which follow a sum).
    """
    layers: list[nn.Module] = [nn.ReLU(True)] if leading_relu else []
    pairs = list(zip(channels[:-1], channels[1:], strict=True))
    for index, (a, b) in enumerate(pairs):
        stride = last_stride if index == len(pairs) - 1 else 1
        layers += [nn.Conv2d(a, b, 3, stride, padding=dilation, dilation=dilation), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.BatchNorm2d(channels[-1]))


class ECCV16(nn.Module):
    """The ECCV 2016 network: L (B, 1, H, W) in [0, 100] -> ab (B, 2, H, W) in Lab units."""

    def __init__(self) -> None:
        super().__init__()
        self.model1 = conv_block([1, 64, 64], last_stride=2)
        self.model2 = conv_block([64, 128, 128], last_stride=2)
        self.model3 = conv_block([128, 256, 256, 256], last_stride=2)
        self.model4 = conv_block([256, 512, 512, 512])
        self.model5 = conv_block([512, 512, 512, 512], dilation=2)
        self.model6 = conv_block([512, 512, 512, 512], dilation=2)
        self.model7 = conv_block([512, 512, 512, 512])
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(True),
            nn.Conv2d(256, 313, 1),
        )
        self.model_out = nn.Conv2d(313, 2, 1, bias=False)  # weights: the classes' ab / 110

    def logits(self, lightness: torch.Tensor) -> torch.Tensor:
        """Class scores (B, 313, H / 4, W / 4)."""
        x = (lightness - L_CENT) / L_NORM
        for block in (self.model1, self.model2, self.model3, self.model4, self.model5):
            x = block(x)
        return self.model8(self.model7(self.model6(x)))

    def forward(self, lightness: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """ab at the input size; ``temperature`` 1 is the authors' output (the mean), lower
        anneals toward the mode."""
        weights = torch.softmax(self.logits(lightness) / temperature, dim=1)
        ab = self.model_out(weights) * AB_NORM
        return F.interpolate(ab, scale_factor=4, mode="bilinear")


class SIGGRAPH17(nn.Module):
    """The SIGGRAPH 2017 network: L (B, 1, H, W) in [0, 100], hint ab (B, 2, H, W) in Lab units
    and hint mask (B, 1, H, W) in {0, 1} -> ab (B, 2, H, W) in Lab units."""

    def __init__(self, classes: int = 529) -> None:
        super().__init__()
        self.model1 = conv_block([4, 64, 64])
        self.model2 = conv_block([64, 128, 128])
        self.model3 = conv_block([128, 256, 256, 256])
        self.model4 = conv_block([256, 512, 512, 512])
        self.model5 = conv_block([512, 512, 512, 512], dilation=2)
        self.model6 = conv_block([512, 512, 512, 512], dilation=2)
        self.model7 = conv_block([512, 512, 512, 512])
        self.model8up = nn.Sequential(nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1))
        self.model3short8 = nn.Sequential(nn.Conv2d(256, 256, 3, padding=1))
        self.model8 = conv_block([256, 256, 256], leading_relu=True)
        self.model9up = nn.Sequential(nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1))
        self.model2short9 = nn.Sequential(nn.Conv2d(128, 128, 3, padding=1))
        self.model9 = conv_block([128, 128], leading_relu=True)
        self.model10up = nn.Sequential(nn.ConvTranspose2d(128, 128, 4, stride=2, padding=1))
        self.model1short10 = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1))
        self.model10 = nn.Sequential(
            nn.ReLU(True), nn.Conv2d(128, 128, 3, padding=1), nn.LeakyReLU(0.2)
        )
        self.model_class = nn.Sequential(nn.Conv2d(256, classes, 1))  # in the file; unused
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())

    def forward(
        self, lightness: torch.Tensor, hint_ab: torch.Tensor, hint_mask: torch.Tensor
    ) -> torch.Tensor:
        x = torch.cat([(lightness - L_CENT) / L_NORM, hint_ab / AB_NORM, hint_mask], dim=1)
        conv1 = self.model1(x)
        conv2 = self.model2(conv1[:, :, ::2, ::2])
        conv3 = self.model3(conv2[:, :, ::2, ::2])
        x = self.model4(conv3[:, :, ::2, ::2])
        x = self.model7(self.model6(self.model5(x)))
        x = self.model8(self.model8up(x) + self.model3short8(conv3))
        x = self.model9(self.model9up(x) + self.model2short9(conv2))
        x = self.model10(self.model10up(x) + self.model1short10(conv1))
        return self.model_out(x) * AB_NORM


def input_shape(shape: tuple[int, int], keep_aspect: bool = True) -> tuple[int, int]:
    """The size the network sees: short side 256 with the aspect kept, or 256 x 256."""
    if not keep_aspect:
        return INPUT_SIZE, INPUT_SIZE
    height, width = shape
    scale = INPUT_SIZE / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def colorize_reference(
    image: np.ndarray,
    model: ECCV16 | SIGGRAPH17,
    hints: Hints | None = None,
    temperature: float = 1.0,
    keep_aspect: bool = True,
) -> np.ndarray:
    """Colorize ``image`` ((H, W) or (H, W, 3) in [0, 1]) with a reference model -> sRGB.

    ``hints`` (full resolution) only for SIGGRAPH17; ``temperature`` only for ECCV16. The
    output keeps the input's L exactly.
    """
    image, shape = checked_input(image, temperature, hints)
    lightness = srgb_to_lightness(image)
    work = input_shape(shape, keep_aspect)
    with torch.inference_mode():
        small = pad_to_multiple(resize(torch.from_numpy(lightness)[None, None], work), STRIDE)
        if isinstance(model, SIGGRAPH17):
            fitted = hints.fitted_to(lightness) if hints is not None else Hints.empty(shape)
            channels = torch.from_numpy(fitted.channels(work))[None]
            height, width = small.shape[-2:]  # zeros, not copies of the border's hints
            channels = F.pad(channels, (0, width - work[1], 0, height - work[0]))
            ab = model(small, channels[:, :2] * AB_NORM, channels[:, 2:])
        else:
            ab = model(small, temperature)
        ab = F.interpolate(ab[..., : work[0], : work[1]], size=shape, mode="bilinear")
    lab = np.empty((*shape, 3), dtype=np.float32)
    lab[..., 0] = lightness
    lab[..., 1:] = ab[0].permute(1, 2, 0).numpy()
    return lab_to_srgb(lab, keep_lightness=True)


def _colorize_eccv16(
    image: np.ndarray,
    hints: Hints | None = None,
    temperature: float = 1.0,
    keep_aspect: bool = True,
) -> np.ndarray:
    if hints is not None and hints.count:
        raise InvalidParameterError(
            "the eccv16 method takes no colour hints; use siggraph17 or classification"
        )
    model = releases.load_module("eccv16")
    return colorize_reference(image, model, temperature=temperature, keep_aspect=keep_aspect)


def _colorize_siggraph17(
    image: np.ndarray, hints: Hints | None = None, keep_aspect: bool = True
) -> np.ndarray:
    model = releases.load_module("siggraph17")
    return colorize_reference(image, model, hints, keep_aspect=keep_aspect)


KEEP_ASPECT = Param(
    "keep_aspect",
    True,
    "resize the short side to 256 px and keep the aspect ratio; off: squash to 256 x 256 as"
    " the authors' demo does",
)


def _reference(
    name: str,
    title: str,
    summary: str,
    run: Callable[..., np.ndarray],
    params: tuple[Param, ...],
    takes_hints: bool = False,
) -> Method:
    """A colorize method on a release's weights: unavailable (one line) while they can't be had."""
    return Method(
        "colorize",
        name,
        title,
        summary,
        run,
        params,
        unavailable=functools.partial(releases.unavailable, name),
        details=functools.partial(releases.explain, name),
        takes_hints=takes_hints,
    )


register(
    _reference(
        "eccv16",
        "Zhang 2016 (ECCV16)",
        "Zhang et al.'s released ECCV 2016 colorizer (313 colour classes). Temperature 1 is their"
        " output; lower anneals toward vivid colours. Weights downloaded once.",
        _colorize_eccv16,
        (
            Param(
                "temperature",
                1.0,
                "annealed-mean temperature; 1 = the authors' released decoding",
                minimum=0.01,
                maximum=1.0,
            ),
            KEEP_ASPECT,
        ),
    )
)
register(
    _reference(
        "siggraph17",
        "Zhang 2017 (SIGGRAPH17)",
        "Zhang et al.'s released SIGGRAPH 2017 user-guided colorizer; takes colour hints."
        " Weights downloaded once.",
        _colorize_siggraph17,
        (KEEP_ASPECT,),
        takes_hints=True,
    )
)
