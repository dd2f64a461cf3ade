"""Train a colorizer (classification, regression or pix2pix) on folders of images (CPU or CPUs).

    python -m training.train_colorizer                              # classification, photos
    python -m training.train_colorizer --kind regression            # the L1 baseline
    python -m training.train_colorizer --kind pix2pix               # U-Net + PatchGAN
    python -m training.train_colorizer --init checkpoints/colorizer \\
        --data ../shared/data/paintings --out checkpoints/colorizer_paintings   # fine-tune
    torchrun --nproc_per_node=2 -m training.train_colorizer         # DistributedDataParallel

- ``classification`` (Zhang et al. 2016 + 2017): the colour classes and their prior come from
  the training images (:meth:`colorlab.colorize.bins.ColorBins.from_ab`); the loss is the
  cross-entropy against soft-encoded targets, each pixel weighted by class rebalancing; user
  hints are simulated from the true colours (geometric count, p = 1/8), so one model serves
  automatic and guided colorization.
- ``regression``: L1 on ab, no hints. ``pix2pix``: L1 x ``--l1-weight`` (100) plus the
  adversarial loss of a PatchGAN on (L, ab), no hints.

The best checkpoint by validation loss (the last one for pix2pix, whose loss is not a quality
measure) is written to ``--out`` with its model card, curve and log; resume state goes to
``--state-dir``. Shared machinery (DDP, budget, resume, log) is :mod:`training.loop`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from colorlab.color import lab_to_srgb, srgb_to_lab
from colorlab.colorize import MODELS
from colorlab.colorize.bins import DEFAULT_TEMPERATURE, ColorBins
from colorlab.colorize.models import DEFAULT_CONFIG, KINDS, ColorizerNet
from colorlab.hub import load_model_files, save_checkpoint
from colorlab.metrics import psnr
from colorlab.nn import AB_SCALE, unscale_lightness
from training.data import ColorizationSamples, ImageFolder, describe_sampling, sampling_weights
from training.loop import SHARED_DATA, PatchDiscriminator, Run, common_arguments, warm_start

CHECKPOINT_NAMES = {
    "classification": "colorizer",
    "regression": "colorizer_regression",
    "pix2pix": "colorizer_pix2pix",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kind", choices=KINDS, default="classification")
    known, _ = p.parse_known_args(argv)
    common_arguments(
        p,
        data=[str(SHARED_DATA / "photos")],
        name=CHECKPOINT_NAMES[known.kind],
        steps=4000,
        crop=128,
        lr=3e-4,
        eval_every=250,
    )
    p.add_argument("--channels", type=int, nargs="+", default=DEFAULT_CONFIG["channels"])
    p.add_argument("--init", metavar="DIR", help="start from this checkpoint (fine-tuning)")
    p.add_argument("--l1-weight", type=float, default=100.0, help="pix2pix: weight of L1")
    p.add_argument("--bins-min-count", type=int, default=1, help="pixels to make a class")
    p.add_argument(
        "--prior-correction",
        type=float,
        default=DEFAULT_CONFIG["prior_correction"],
        help="classification: how much of the rebalancing boost decoding removes (0 to 1)",
    )
    p.add_argument(
        "--rebalancing-lambda",
        type=float,
        default=DEFAULT_CONFIG["rebalancing_lambda"],
        help="classification: loss weights ((1 - lambda) p + lambda / Q) ** -1; lower boosts "
        "rare colours more (Zhang et al.: 0.5)",
    )
    return p.parse_args(argv)


def training_bins(images: ImageFolder, min_count: int) -> ColorBins:
    """Colour classes and prior from every 4th pixel (each way) of the training images."""
    ab = np.concatenate(
        [srgb_to_lab(images[i][::4, ::4]).reshape(-1, 3)[:, 1:] for i in range(len(images))]
    )
    return ColorBins.from_ab(ab, min_count=min_count)


def loss_terms(
    model: ColorizerNet, batch: dict, autocast, forward: torch.nn.Module | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(loss, predicted ab / 110 or None) for a batch; classification: rebalanced soft CE.

    ``forward``: the module to call (the DDP wrapper of ``model`` under torchrun).
    """
    lightness = batch["lightness"].contiguous(memory_format=torch.channels_last)
    with autocast:
        output = (forward or model)(lightness, batch["hints"] if model.hints else None).float()
    if model.kind == "classification":
        log_q = F.log_softmax(output, dim=1)
        cross_entropy = -(batch["class_weights"] * log_q.gather(1, batch["classes"])).sum(1)
        loss = (cross_entropy * batch["pixel_weights"]).mean()
        return loss, None
    ab = F.interpolate(output, size=lightness.shape[-2:], mode="bilinear")
    return F.l1_loss(ab, batch["ab"]), ab


