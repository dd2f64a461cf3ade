"""Where model weights come from: an explicit folder, the bundled ``checkpoints/``, or the Hub.

A checkpoint is a folder of three files, the layout of Hugging Face's ``PyTorchModelHubMixin``:
``model.safetensors`` (the weights), ``config.json`` (what the model code needs to rebuild the
module) and ``README.md`` (the model card). Our networks are mixin classes, so
``ColorizerNet.from_pretrained(folder_or_repo)`` and ``save_pretrained`` work as anywhere on the
Hub; the app loads them with :func:`load_model`, which adds the bundled folder, pinned revisions,
actionable errors and the per-process cache (:func:`loaded_once`, which every model, ours,
VGG-19 and the reference models of :mod:`colorlab.releases`, goes through). Weights are only ever
read with safetensors, never unpickled, so a downloaded checkpoint cannot run code.

Pretrained weights published by others (``PRETRAINED``, e.g. VGG-19 for neural style) are not
ColorLab checkpoints: only their ``model.safetensors`` is fetched (:func:`resolve_weights`), and
only the tensors the model code names are read from it (:func:`load_weights`).

huggingface_hub reads its environment (``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HOME``, ...) once,
when it is imported, and Gradio imports it early; this module reads it at call time instead.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2  # huggingface_hub 2.x's HTTP client; its transport errors mean "Hub unreachable"
import torch
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    constants,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
)
from huggingface_hub import errors as hub_errors
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from colorlab.errors import CheckpointError, InvalidParameterError, ModelNotFoundError

WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "README.md"
FILES = (WEIGHTS, CONFIG, CARD)
CHECKPOINTS_ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
DEFAULT_ENDPOINT = "https://huggingface.co"
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl"}
HUB_ERRORS = (hub_errors.HfHubHTTPError, httpx2.TransportError, hub_errors.OfflineModeIsEnabled)
REDO = "delete it (if downloaded: its models--* folder in the Hub cache), fetch or save it again"


@dataclass(frozen=True)
class HubModel:
    """A model's Hub repository; pin ``revision`` to a commit sha so the weights never drift."""

    repo_id: str
    revision: str = "main"
    train: str = ""  # the command that trains it, for error messages


MODELS: dict[str, HubModel] = {
    "palettenet": HubModel("colorlab/palettenet", "main", "python -m training.train_palettenet"),
    "colorizer": HubModel("colorlab/colorizer", "main", "python -m training.train_colorizer"),
    "colorizer_regression": HubModel(
        "colorlab/colorizer-regression",
        "main",
        "python -m training.train_colorizer --kind regression",
    ),
    "colorizer_pix2pix": HubModel(
        "colorlab/colorizer-pix2pix", "main", "python -m training.train_colorizer --kind pix2pix"
    ),
    "colorizer_paintings": HubModel(
        "colorlab/colorizer-paintings",
        "main",
        "python -m training.train_colorizer --init checkpoints/colorizer --data "
        "../shared/data/paintings --out checkpoints/colorizer_paintings",
    ),
}

# Weights used as published: only model.safetensors, see resolve_weights.
PRETRAINED: dict[str, HubModel] = {
    # torchvision's VGG-19 ImageNet weights as converted by timm. The revision is the repo's
    # commit 128d470, read off the Hub's page of the repository at that commit (a commit after
    # "Add model", so it holds model.safetensors); not checked against the live Hub from here.
    # COLORLAB_VGG19_REVISION overrides it (e.g. "main").
    "vgg19": HubModel("timm/vgg19.tv_in1k", "128d4708565b3a414bcbb9bbad440b2fe37b9f18"),
}


def _env_var(name: str, key: str) -> str:
    return f"COLORLAB_{re.sub(r'[^A-Z0-9]', '_', name.upper())}_{key}"


def hub_model(name: str) -> HubModel | None:
    """The model's repo and revision: ``MODELS`` or ``PRETRAINED``, overridden by
    ``COLORLAB_<NAME>_REPO|REVISION``.

    A revision pinned in ``MODELS`` belongs to that repository, so overriding the repository alone
    falls back to ``main``.
    """
    default = MODELS.get(name) or PRETRAINED.get(name)
    repo_id = os.environ.get(_env_var(name, "REPO")) or (default.repo_id if default else None)
    if repo_id is None:
        return None
    pinned = default.revision if default and default.repo_id == repo_id else "main"
    revision = os.environ.get(_env_var(name, "REVISION")) or pinned
    return HubModel(repo_id, revision, default.train if default else "")


