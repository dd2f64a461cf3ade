"""Train PaletteNet on folders of images with luminance-preserving hue shifts (CPU or CPUs).

    python -m training.train_palettenet                       # defaults: the shared photos
    torchrun --nproc_per_node=2 -m training.train_palettenet   # same, DistributedDataParallel

One loop, nanoGPT style. Stage 1 minimises the MSE on ab (the paper's first stage). An optional
stage 2 (``--adversarial-steps``) freezes the encoder and adds a discriminator on (image,
palette) pairs, as in the paper; it writes a separate checkpoint (``<out>_adversarial``) so the
two can be compared. Validation runs on the fixed split of :func:`training.data.is_validation`.

Writes ``--out`` (the shipped checkpoint: model.safetensors, config.json, README.md with the
validation metrics, plus training_curve.png and train_log.jsonl) whenever validation improves,
and ``--state-dir`` (resume state: weights, optimizer, step; safetensors + JSON, no pickle).
Under ``torchrun`` only rank 0 validates, prints and writes; gloo is the backend.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from colorlab.color import lab_to_srgb
from colorlab.hub import load_model_files, save_checkpoint
from colorlab.metrics import delta_e_ciede2000, psnr
from colorlab.nn import AB_SCALE
from colorlab.recolor.palettenet import DEFAULT_CONFIG, PaletteNet, tensor_to_lab
from training.data import (
    EDIT_MIX,
    ImageFolder,
    RecolorTriples,
    describe_sampling,
    sampling_weights,
)
from training.loop import SHARED_DATA, PatchDiscriminator, Run, common_arguments, warm_start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_arguments(
        p,
        data=[str(SHARED_DATA / "photos"), str(SHARED_DATA / "paintings")],
        name="palettenet",
        steps=5000,
        crop=128,
        lr=2e-4,
    )
    p.add_argument("--channels", type=int, nargs="+", default=DEFAULT_CONFIG["channels"])
    p.add_argument("--final-channels", type=int, default=DEFAULT_CONFIG["final_channels"])
    p.add_argument("--init", metavar="DIR", help="start from this checkpoint's weights")
    p.add_argument("--adversarial-steps", type=int, default=0, help="stage-2 steps (0: none)")
    p.add_argument("--adversarial-weight", type=float, default=0.01, help="adv. loss weight")
    return p.parse_args(argv)


# --- validation, curve, card -------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: PaletteNet, batches: list[dict]) -> dict[str, float]:
    """MSE on scaled ab, and PSNR / mean CIEDE2000 of output vs target (and of the identity)."""
    model.eval()
    errors, scores = [], {"psnr": [], "identity_psnr": []}
    for batch in batches:
        out = model(batch["source"], batch["source_palette"], batch["palette"])
        errors.append(((out[:, 1:] - batch["target"][:, 1:]) ** 2).mean(dim=(1, 2, 3)))
        target = lab_to_srgb(tensor_to_lab(batch["target"]))
        for name, images in (("", out), ("identity_", batch["source"])):
            for image, reference in zip(lab_to_srgb(tensor_to_lab(images)), target, strict=True):
                if np.isfinite(value := psnr(image, reference)):  # identity targets: inf
                    scores.setdefault(f"{name}psnr", []).append(value)
                error = float(delta_e_ciede2000(image, reference).mean())
                scores.setdefault(f"{name}ciede2000", []).append(error)
    model.train()
    mse = float(torch.cat(errors).mean())
    metrics = {"val_mse_ab": mse, "val_rmse_ab_lab": math.sqrt(mse) * AB_SCALE}
    metrics.update({f"val_{k}": float(np.mean(v)) if v else math.nan for k, v in scores.items()})
    return metrics


def model_card(info: dict) -> str:
    m, a = info["metrics"], info["args"]
    stage = (
        "stage 2 (MSE + adversarial, encoder frozen)" if info["adversarial"] else "stage 1 (MSE)"
    )
    return f"""---
library_name: pytorch
tags: [image-to-image, recoloring, palette, colorlab]
---
# PaletteNet (ColorLab)

Palette-based image recoloring after Cho, Yun, Lee and Choi 2017, "PaletteNet: Image Recolorization
with Given Color Palette" (CVPRW), sized for a CPU. Use it with ColorLab:
`python -m colorlab recolor IMAGE -o OUT --method palettenet --palette '#rrggbb,...'`.

## Model
- Encoder: conv stem (stride 2) and residual stages, widths {info["config"]["channels"]};
  decoder: upsample + 2 convolutions per stage with the encoder skip and the *source* palette
  tiled in at every scale; the last stage re-attaches the source image and corrects, per
  pixel, the logits of its soft membership in each palette entry. The prior logits are a
  Gaussian of the Lab distance to each entry (`colorlab.recolor.palettenet.membership_logits`);
  the correction's last convolution starts at zero, so a fresh network is the prior alone.
