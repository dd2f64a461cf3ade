"""Weights that their authors publish as pickled PyTorch files at a URL, not as Hub checkpoints.

Zhang et al.'s colorizers and Huang and Belongie's AdaIN (see :data:`RELEASES`). Where a model's
files come from, in order:

1. ``COLORLAB_<NAME>_DIR``, a folder of the user's holding the official file names. Their layout
   is checked (every key, every shape, when the module loads them) but not a published hash.
2. The cache, ``$HF_HOME/colorlab/releases/<name>/``: each file converted once to
   ``<stem>.safetensors`` beside the download, with a record of both files' sha256. Every later
   load checks the converted file against its record.
3. A Hub mirror in ColorLab's checkpoint layout, made by ``training.convert_reference``, where
   one is registered (``COLORLAB_<NAME>_REPO`` or ``colorlab.hub.MODELS``).
4. A download from the release URL (``COLORLAB_<NAME>_URL`` replaces its folder, e.g. for a
   mirror), with a progress bar. File names ending ``-<hex>.pth`` carry the first hex digits of
   their sha256 (torch.hub's convention): a download that does not match is refused and deleted.
   AdaIN publishes no hash, so its first download's sha256 is recorded and checked from then on.

Files are unpickled only with ``torch.load(weights_only=True)``, and one holding anything but
tensors is refused, so a release file cannot run code or smuggle in objects.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import pickle
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2  # huggingface_hub's HTTP client
import torch
from huggingface_hub import constants
from huggingface_hub.file_download import http_get
from huggingface_hub.utils import get_session
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from colorlab import hub
from colorlab.errors import CheckpointError, ModelNotFoundError
from colorlab.hub import load_into, loaded_once, offline_mode, write_atomically

TORCH_HUB_HASH = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub: "name-<sha256 prefix>.pth"


@dataclass(frozen=True)
class Release:
    """A model as its authors release it: files at ``url`` -> prefixes of the module's keys."""

    name: str
    url: str
    files: dict[str, str]  # official file name -> the prefix its keys take in the module
    module: str  # "package.module:Class" of the network the files are for
    paper: str
    origin: str  # the repository that publishes the files
    licence: str

    @property
    def env_dir(self) -> str:
        return f"COLORLAB_{self.name.upper()}_DIR"

    @property
    def env_url(self) -> str:
        return f"COLORLAB_{self.name.upper()}_URL"

    def file_url(self, filename: str) -> str:
        return f"{os.environ.get(self.env_url, self.url).rstrip('/')}/{filename}"


ZHANG = "https://colorizers.s3.us-east-2.amazonaws.com"
RELEASES: dict[str, Release] = {
    "eccv16": Release(
        "eccv16",
        ZHANG,
        {"colorization_release_v2-9b330a0b.pth": ""},
        "colorlab.colorize.reference:ECCV16",
        "Zhang, Isola and Efros, Colorful Image Colorization, ECCV 2016",
        "richzhang/colorization (colorizers/eccv16.py)",
        "BSD-2-Clause (richzhang/colorization)",
    ),
    "siggraph17": Release(
        "siggraph17",
        ZHANG,
        {"siggraph17-df00044c.pth": ""},
        "colorlab.colorize.reference:SIGGRAPH17",
        "Zhang et al., Real-Time User-Guided Image Colorization with Learned Deep Priors, "
        "SIGGRAPH 2017",
        "richzhang/colorization (colorizers/siggraph17.py)",
        "BSD-2-Clause (richzhang/colorization)",
    ),
    "adain": Release(
        "adain",
        "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0",
        {"vgg_normalised.pth": "vgg.", "decoder.pth": "decoder."},
        "colorlab.stylize.adain:AdaIN",
        "Huang and Belongie, Arbitrary Style Transfer in Real-time with Adaptive Instance "
        "Normalization, ICCV 2017",
        "naoto0804/pytorch-AdaIN (release v0.0.0)",
        "MIT (naoto0804/pytorch-AdaIN)",
    ),
}


def published_hash(filename: str) -> str | None:
    """The sha256 prefix a torch.hub-style file name carries, or None."""
    match = TORCH_HUB_HASH.search(filename)
    return match.group(1) if match else None