def endpoint() -> str:
    """The Hub to talk to, from ``HF_ENDPOINT`` as it is now."""
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def _cache_dir() -> str:
    """The Hub cache as the environment says now: ``HF_HUB_CACHE``, else ``$HF_HOME/hub``."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return constants.HF_HUB_CACHE


def offline_mode() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set now (huggingface_hub reads it only at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def resolve(
    name: str,
    local_dir: str | Path | None = None,
    *,
    checkpoints_root: str | Path = CHECKPOINTS_ROOT,
) -> Path:
    """The folder holding model ``name``'s checkpoint files, downloading them if needed.

    Looks in ``local_dir`` if given (and only there), else in ``checkpoints_root/<name>``, else on
    the Hub at the repo and revision of :func:`hub_model`, through the usual Hub cache.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise InvalidParameterError(f"a model name is a-z, 0-9, - and _; got {name!r}")
    if local_dir is not None:
        if not Path(local_dir).is_dir():
            raise ModelNotFoundError(f"model {name!r}: the folder {local_dir} does not exist")
        return _checked(Path(local_dir))
    bundled = Path(checkpoints_root) / name
    if bundled.is_dir():
        return _checked(bundled)
    return _download(name, bundled)


def _checked(directory: Path) -> Path:
    """``directory`` if it holds all three files, else an error saying what to do."""
    missing = [f for f in FILES if not (directory / f).is_file()]
    if not missing:
        return directory
    message = f"the checkpoint folder {directory} lacks {', '.join(missing)}"
    pickled = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if WEIGHTS in missing and pickled:
        message += (
            f"; it holds {', '.join(pickled)}, pickled weights that ColorLab never loads because"
            " unpickling can run code. Convert them with safetensors.torch.save_file"
        )
    raise CheckpointError(f"{message}. Write checkpoints with colorlab.hub.save_checkpoint.")


def _download(name: str, bundled: Path) -> Path:
    """Fetch the three files from the Hub into its cache, or from the cache alone when offline."""
    model = hub_model(name)
    if model is None:
        raise ModelNotFoundError(_not_found(name, bundled, "no Hub repo is registered for it"))
    try:
        return _fetch(model, (CONFIG, WEIGHTS, CARD))
    except _HubMiss as miss:
        raise ModelNotFoundError(_not_found(name, bundled, str(miss))) from None


class _HubMiss(Exception):
    """The Hub (or its cache) cannot supply a file: "<repo>@<revision> at <endpoint>: <why>"."""


def _fetch(model: HubModel, filenames: Sequence[str], *, download: bool = True) -> Path | None:
    """The Hub cache folder holding ``filenames``, all from one commit, fetched if needed.

    Offline or with the Hub unreachable, only the cache is looked at. With ``download=False``
    nothing is downloaded: a cached copy is still returned, but files the Hub has and the cache
    lacks only get a metadata request each, and None is returned (available, not yet here).
    """
    url, cache_dir = endpoint(), _cache_dir()
    offline = "HF_HUB_OFFLINE is set (unset it to download)" if offline_mode() else None
    fetch = functools.partial(hf_hub_download, model.repo_id, cache_dir=cache_dir, endpoint=url)
    try:
        offline = offline or _unreachable(model, url, filenames[0])
        revision, path = model.revision, None
        for filename in filenames:
            if not download and offline is None:
                get_hf_file_metadata(
                    hf_hub_url(model.repo_id, filename, revision=revision, endpoint=url)
                )
                continue
            path = Path(fetch(filename, revision=revision, local_files_only=offline is not None))
            revision = path.parent.name  # the rest from the same commit, even if a push lands now
    except hub_errors.LocalEntryNotFoundError as error:
        reason = f"{offline or error}, and the Hub cache {cache_dir} has no copy"
    except hub_errors.RepositoryNotFoundError:
        reason = "the repository does not exist (or is private and HF_TOKEN is not set)"
    except hub_errors.RevisionNotFoundError:
        reason = f"the repository has no revision {model.revision!r}"
    except hub_errors.RemoteEntryNotFoundError:
        reason = f"the repository has no {filename} at that revision"
    except HUB_ERRORS as error:
        reason = str(error).splitlines()[0]
    else:
        return path.parent if path is not None else None
    raise _HubMiss(f"{model.repo_id}@{model.revision} at {url}: {reason}")


