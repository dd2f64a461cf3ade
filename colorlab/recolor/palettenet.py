"""PaletteNet (Cho, Yun, Lee and Choi 2017): learned palette recoloring, sized for a CPU.

A feature encoder sees the source image; a decoder turns its features plus the *source*
palette into each pixel's soft membership in the palette's entries. An edit then moves every
pixel as its entries moved, membership-weighted: an entry turned in hue and scaled in chroma
turns and scales its pixels' ab the same way (a grey entry, with no hue to turn, translates
them). The paper's decoder predicts ab outright from the target palette; on single-entry
edits that repainted the whole image (issue 11: a blue suit made the hair and the rocket
purple), because nothing told it which pixels an entry owns. Here that is exactly what is
learned, so:

- an entry left alone leaves its pixels exactly where they were (an unedited palette is the
  identity, by construction);
- the memberships do not depend on the target, so they are computed once per image and each
  palette edit is a few array operations at full resolution, with no network run;
- lightness is never changed: the output's L channel is the source's L, copied.

The memberships start from a prior, a normalised Gaussian of the Lab distance from each pixel
to each entry (:func:`membership_logits`; the same that :mod:`training.data` uses to make its
entry-edit targets), and the network adds a correction to its logits from image context. A
fresh network (the correction's last convolution starts at zero) is the prior alone.

Palettes of 1 to 8 colours work with one model. A palette is encoded as 8 *slots* in the order
given (``colorlab.palette`` sorts palettes from dark to light, and entry i of a target palette
replaces entry i of the source): each slot holds the colour's scaled Lab (L/50 - 1, a/110,
b/110) and a 1 marking it used; unused slots are all zero. Trained with palettes of 3 to 8
colours extracted by :func:`extract_palette`; 1 and 2 are accepted but untrained.

Full resolution: the network runs at a working size (long side ``working_size`` pixels,
aspect kept, padded to a multiple of the total stride); its correction is upsampled bilinearly
and added to the prior computed on the full-resolution pixels, so membership edges are as
sharp as the colours themselves.

Tensors: Lab images are scaled to about [-1, 1] as ``(L/50 - 1, a/110, b/110)``, shape
(B, 3, H, W); palettes are (B, 8, 4). Weights come from ``colorlab.hub`` under the name
``"palettenet"``, loaded on first use (never at import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
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
    return tensor_lab_units(tensor.detach().float()).permute(0, 2, 3, 1).cpu().numpy()


def tensor_lab_units(scaled: torch.Tensor) -> torch.Tensor:
    """Scaled Lab tensor (B, 3, H, W) -> Lab units, still (B, 3, H, W)."""
    return torch.cat([unscale_lightness(scaled[:, :1]), scaled[:, 1:] * AB_SCALE], dim=1)


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


# --- palette memberships and entry moves (Lab units) ------------------------------------------


def slots_to_lab(slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Slots (B, S, 4) -> (palette Lab (B, S, 3) in Lab units, used mask (B, S) bool)."""
    lab = torch.stack(
        [unscale_lightness(slots[..., 0]), slots[..., 1] * AB_SCALE, slots[..., 2] * AB_SCALE], -1
    )
    return lab, slots[..., 3] > 0.5


def membership_logits(lab: torch.Tensor, palette: torch.Tensor, used: torch.Tensor) -> torch.Tensor:
    """The prior membership logits (B, S, H, W) of Lab pixels (B, 3, H, W) in a palette.

    A Gaussian of the Lab distance, sigma a quarter of the mean distance from an entry to its
    nearest other entry (at least 2; 10 for a single entry): a pixel at an entry belongs to it
    all but fully, one halfway between two entries half to each, so edited colours blend into
    unedited ones without a seam. Unused slots get -inf (no membership after the softmax).
    """
    between = torch.cdist(palette, palette)
    mask = used[:, :, None] & used[:, None, :] & ~torch.eye(palette.shape[1], dtype=torch.bool)
    nearest = between.masked_fill(~mask, torch.inf).amin(-1)  # (B, S)
    finite = torch.isfinite(nearest)
    mean = (nearest.nan_to_num(0, 0, 0) * finite).sum(-1) / finite.sum(-1).clamp(min=1)
    sigma = torch.where(finite.any(-1), (mean / 4).clamp(min=2.0), torch.full_like(mean, 10.0))
    # |x - p|^2 expanded: no (B, S, 3, H, W) temporary, which at full resolution is slow
    cross = torch.einsum("bchw,bsc->bshw", lab, palette)
    distance2 = (lab**2).sum(1, keepdim=True) - 2 * cross + (palette**2).sum(-1)[..., None, None]
    distance2 = distance2.clamp(min=0)  # (B, S, H, W)
    logits = -distance2 / (2 * sigma[:, None, None, None] ** 2)
    return logits.masked_fill(~used[..., None, None], -torch.inf)