def cache_dir(name: str) -> Path:
    """Where ``name``'s downloads and their conversions live, under ``HF_HOME`` as it is now."""
    home = os.environ.get("HF_HOME") or constants.HF_HOME
    return Path(home) / "colorlab" / "releases" / name


def unavailable(name: str) -> str | None:
    """One short line saying why ``name``'s weights cannot be had here, or None.

    Files in the model's folder or the cache are enough. Otherwise, with ``HF_HUB_OFFLINE``
    set, no request is made; else the release is asked once per process whether it answers
    (one HEAD request, failing within a second where there is no network).
    """
    release = RELEASES[name]
    folder = os.environ.get(release.env_dir)
    if folder:
        missing = [f for f in release.files if not (Path(folder) / f).is_file()]
        return f"{release.env_dir} lacks {', '.join(missing)}" if missing else None
    if all((cache_dir(name) / _converted(f)).is_file() for f in release.files):
        return None
    if not offline_mode() and _answers(release.file_url(next(iter(release.files)))):
        return None
    return f"weights not downloaded; needs internet once, or {release.env_dir}"


@functools.cache
def _answers(url: str) -> bool:
    """Whether ``url`` can be fetched (HTTP 2xx after redirects); asked once per process."""
    try:
        return get_session().head(url, timeout=5, follow_redirects=True).is_success
    except httpx2.HTTPError:
        return False


def explain(name: str) -> str:
    """The long how-to for the docs and ``methods --json``: where the files come from."""
    release = RELEASES[name]
    files = ", ".join(release.file_url(f) for f in release.files)
    return (
        f"{release.paper}. Weights from {release.origin}, licence {release.licence}: {files}."
        f" They are downloaded once into {cache_dir(name)} and converted to safetensors; or put"
        f" the official files in a folder and set {release.env_dir} to it."
    )


def _read_all(sources: list[tuple[Path, str, Callable[[Path], dict]]]) -> dict:
    return {
        prefix + key: value for path, prefix, read in sources for key, value in read(path).items()
    }


def _sources(name: str) -> list[tuple[Path, str, Callable[[Path], dict]]]:
    """(file, key prefix, reader) for each of the release's files, downloaded if need be."""
    release = RELEASES[name]
    folder = os.environ.get(release.env_dir)
    cached = all((cache_dir(name) / _converted(f)).is_file() for f in release.files)
    if not folder and not cached and (mirror := _mirror(name)) is not None:
        return [(mirror / "model.safetensors", "", load_file)]
    sources = []
    for filename, prefix in release.files.items():
        if not folder:
            sources.append((_cached(release, filename), prefix, _read_converted))
            continue
        path = Path(folder) / filename
        if not path.is_file():
            raise ModelNotFoundError(
                f"{release.env_dir} is set to {folder}, which has no {filename}. Put the"
                f" official file there, or unset {release.env_dir} to download it."
            )
        sources.append((path, prefix, _unpickle))
    return sources


def _mirror(name: str) -> Path | None:
    """The checkpoint folder of a Hub mirror made by ``training.convert_reference``, if one is
    registered (``COLORLAB_<NAME>_REPO`` or ``colorlab.hub.MODELS``) and can be had."""
    model = hub.hub_model(name)
    return None if model is None else _resolved_mirror(name, model, hub.endpoint())


@functools.lru_cache(maxsize=8)
def _resolved_mirror(name: str, model: hub.HubModel, endpoint: str) -> Path | None:
    """Asked of the Hub once per process per repository, revision and endpoint, not per run."""
    try:
        return hub.resolve(name)
    except ModelNotFoundError:
        return None


def _converted(filename: str) -> str:
    return f"{Path(filename).stem}.safetensors"


def _record(filename: str) -> str:
    return f"{Path(filename).stem}.sha256.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_DOWNLOAD_LOCK = threading.Lock()


def _cached(release: Release, filename: str) -> Path:
    """The converted file of one release file, downloaded and converted first if needed."""
    folder = cache_dir(release.name)
    with _DOWNLOAD_LOCK:
        if not (folder / _converted(filename)).is_file():
            _download_and_convert(release, filename, folder)
    return folder / _converted(filename)


