"""The colorization networks: one compact U-Net, three heads.

- ``classification`` (Zhang et al. 2016/2017, the main model): input L and hint channels (hint ab
  / 110 and a hint mask; all zero when there are no hints), output logits over the colour
  classes of :mod:`colorlab.colorize.bins` at a quarter of the input resolution, decoded with the
  annealed mean. The class centres and prior are buffers, so a checkpoint carries its classes.
- ``regression``: the same network predicting ab directly (tanh x 110), trained with L1: the
  "custom CNN" baseline of the seed reports, which averages plausible colours into brown.
- ``pix2pix``: the same network as generator (L1 x 100 + a PatchGAN's adversarial loss,
  Isola et al. 2017).

All take scaled L, ``L / 50 - 1``, shape (B, 1, H, W), plus (B, 3, H, W) hint channels when the
config says ``hints``. :meth:`ColorizerNet.predict_ab` returns ab / 110 at the input size or any
other (the head's output upsampled bilinearly, each cell where it belongs): inference and
training's validation share it. Inputs of any size are padded to the stride internally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from colorlab.colorize.bins import DEFAULT_TEMPERATURE
from colorlab.nn import AB_SCALE, Encoder, conv3x3, pad_to_multiple

KINDS = ("classification", "regression", "pix2pix")
DEFAULT_CONFIG: dict[str, Any] = {
    "architecture": "colorizer",
    "kind": "classification",
    "channels": [32, 64, 128, 256],  # encoder widths at strides 2, 4, 8, 16
    "hints": True,  # take hint ab + mask as input (Zhang et al. 2017)
    "num_bins": 313,
}
OUTPUT_STRIDE = 4  # the head predicts at a quarter of the input resolution, as in the paper


class UpStage(nn.Module):
    """Upsample x2, concatenate the encoder skip, two 3x3 convolutions."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels + skip_channels, out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear")
        x = F.relu(self.conv1(torch.cat([x, skip], dim=1)))
        return F.relu(self.conv2(x))


class ColorizerNet(nn.Module):
    """L (+ hints) -> class logits or ab at 1/4 resolution; see the module docstring.

    The bottleneck (stride 16) adds a global context vector (the mean of its features through
    a linear layer) to every position: colour depends on what the whole scene is.

    >>> net = ColorizerNet({"num_bins": 10}).eval()
    >>> net(torch.zeros(1, 1, 50, 70), torch.zeros(1, 3, 50, 70)).shape
    torch.Size([1, 10, 13, 18])
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = {**DEFAULT_CONFIG, **(config or {})}
        kind = self.config["kind"]
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        channels: Sequence[int] = [int(c) for c in self.config["channels"]]
        self.kind, self.hints = kind, bool(self.config["hints"])
        self.stride = 2 ** len(channels)
        self.encoder = Encoder(channels, in_channels=4 if self.hints else 1)
        self.context = nn.Linear(channels[-1], channels[-1])
        self.bottleneck = conv3x3(channels[-1], channels[-1])
        # Up from stride 16 to stride 4: one stage per encoder level above stride 4.
        levels = len(channels) - 2  # encoder features [1] is at stride 4
        self.ups = nn.ModuleList(
            UpStage(channels[i], channels[i - 1], channels[i - 1])
            for i in range(len(channels) - 1, len(channels) - 1 - levels, -1)
        )
        width = channels[1]
        self.head = conv3x3(width, width)
        outputs = int(self.config["num_bins"]) if kind == "classification" else 2
        self.out = nn.Conv2d(width, outputs, 1)
        if kind == "classification":
            self.register_buffer("bin_centres", torch.zeros(outputs, 2))
            self.register_buffer("bin_prior", torch.full((outputs,), 1.0 / outputs))

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Scaled L (B, 1, H, W) and hints (B, 3, H, W) -> head output at ceil(H/4), ceil(W/4).

        Classification: logits (B, Q, ...); otherwise ab / 110 in (-1, 1), (B, 2, ...).
        """
        height, width = lightness.shape[-2:]
        x = lightness
        if self.hints:
            if hints is None:
                hints = lightness.new_zeros(lightness.shape[0], 3, height, width)
            x = torch.cat([lightness, hints], dim=1)
        features = self.encoder(pad_to_multiple(x, self.stride))
        x = features[-1]
        x = F.relu(self.bottleneck(x) + self.context(x.mean(dim=(2, 3)))[:, :, None, None])
        for up, skip in zip(self.ups, reversed(features[1:-1]), strict=True):
            x = up(x, skip)
        x = self.out(F.relu(self.head(x)))
        x = x[..., : -(-height // OUTPUT_STRIDE), : -(-width // OUTPUT_STRIDE)]
        return x if self.kind == "classification" else torch.tanh(x)

    def decode(self, output: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE):
        """Head output -> ab / 110 at the head's resolution (annealed mean for classes)."""
        if self.kind != "classification":
            return output
        if temperature < 1e-3:  # the limit T -> 0: the mode
            ab = self.bin_centres[output.argmax(dim=1)].permute(0, 3, 1, 2)
        else:
            weights = torch.softmax(output.float() / temperature, dim=1)
            ab = torch.einsum("bqhw,qc->bchw", weights, self.bin_centres)
        return ab / AB_SCALE

    def predict_ab(
        self,
        lightness: torch.Tensor,
        hints: torch.Tensor | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        size: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """ab / 110 (B, 2, *size), by default at the input's size: the one path from the head's
        output to pixels, for inference and for training's validation alike.

        The head sees the input padded to a multiple of ``OUTPUT_STRIDE``, so its output is
        upsampled bilinearly to cover that padded input (scaled to ``size``), then the padding
        is cut off: each cell lands on the pixels it describes.
        """
        ab = self.decode(self(lightness, hints), temperature)
        size = tuple(lightness.shape[-2:]) if size is None else tuple(size)
        covered = [
            round(full * OUTPUT_STRIDE * cells / given)
            for full, cells, given in zip(size, ab.shape[-2:], lightness.shape[-2:], strict=True)
        ]
        return F.interpolate(ab, size=covered, mode="bilinear")[..., : size[0], : size[1]]
