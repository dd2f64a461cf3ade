"""What every ColorLab training script shares, so each script is only its model and its loss.

- :func:`common_arguments`: the flags every trainer takes (data, output, schedule, resume,
  precision, time budget, Hub push).
- :class:`Run`: one training run across processes: ``torchrun`` detection (DDP over gloo, rank
  0 validates and writes), the time budget (the same on every rank), the JSON-lines log, resume
  state (tensors in safetensors, the rest in JSON: no pickle), the command line for the model
  card, and the end (rank hashes for tests, push to the Hub).
- :func:`learning_rate` (warmup + cosine, following the time budget when that runs out first),
  :func:`draw_curve` (PNG training curve, matplotlib) and :class:`PatchDiscriminator`.
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
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler
from tqdm import tqdm

from colorlab.hub import push_to_hub

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared/data"


def common_arguments(
    parser: argparse.ArgumentParser,
    *,
    data: list[str],
    name: str,
    steps: int,
    crop: int,
    lr: float,
    batch_size: int = 16,
    eval_every: int = 250,
) -> argparse.ArgumentParser:
    """Add the flags every trainer shares; the keyword arguments are this trainer's defaults."""
    p = parser
    p.add_argument("--data", nargs="+", default=data, help="image folder(s), recursive")
    p.add_argument("--out", default=str(REPO / "checkpoints" / name), help="best checkpoint")
    p.add_argument("--state-dir", default=str(REPO / "runs" / name), help="resume state")
    p.add_argument("--steps", type=int, default=steps, help="optimisation steps")
    p.add_argument("--batch-size", type=int, default=batch_size, help="per process")
    p.add_argument("--crop", type=int, default=crop, help="training crop side in pixels")
    p.add_argument("--lr", type=float, default=lr, help="Adam learning rate")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="cosine decay floor, x lr")
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=eval_every, help="validate every N steps")
    p.add_argument("--log-every", type=int, default=10, help="log the training loss every N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from --state-dir")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default="auto",
        help="bf16: convolutions in bfloat16 under autocast (weights stay fp32), 2x faster on "
        "CPUs with AVX-512; on AVX2 about 10x slower than fp32. auto: bf16 where AVX-512 is",
    )
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
    return p


# --- resume state: tensors in safetensors, everything else in JSON ------------------------------


def plain(tensor: torch.Tensor) -> torch.Tensor:
    """A contiguous copy (safetensors needs that; training keeps weights channels-last)."""
    return tensor.detach().clone(memory_format=torch.contiguous_format)


def flatten_state(modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]):
    tensors, meta = {}, {}
    for name, module in modules.items():
        tensors.update({f"{name}/{k}": plain(v) for k, v in module.state_dict().items()})
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        meta[name] = {"param_groups": state["param_groups"], "scalars": {}}
        for index, values in state["state"].items():
            for key, value in values.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"{name}/{index}/{key}"] = plain(value)
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


# --- one run across processes --------------------------------------------------------------------