def _read_converted(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a converted file, after checking it against its sha256 record."""
    record = path.with_name(_record(path.name))
    try:
        expected = json.loads(record.read_text(encoding="utf-8"))["safetensors_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise CheckpointError(
            f"{record} is missing or unreadable, so {path} cannot be checked; delete"
            f" {path.parent} to download the release again"
        ) from None
    actual = _sha256(path)
    if actual != expected:
        raise CheckpointError(
            f"{path} has changed since it was converted (sha256 {actual[:12]}..., recorded"
            f" {expected[:12]}...); delete {path.parent} to download it again"
        )
    try:
        return load_file(path)
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is not a valid safetensors file ({error})") from None


def _download_and_convert(release: Release, filename: str, folder: Path) -> None:
    """Fetch one release file, check its hash, convert it; nothing half-written is left."""
    url = release.file_url(filename)
    if offline_mode():
        raise ModelNotFoundError(
            f"{release.name}: {filename} is not downloaded and HF_HUB_OFFLINE is set; unset it"
            f" to fetch {url} once, or set {release.env_dir} to a folder holding the file"
        )
    folder.mkdir(parents=True, exist_ok=True)
    download = folder / filename
    partial = folder / f".{filename}.part"
    try:
        with partial.open("wb") as file:
            http_get(url, file, displayed_filename=filename)
    except Exception as error:  # any network or HTTP failure: say which file, from where
        partial.unlink(missing_ok=True)
        raise ModelNotFoundError(
            f"{release.name}: could not download {filename} from {url}"
            f" ({str(error).splitlines()[0] if str(error) else type(error).__name__}). It"
            f" needs internet once; or set {release.env_dir} to a folder holding the file."
        ) from None
    digest = _sha256(partial)
    prefix = published_hash(filename)
    if prefix is not None and not digest.startswith(prefix):
        partial.unlink()
        raise CheckpointError(
            f"{release.name}: the download of {filename} from {url} has sha256 {digest[:12]}...,"
            f" not the published {prefix}...; it was deleted. Try again, or check the mirror."
        )
    os.replace(partial, download)
    state = _unpickle(download)
    tensors = {k: v.contiguous() for k, v in state.items()}
    converted = folder / _converted(filename)
    write_atomically(converted, save(tensors, metadata={"source": url, "sha256": digest}))
    record = {"source": url, "sha256": digest, "safetensors_sha256": _sha256(converted)}
    write_atomically(folder / _record(filename), json.dumps(record, indent=2).encode())


def _unpickle(path: Path) -> dict[str, torch.Tensor]:
    """A state dict of plain tensors from a pickled file; anything else is refused."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path} holds objects other than tensors, which ColorLab never unpickles"
            f" ({str(error).splitlines()[0]}); use the official release file"
        ) from None
    except (OSError, RuntimeError, EOFError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch file ({error})") from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(
            f"{path} is not a state dict of tensors (it holds a {type(state).__name__}"
            " with other values); use the official release file"
        )
    return state


def network(name: str) -> torch.nn.Module:
    """A fresh, untrained network of the layout ``name``'s release files are for."""
    module, _, cls = RELEASES[name].module.partition(":")
    return getattr(importlib.import_module(module), cls)()


def load_module(name: str) -> torch.nn.Module:
    """``name``'s network with its release weights loaded strictly, frozen, in eval mode.

    Read and checked once per process, and again only when a file changes.
    """
    sources = _sources(name)
    stamp = tuple(
        (str(path), prefix, read, path.stat().st_mtime_ns, path.stat().st_size)
        for path, prefix, read in sources
    )
    tensors = _read_stamped(stamp)
    return loaded_once(("release", name), tensors, lambda: load_into(network(name), tensors, name))


@functools.lru_cache(maxsize=4)
def _read_stamped(stamp: tuple) -> dict[str, torch.Tensor]:
    """The tensors of the files in ``stamp`` (path, prefix, reader, mtime, size); the same dict
    until a file changes."""
    return _read_all([(Path(path), prefix, read) for path, prefix, read, _, _ in stamp])