def _unreachable(model: HubModel, url: str, filename: str) -> str | None:
    """Why the Hub cannot be reached (asked about ``filename``), or None if it answers.

    Asked first because hf_hub_download retries an unreachable Hub with backoff for about 25 s
    before it gives up when the cache has no copy.
    """
    try:
        get_hf_file_metadata(
            hf_hub_url(model.repo_id, filename, revision=model.revision, endpoint=url)
        )
    except (httpx2.TransportError, hub_errors.OfflineModeIsEnabled) as error:
        return f"the Hub could not be reached ({error})"
    except hub_errors.HfHubHTTPError as error:
        if error.response.status_code >= 500:  # not-found errors come again from the download
            return f"the Hub answered HTTP {error.response.status_code}"
    return None


def _not_found(name: str, bundled: Path, hub: str) -> str:
    known = MODELS.get(name)
    train = f"train it with `{known.train}`, " if known and known.train else ""
    return (
        f"model {name!r} not found. Looked for the folder {bundled} (absent) and on the Hugging"
        f" Face Hub: {hub}. To get it, {train}put"
        f" {', '.join(FILES)} in {bundled}, or set {_env_var(name, 'REPO')} (and"
        f" {_env_var(name, 'REVISION')}) to a Hub repository that has them."
    )


def load_model_files(
    name: str,
    local_dir: str | Path | None = None,
    *,
    checkpoints_root: Path = CHECKPOINTS_ROOT,
    required_keys: Iterable[str] = (),
) -> tuple[dict[str, torch.Tensor], dict]:
    """The model's weights (name -> tensor, on the CPU) and its parsed config.json.

    Read once per process: later calls for the same unchanged files return the same objects, so
    treat them as read-only. ``required_keys`` are config keys the caller's model code needs.
    """
    directory = resolve(name, local_dir, checkpoints_root=checkpoints_root).resolve()
    stamps = tuple((s.st_mtime_ns, s.st_size) for s in (os.stat(directory / f) for f in FILES))
    state_dict, config = _read(directory, stamps)
    missing = [key for key in required_keys if key not in config]
    if missing:
        raise CheckpointError(
            f"{directory / CONFIG} lacks {', '.join(missing)}: it belongs to another model or an"
            f" older version of {name!r}. Use a matching checkpoint or train a new one."
        )
    return state_dict, config


@functools.lru_cache(maxsize=8)
def _read(directory: Path, stamps: tuple) -> tuple[dict[str, torch.Tensor], dict]:
    """Load and check the files; ``stamps`` (mtime, size) is in the cache key so rewrites reload."""
    weights, config_path = directory / WEIGHTS, directory / CONFIG
    try:
        state_dict = load_file(weights)
    except (SafetensorError, OSError) as error:
        raise CheckpointError(
            f"{weights} is not a valid safetensors file ({error}); {REDO}"
        ) from None
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{config_path} is not valid JSON ({error}); {REDO}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path} must hold a JSON object, got {type(config).__name__}")
    return state_dict, config


_MODULES: dict[Hashable, tuple[object, torch.nn.Module]] = {}
_MODULES_LOCK = threading.Lock()


def loaded_once(
    key: Hashable, tensors: object, build: Callable[[], torch.nn.Module]
) -> torch.nn.Module:
    """The one home of "build each model once per process": the module cached under ``key``,
    frozen and in eval mode, built by ``build()`` when absent or when ``tensors`` (the weights
    it is built from, as this module's readers return them: the same object until the files
    change) is not the object it was built from."""
    with _MODULES_LOCK:
        cached = _MODULES.get(key)
        if cached is None or cached[0] is not tensors:
            _MODULES[key] = (tensors, build().requires_grad_(False).eval())
        return _MODULES[key][1]


