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
import hashlib
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image, ImageDraw
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from colorlab.color import lab_to_srgb
from colorlab.hub import push_to_hub, save_checkpoint
from colorlab.metrics import delta_e_ciede2000, psnr
from colorlab.recolor.palettenet import DEFAULT_CONFIG, PaletteNet, tensor_to_lab
from training.data import HueShiftTriples, ImageFolder

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_data = [
        str(REPO.parent / "shared/data/photos"),
        str(REPO.parent / "shared/data/paintings"),
    ]
    p.add_argument("--data", nargs="+", default=default_data, help="image folder(s), recursive")
    p.add_argument("--out", default=str(REPO / "checkpoints/palettenet"), help="best checkpoint")
    p.add_argument("--state-dir", default=str(REPO / "runs/palettenet"), help="resume state")
    p.add_argument("--steps", type=int, default=5000, help="stage-1 (MSE) optimisation steps")
    p.add_argument("--batch-size", type=int, default=16, help="per process")
    p.add_argument("--crop", type=int, default=128, help="training crop side in pixels")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (paper: 2e-4)")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="cosine decay floor, x lr")
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=250, help="validate every N steps")
    p.add_argument("--log-every", type=int, default=10, help="log the training loss every N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from --state-dir")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument(
        "--precision",
        choices=["bf16", "fp32"],
        default="bf16",
        help="bf16: convolutions in bfloat16 under autocast (weights stay fp32), 2x faster on "
        "CPUs with AVX512-BF16/AMX; fp32 elsewhere",
    )
    p.add_argument("--channels", type=int, nargs="+", default=DEFAULT_CONFIG["channels"])
    p.add_argument("--final-channels", type=int, default=DEFAULT_CONFIG["final_channels"])
    p.add_argument("--adversarial-steps", type=int, default=0, help="stage-2 steps (0: none)")
    p.add_argument("--adversarial-weight", type=float, default=0.01, help="adv. loss weight")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=0,
        help="time budget of this run (0: none); the learning rate decays to the floor by then",
    )
    p.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the best checkpoint")
    p.add_argument(
        "--write-rank-hashes",
        action="store_true",
        help="each rank writes a hash of its final weights to --state-dir (for tests)",
    )
    return p.parse_args(argv)


# --- resume state: tensors in safetensors, everything else in JSON ------------------------------


def _plain(tensor: torch.Tensor) -> torch.Tensor:
    """A contiguous copy (safetensors needs that; training keeps weights channels-last)."""
    return tensor.detach().clone(memory_format=torch.contiguous_format)


def flatten_state(modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]):
    tensors, meta = {}, {}
    for name, module in modules.items():
        tensors.update({f"{name}/{k}": _plain(v) for k, v in module.state_dict().items()})
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        meta[name] = {"param_groups": state["param_groups"], "scalars": {}}
        for index, values in state["state"].items():
            for key, value in values.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"{name}/{index}/{key}"] = _plain(value)
                else:
                    meta[name]["scalars"][f"{index}/{key}"] = value
    return tensors, meta


def restore_state(tensors, meta, modules, optimizers) -> None:
    for name, module in modules.items():
        prefix = f"{name}/"
        module.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        )
    for name, optimizer in optimizers.items():
        state: dict[int, dict] = {}
        items = [(k.split("/", 2)[1:], v) for k, v in tensors.items() if k.startswith(f"{name}/")]
        items += [(k.split("/"), v) for k, v in meta[name]["scalars"].items()]
        for (index, key), value in items:
            state.setdefault(int(index), {})[key] = value
        optimizer.load_state_dict({"state": state, "param_groups": meta[name]["param_groups"]})


