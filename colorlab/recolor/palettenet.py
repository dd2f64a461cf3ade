"""PaletteNet (Cho, Yun, Lee and Choi 2017): learned palette recoloring, sized for a CPU.

A feature encoder sees only the source image; a recoloring decoder turns its features plus a
target palette into new chroma (ab). Lightness is never predicted: the output's L channel is the
source's L, copied, so luminance (and with it the image's structure) is preserved exactly.

Palettes of 1 to 8 colours work with one model. A palette is encoded as 8 *slots* in the order
given (``colorlab.palette`` sorts palettes from dark to light, and entry i of a target palette
replaces entry i of the source, so the slots run dark to light): each slot holds the colour's
scaled Lab (L/50 - 1, a/110, b/110) and a 1 marking it used; unused slots are all zero. The
network was trained with palettes of 3 to 8 colours extracted by :func:`extract_palette`
(random size per sample), so any size the app offers from 3 to 8 is in its training range;
1 and 2 are accepted but untrained. One model serves every size: the slots share what they
learn, and the app ships one checkpoint instead of six.

Full resolution: the network predicts at a working size (long side ``working_size`` pixels,
aspect kept, padded to a multiple of the total stride). It predicts the *change* of ab
(``residual`` in the config), which is upsampled bilinearly and added to the full-resolution
source, so fine colour detail survives and colours the edit leaves alone stay exactly as they
were. :class:`PaletteNetRecolorer` runs the encoder once per image, so each palette edit costs
only the decoder.

Tensors: Lab images are scaled to about [-1, 1] as ``(L/50 - 1, a/110, b/110)``, shape
(B, 3, H, W); palettes are (B, 8, 4). Weights come from ``colorlab.hub`` under the name
``"palettenet"``, loaded on first use (never at import).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.errors import InvalidParameterError
from colorlab.methods import Method, Param, register
from colorlab.nn import (
    AB_SCALE,
    L_SCALE,
    Encoder,
    conv3x3,
    pad_to_multiple,
    resize,
    scale_lightness,
    unscale_lightness,
    working_shape,
)

MODEL_NAME = "palettenet"
PALETTE_SLOTS = 8
DEFAULT_WORKING_SIZE = 256
DEFAULT_CONFIG: dict[str, Any] = {
    "architecture": "palettenet",
    "channels": [32, 64, 128, 256],  # encoder widths; each stage halves the resolution
    "final_channels": 16,  # width of the last, full-working-resolution decoder stage
    "palette_slots": PALETTE_SLOTS,
    # True: the decoder predicts the change of ab, added to the source's ab, so an entry left
    # alone can leave its pixels alone (and at full resolution). False: absolute ab, as in the
    # paper (checkpoints before issue 11).
    "residual": True,
}


# --- scaling between Lab arrays and network tensors --------------------------------------------


def lab_to_tensor(lab: np.ndarray) -> torch.Tensor:
    """Lab image (H, W, 3) or batch (B, H, W, 3) -> scaled tensor (B, 3, H, W) float32."""
    lab = np.asarray(lab, dtype=np.float32)
    if lab.ndim == 3:
        lab = lab[None]
    scaled = torch.from_numpy(np.ascontiguousarray(lab)).permute(0, 3, 1, 2)
    offset = torch.tensor([-1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    factor = torch.tensor([1 / L_SCALE, 1 / AB_SCALE, 1 / AB_SCALE]).view(1, 3, 1, 1)
    return (scaled * factor + offset).contiguous()


def tensor_to_lab(tensor: torch.Tensor) -> np.ndarray:
    """Scaled tensor (B, 3, H, W) -> Lab array (B, H, W, 3) float32; the inverse of the above."""
    lab = tensor.detach().float().permute(0, 2, 3, 1).cpu().numpy().copy()
    lab[..., 0] = unscale_lightness(lab[..., 0])
    lab[..., 1:] *= AB_SCALE
    return lab


def encode_palette(colors: np.ndarray, slots: int = PALETTE_SLOTS) -> torch.Tensor:
    """sRGB palette (k, 3) in [0, 1], 1 <= k <= ``slots`` -> slot tensor (slots, 4).

    Rows 0..k-1 hold (L/50 - 1, a/110, b/110, 1) of the colours in the order given; the other
    rows are zero (their last column, the mask, says "unused").
    """
    colors = np.asarray(colors, dtype=np.float32)
    if colors.ndim != 2 or colors.shape[1] != 3:
        raise InvalidParameterError(f"a palette must have shape (k, 3), got {colors.shape}")
    if not 1 <= len(colors) <= slots:
        raise InvalidParameterError(
            f"PaletteNet takes palettes of 1 to {slots} colours, got {len(colors)}: "
            f"choose a palette size of {slots} or fewer"
        )
    if not np.all(np.isfinite(colors)) or colors.min() < 0 or colors.max() > 1:
        raise InvalidParameterError("palette colours must be sRGB values in [0, 1]")
    encoded = torch.zeros(slots, 4)
    lab = srgb_to_lab(colors)
    encoded[: len(colors), 0] = torch.from_numpy(scale_lightness(lab[:, 0]))
    encoded[: len(colors), 1:3] = torch.from_numpy(lab[:, 1:] / AB_SCALE)
    encoded[: len(colors), 3] = 1
    return encoded


# --- the network -------------------------------------------------------------------------------


class PaletteConv(nn.Module):
    """A 3x3 convolution over ``cat(features, palette tiled to every pixel)``, without the tiling.

    The tiled palette channels are constant over the image (padded by replication), so their
    share of the convolution is the same at every pixel: a per-channel bias, ``W_p @ palette``
    with ``W_p`` the palette weights summed over the kernel. Computing it that way is exact
    and makes the palette cost nothing per pixel, so it is tiled in at every decoder scale.
    """

    def __init__(self, in_channels: int, palette_dim: int, out_channels: int) -> None:
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels)
        self.palette = nn.Linear(palette_dim, out_channels, bias=False)

    def forward(self, x: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.palette(palette)[:, :, None, None]


class DecoderStage(nn.Module):
    """Narrow, upsample x2, concatenate the skip and the palette, two 3x3 convolutions."""

    def __init__(self, in_channels: int, skip_channels: int, palette_dim: int, out: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(in_channels, out, 1)
        self.conv1 = PaletteConv(out + skip_channels, palette_dim, out)
        self.conv2 = conv3x3(out, out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.reduce(x), size=skip.shape[-2:], mode="bilinear")
        x = F.relu(self.conv1(torch.cat([x, skip], dim=1), palette))
        return F.relu(self.conv2(x))


class Decoder(nn.Module):
    """Encoder features + source L + palette -> ab in (-1, 1) (tanh; times 110 in Lab units),
    or with ``residual`` the change of ab, its last convolution starting at zero (no change)."""

    def __init__(
        self, channels: Sequence[int], final_channels: int, palette_dim: int, residual: bool
    ) -> None:
        super().__init__()
        self.bottleneck = PaletteConv(channels[-1], palette_dim, channels[-1])
        self.stages = nn.ModuleList(
            DecoderStage(channels[i], channels[i - 1], palette_dim, channels[i - 1])
            for i in range(len(channels) - 1, 0, -1)
        )
        # The last stage returns to the working resolution and re-attaches the source L.
        self.final = DecoderStage(channels[0], 1, palette_dim, final_channels)
        self.residual = residual
        head = conv3x3(final_channels, 2)
        if residual:  # named apart, so that a warm start from an absolute model skips it
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
            self.to_change = head
        else:
            self.to_ab = head

    def forward(
        self, features: Sequence[torch.Tensor], source_l: torch.Tensor, palette: torch.Tensor
    ) -> torch.Tensor:
        palette = palette.flatten(1)
        x = F.relu(self.bottleneck(features[-1], palette))
        for stage, skip in zip(self.stages, reversed(features[:-1]), strict=True):
            x = stage(x, skip, palette)
        x = self.final(x, source_l, palette)
        return torch.tanh(self.to_change(x) if self.residual else self.to_ab(x))


class PaletteNet(nn.Module):
    """Recolor a Lab image to a palette; only chroma is predicted, L is the source's.

    Encoder: a conv block (two 3x3 convolutions, the first with stride 2; at stride 1 it would
    cost more than the rest of the network on a CPU), then residual stages each halving the
    resolution. Decoder: per stage, upsample x2, concatenate the encoder skip and the palette
    tiled to every pixel, two 3x3 convolutions; the last stage returns to the input resolution,
    concatenates the source L, and predicts the change of ab with tanh (times 110 in Lab
    units; ``residual``), added to the source's ab.

    ``config``: ``channels`` (encoder widths, each stage halving the resolution; the total
    stride is ``2 ** len(channels)``), ``final_channels`` and ``palette_slots`` (8). See
    :data:`DEFAULT_CONFIG`. Inputs of any size are padded to the stride internally.

    >>> net = PaletteNet(DEFAULT_CONFIG).eval()
    >>> out = net(torch.zeros(1, 3, 50, 70), torch.zeros(1, 8, 4))   # scaled Lab, slots
    >>> out.shape
    torch.Size([1, 3, 50, 70])
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = {**DEFAULT_CONFIG, **(config or {})}
        channels = [int(c) for c in self.config["channels"]]
        self.slots = int(self.config["palette_slots"])
        self.stride = 2 ** len(channels)
        self.encoder = Encoder(channels)
        self.residual = bool(self.config["residual"])
        self.decoder = Decoder(
            channels, int(self.config["final_channels"]), self.slots * 4, self.residual
        )

    def pad(self, source: torch.Tensor) -> torch.Tensor:
        """Pad (replicating the border) at the bottom and right to a multiple of the stride."""
        return pad_to_multiple(source, self.stride)

    def forward(self, source: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
        """Scaled source Lab (B, 3, H, W) and slots (B, 8, 4) -> scaled Lab (B, 3, H, W).

        Channel 0 of the result is channel 0 of ``source``, unchanged.
        """
        height, width = source.shape[-2:]
        padded = self.pad(source)
        ab = self.decoder(self.encoder(padded), padded[:, :1], palette)[..., :height, :width]
        if self.residual:
            ab = (source[:, 1:] + ab).clamp(-1, 1)  # |ab| <= 110, as the absolute head's tanh
        return torch.cat([source[:, :1], ab], dim=1)


# --- loading the shipped weights ---------------------------------------------------------------

_MODELS: dict[str | None, tuple[dict, PaletteNet]] = {}
_LOCK = threading.Lock()


def load_palettenet(local_dir: str | None = None) -> PaletteNet:
    """The trained PaletteNet in eval mode, loaded through ``colorlab.hub`` once per process.

    ``local_dir``: a checkpoint folder to use instead of the bundled one or the Hub's. A
    rewritten checkpoint (new files) is loaded again.
    """
    from colorlab.hub import load_into, load_model_files

    with _LOCK:
        state_dict, config = load_model_files(MODEL_NAME, local_dir, required_keys=("channels",))
        cached = _MODELS.get(local_dir)
        if cached is None or cached[0] is not state_dict:
            model = load_into(PaletteNet(config), state_dict, MODEL_NAME)
            model = model.to(memory_format=torch.channels_last)  # faster convolutions on CPUs
            _MODELS[local_dir] = (state_dict, model.requires_grad_(False))
        return _MODELS[local_dir][1]


# --- numpy in, numpy out -----------------------------------------------------------------------


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise InvalidParameterError(f"image must have shape (H, W, 3), got {image.shape}")
    return image


class PaletteNetRecolorer:
    """PaletteNet applied to one image, prepared once so that each palette edit is cheap.

    Preparation converts the image to Lab, shrinks it to the working size (long side at most
    ``working_size`` pixels) and runs the encoder, which sees only the source image; its
    features are kept. :meth:`apply` runs the decoder for a target palette, upsamples the
    predicted ab to the full image and puts the full-resolution L back.

    ``source_palette`` is not used by the network (it reads the colours from the image) but is
    checked against the target, entry for entry, as for every recolor method.
    """

    def __init__(
        self,
        image: np.ndarray,
        source_palette: np.ndarray | None = None,
        working_size: int = DEFAULT_WORKING_SIZE,
        model: PaletteNet | None = None,
    ) -> None:
        image = _check_image(image)
        if not 16 <= working_size <= 1024:
            raise InvalidParameterError(f"working_size must be 16 to 1024, got {working_size}")
        self.model = model if model is not None else load_palettenet()
        self.source_size = None
        if source_palette is not None:
            self.source_size = len(np.reshape(source_palette, (-1, 3)))
        self.shape = image.shape
        height, width = image.shape[:2]
        self.work_size = working_shape((height, width), working_size)
        self._full_lab = srgb_to_lab(image)
        with torch.inference_mode():
            source = lab_to_tensor(self._full_lab)
            if self.work_size != (height, width):
                source = resize(source, self.work_size)
            padded = self.model.pad(source).contiguous(memory_format=torch.channels_last)
            self._features = self.model.encoder(padded)
            self._source_l = padded[:, :1]

    def apply(self, target_palette: np.ndarray) -> np.ndarray:
        """The image recolored towards ``target_palette`` ((k, 3) sRGB, 1 <= k <= 8)."""
        target = np.asarray(target_palette, dtype=np.float32).reshape(-1, 3)
        if self.source_size is not None and len(target) != self.source_size:
            raise InvalidParameterError(
                f"the target palette has {len(target)} colours but the source palette has "
                f"{self.source_size}: give one target colour per palette entry"
            )
        slots = encode_palette(target, self.model.slots)[None]
        height, width = self.shape[:2]
        with torch.inference_mode():
            ab = self.model.decoder(self._features, self._source_l, slots)
            ab = ab[..., : self.work_size[0], : self.work_size[1]]
            if self.work_size != (height, width):
                ab = F.interpolate(ab, size=(height, width), mode="bilinear")
            ab = (ab[0] * AB_SCALE).permute(1, 2, 0).numpy()
        lab = self._full_lab.copy()
        if self.model.residual:  # the change, upsampled, onto the full-resolution colours
            lab[..., 1:] = np.clip(lab[..., 1:] + ab, -AB_SCALE, AB_SCALE)  # as forward does
        else:
            lab[..., 1:] = ab
        return lab_to_srgb(lab)

    __call__ = apply  # the prepared recolorer is the function of the target palette


register(
    Method(
        task="recolor",
        name=MODEL_NAME,
        title="PaletteNet (learned)",
        summary="A small neural network (Cho et al. 2017) repaints the image's colours to "
        "match the palette; lightness is kept exactly. Palettes of up to 8 colours.",
        params=(
            Param(
                "working_size",
                DEFAULT_WORKING_SIZE,
                "long side (pixels) at which the network predicts colour; larger is slower",
                minimum=64,
                maximum=1024,
            ),
        ),
        prepare=PaletteNetRecolorer,
    )
)
