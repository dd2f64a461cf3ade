"""Building blocks shared by ColorLab's networks (PaletteNet, the colorizers), sized for CPUs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# How every network here sees Lab: L in [0, 100] as L / 50 - 1 and ab as ab / 110, both about
# [-1, 1]. The one home of these scalings: models, inference and training data all use them.
L_SCALE = 50.0
AB_SCALE = 110.0


def scale_lightness(lightness):
    """L in [0, 100] -> the networks' input in [-1, 1] (numpy arrays or tensors)."""
    return lightness / L_SCALE - 1


def unscale_lightness(scaled):
    """The inverse of :func:`scale_lightness`."""
    return (scaled + 1) * L_SCALE


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


class ResidualStage(nn.Module):
    """Two 3x3 convolutions, the first with stride 2, around a strided 1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride=2)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.shortcut(x))


class Encoder(nn.Module):
    """Image -> features at strides 2, 4, 8, ... (one per entry of ``channels``).

    A conv block (two 3x3 convolutions, the first with stride 2; at stride 1 it would cost more
    than the rest of the network on a CPU), then residual stages each halving the resolution.
    """

    def __init__(self, channels: Sequence[int], in_channels: int = 3) -> None:
        super().__init__()
        self.stem1 = conv3x3(in_channels, channels[0], stride=2)
        self.stem2 = conv3x3(channels[0], channels[0])
        self.stages = nn.ModuleList(
            ResidualStage(a, b) for a, b in zip(channels[:-1], channels[1:], strict=True)
        )

    def forward(self, source: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu(self.stem2(F.relu(self.stem1(source))))
        features = [x]
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


def pad_to_multiple(tensor: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (replicating the border) at the bottom and right to a multiple of ``multiple``."""
    height, width = tensor.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        tensor = F.pad(tensor, (0, pad_w, 0, pad_h), mode="replicate")
    return tensor


def resize(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (B, C, H, W), antialiased when shrinking."""
    antialias = size[0] < tensor.shape[-2] or size[1] < tensor.shape[-1]
    return F.interpolate(tensor, size=size, mode="bilinear", antialias=antialias)


def working_shape(shape: tuple[int, int], working_size: int) -> tuple[int, int]:
    """(h, w) with the long side at most ``working_size``, aspect kept."""
    height, width = shape
    scale = min(1.0, working_size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))