def load_model(
    cls: Callable[[dict], torch.nn.Module],
    name: str,
    local_dir: str | Path | None = None,
    *,
    required_keys: Iterable[str] = (),
) -> torch.nn.Module:
    """Our checkpoint ``name`` as ``cls(config)`` with its weights, frozen, in eval mode and
    channels-last (faster convolutions on CPUs), once per process.

    The one loader of ColorLab's own models: what ``PyTorchModelHubMixin.from_pretrained`` does
    (config.json into the constructor, model.safetensors loaded strictly), plus what is ours:
    the bundled ``checkpoints/`` and pinned revisions (:func:`resolve`), config keys the code
    needs, actionable errors and the per-process cache (:func:`loaded_once`).
    """
    state_dict, config = load_model_files(name, local_dir, required_keys=required_keys)
    return loaded_once(
        (getattr(cls, "__name__", str(cls)), name, str(local_dir)),
        state_dict,
        lambda: load_into(cls(config), state_dict, name).to(memory_format=torch.channels_last),
    )


def load_into(
    module: torch.nn.Module, state_dict: dict[str, torch.Tensor], name: str
) -> torch.nn.Module:
    """Load ``state_dict`` into ``module`` strictly and return it in eval mode.

    A mismatch (missing or extra tensors, other shapes) means the checkpoint was made by different
    model code; torch's error is turned into one that says so.
    """
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"the checkpoint of {name!r} does not fit the model code: {error}. Use the checkpoint"
            " revision made for this version of ColorLab, or train a new one."
        ) from None
    return module.eval()


def resolve_weights(name: str, *, checkpoints_root: str | Path = CHECKPOINTS_ROOT) -> Path:
    """The path of pretrained weights ``name``'s model.safetensors, downloading it if needed.

    Looks in the folder named by ``COLORLAB_<NAME>_DIR`` if it is set (and only there), else in
    ``checkpoints_root/<name>``, else on the Hub at :func:`hub_model`'s pinned revision through
    the Hub cache. Only the weights file is fetched; the repository's other files are not needed.
    """
    path = _resolve_weights(name, Path(checkpoints_root), download=True)
    assert path is not None  # a download either yields the file or raises
    return path


def weights_unavailable(
    name: str, *, checkpoints_root: str | Path = CHECKPOINTS_ROOT
) -> str | None:
    """Why :func:`resolve_weights` would fail, or None if it would not; nothing is downloaded.

    A local or bundled file is enough. Otherwise the answer (offline: from the Hub cache; online:
    the Hub is asked whether it has the file, which an unreachable Hub fails within a second) is
    kept for the process, per setting that could change it (folder, endpoint, cache, offline
    mode, repository and revision), so building the app or drawing a battle asks at most once.
    """
    folder = os.environ.get(_env_var(name, "DIR"))
    if not folder and (Path(checkpoints_root) / name / WEIGHTS).is_file():
        return None
    settings = (folder, endpoint(), _cache_dir(), offline_mode(), hub_model(name))
    return _weights_unavailable(name, str(checkpoints_root), settings)


@functools.lru_cache(maxsize=32)
def _weights_unavailable(name: str, checkpoints_root: str, settings: tuple) -> str | None:
    try:
        _resolve_weights(name, Path(checkpoints_root), download=False)
    except ModelNotFoundError as error:
        return str(error)
    return None