# --- validation, curve, card -------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: PaletteNet, batches: list[dict]) -> dict[str, float]:
    """MSE on scaled ab, and PSNR / mean CIEDE2000 of output vs target (and of the identity)."""
    model.eval()
    errors, scores = [], {}
    for batch in batches:
        out = model(batch["source"], batch["palette"])
        errors.append(((out[:, 1:] - batch["target"][:, 1:]) ** 2).mean(dim=(1, 2, 3)))
        target = lab_to_srgb(tensor_to_lab(batch["target"]))
        for name, images in (("", out), ("identity_", batch["source"])):
            for image, reference in zip(lab_to_srgb(tensor_to_lab(images)), target, strict=True):
                scores.setdefault(f"{name}psnr", []).append(psnr(image, reference))
                error = float(delta_e_ciede2000(image, reference).mean())
                scores.setdefault(f"{name}ciede2000", []).append(error)
    model.train()
    mse = float(torch.cat(errors).mean())
    metrics = {"val_mse_ab": mse, "val_rmse_ab_lab": math.sqrt(mse) * 110}
    metrics.update({f"val_{k}": float(np.mean(v)) for k, v in scores.items()})
    return metrics


def draw_curve(path: Path, log: list[dict]) -> None:
    """Training (grey) and validation (blue) MSE against step, log-scaled, with PIL only."""
    train = [(r["step"], r["train_loss"]) for r in log if "train_loss" in r]
    val = [(r["step"], r["val_mse_ab"]) for r in log if "val_mse_ab" in r]
    points = train + val
    if len(points) < 2:
        return
    width, height, margin = 720, 420, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    steps = [s for s, _ in points]
    logs = [math.log10(max(v, 1e-8)) for _, v in points]
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    y0, y1 = min(logs), max(max(logs), min(logs) + 1e-3)

    def xy(step: float, value: float) -> tuple[float, float]:
        x = margin + (step - x0) / (x1 - x0) * (width - 2 * margin)
        y = (
            height
            - margin
            - (math.log10(max(value, 1e-8)) - y0) / (y1 - y0) * (height - 2 * margin)
        )
        return x, y

    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    for exponent in range(math.floor(y0), math.ceil(y1) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if y0 <= math.log10(value) <= y1:
                x, y = xy(x0, value)
                draw.line([margin, y, width - margin, y], fill=(225, 225, 225))
                draw.text((4, y - 6), f"{value:.0e}", fill="black")
    for step in np.linspace(x0, x1, 5):
        x, _ = xy(step, 1)
        draw.text((x - 12, height - margin + 8), f"{int(step)}", fill="black")
    if len(train) > 1:
        draw.line([xy(s, v) for s, v in train], fill=(150, 150, 150), width=1)
    if len(val) > 1:
        draw.line([xy(s, v) for s, v in val], fill=(30, 90, 200), width=2)
    for s, v in val:
        x, y = xy(s, v)
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(30, 90, 200))
    draw.text(
        (margin, 20),
        "PaletteNet: MSE on ab (scaled), grey = train, blue = validation",
        fill="black",
    )
    draw.text((width // 2 - 20, height - 25), "step", fill="black")
    image.save(path)


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
- Encoder: conv stem (stride 2) and residual stages, widths {info["config"]["channels"]}; decoder:
  upsample + 2 convolutions per stage with the encoder skip and the target palette tiled in at
  every scale; the last stage re-attaches the source L and predicts ab (tanh x 110).
  Output L = source L exactly.
- Palettes of 1-8 colours as 8 slots (scaled Lab + used-mask), ordered dark to light as
  `colorlab.palette` returns them; trained with 3-8 colours.
- {info["params"]:,} parameters, {info["params"] * 4 / 1e6:.1f} MB as float32 safetensors.
  Predicts at a working size (long side 256 px by default) and upsamples ab to full resolution.

## Training
- Data: {info["train_images"]} training and {info["val_images"]} validation images from
  {", ".join(Path(d).name for d in a["data"])}; the split is fixed by sha1(file name) % 10 == 0.
  Samples: {a["crop"]} px crops (short side scaled to {round(a["crop"] * 1.25)} px first), two
  random luminance-preserving hue shifts as source and target, the target's palette extracted
  with `colorlab.palette.extract_palette` (k from 3 to 8).
- This checkpoint: {stage}, step {info["step"]}; Adam lr {a["lr"]} betas (0.5, 0.999), cosine
  decay to {a["min_lr_ratio"]} x lr, batch {a["batch_size"]} x {info["world_size"]} process(es),
  seed {a["seed"]}. Training time so far {info["minutes"]:.1f} min on {os.cpu_count()} CPU cores.
- Command: `{info["command"]}`

## Validation ({info["val_images"]} held-out images, fixed hue shifts, {a["crop"]} px centre crops)
| | PSNR (dB) | CIEDE2000 | RMSE ab (Lab units) |
|---|---|---|---|
| PaletteNet | {m["val_psnr"]:.2f} | {m["val_ciede2000"]:.2f} | {m["val_rmse_ab_lab"]:.2f} |
| identity (source unchanged) | {m["val_identity_psnr"]:.2f} | {m["val_identity_ciede2000"]:.2f} | |

## Limitations
- Learned from synthetic hue shifts of {info["train_images"]} images: it recolors by moving hues
  and chroma; it cannot change lightness (L is kept exactly), so a target palette that is much
  lighter or darker than the source only lends its hue and chroma.
- Palette entries are matched by position (dark to light); more than 8 colours are refused.
- Colour is predicted at the working size and upsampled bilinearly (on the validation photos
  that step alone costs about 0.6 CIEDE2000 against the exact target), so fine colour detail
  of large images is softened. The numbers above are on 128 px crops; see
  `training/evaluate.py` for full images and the comparison with Chang et al. 2015.
"""


# --- the loop -------------------------------------------------------------------------------------


class Discriminator(nn.Module):
    """PatchGAN on cat(Lab image, palette tiled to every pixel): is this a real recoloring?"""

    def __init__(self, palette_dim: int = 32, width: int = 32) -> None:
        super().__init__()
        layers, channels = [], 3 + palette_dim
        for out in (width, width * 2, width * 4):
            layers += [nn.Conv2d(channels, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = out
        self.net = nn.Sequential(*layers, nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, image: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
        tiled = palette.flatten(1)[:, :, None, None].expand(-1, -1, *image.shape[-2:])
        return self.net(torch.cat([image, tiled], dim=1))


def learning_rate(step: int, args: argparse.Namespace, budget_used: float = 0.0) -> float:
    """Linear warmup, then cosine decay to ``min_lr_ratio`` x lr by the end of stage 1.

    With a time budget, the decay follows whichever runs out first, steps or time
    (``budget_used`` is the fraction of ``--max-minutes`` spent), so a run cut short by the
    budget still ends at the low learning rate. Stage 2 runs at the floor.
    """
    if step >= args.steps:
        return args.lr * args.min_lr_ratio
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    progress = min(1.0, max(progress, budget_used))
    return args.lr * (
        args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    master = rank == 0
    out, state_dir = Path(args.out), Path(args.state_dir)
    adversarial_out = out.with_name(out.name + "_adversarial")
    state_dir.mkdir(parents=True, exist_ok=True)
    launcher = f"torchrun --nproc_per_node={world} -m" if distributed else "python -m"
    arguments = shlex.join(sys.argv[1:] if argv is None else argv)
    command = f"{launcher} training.train_palettenet {arguments}".strip()

    # Data: each process caches the (small) decoded images; the split is fixed by file name.
    short_side = round(args.crop * 1.25)
    train_images = ImageFolder(args.data, "train", short_side)
    val_images = ImageFolder(args.data, "val", short_side) if master else None
    if len(train_images) == 0 or (master and len(val_images) == 0):
        raise SystemExit(
            f"need images in both splits of {args.data} (about one in ten is held out)"
        )
    train_set = HueShiftTriples(train_images, args.crop, train=True)
    sampler = DistributedSampler(train_set, seed=args.seed) if distributed else None
    loader = DataLoader(
        train_set,
        batch_size=args.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
        drop_last=len(train_set) // world >= args.batch_size,
    )
    val_batches = []
    if master:
        val_set = HueShiftTriples(val_images, args.crop, train=False, seed=args.seed)
        val_batches = list(DataLoader(val_set, batch_size=32))

    # Model and optimizer: the same seed on every rank (DDP also broadcasts rank 0's weights).
    torch.manual_seed(args.seed)
    config = {**DEFAULT_CONFIG, "channels": args.channels, "final_channels": args.final_channels}
    model = PaletteNet(config).to(memory_format=torch.channels_last)  # faster CPU convs
    disc = Discriminator(model.slots * 4).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    disc_optimizer = torch.optim.Adam(disc.parameters(), lr=args.lr, betas=(0.5, 0.999))
    params = sum(p.numel() for p in model.parameters())
    start_step, best, log, minutes_before = 0, math.inf, [], 0.0
    total_steps = args.steps + args.adversarial_steps
    if args.resume:
        if not (state_dir / "state.json").is_file():
            raise SystemExit(f"--resume: no saved state in {state_dir} (see --state-dir)")
        meta = json.loads((state_dir / "state.json").read_text())
        if meta["config"] != config:
            raise SystemExit(
                f"--resume: the saved model config {meta['config']} differs from {config}"
            )
        if meta["decoder_optimizer"]:  # stage 2 has its own optimizer over the decoder only
            model.encoder.requires_grad_(False)
            optimizer = torch.optim.Adam(model.decoder.parameters(), lr=args.lr, betas=(0.5, 0.999))
        modules = {"model": model, "disc": disc}
        restore_state(
            load_file(state_dir / "state.safetensors"),
            meta,
            modules,
            {"optimizer": optimizer, "disc_optimizer": disc_optimizer},
        )
        start_step, best, minutes_before = meta["step"], meta["best"], meta["minutes"]
        # Records written after the saved step (a run stopped between saves) are redone.
        log_path = state_dir / "train_log.jsonl"
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        log = [r for r in map(json.loads, lines) if r["step"] <= start_step]
        if master:
            log_path.write_text("".join(json.dumps(r) + "\n" for r in log))
    torch.manual_seed(args.seed * 1000 + rank + 1 + start_step)  # data order and augmentation
    if master:
        print(
            f"PaletteNet {params:,} parameters ({params * 4 / 1e6:.1f} MB); {len(train_images)} "
            f"train / {len(val_images)} val images; {world} process(es); from step {start_step}"
        )

    def save_state(step: int) -> None:
        tensors, meta = flatten_state(
            {"model": model, "disc": disc},
            {"optimizer": optimizer, "disc_optimizer": disc_optimizer},
        )
        save_file(tensors, state_dir / "state.safetensors")
        meta.update(step=step, best=best, config=config, args=vars(args), minutes=minutes())
        meta["decoder_optimizer"] = bool(stage)  # stage 2 replaced the optimizer
        (state_dir / "state.json").write_text(json.dumps(meta, indent=1))

    def write_log(record: dict) -> None:
        log.append(record)
        with open(state_dir / "train_log.jsonl", "a") as file:
            file.write(json.dumps(record) + "\n")

    def publish(directory: Path, step: int, metrics: dict, adversarial: bool) -> None:
        info = dict(
            metrics=metrics,
            args=vars(args),
            config=config,
            params=params,
            step=step,
            adversarial=adversarial,
            world_size=world,
            command=command,
            minutes=minutes(),
            train_images=len(train_images),
            val_images=len(val_images),
        )
        save_checkpoint(
            directory,
            model.state_dict(),
            {**config, "trained_steps": step, **metrics},
            model_card(info),
        )
        draw_curve(directory / "training_curve.png", log)
        (directory / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))

    def batches():
        epoch = start_step * args.batch_size * world // max(1, len(train_set))
        while True:
            if sampler is not None:
                sampler.set_epoch(epoch)
            yield from loader
            epoch += 1

    if master and not args.resume:
        (state_dir / "train_log.jsonl").unlink(missing_ok=True)
    started = time.time()

    def minutes() -> float:
        return minutes_before + (time.time() - started) / 60

    autocast = torch.autocast("cpu", torch.bfloat16, enabled=args.precision == "bf16")
    stage, train_model, train_disc = None, None, None
    stream = batches()
    progress = tqdm(
        range(start_step, total_steps),
        initial=start_step,
        total=total_steps,
        disable=not master,
        dynamic_ncols=True,
    )
    step, losses, metrics = start_step, [], {}
    for step in progress:
        adversarial = step >= args.steps
        if stage != adversarial:  # (re)wrap for this stage: DDP sees the trainable modules only
            train_model = train_disc = None
            if adversarial:
                model.encoder.requires_grad_(False)
                if step == args.steps:  # fresh stage-2 optimizer (a resumed one was restored)
                    optimizer = torch.optim.Adam(model.decoder.parameters(), betas=(0.5, 0.999))
                train_model = DDP(model.decoder) if distributed else model.decoder
                train_disc = DDP(disc) if distributed else disc
            else:
                train_model = DDP(model) if distributed else model
            stage = adversarial
        # Time spent, the same number on every rank (the learning rate depends on it).
        elapsed = torch.tensor(minutes() - minutes_before)
        if distributed:
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        budget_used = float(elapsed) / args.max_minutes if args.max_minutes > 0 else 0.0
        stop = budget_used >= 1
        lr = learning_rate(step, args, budget_used)
        for group in [*optimizer.param_groups, *disc_optimizer.param_groups]:
            group["lr"] = lr
        batch = next(stream)
        source, palette, target = batch["source"], batch["palette"], batch["target"]
        source = source.contiguous(memory_format=torch.channels_last)
        if not adversarial:
            with autocast:
                pred = train_model(source, palette).float()
            loss = F.mse_loss(pred[:, 1:], target[:, 1:])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad(), autocast:
                features = model.encoder(source)
            with autocast:
                ab = train_model(features, source[:, :1], palette).float()
            pred = torch.cat([source[:, :1], ab], dim=1)
            # Discriminator: real pairs are (target, its palette); fakes are the network's output
            # and the unchanged source shown with the target palette (a mismatched pair).
            with autocast:
                images = torch.cat([target, pred.detach(), source])
                logits = train_disc(images, palette.repeat(3, 1, 1)).float()
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
            mse = F.mse_loss(ab, target[:, 1:])
            loss = mse + args.adversarial_weight * F.binary_cross_entropy_with_logits(
                fooled, torch.ones_like(fooled)
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
        done = step + 1
        last = done == total_steps or stop
        if master and (done % args.log_every == 0 or last):
            write_log(
                {"step": done, "train_loss": float(np.mean(losses)), "lr": lr, "minutes": minutes()}
            )
            progress.set_postfix(loss=f"{np.mean(losses):.4f}", lr=f"{lr:.1e}")
            losses = []
        if master and (done % args.eval_every == 0 or last or done == args.steps):
            metrics = evaluate(model, val_batches)
            write_log({"step": done, **metrics, "minutes": minutes()})
            tqdm.write(f"step {done}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if adversarial:
                publish(adversarial_out, done, metrics, adversarial=True)
            elif metrics["val_mse_ab"] < best:
                best = metrics["val_mse_ab"]
                publish(out, done, metrics, adversarial=False)
            save_state(done)
        if stop:
            if master:
                tqdm.write(f"time budget of {args.max_minutes} min reached at step {done}")
            break
    progress.close()

    if args.write_rank_hashes:
        digest = hashlib.sha256()
        for key, value in sorted(model.state_dict().items()):
            digest.update(key.encode() + _plain(value).numpy().tobytes())
        (state_dir / f"rank{rank}.sha256").write_text(digest.hexdigest())
    if master and args.push_to_hub:
        commit = push_to_hub(out, args.push_to_hub)
        print(f"pushed {out} to {args.push_to_hub} at commit {commit}")
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
