"""Neural style transfer (Gatys, Ecker and Bethge 2016) on VGG-19 features from the Hub.

The output is optimised pixel by pixel, starting from the content, so that its VGG-19 features
match the content's at relu4_2 (shapes) and the Gram matrices of its features match the style's
at relu1_1 to relu5_1 (textures and colours). The weights are torchvision's ImageNet VGG-19 as
published in ``timm/vgg19.tv_in1k``, fetched through :mod:`colorlab.hub`, of which only the 13
convolutions of ``features[:30]`` are read. A CPU needs seconds per iteration, so the image is
painted at most ``max_size`` pixels on its long side and then upsampled, progress is reported
per iteration and a ``cancel`` event (or a progress callback that raises) stops the run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorlab.color import lab_to_srgb, srgb_to_lab, srgb_to_lightness
from colorlab.errors import Cancelled, CheckpointError, InvalidParameterError
from colorlab.nn import resize, working_shape
from colorlab.stylize.transfer import _image, transfer_in_lab

WEIGHTS_NAME = "vgg19"  # colorlab.hub.PRETRAINED: timm/vgg19.tv_in1k
# torchvision's layout of VGG-19 ``features``: a ReLU follows each convolution.
CONV_LAYERS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28)
WIDTHS = (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512)  # their output channels
POOL_LAYERS = (4, 9, 18, 27)
DEPTH = 30  # features[:30] ends at relu5_1, the deepest layer used
STYLE_LAYERS = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
CONTENT_LAYER = 22  # relu4_2
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_SIDE = 16  # after four 2x2 poolings relu5_1 still has a pixel
HISTORY = 20  # L-BFGS correction pairs: 40 image-sized vectors (100 would be 200)

DEFAULT_ITERATIONS = 100
DEFAULT_MAX_SIZE = 384
DEFAULT_STYLE_WEIGHT = 1e6  # with size-normalised Grams the style term is tiny per unit
DEFAULT_CONTENT_WEIGHT = 1.0


def vgg19_features(widths: Sequence[int]) -> nn.Sequential:
    """VGG-19's ``features[:30]`` in torchvision's layout, with the 13 convolution widths given.

    Module i is a 3x3 convolution for i in :data:`CONV_LAYERS`, a 2x2 max-pool for i in
    :data:`POOL_LAYERS`, else a ReLU, so the weights' ``features.{i}.*`` tensors load as
    ``{i}.*``. The real network's widths are :data:`WIDTHS`.
    """
    if len(widths) != len(CONV_LAYERS):
        raise ValueError(f"VGG-19 has {len(CONV_LAYERS)} convolutions here, got {len(widths)}")
    layers: list[nn.Module] = []
    channels, width = 3, iter(widths)
    for index in range(DEPTH):
        if index in CONV_LAYERS:
            out = next(width)
            layers.append(nn.Conv2d(channels, out, 3, padding=1))
            channels = out
        elif index in POOL_LAYERS:
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def load_vgg19() -> nn.Sequential:
    """The ImageNet VGG-19 ``features[:30]``, frozen and in eval mode, loaded once per process.

    The widths come from the tensors' shapes, so a uniformly narrowed copy with the same key
    names loads as well (the tests serve one). Raises ModelNotFoundError, saying where the
    weights were looked for and how to provide them, when they cannot be had.
    """
    from colorlab import hub

    tensors = hub.load_weights(WEIGHTS_NAME, tuple(f"features.{i}." for i in CONV_LAYERS))
    keys = [f"features.{i}.weight" for i in CONV_LAYERS]
    missing = [key for key in keys if key not in tensors]
    if missing:
        raise CheckpointError(
            f"the {WEIGHTS_NAME} weights lack {', '.join(missing)}: they are not"
            " VGG-19's. Use the model.safetensors of timm/vgg19.tv_in1k."
        )

    def build() -> nn.Sequential:
        features = vgg19_features([tensors[key].shape[0] for key in keys])
        state = {key.removeprefix("features."): value for key, value in tensors.items()}
        return hub.load_into(features, state, WEIGHTS_NAME)

    return hub.loaded_once(WEIGHTS_NAME, tensors, build)


def vgg19_unavailable() -> str | None:
    """Why the VGG-19 weights cannot be had here (which, from where, how to get them), or None."""
    from colorlab import hub

    return hub.weights_unavailable(WEIGHTS_NAME)


def gram(features: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> (C, C) feature correlations, divided by C * H * W so sizes compare."""
    _, channels, height, width = features.shape
    flat = features.reshape(channels, height * width)
    return flat @ flat.T / (channels * height * width)