class Run:
    """A training run: processes, time budget, log, resume state and the end of the run.

    Under ``torchrun`` (``RANK`` and ``WORLD_SIZE`` set) it joins the gloo process group;
    only rank 0 (``master``) validates, prints and writes.
    """

    def __init__(self, args: argparse.Namespace, script: str, argv: list[str] | None) -> None:
        self.args = args
        if args.precision == "auto":  # resolved here, so that cards name what was used
            avx512 = torch.backends.cpu.get_cpu_capability().startswith("AVX512")
            args.precision = "bf16" if avx512 else "fp32"
        self.distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
        if self.distributed:
            dist.init_process_group("gloo")
        self.rank, self.world = (
            (dist.get_rank(), dist.get_world_size()) if self.distributed else (0, 1)
        )
        self.master = self.rank == 0
        self.state_dir = Path(args.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        launcher = f"torchrun --nproc_per_node={self.world} -m" if self.distributed else "python -m"
        arguments = shlex.join(sys.argv[1:] if argv is None else argv)
        self.command = f"{launcher} training.{script} {arguments}".strip()
        self.commands = [self.command]  # with --resume: every command of the run, in order
        self.start_step, self.best, self.log, self._minutes_before = 0, math.inf, [], 0.0
        self._started = time.time()
        if self.master and not args.resume:
            (self.state_dir / "train_log.jsonl").unlink(missing_ok=True)

    # time
    def minutes(self) -> float:
        """Training minutes so far, including runs this one resumed."""
        return self._minutes_before + (time.time() - self._started) / 60

    def budget_used(self) -> float:
        """Share of ``--max-minutes`` spent by this run (0 without a budget); equal on all ranks."""
        elapsed = torch.tensor(self.minutes() - self._minutes_before)
        if self.distributed:
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        return float(elapsed) / self.args.max_minutes if self.args.max_minutes > 0 else 0.0

    # data
    def loader(
        self, dataset: Dataset, weights: np.ndarray | None = None
    ) -> tuple[DataLoader, Sampler | None]:
        """Shuffled batches of ``--batch-size``, split across processes under torchrun; with
        ``weights`` (one per item), items drawn by weight (:class:`WeightedDraws`)."""
        if weights is not None:
            sampler = WeightedDraws(weights, self.rank, self.world, self.args.seed)
        elif self.distributed:
            sampler = DistributedSampler(dataset, seed=self.args.seed)
        else:
            sampler = None
        loader = DataLoader(
            dataset,
            batch_size=self.args.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            num_workers=self.args.workers,
            persistent_workers=self.args.workers > 0,
            drop_last=len(dataset) // self.world >= self.args.batch_size,
        )
        return loader, sampler

    def batches(
        self, dataset: Dataset, weights: np.ndarray | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Endless batches, epoch after epoch, starting at the epoch of the resumed step."""
        loader, sampler = self.loader(dataset, weights)
        epoch = self.start_step * self.args.batch_size * self.world // max(1, len(dataset))
        while True:
            if sampler is not None:
                sampler.set_epoch(epoch)
            yield from loader
            epoch += 1

    # the loop
    def train(
        self,
        stream: Iterator[dict[str, torch.Tensor]],
        step: Callable[[int, dict[str, torch.Tensor]], float],
        optimizers: Callable[[], list[torch.optim.Optimizer]],
        validate: Callable[[int], None],
        total_steps: int | None = None,
        validate_at: tuple[int, ...] = (),
    ) -> None:
        """The training loop every trainer runs: schedule, log, validation, time budget.

        Each step sets the learning rate (:func:`learning_rate`) on the current ``optimizers()``
        and calls ``step(index, batch)``, which does the model's update and returns its loss.
        Rank 0 logs every ``--log-every`` steps and calls ``validate(steps_done)`` every
        ``--eval-every``, at the steps in ``validate_at`` and at the end (the last step or the
        end of ``--max-minutes``); ``validate`` compares, publishes and saves state
        (:meth:`keep_best`, :meth:`save_state`).
        """
        total_steps = self.args.steps if total_steps is None else total_steps
        progress = tqdm(
            range(self.start_step, total_steps),
            initial=self.start_step,
            total=total_steps,
            disable=not self.master,
            dynamic_ncols=True,
        )
        losses = []
        for index in progress:
            budget_used = self.budget_used()
            stop = budget_used >= 1
            lr = learning_rate(index, self.args, budget_used)
            for optimizer in optimizers():
                for group in optimizer.param_groups:
                    group["lr"] = lr
            losses.append(step(index, next(stream)))
            done = index + 1
            last = done == total_steps or stop
            if self.master and (done % self.args.log_every == 0 or last):
                self.log_training(done, losses, lr, progress)
                losses = []
            if self.master and (done % self.args.eval_every == 0 or last or done in validate_at):
                validate(done)
            if stop:
                self.say(f"time budget of {self.args.max_minutes} min reached at step {done}")
                break
        progress.close()

    def keep_best(
        self,
        done: int,
        metrics: dict[str, float],
        key: str,
        publish: Callable[[], None],
        always: bool = False,
    ) -> None:
        """Log validation; ``publish()`` when ``metrics[key]`` is the lowest so far, or every
        time when ``always`` (a loss that is no measure of quality: the last one ships)."""
        self.log_validation(done, metrics)
        if always or metrics[key] < self.best:
            self.best = min(self.best, metrics[key])
            publish()

    def wrap(self, module: nn.Module) -> nn.Module:
        """The module as trained: DDP-wrapped under torchrun."""
        return DDP(module) if self.distributed else module

    def seed_data(self) -> None:
        """Seed data order and augmentation: different per rank and per resumed step."""
        torch.manual_seed(self.args.seed * 1000 + self.rank + 1 + self.start_step)

    # log and state
    def say(self, message: str) -> None:
        """Print on rank 0 only, without breaking the progress bar."""
        if self.master:
            tqdm.write(message)

    def log_training(self, step: int, losses: list[float], lr: float, progress) -> None:
        """Log the mean training loss since the last record; show it on the progress bar."""
        loss = float(np.mean(losses))
        self.write_log({"step": step, "train_loss": loss, "lr": lr, "minutes": self.minutes()})
        progress.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.1e}")

    def log_validation(self, step: int, metrics: dict[str, float]) -> None:
        self.write_log({"step": step, **metrics, "minutes": self.minutes()})
        tqdm.write(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

    def write_log(self, record: dict) -> None:
        self.log.append(record)
        with open(self.state_dir / "train_log.jsonl", "a") as file:
            file.write(json.dumps(record) + "\n")

    def load_state(self, config: dict) -> dict:
        """Read ``--state-dir``'s saved state (for ``--resume``), checking the model config."""
        if not (self.state_dir / "state.json").is_file():
            raise SystemExit(f"--resume: no saved state in {self.state_dir} (see --state-dir)")
        meta = json.loads((self.state_dir / "state.json").read_text())
        if meta["config"] != config:
            raise SystemExit(
                f"--resume: the saved model config {meta['config']} differs from {config}"
            )
        return meta

    def restore(self, meta: dict, modules: dict, optimizers: dict) -> None:
        """Load saved weights and optimizer state; drop log records after the saved step."""
        restore_state(load_file(self.state_dir / "state.safetensors"), meta, modules, optimizers)
        self.start_step, self.best = meta["step"], meta["best"]
        self._minutes_before = meta["minutes"]
        self.commands = [*meta.get("commands", []), self.command]
        log_path = self.state_dir / "train_log.jsonl"
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        self.log = [r for r in map(json.loads, lines) if r["step"] <= self.start_step]
        if self.master:
            log_path.write_text("".join(json.dumps(r) + "\n" for r in self.log))

    def save_state(self, step: int, config: dict, modules: dict, optimizers: dict, **extra):
        tensors, meta = flatten_state(modules, optimizers)
        save_file(tensors, self.state_dir / "state.safetensors")
        meta.update(step=step, best=self.best, config=config, args=vars(self.args))
        meta.update(minutes=self.minutes(), commands=self.commands, **extra)
        (self.state_dir / "state.json").write_text(json.dumps(meta, indent=1))

    def write_extras(self, directory: Path, curve_title: str, val_key: str) -> None:
        """Beside a published checkpoint: the training curve and the log."""
        draw_curve(directory / "training_curve.png", self.log, val_key, curve_title)
        (directory / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in self.log))

    def finish(self, model: nn.Module) -> None:
        """Rank hashes (with ``--write-rank-hashes``), push to the Hub, leave the group."""
        if self.args.write_rank_hashes:
            digest = hashlib.sha256()
            for key, value in sorted(model.state_dict().items()):
                digest.update(key.encode() + plain(value).numpy().tobytes())
            (self.state_dir / f"rank{self.rank}.sha256").write_text(digest.hexdigest())
        if self.master and self.args.push_to_hub:
            commit = push_to_hub(Path(self.args.out), self.args.push_to_hub)
            print(f"pushed {self.args.out} to {self.args.push_to_hub} at commit {commit}")
        if self.distributed:
            dist.barrier()
            dist.destroy_process_group()


def warm_start(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> list[str]:
    """Load what fits of an earlier checkpoint into ``model``; return the names left as new.

    Tensors load where name and shape match. A weight that had more input channels than the
    model now takes (an input dropped, e.g. hint channels that moved out of a network's first
    layer) keeps its leading channels. Everything else keeps its fresh initialisation, so an
    architecture change need not start from nothing.
    """
    own = model.state_dict()
    fitted = {}
    for name, tensor in state_dict.items():
        target = own.get(name)
        if target is None:
            continue
        if target.shape != tensor.shape and tensor.dim() > 1 and tensor.shape[1] > target.shape[1]:
            tensor = tensor[:, : target.shape[1]]
        if target.shape == tensor.shape:
            fitted[name] = tensor
    model.load_state_dict(fitted, strict=False)
    return sorted(set(own) - set(fitted))


class WeightedDraws(Sampler):
    """Each epoch, ``len(weights) / world`` indices drawn with replacement by weight: a
    different draw per epoch and per process (seeded by both), so ranks share the work."""

    def __init__(self, weights: np.ndarray, rank: int, world: int, seed: int) -> None:
        self.weights = torch.as_tensor(np.asarray(weights, np.float64))
        self.rank, self.world, self.seed, self.epoch = rank, world, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.weights) // self.world

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(
            (self.seed * 100_003 + self.epoch) * 64 + self.rank
        )
        draws = torch.multinomial(self.weights, len(self), replacement=True, generator=generator)
        return iter(draws.tolist())


def learning_rate(step: int, args: argparse.Namespace, budget_used: float = 0.0) -> float:
    """Linear warmup, then cosine decay to ``min_lr_ratio`` x lr by ``args.steps``.

    With a time budget, the decay follows whichever runs out first, steps or time
    (``budget_used`` is the fraction of ``--max-minutes`` spent), so a run cut short by the
    budget still ends at the low learning rate. Steps beyond ``args.steps`` run at the floor.
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


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): is each patch of the image real? Optionally conditioned.

    ``condition_dim`` > 0: a vector per image (e.g. a palette) tiled to every pixel and
    concatenated to the image channels.
    """

    def __init__(self, in_channels: int, width: int = 32, condition_dim: int = 0) -> None:
        super().__init__()
        layers, channels = [], in_channels + condition_dim
        for out in (width, width * 2, width * 4):
            layers += [nn.Conv2d(channels, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = out
        self.net = nn.Sequential(*layers, nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, image: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if condition is not None:
            tiled = condition.flatten(1)[:, :, None, None].expand(-1, -1, *image.shape[-2:])
            image = torch.cat([image, tiled], dim=1)
        return self.net(image)


def draw_curve(path: Path, log: list[dict], val_key: str, title: str) -> None:
    """Training loss (per step, and a running mean) and ``val_key`` against step, log-scaled."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot as plt

    train = np.array([(r["step"], r["train_loss"]) for r in log if "train_loss" in r])
    val = np.array([(r["step"], r[val_key]) for r in log if val_key in r])
    if len(train) + len(val) < 2:
        return
    figure, axes = plt.subplots(figsize=(7.2, 4.2), dpi=100, layout="constrained")
    if len(train):
        window = max(1, len(train) // 50)
        if window > 1:  # the raw losses behind their running mean
            axes.plot(*train.T, color="0.8", linewidth=0.6, label="training (per logged step)")
        smooth = np.convolve(train[:, 1], np.ones(window) / window, mode="valid")
        label = f"training (running mean of {window})" if window > 1 else "training"
        axes.plot(train[window - 1 :, 0], smooth, color="0.35", label=label)
    if len(val):
        axes.plot(*val.T, "o-", color="tab:blue", label=f"validation ({val_key})")
    axes.set(title=title, xlabel="step", yscale="log")
    axes.yaxis.set_major_formatter("{x:g}")
    axes.yaxis.set_minor_formatter("{x:g}")
    axes.grid(True, which="both", color="0.92")
    axes.legend()
    figure.savefig(path)
    plt.close(figure)