- An edit moves each pixel as its entries moved, membership-weighted (an entry turned and
  scaled in ab turns and scales its pixels; a grey entry translates them): an unedited
  palette is the identity exactly, and output L = source L exactly.
- Palettes of 1-8 colours as 8 slots (scaled Lab + used-mask), ordered dark to light as
  `colorlab.palette` returns them; trained with 3-8 colours.
- {info["params"]:,} parameters, {info["params"] * 4 / 1e6:.1f} MB as float32 safetensors.
  The network runs once per image at a working size (long side 256 px by default); its
  correction is upsampled and added to the prior computed at full resolution, and each
  palette edit after that runs no network.

## Training
- Data: {info["train_images"]} training and {info["val_images"]} validation images from
  {", ".join(Path(d).name for d in a["data"])}; the split is fixed by sha1(file name) % 10 == 0.
  Samples: {a["crop"]} px crops (short side scaled to {round(a["crop"] * 1.25)} px first), the
  crop as it is or hue-shifted as source, with a target of one of three kinds
  (`training.data.EDIT_MIX`): {info["mix"]}. Hue shift: another luminance-preserving hue shift
  of the whole crop, its palette extracted with `colorlab.palette.extract_palette` (k 3-8).
  Entry edit: one to three entries of the source's palette moved (hue turned, chroma scaled,
  lightness moved in a third of the edits) and the pixels moved with them by the prior
  memberships (`training.data.edit_entries`). Identity: the source with its own palette.
  Sources balanced when drawing: {info["sampling"]}.
  {f"Initialised from `{a['init']}`." if a["init"] else ""}
- This checkpoint: {stage}, step {info["step"]}; Adam lr {a["lr"]} betas (0.5, 0.999), cosine
  decay to {a["min_lr_ratio"]} x lr, batch {a["batch_size"]} x {info["world_size"]} process(es),
  seed {a["seed"]}. Training time so far {info["minutes"]:.1f} min on {os.cpu_count()} CPU cores.
- Command: `{info["command"]}`

![training curve](training_curve.png)

## Validation during training
{info["val_images"]} held-out images, the same mix of targets drawn once, {a["crop"]} px centre
crops.

| | PSNR (dB) | CIEDE2000 | RMSE ab (Lab units) |
|---|---|---|---|
| PaletteNet | {m["val_psnr"]:.2f} | {m["val_ciede2000"]:.2f} | {m["val_rmse_ab_lab"]:.2f} |
| identity (source unchanged) | {m["val_identity_psnr"]:.2f} | {m["val_identity_ciede2000"]:.2f} | |

## Limitations
- Learned from synthetic edits of {info["train_images"]} images (whole hue shifts and moves of
  single entries): it recolors by moving hues and chroma; it cannot change lightness (L is
  kept exactly), so a target palette much lighter or darker than the source only lends its
  hue and chroma.
- Palette entries are matched by position (dark to light); more than 8 colours are refused.
- The correction of the memberships is predicted at the working size and upsampled; the
  numbers above are on 128 px crops; see `training/evaluate.py` for full images and the
  comparison with Chang et al. 2015.