class StyleLoss(nn.Module):
    """Gatys et al.'s loss of an image, (1, 3, H, W) sRGB in [0, 1]:

    ``content_weight`` * MSE(relu4_2, the content's) + ``style_weight`` * sum over relu1_1 to
    relu5_1 of MSE(Gram, the style's Gram). Content and style may differ in size.
    """

    def __init__(
        self,
        features: nn.Sequential,
        content: torch.Tensor,
        style: torch.Tensor,
        style_weight: float = DEFAULT_STYLE_WEIGHT,
        content_weight: float = DEFAULT_CONTENT_WEIGHT,
    ) -> None:
        super().__init__()
        self.features = features
        self.style_weight, self.content_weight = style_weight, content_weight
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        with torch.no_grad():
            self.content_target = self.activations(content)[CONTENT_LAYER]
            style_activations = self.activations(style)
            self.style_targets = [gram(style_activations[i]) for i in STYLE_LAYERS]

    def activations(self, image: torch.Tensor) -> dict[int, torch.Tensor]:
        """The outputs of the style and content layers for an sRGB image."""
        x = (image - self.mean) / self.std
        wanted = {*STYLE_LAYERS, CONTENT_LAYER}
        outputs = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                outputs[index] = x
        return outputs

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        outputs = self.activations(image)
        content = F.mse_loss(outputs[CONTENT_LAYER], self.content_target)
        style = sum(
            F.mse_loss(gram(outputs[i]), target)
            for i, target in zip(STYLE_LAYERS, self.style_targets, strict=True)
        )
        return self.content_weight * content + self.style_weight * style


def paint(
    loss: nn.Module,
    start: torch.Tensor,
    iterations: int,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> torch.Tensor:
    """Minimise ``loss`` over the pixels from ``start`` with ``iterations`` L-BFGS evaluations.

    No line search, as in Gatys et al.'s code: one loss evaluation per iteration, which is
    what ``progress(step, iterations)`` counts. ``cancel`` is checked before each evaluation
    and raises :class:`Cancelled`; so does anything ``progress`` raises, unchanged. Returns the
    image clipped to [0, 1] (it is optimised unconstrained).
    """
    # L-BFGS flattens the gradient with view(), which needs contiguous memory.
    image = start.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [image],
        max_iter=iterations,
        max_eval=iterations,
        history_size=HISTORY,
        tolerance_grad=0.0,  # run all the iterations asked for, as the progress bar promises
        tolerance_change=0.0,
    )
    step = 0

    def closure() -> torch.Tensor:
        nonlocal step
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"neural style was cancelled after {step} of {iterations} iterations")
        optimizer.zero_grad()
        value = loss(image)
        value.backward()
        step += 1
        if progress is not None:
            progress(step, iterations)
        return value

    with torch.enable_grad():
        optimizer.step(closure)
    return image.detach().clamp(0, 1)


def _to_tensor(image: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return resize(tensor, shape) if shape != image.shape[:2] else tensor


def neural_style(
    content: np.ndarray,
    style: np.ndarray,
    strength: float = 1.0,
    preserve_colors: bool = False,
    preserve_lightness: bool = False,
    iterations: int = DEFAULT_ITERATIONS,
    max_size: int = DEFAULT_MAX_SIZE,
    style_weight: float = DEFAULT_STYLE_WEIGHT,
    content_weight: float = DEFAULT_CONTENT_WEIGHT,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """``content`` painted in the style of ``style``; (H, W, 3) sRGB of the content's size.

    The content is shrunk to ``max_size`` px on its long side (never enlarged) and the style to
    the same long side, so brush strokes keep their size relative to the result; the painted
    image is upsampled back. ``preserve_colors`` keeps the content's colours (Gatys et al.
    2017, luminance-only: the painted L with the content's a and b); ``preserve_lightness``
    the content's L (the painted colours only). ``strength`` blends with the content in Lab.
    See :func:`paint` for ``progress`` and ``cancel``.
    """
    content, style = _image(content, "content"), _image(style, "style")
    if not 0 <= strength <= 1:
        raise InvalidParameterError(f"strength must be in [0, 1], got {strength}")
    if preserve_colors and preserve_lightness:
        raise InvalidParameterError(
            "preserve_colors keeps the content's colours and preserve_lightness its lightness:"
            " together they would return the content unchanged. Choose one."
        )
    if iterations < 1 or max_size < MIN_SIDE or style_weight < 0 or content_weight < 0:
        raise InvalidParameterError(
            f"iterations must be at least 1, max_size at least {MIN_SIDE} and the weights at"
            f" least 0; got {iterations}, {max_size}, {style_weight} and {content_weight}"
        )
    if strength == 0:
        return content.copy()
    work = working_shape(content.shape[:2], max_size)
    style_work = working_shape(style.shape[:2], max(work))
    if min(*work, *style_work) < MIN_SIDE:
        raise InvalidParameterError(
            f"neural style needs at least {MIN_SIDE} px on each side at the working size; the"
            f" content is painted at {work[1]}x{work[0]} and the style at"
            f" {style_work[1]}x{style_work[0]}: raise max_size or use less elongated images"
        )
    start = _to_tensor(content, work)
    loss = StyleLoss(
        load_vgg19(), start, _to_tensor(style, style_work), style_weight, content_weight
    )
    painted = paint(loss, start, iterations, progress, cancel)
    if work != content.shape[:2]:
        painted = resize(painted, content.shape[:2]).clamp(0, 1)
    stylized = painted[0].permute(1, 2, 0).numpy()
    if preserve_colors:
        lab = srgb_to_lab(content)
        lab[..., 0] = srgb_to_lightness(stylized)
        stylized = lab_to_srgb(lab, keep_lightness=True)
    # The painted image is already the transfer: take its Lab values as they are, then blend.
    return transfer_in_lab(content, stylized, lambda _, given: given, strength, preserve_lightness)