def to_srgb(lightness: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """Scaled L (1, H, W) and ab / 110 (2, H, W) -> sRGB (H, W, 3)."""
    lab = torch.cat([unscale_lightness(lightness), ab * AB_SCALE]).permute(1, 2, 0).numpy()
    return lab_to_srgb(lab)


@torch.no_grad()
def evaluate(model: ColorizerNet, batches: list[dict]) -> dict[str, float]:
    """Validation loss (no hints) and PSNR of the automatic colorization at T = 0.38."""
    model.eval()
    losses, scores = [], []
    no_autocast = torch.autocast("cpu", enabled=False)
    for batch in batches:
        batch = {**batch, "hints": torch.zeros_like(batch["hints"])}
        loss, _ = loss_terms(model, batch, no_autocast)
        losses.append(float(loss))
        ab = model.predict_ab(batch["lightness"], batch["hints"], DEFAULT_TEMPERATURE)
        for lightness, pred, true in zip(batch["lightness"], ab, batch["ab"], strict=True):
            scores.append(psnr(to_srgb(lightness, pred), to_srgb(lightness, true)))
    model.train()
    return {"val_loss": float(np.mean(losses)), "val_psnr": float(np.mean(scores))}


def init_line(info: dict) -> str:
    """The card's line on the checkpoint a fine-tuned model started from, and its training."""
    init = info.get("init_record")
    if not init or not init.get("train_command"):
        return ""
    return (
        f"\n- The initial checkpoint was trained with `{init['train_command']}` "
        f"({init['train_minutes']} min)."
    )


def model_card(info: dict) -> str:
    a, m, c = info["args"], info["metrics"], info["config"]
    kind = c["kind"]
    what = {
        "classification": "Colorization as classification over colour classes with class "
        "rebalancing, decoded by the annealed mean (Zhang, Isola and Efros 2016), with user "
        "colour hints as extra inputs (Zhang et al. 2017).",
        "regression": "The regression baseline: the same network predicting ab directly, "
        "trained with L1 (the seed reports' 'custom CNN'). Expect brownish, desaturated colour.",
        "pix2pix": "Conditional GAN baseline (Isola et al. 2017): the same network as "
        f"generator, trained with {a['l1_weight']:g} x L1 plus a PatchGAN's adversarial loss.",
    }[kind]
    loss = {
        "classification": "rebalanced soft cross-entropy (5 nearest classes, sigma 5, "
        f"lambda {c['rebalancing_lambda']:g})",
        "regression": "L1 on ab / 110",
        "pix2pix": f"{a['l1_weight']:g} x L1 on ab / 110 plus the PatchGAN's adversarial loss "
        "(the validation loss is the L1 term alone)",
    }[kind]
    return f"""---
library_name: pytorch
tags: [image-colorization, colorlab]
---
# ColorLab colorizer: {kind}{" (fine-tuned)" if a["init"] else ""}

{what}
Use it with ColorLab: `python -m colorlab colorize IMAGE -o OUT --method {info["method"]}`.

## Model
- U-Net: encoder widths {c["channels"]} (strides 2 to {2 ** len(c["channels"])}) with a global
  context vector at the bottleneck, decoder back to stride 4; input L{
        " (encoder and context) + hint ab and mask into the decoder at strides 4 and 8, so one"
        " hint reaches about 50 px of the 256 px working image and no further"
        if c["hints"]
        else ""
    }; output {
        f"{c['num_bins']} class logits" if kind == "classification" else "ab (tanh x 110)"
    } at a quarter of the input resolution, upsampled bilinearly; full-resolution L is kept.{
        " Decoding divides the annealed distribution by the rebalancing weights to the power "
        f"{c['prior_correction']:g} (`prior_correction` in config.json; 0 would be Zhang et"
        " al.'s vivid rebalanced distribution, 1 at T = 1 the plain posterior)."
        if kind == "classification"
        else ""
    }
- {info["params"]:,} parameters, {info["params"] * 4 / 1e6:.1f} MB as float32 safetensors.

## Training
- Data: {info["train_images"]} training and {info["val_images"]} validation images from
  {", ".join(Path(d).name for d in a["data"])}; the split is fixed by sha1(file name) % 10 == 0.
  {a["crop"]} px random crops with flips. Sources balanced when drawing: {info["sampling"]}.{
        " Hints simulated from the true colours: a geometric number (1 in 8 samples has none,"
        " mean 7), half 1-9 px squares, half short strokes 4-24 px long and 1-5 px wide."
        if c["hints"]
        else ""
    }{f" Initialised from `{a['init']}` (what fits)." if a["init"] else ""}{init_line(info)}
- Loss: {loss}. Adam lr {a["lr"]} betas (0.5, 0.999), warmup {a["warmup_steps"]} steps, cosine
  decay to {a["min_lr_ratio"]} x lr, batch {a["batch_size"]} x {info["world_size"]} process(es),
  {a["precision"]}, seed {a["seed"]}.
- This checkpoint: step {info["step"]}, {info["minutes"]:.1f} min on {os.cpu_count()} CPU cores.
- Command{"s, in order (resumed)" if len(info["commands"]) > 1 else ""}: {
        ", then ".join(f"`{c}`" for c in info["commands"])
    }

![training curve](training_curve.png)

## Validation during training ({a["crop"]} px centre crops, no hints)
validation loss {m["val_loss"]:.4f}, PSNR {m["val_psnr"]:.2f} dB (T = 0.38 where it applies).
Full-image evaluation against the baselines: the sections below, written by
`python -m training.evaluate colorize --card`, `... hints --card` and
`python -m training.contact_sheet --card`.
"""


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = Run(args, "train_colorizer", argv)
    master = run.master
    out = Path(args.out)
    classes = args.kind == "classification"

    train_images = ImageFolder(args.data, "train", round(args.crop * 1.25))
    val_images = ImageFolder(args.data, "val", round(args.crop * 1.25)) if master else None
    if len(train_images) == 0 or (master and len(val_images) == 0):
        raise SystemExit(
            f"need images in both splits of {args.data} (about one in ten is held out)"
        )

    torch.manual_seed(args.seed)
    init_config: dict = {}
    loss_and_decoding = {
        "prior_correction": args.prior_correction,
        "rebalancing_lambda": args.rebalancing_lambda,
    }
    if args.init:
        state_dict, init_config = load_model_files("colorizer", args.init, required_keys=("kind",))
        if init_config["kind"] != args.kind:
            raise SystemExit(
                f"--init {args.init} is a {init_config['kind']} model, not {args.kind}"
            )
        config = {k: init_config.get(k, DEFAULT_CONFIG[k]) for k in DEFAULT_CONFIG}
        config.update(loss_and_decoding)
        model = ColorizerNet(config)
        if fresh := warm_start(model, state_dict):
            print(f"--init {args.init}: new layers {', '.join(fresh)}")
    else:
        config = {**DEFAULT_CONFIG, "kind": args.kind, "channels": args.channels}
        config.update(hints=classes, **loss_and_decoding)
        bins = training_bins(train_images, args.bins_min_count) if classes else None
        config["num_bins"] = bins.size if classes else 0
        model = ColorizerNet(config)
        if classes:
            model.bin_centres.copy_(torch.from_numpy(bins.centres))
            model.bin_prior.copy_(torch.from_numpy(bins.prior))
    bins = (
        ColorBins(
            model.bin_centres.numpy().copy(),
            model.bin_prior.numpy().copy(),
            model.rebalancing_lambda,
        )
        if classes
        else None
    )
    model = model.to(memory_format=torch.channels_last)
    disc = PatchDiscriminator(3).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    disc_optimizer = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999))
    modules = {"model": model, "disc": disc}
    optimizers = {"optimizer": optimizer, "disc_optimizer": disc_optimizer}
    params = sum(p.numel() for p in model.parameters())
    if args.resume:
        run.restore(run.load_state(config), modules, optimizers)
    run.seed_data()

    train_set = ColorizationSamples(train_images, args.crop, True, bins, hints=model.hints)
    val_batches = []
    if master:
        val_set = ColorizationSamples(val_images, args.crop, False, bins, hints=False)
        val_batches = list(DataLoader(val_set, batch_size=32))
        print(
            f"{args.kind} colorizer {params:,} parameters ({params * 4 / 1e6:.1f} MB)"
            f"{f', {bins.size} colour classes' if bins else ''}; {len(train_images)} train / "
            f"{len(val_images)} val images; {run.world} process(es); from step {run.start_step}"
        )

    def publish(step: int, metrics: dict) -> None:
        info = dict(
            args=vars(args),
            metrics=metrics,
            config=config,
            params=params,
            step=step,
            world_size=run.world,
            commands=run.commands,
            minutes=run.minutes(),
            train_images=len(train_images),
            val_images=len(val_images),
            init_record=init_config if args.init else None,
            sampling=describe_sampling(train_images.paths),
            method={v: k for k, v in MODELS.items()}.get(out.name, args.kind),
        )
        record = {"trained_steps": step, "train_minutes": round(run.minutes(), 1)}
        record["train_command"] = " && ".join(run.commands)
        save_checkpoint(out, model.state_dict(), {**config, **record, **metrics}, model_card(info))
        run.write_extras(out, f"{args.kind} colorizer: loss", "val_loss")

    autocast = torch.autocast("cpu", torch.bfloat16, enabled=args.precision == "bf16")
    train_model = run.wrap(model)
    train_disc = run.wrap(disc) if args.kind == "pix2pix" else None

    def step(index: int, batch: dict) -> float:
        loss, ab = loss_terms(model, batch, autocast, train_model)
        total = loss
        if train_disc is not None:
            lightness = batch["lightness"]
            with autocast:
                real = train_disc(torch.cat([lightness, batch["ab"]], dim=1)).float()
                fake = train_disc(torch.cat([lightness, ab.detach()], dim=1)).float()
            disc_loss = F.binary_cross_entropy_with_logits(
                real, torch.ones_like(real)
            ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
            disc_optimizer.zero_grad(set_to_none=True)
            (disc_loss / 2).backward()
            disc_optimizer.step()
            with autocast:  # the bare module: its gradients are discarded
                fooled = disc(torch.cat([lightness, ab], dim=1)).float()
            adversarial = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
            total = args.l1_weight * loss + adversarial
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        return loss.item()

    def validate(done: int) -> None:
        metrics = evaluate(model, val_batches)
        pix2pix = args.kind == "pix2pix"  # its L1 is no measure of quality
        run.keep_best(done, metrics, "val_loss", lambda: publish(done, metrics), always=pix2pix)
        run.save_state(done, config, modules, optimizers)

    run.train(
        run.batches(train_set, sampling_weights(train_images.paths)),
        step,
        lambda: [optimizer, disc_optimizer],
        validate,
    )
    run.finish(model)


if __name__ == "__main__":
    main()