def _resolve_weights(name: str, checkpoints_root: Path, download: bool) -> Path | None:
    variable, bundled = _env_var(name, "DIR"), checkpoints_root / name
    folder = os.environ.get(variable)
    if folder:
        if (Path(folder) / WEIGHTS).is_file():
            return Path(folder) / WEIGHTS
        raise ModelNotFoundError(
            f"weights {name!r} not found: {variable} is set to {folder}, which has no {WEIGHTS}."
            f" Put the file there, or unset {variable} to use {bundled} or the Hub."
        )
    if (bundled / WEIGHTS).is_file():
        return bundled / WEIGHTS
    model = hub_model(name)
    if model is None:
        raise ModelNotFoundError(
            f"weights {name!r} not found in {bundled}, and no Hub repo is registered for them:"
            f" set {_env_var(name, 'REPO')} (and {_env_var(name, 'REVISION')})."
        )
    try:
        directory = _fetch(model, (WEIGHTS,), download=download)
    except _HubMiss as miss:
        raise ModelNotFoundError(
            f"weights {name!r} ({WEIGHTS} of {model.repo_id}) not found. Looked in {variable}"
            f" (unset), in the folder {bundled} (no {WEIGHTS}) and on the Hugging Face Hub:"
            f" {miss}. To get them, on a machine with internet run `hf download {model.repo_id}"
            f" {WEIGHTS} --revision {model.revision} --local-dir DIR` and set {variable}=DIR"
            f" (or put the file in {bundled}), or run it without --local-dir to fill the Hub"
            " cache (under HF_HOME) instead."
        ) from None
    return directory / WEIGHTS if directory is not None else None


def load_weights(
    name: str, prefixes: str | tuple[str, ...], *, checkpoints_root: str | Path = CHECKPOINTS_ROOT
) -> dict[str, torch.Tensor]:
    """The tensors of pretrained weights ``name`` whose keys start with ``prefixes``, on the CPU.

    Read with ``safetensors.safe_open``, which maps the file and copies out only the tensors
    asked for: the rest (a classifier head, say) is never read, and nothing is unpickled. Read
    once per process: later calls for the same unchanged file return the same dict (read-only).
    """
    path = resolve_weights(name, checkpoints_root=checkpoints_root).resolve()
    stat = os.stat(path)
    return _read_tensors(path, (stat.st_mtime_ns, stat.st_size), prefixes)


@functools.lru_cache(maxsize=4)
def _read_tensors(path: Path, stamp: tuple, prefixes: str | tuple[str, ...]) -> dict:
    try:
        with safe_open(path, framework="pt") as weights:
            names = weights.keys()  # a list: safe_open itself cannot be iterated
            return {key: weights.get_tensor(key) for key in names if key.startswith(prefixes)}
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is not a valid safetensors file ({error}); {REDO}") from None


def save_checkpoint(
    directory: str | Path, state_dict: dict[str, torch.Tensor], config: dict, model_card: str
) -> Path:
    """Write model.safetensors, config.json and README.md into ``directory``; return it.

    Each file is written to a temporary name and renamed, so a crash or a concurrent reader never
    sees half a file. Tensors are copied to contiguous CPU memory (safetensors needs that, and
    copies also untie shared weights, which safetensors refuses).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {
        key: value.detach().cpu().clone(memory_format=torch.contiguous_format)
        for key, value in state_dict.items()
    }
    write_atomically(directory / WEIGHTS, save(tensors, metadata={"format": "pt"}))
    write_atomically(
        directory / CONFIG, (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
    )
    write_atomically(directory / CARD, model_card.encode())
    return directory


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` into ``path`` through a temporary file and a rename: no reader, and no crash,
    ever leaves half a file."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; checkpoints are shared files
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def push_to_hub(
    directory: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str = "Upload ColorLab checkpoint",
    private: bool = False,
) -> str:
    """Upload a checkpoint folder's three files in one commit, creating the repo if missing.

    Returns the commit sha: pin it with ``COLORLAB_<NAME>_REVISION`` or in ``MODELS``. Uses
    ``create_commit``, not ``upload_folder``: with hf_xet installed the latter runs a threaded
    pipeline that may split an upload into several commits.
    """
    directory = _checked(Path(directory))
    if offline_mode():
        raise CheckpointError(f"cannot push {directory} to {repo_id}: HF_HUB_OFFLINE is set")
    api = HfApi(endpoint=endpoint(), token=token)
    operations = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=directory / f) for f in FILES]
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.create_commit(
            repo_id, operations, commit_message=commit_message, revision=revision
        )
    except HUB_ERRORS as error:
        raise CheckpointError(
            f"could not push {directory} to {repo_id} at {endpoint()}: {error}. The checkpoint is"
            f" still in {directory}; push it later with `hf upload {repo_id} {directory}`."
        ) from None
    return commit.oid