"""


# --- the loop -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run = Run(args, "train_palettenet", argv)
    master = run.master
    out = Path(args.out)
    adversarial_out = out.with_name(out.name + "_adversarial")

    # Data: each process caches the (small) decoded images; the split is fixed by file name.
    short_side = round(args.crop * 1.25)
    train_images = ImageFolder(args.data, "train", short_side)
    val_images = ImageFolder(args.data, "val", short_side) if master else None
    if len(train_images) == 0 or (master and len(val_images) == 0):
        raise SystemExit(
            f"need images in both splits of {args.data} (about one in ten is held out)"
        )
    train_set = RecolorTriples(train_images, args.crop, train=True)
    val_batches = []
    if master:
        val_set = RecolorTriples(val_images, args.crop, train=False, seed=args.seed)
        val_batches = list(DataLoader(val_set, batch_size=32))

    # Model and optimizer: the same seed on every rank (DDP also broadcasts rank 0's weights).
    torch.manual_seed(args.seed)
    config = {**DEFAULT_CONFIG, "channels": args.channels, "final_channels": args.final_channels}
    model = PaletteNet(config)
    if args.init:
        state_dict, _ = load_model_files("palettenet", args.init)
        if fresh := warm_start(model, state_dict):
            print(f"--init {args.init}: new layers {', '.join(fresh)}")
    model = model.to(memory_format=torch.channels_last)  # faster CPU convs
    disc = PatchDiscriminator(3, condition_dim=model.slots * 4)
    disc = disc.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    disc_optimizer = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999))
    params = sum(p.numel() for p in model.parameters())
    modules = {"model": model, "disc": disc}
    if args.resume:
        meta = run.load_state(config)
        if meta["decoder_optimizer"]:  # stage 2 has its own optimizer over the decoder only
            model.encoder.requires_grad_(False)
            optimizer = torch.optim.Adam(model.decoder.parameters(), lr=args.lr, betas=(0.5, 0.999))
        run.restore(meta, modules, {"optimizer": optimizer, "disc_optimizer": disc_optimizer})
    run.seed_data()
    if master:
        print(
            f"PaletteNet {params:,} parameters ({params * 4 / 1e6:.1f} MB); {len(train_images)} "
            f"train / {len(val_images)} val images; {run.world} process(es); "
            f"from step {run.start_step}"
        )

    def publish(directory: Path, step: int, metrics: dict, adversarial: bool) -> None:
        info = dict(
            metrics=metrics,
            args=vars(args),
            config=config,
            params=params,
            step=step,
            adversarial=adversarial,
            world_size=run.world,
            command=" && ".join(run.commands),
            minutes=run.minutes(),
            train_images=len(train_images),
            val_images=len(val_images),
            mix=", ".join(f"{kind} {share:.0%}" for kind, share in EDIT_MIX.items()),
            sampling=describe_sampling(train_images.paths),
        )
        save_checkpoint(
            directory,
            model.state_dict(),
            {**config, "trained_steps": step, **metrics},
            model_card(info),
        )
        run.write_extras(directory, "PaletteNet: MSE on ab (scaled)", "val_mse_ab")

    autocast = torch.autocast("cpu", torch.bfloat16, enabled=args.precision == "bf16")
    optimizers = {"optimizer": optimizer, "disc_optimizer": disc_optimizer}
    trained: dict = {"stage": None}  # the modules as trained in the current stage

    def enter_stage(index: int) -> None:
        """(Re)wrap for this step's stage: DDP sees the trainable modules only."""
        adversarial = index >= args.steps
        if trained["stage"] == adversarial:
            return
        if adversarial:
            model.encoder.requires_grad_(False)
            if index == args.steps:  # a fresh stage-2 optimizer (a resumed one was restored)
                optimizers["optimizer"] = torch.optim.Adam(
                    model.decoder.parameters(), betas=(0.5, 0.999)
                )
            trained.update(model=run.wrap(model), disc=run.wrap(disc))  # encoder frozen
        else:
            trained.update(model=run.wrap(model), disc=None)
        trained["stage"] = adversarial

    def step(index: int, batch: dict) -> float:
        enter_stage(index)
        optimizer = optimizers["optimizer"]
        source, palette, target = batch["source"], batch["palette"], batch["target"]
        source = source.contiguous(memory_format=torch.channels_last)
        with autocast:
            pred = trained["model"](source, batch["source_palette"], palette).float()
        loss = F.mse_loss(pred[:, 1:], target[:, 1:])
        if trained["stage"]:
            # Discriminator: real pairs are (target, its palette); fakes are the network's output
            # and the unchanged source shown with the target palette (a mismatched pair).
            with autocast:
                images = torch.cat([target, pred.detach(), source])
                logits = trained["disc"](images, palette.repeat(3, 1, 1)).float()
            labels = torch.zeros_like(logits)
            labels[: len(target)] = 1
            weights = torch.full_like(logits, 0.5)
            weights[: len(target)] = 1
            disc_loss = F.binary_cross_entropy_with_logits(logits, labels, weights)
            disc_optimizer.zero_grad(set_to_none=True)
            disc_loss.backward()
            disc_optimizer.step()
            with autocast:  # the bare module: its gradients are discarded
                fooled = disc(pred, palette).float()
            loss = loss + args.adversarial_weight * (
                F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    def validate(done: int) -> None:
        metrics = evaluate(model, val_batches)
        adversarial = done > args.steps  # stage 2 writes its own checkpoint, every time
        directory = adversarial_out if adversarial else out
        run.keep_best(
            done,
            metrics,
            "val_mse_ab",
            lambda: publish(directory, done, metrics, adversarial=adversarial),
            always=adversarial,
        )
        # stage 2 replaced the optimizer: say so, for --resume
        run.save_state(done, config, modules, optimizers, decoder_optimizer=adversarial)

    run.train(
        run.batches(train_set, sampling_weights(train_images.paths)),
        step,
        lambda: list(optimizers.values()),
        validate,
        total_steps=args.steps + args.adversarial_steps,
        validate_at=(args.steps,),
    )
    run.finish(model)


if __name__ == "__main__":
    main()
