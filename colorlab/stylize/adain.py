"""Arbitrary style transfer by adaptive instance normalisation (Huang and Belongie 2017).

One forward pass: the content's VGG-19 features at relu4_1 are given the channel-wise mean and
standard deviation of the style's (AdaIN), and a decoder trained for it paints the result.
The layers follow naoto0804/pytorch-AdaIN's ``net.py``: the "normalised" VGG-19 (a 1x1
preprocessing convolution, reflection padding, the network cut after relu4_1) and its mirror
decoder, so the released ``vgg_normalised.pth`` and ``decoder.pth`` load as they are
(``vgg_normalised.pth`` holds the whole VGG-19; only its first 31 modules are used).

Each image is shrunk so its short side is at most 512 px (the authors' test size), and the
result is brought back to the content's size.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from colorlab.errors import InvalidParameterError
from colorlab.nn import resize
from colorlab.stylize.transfer import _image, transfer_in_lab

MAX_SHORT_SIDE = 512
MIN_SIDE = 16  # three 2x2 poolings still leave relu4_1 a pixel or two
ENCODER_DEPTH = 31  # vgg_normalised's modules up to relu4_1
EPS = 1e-5  # the authors' calc_mean_std


def _pad_conv(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3), nn.ReLU()]


def _pool() -> nn.Module:
    return nn.MaxPool2d(2, 2, 0, ceil_mode=True)


def vgg_normalised() -> nn.Sequential:
    """The whole normalised VGG-19 in the authors' layout (modules 0 to 52)."""
    widths = [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512] * 4]
    layers: list[nn.Module] = [nn.Conv2d(3, 3, 1)]
    channels = 3
    for stage, stage_widths in enumerate(widths):
        if stage:
            layers.append(_pool())
        for width in stage_widths:
            layers += _pad_conv(channels, width)
            channels = width
    return nn.Sequential(*layers)


def decoder() -> nn.Sequential:
    """The decoder of relu4_1 features back to an image, in the authors' layout."""
    plan = [(512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up"]
    plan += [(128, 128), (128, 64), "up", (64, 64)]
    layers: list[nn.Module] = []
    for step in plan:
        layers += (
            [nn.Upsample(scale_factor=2, mode="nearest")] if step == "up" else _pad_conv(*step)
        )
    return nn.Sequential(*layers, nn.ReflectionPad2d(1), nn.Conv2d(64, 3, 3))


def mean_std(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per channel mean and standard deviation (B, C, 1, 1), as the authors compute them."""
    flat = features.flatten(2)
    variance = flat.var(dim=2) + EPS
    return flat.mean(dim=2)[..., None, None], variance.sqrt()[..., None, None]


def adaptive_instance_norm(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """``content`` features with each channel's mean and deviation replaced by the style's."""
    content_mean, content_std = mean_std(content)
    style_mean, style_std = mean_std(style)
    return (content - content_mean) / content_std * style_std + style_mean


class AdaIN(nn.Module):
    """Encoder (``vgg``, all 53 modules kept so the file loads strictly) and ``decoder``."""

    def __init__(self) -> None:
        super().__init__()
        self.vgg = vgg_normalised()
        self.decoder = decoder()

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        return self.vgg[:ENCODER_DEPTH](image)

    def forward(
        self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0
    ) -> torch.Tensor:
        """sRGB (1, 3, H, W) in [0, 1] each -> the stylized image; ``alpha`` blends features."""
        content_features = self.encode(content)
        target = adaptive_instance_norm(content_features, self.encode(style))
        target = alpha * target + (1 - alpha) * content_features
        return self.decoder(target)


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    height, width = image.shape[:2]
    scale = min(1.0, MAX_SHORT_SIDE / min(height, width))
    shape = max(1, round(height * scale)), max(1, round(width * scale))
    if min(shape) < MIN_SIDE:
        raise InvalidParameterError(
            f"AdaIN needs at least {MIN_SIDE} px on each side; got {width}x{height}"
        )
    return resize(tensor, shape) if shape != (height, width) else tensor


def adain_style(
    content: np.ndarray,
    style: np.ndarray,
    model: AdaIN,
    strength: float = 1.0,
    preserve_lightness: bool = False,
) -> np.ndarray:
    """``content`` in the style of ``style``, (H, W, 3) sRGB of the content's size.

    ``strength`` is AdaIN's alpha (0: the content's own features, decoded); with
    ``preserve_lightness`` the content's L is kept and only colours change.
    """
    content, style = _image(content, "content"), _image(style, "style")
    if not 0 <= strength <= 1:
        raise InvalidParameterError(f"strength must be in [0, 1], got {strength}")
    if strength == 0:
        return content.copy()
    with torch.inference_mode():
        out = model(_to_tensor(content), _to_tensor(style), strength)
        out = resize(out, content.shape[:2]).clamp(0, 1)
    stylized = out[0].permute(1, 2, 0).numpy()
    return transfer_in_lab(content, stylized, lambda _, given: given, 1.0, preserve_lightness)