def entry_moves(ab: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """How each entry's edit would move each pixel: (B, S, 2, H, W) from ab (B, 2, H, W) and
    the entries' ab before and after (B, S, 2).

    A chromatic entry turned and scaled from c to c' in the ab plane turns and scales its
    pixels the same way (a pixel at c lands exactly on c'); an entry near grey (chroma <= 5)
    has no hue to turn, so its pixels are translated by c' - c. An unmoved entry: zero.
    """
    sa, sb = source[..., 0, None, None], source[..., 1, None, None]  # (B, S, 1, 1)
    ta, tb = target[..., 0, None, None], target[..., 1, None, None]
    a, b = ab[:, None, 0], ab[:, None, 1]  # (B, 1, H, W)
    norm = (sa**2 + sb**2).clamp(min=1e-6)
    fa, fb = (ta * sa + tb * sb) / norm, (tb * sa - ta * sb) / norm  # c' / c, complex
    chromatic = norm > 25
    move_a = torch.where(chromatic, a * fa - b * fb - a, ta - sa)
    move_b = torch.where(chromatic, a * fb + b * fa - b, tb - sb)
    moved = (source != target).any(-1)[..., None, None]
    return torch.stack([move_a * moved, move_b * moved], dim=2)


def apply_memberships(
    lab: torch.Tensor, weights: torch.Tensor, source: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Lab (B, 3, H, W) with each pixel moved as its entries moved, weighted by ``weights``
    (B, S, H, W); entries' Lab (B, S, 3) before and after. L is kept; ab stays within 110."""
    moves = entry_moves(lab[:, 1:], source[..., 1:], target[..., 1:])
    ab = lab[:, 1:] + (weights[:, :, None] * moves).sum(1)
    return torch.cat([lab[:, :1], ab.clamp(-AB_SCALE, AB_SCALE)], dim=1)


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
    """Encoder features + source (scaled Lab) + source palette slots -> a correction (B, S, H, W)
    of the membership logits, its last convolution starting at zero (the prior alone)."""

    def __init__(self, channels: Sequence[int], final_channels: int, slots: int) -> None:
        super().__init__()
        palette_dim = slots * 4
        self.bottleneck = PaletteConv(channels[-1], palette_dim, channels[-1])
        self.stages = nn.ModuleList(
            DecoderStage(channels[i], channels[i - 1], palette_dim, channels[i - 1])
            for i in range(len(channels) - 1, 0, -1)
        )
        # The last stage returns to the working resolution and re-attaches the source image.
        self.final = DecoderStage(channels[0], 3, palette_dim, final_channels)
        self.to_membership = conv3x3(final_channels, slots)
        nn.init.zeros_(self.to_membership.weight)
        nn.init.zeros_(self.to_membership.bias)

    def forward(
        self, features: Sequence[torch.Tensor], source: torch.Tensor, palette: torch.Tensor
    ) -> torch.Tensor:
        palette = palette.flatten(1)
        x = F.relu(self.bottleneck(features[-1], palette))
        for stage, skip in zip(self.stages, reversed(features[:-1]), strict=True):
            x = stage(x, skip, palette)
        return self.to_membership(self.final(x, source, palette))


class PaletteNet(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="colorlab",
    tags=["palette-recoloring", "colorlab"],
):
    """Recolor a Lab image from its palette to a target palette; L is kept, ab move.

    Encoder: a conv block (two 3x3 convolutions, the first with stride 2; at stride 1 it would
    cost more than the rest of the network on a CPU), then residual stages each halving the
    resolution. Decoder: per stage, upsample x2, concatenate the encoder skip and the source
    palette tiled to every pixel, two 3x3 convolutions; the last stage returns to the input
    resolution, concatenates the source image, and corrects the prior membership logits
    (:meth:`memberships`). The pixels then move as their entries moved
    (:func:`apply_memberships`).

    ``config``: ``channels`` (encoder widths, each stage halving the resolution; the total
    stride is ``2 ** len(channels)``), ``final_channels`` and ``palette_slots`` (8). See
    :data:`DEFAULT_CONFIG`. Inputs of any size are padded to the stride internally.

    >>> net = PaletteNet(DEFAULT_CONFIG).eval()
    >>> slots = torch.zeros(1, 8, 4); slots[:, :2, 3] = 1    # two used slots, scaled Lab 0
    >>> net(torch.zeros(1, 3, 50, 70), slots, slots).shape   # scaled Lab, source and target
    torch.Size([1, 3, 50, 70])
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = {**DEFAULT_CONFIG, **(config or {})}
        channels = [int(c) for c in self.config["channels"]]
        self.slots = int(self.config["palette_slots"])
        self.stride = 2 ** len(channels)
        self.encoder = Encoder(channels)
        self.decoder = Decoder(channels, int(self.config["final_channels"]), self.slots)

    def correction(self, source: torch.Tensor, source_slots: torch.Tensor) -> torch.Tensor:
        """The learned correction (B, S, H, W) of the membership logits, at the source's size."""
        height, width = source.shape[-2:]
        padded = pad_to_multiple(source, self.stride)
        return self.decoder(self.encoder(padded), padded, source_slots)[..., :height, :width]

    def memberships(
        self, lab: torch.Tensor, source_slots: torch.Tensor, correction: torch.Tensor
    ) -> torch.Tensor:
        """Soft memberships (B, S, H, W) of Lab pixels (B, 3, H, W, Lab units) in the source
        palette: the softmax over used slots of the prior logits plus ``correction``."""
        palette, used = slots_to_lab(source_slots)
        return torch.softmax(membership_logits(lab, palette, used) + correction, dim=1)

    def forward(
        self, source: torch.Tensor, source_slots: torch.Tensor, target_slots: torch.Tensor
    ) -> torch.Tensor:
        """Scaled source Lab (B, 3, H, W) and palette slots before and after (B, 8, 4) ->
        scaled Lab (B, 3, H, W). Channel 0 of the result is channel 0 of ``source``."""
        lab = tensor_lab_units(source)
        weights = self.memberships(lab, source_slots, self.correction(source, source_slots))
        before, after = slots_to_lab(source_slots)[0], slots_to_lab(target_slots)[0]
        lab = apply_memberships(lab, weights, before, after)
        return torch.cat([source[:, :1], lab[:, 1:] / AB_SCALE], dim=1)


# --- loading the shipped weights ---------------------------------------------------------------


def load_palettenet(local_dir: str | None = None) -> PaletteNet:
    """The trained PaletteNet in eval mode, loaded through ``colorlab.hub`` once per process.

    ``local_dir``: a checkpoint folder to use instead of the bundled one or the Hub's. A
    rewritten checkpoint (new files) is loaded again.
    """
    from colorlab.hub import load_model

    return load_model(PaletteNet, MODEL_NAME, local_dir, required_keys=("channels",))


# --- numpy in, numpy out -----------------------------------------------------------------------


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise InvalidParameterError(f"image must have shape (H, W, 3), got {image.shape}")
    return image


class PaletteNetRecolorer:
    """PaletteNet applied to one image, prepared once so that each palette edit is cheap.

    Preparation runs the network once: the image is shrunk to the working size (long side at
    most ``working_size`` pixels) for the correction of the membership logits, which is
    upsampled and added to the prior computed at full resolution. :meth:`apply` then moves the
    full-resolution pixels as the entries moved; it runs no network.
    """

    def __init__(
        self,
        image: np.ndarray,
        source_palette: np.ndarray,
        working_size: int = DEFAULT_WORKING_SIZE,
        model: PaletteNet | None = None,
    ) -> None:
        image = _check_image(image)
        if not 16 <= working_size <= 1024:
            raise InvalidParameterError(f"working_size must be 16 to 1024, got {working_size}")
        model = model if model is not None else load_palettenet()
        self.source_palette = np.asarray(source_palette, dtype=np.float32).reshape(-1, 3)
        slots = encode_palette(self.source_palette, model.slots)[None]
        height, width = image.shape[:2]
        work_size = working_shape((height, width), working_size)
        full_lab = srgb_to_lab(image)
        self._lab = torch.from_numpy(full_lab).permute(2, 0, 1)[None]
        with torch.inference_mode():
            source = lab_to_tensor(full_lab)
            small = resize(source, work_size) if work_size != (height, width) else source
            small = small.contiguous(memory_format=torch.channels_last)  # faster CPU convs
            correction = model.correction(small, slots)
            if work_size != (height, width):
                correction = F.interpolate(correction, size=(height, width), mode="bilinear")
            weights = model.memberships(self._lab, slots, correction)
        k = len(self.source_palette)  # the unused slots have no members: drop them
        self._weights, self._palette_lab = weights[:, :k], slots_to_lab(slots)[0][:, :k]

    def apply(self, target_palette: np.ndarray) -> np.ndarray:
        """The image recolored towards ``target_palette`` ((k, 3) sRGB, 1 <= k <= 8)."""
        target = np.asarray(target_palette, dtype=np.float32).reshape(-1, 3)
        if len(target) != len(self.source_palette):
            raise InvalidParameterError(
                f"the target palette has {len(target)} colours but the source palette has "
                f"{len(self.source_palette)}: give one target colour per palette entry"
            )
        after = slots_to_lab(encode_palette(target, len(target))[None])[0]
        moved = (after != self._palette_lab).any(-1)[0]  # entries left alone move nothing
        with torch.inference_mode():
            lab = apply_memberships(
                self._lab, self._weights[:, moved], self._palette_lab[:, moved], after[:, moved]
            )
        return lab_to_srgb(lab[0].permute(1, 2, 0).numpy(), keep_lightness=True)

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
