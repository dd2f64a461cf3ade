"""Turn a reference model's official release files into a ColorLab checkpoint, and push it.

    python -m training.convert_reference eccv16 --out runs/eccv16 [--push-to-hub colorlab/eccv16]

The files come from where ``colorlab.releases`` finds them (``COLORLAB_<NAME>_DIR``, the cache,
or a download from the release URL, hash-checked). They are loaded strictly into the module, so a
file of another layout is refused, and written as ``model.safetensors`` + ``config.json`` + a
model card naming the paper, the weights' licence and their origin. Once pushed, set
``COLORLAB_<NAME>_REPO`` (and ``_REVISION`` to the printed commit) or pin the repo in
``colorlab.hub.MODELS``: the mirror is then tried before the release URL.
"""

from __future__ import annotations

import argparse

from colorlab import releases
from colorlab.hub import push_to_hub, save_checkpoint

METHOD_TASK = {"eccv16": "colorize", "siggraph17": "colorize", "adain": "stylize"}


def model_card(name: str) -> str:
    release = releases.RELEASES[name]
    sources = "\n".join(f"- `{f}`: {release.file_url(f)}" for f in release.files)
    return f"""---
library_name: pytorch
tags: [colorlab, {METHOD_TASK[name]}, reference-model]
license: other
---
# {name}: the authors' released weights, converted

{release.paper}.

- Weights: {release.origin}; licence {release.licence}. Not trained by ColorLab: converted
  unchanged from the official files to safetensors by `python -m training.convert_reference
  {name}` (keys as the module names them).
- Official files:
{sources}
- Use it with ColorLab: `python -m colorlab {METHOD_TASK[name]} ... --method {name}`, with
  `COLORLAB_{name.upper()}_REPO` set to this repository.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(releases.RELEASES))
    parser.add_argument("--out", required=True, help="checkpoint folder to write")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the checkpoint there")
    args = parser.parse_args(argv)
    module = releases.load_module(args.name)
    config = {"release": args.name, "files": sorted(releases.RELEASES[args.name].files)}
    save_checkpoint(args.out, module.state_dict(), config, model_card(args.name))
    print(f"wrote {args.out}")
    if args.push_to_hub:
        commit = push_to_hub(args.out, args.push_to_hub)
        print(f"pushed {args.out} to {args.push_to_hub} at commit {commit}")


if __name__ == "__main__":
    main()
