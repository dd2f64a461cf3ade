"""The colorization networks: one compact U-Net, three heads.

- ``classification`` (Zhang et al. 2016/2017, the main model): input L and hint channels (hint ab
  / 110 and a hint mask; all zero when there are no hints), output logits over the colour
  classes of :mod:`colorlab.colorize.bins` at a quarter of the input resolution, decoded with the
  annealed mean. The class centres and prior are buffers, so a checkpoint carries its classes.
  Hints enter the decoder, not the encoder (:class:`HintBranch`): the encoder and its global
  context see L only, so a hint can move colours only within its reach (about 50 px of the
  network's input), never across the whole photo.
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

import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from colorlab.colorize.bins import DEFAULT_TEMPERATURE, LAMBDA, rebalancing_weights
from colorlab.nn import AB_SCALE, Encoder, conv3x3, pad_to_multiple

KINDS = ("classification", "regression", "pix2pix")
DEFAULT_CONFIG: dict[str, Any] = {
    "architecture": "colorizer",
    "kind": "classification",
    "channels": [32, 64, 128, 256],  # encoder widths at strides 2, 4, 8, 16
    "hints": True,  # take hint ab + mask as input (Zhang et al. 2017)
    "num_bins": 313,
    # Decoding: divide the annealed distribution by the rebalancing weights to this power (0:
    # Zhang et al.'s rebalanced distribution; see ColorizerNet.decode). 0.79 at the default
    # T 0.38 equals 0.3 divided out before annealing, the value chosen on the training split
    # (`training.evaluate colorize --split train --prior-corrections`): colourfulness near the
    # truth's and PSNR near grey's.
    "prior_correction": 0.79,
    "rebalancing_lambda": LAMBDA,  # the training loss's; decoding divides the same weights out
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


class HintBranch(nn.Module):
    """Hint channels -> features added to the decoder's skips at strides 4 and 8.

    The hints are pooled to stride 4 (mask by max, ab by the mean over hinted pixels, as
    :func:`colorlab.colorize.hints.pool` does at full size) and read beside the encoder's
    stride-4 features of L, so a hint spreads along what L shows and stops at edges. Its reach
    is fixed by the convolutions after it (two at stride 8, three at stride 4): about 50 px at
    the network's input, whatever the image shows. The output convolutions start at zero, so a
    model warm-started from one without hints begins as that model.
    """

    def __init__(self, width4: int, width8: int) -> None:
        super().__init__()
        self.read = conv3x3(3 + width4, width4)
        self.out4 = conv3x3(width4, width4)
        self.down = conv3x3(width4, width8, stride=2)
        self.out8 = conv3x3(width8, width8)
        for conv in (self.out4, self.out8):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(
        self, hints: torch.Tensor, features4: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ab, mask = hints[:, :2], hints[:, 2:]
        coverage = F.avg_pool2d(mask, OUTPUT_STRIDE)
        ab = F.avg_pool2d(ab * mask, OUTPUT_STRIDE) / coverage.clamp_min(1e-6)
        x = F.relu(self.read(torch.cat([ab, (coverage > 0).to(ab.dtype), features4], dim=1)))
        return self.out4(x), self.out8(F.relu(self.down(x)))


class ColorizerNet(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="colorlab",
    tags=["image-colorization", "colorlab"],
):
    """L (+ hints) -> class logits or ab at 1/4 resolution; see the module docstring.

    The bottleneck (stride 16) adds a global context vector (the mean of its features through
    a linear layer) to every position: colour depends on what the whole scene is. Hints join
    later, in the decoder (:class:`HintBranch`), so the context is of L alone.

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
        self.prior_correction = float(self.config["prior_correction"])
        self.rebalancing_lambda = float(self.config["rebalancing_lambda"])
        self.stride = 2 ** len(channels)
        self.encoder = Encoder(channels, in_channels=1)
        self.hint_branch = HintBranch(channels[1], channels[2]) if self.hints else None
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
        features = self.encoder(pad_to_multiple(lightness, self.stride))
        if self.hint_branch is not None:
            if hints is None:  # the same as hint channels of zeros
                hints = lightness.new_zeros(lightness.shape[0], 3, height, width)
            padded = F.pad(hints, (0, -width % self.stride, 0, -height % self.stride))
            to4, to8 = self.hint_branch(padded, features[1])
            features[1], features[2] = features[1] + to4, features[2] + to8
        x = features[-1]
        x = F.relu(self.bottleneck(x) + self.context(x.mean(dim=(2, 3)))[:, :, None, None])
        for up, skip in zip(self.ups, reversed(features[1:-1]), strict=True):
            x = up(x, skip)
        x = self.out(F.relu(self.head(x)))
        x = x[..., : -(-height // OUTPUT_STRIDE), : -(-width // OUTPUT_STRIDE)]
        return x if self.kind == "classification" else torch.tanh(x)

    def decode(self, output: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE):
        """Head output -> ab / 110 at the head's resolution (annealed mean for classes).

        Trained with rebalanced cross-entropy, the network's distribution q is the data's
        multiplied by the rebalancing weights w (rare, vivid colours boosted). Decoding takes
        the annealed distribution q^(1/T) and divides it by ``w ** prior_correction``: 0 keeps
        the boost (vivid, often wrong: PSNR well below grey's); 1 at T = 1 is the plain
        posterior (safe and dull). Dividing after annealing, not before, keeps the temperature
        in charge: as T -> 0 the mode of q (vivid) is reached whatever the correction.
        """
        if self.kind != "classification":
            return output
        logits = output.float()
        if temperature < 1e-3:  # the limit T -> 0: the mode
            ab = self.bin_centres[logits.argmax(dim=1)].permute(0, 3, 1, 2)
        else:
            annealed = logits / temperature
            if self.prior_correction:
                prior = self.bin_prior.cpu().numpy()
                weights = rebalancing_weights(prior, self.rebalancing_lambda)
                log_weights = torch.from_numpy(np.log(weights)).to(logits)
                annealed = annealed - self.prior_correction * log_weights[:, None, None]
            weights = torch.softmax(annealed, dim=1)
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
