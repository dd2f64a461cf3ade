"""The command line: ``python -m colorlab methods | palette | recolor | colorize | stylize |
arena | survey``.

Other tools script against this interface, so its output formats and exit codes are a contract:

- ``methods [--json]``: the method registry (``--json``: a list of ``Method.to_dict()``).
- ``palette IMAGE [-k K] [--json]``: the image's palette (``--json``:
  ``{"palette": ["#rrggbb", ...], "weights": [...]}``, weights rounded to 4 decimals).
- ``recolor IMAGE -o OUT --palette "#hex,..." [--method NAME] [-k K] [--param NAME=VALUE ...]``:
  entry i of the image's own palette moves to the i-th given colour; ``=`` keeps an entry. IMAGE
  may be a folder, then OUT is a folder and every image in it is recolored to the same file name
  (formats save_image cannot write, .bmp and .tif, are written as .png).
- ``colorize IMAGE -o OUT [--method NAME] [--temperature T] [--hints FILE]
  [--param NAME=VALUE ...]``: colour the image from its lightness alone (its own colours are
  ignored; the output keeps its Lab L). FILE is JSON ``[{"x": int, "y": int, "color":
  "#rrggbb"}, ...]`` in image pixels; ``--temperature T`` is ``--param temperature=T``. IMAGE may
  be a folder, as for ``recolor`` (without ``--hints`` then: hints belong to one image).
- ``stylize CONTENT STYLE -o OUT [--method NAME] [--strength S] [--param NAME=VALUE ...]``: the
  content image given the colours (or style) of the image file STYLE, at the content's size;
  ``--strength S`` is ``--param strength=S`` (0 keeps the content). CONTENT may be a folder, as
  for ``recolor``, every image taking the one STYLE.
- ``arena ratings --db PATH [--task TASK] [--min-votes N] [--json]``: the Bradley-Terry
  leaderboard of one task (default: the only task with votes) from the vote store PATH (its
  ``arena.sqlite3``, or the folder holding it), as a Markdown table (rank, method, score, 95%
  interval, votes; a method with fewer than N votes, default 10, "needs more votes") and how
  the interval is made. ``--json``: ``{"task", "votes" (all, "both bad" included)}`` and
  :meth:`colorlab.arena.ratings.Leaderboard.to_dict`: ``"rows": [{"rank", "method", "score",
  "lower", "upper", "votes", "status"}, ...]`` (rated best first; rank, score and bounds null
  below N votes), "methods", "win_rate" (matrix in the order of "methods": row's share of
  row-vs-column votes, ties half; null where none), "vote_counts", "both_bad", "total",
  "min_votes", "interval"``. A missing or damaged store, an unknown task or a task without
  votes is exit 2.
- ``survey results SURVEY (--votes FILE | --db PATH) [--csv OUT] [--json]``:
  per item the share in favour of the first method (ties half) with its Wilson 95% interval, the
  two-sided binomial p-value and the votes; the attention-check failure rate; participants who
  failed a check, with their votes in a separate table. FILE is JSON lines ``{"item", "participant",
  "winner": "a"|"b"|"tie"|"both_bad"}``. ``--csv`` writes ``survey.results_csv``. ``--json``:
  ``{"survey", "task", "participants", "attention_votes", "attention_failure_rate",
  "failed_participants", "items", "failed_items" (fields of ``survey.ItemResult``), "ratings" (as
  ``arena ratings --json``, or null)}``, NaN as null. ``--db PATH`` instead of ``--votes`` reads the
  votes the app stored for this survey (see ``colorlab.arena.survey_runs``).

Exit codes: 0 success; 2 a usage or input mistake (one line ``colorlab: error: ...`` on stderr, no
traceback); 1 a folder run in which some files failed (each reported on stderr, the rest written).
A model that cannot be loaded stops a folder run at once with exit 2, as it would fail every file;
a method that cannot run here (``methods --json``: ``"unavailable"``) is exit 2 before any work,
with its reason.

This module is only a shell: the image work is done by the package.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from colorlab.color import parse_hex, split_colors
from colorlab.errors import CheckpointError, ColorLabError
from colorlab.palette import DEFAULT_K, MAX_K, MIN_K

PROG = "colorlab"
DEFAULT_METHODS = {"recolor": "chang", "colorize": "classification", "stylize": "reinhard"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
KEEP = "="  # a --palette entry that keeps the image's own colour

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake on the command line (bad flag, missing file); reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage and exits on a bad flag; we want our one-line error instead.
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from colorlab import __version__

    parser = _Parser(
        prog=PROG, description="Recolor, colorize and stylize images from the command line."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    methods = commands.add_parser("methods", help="list the registered methods")
    methods.add_argument("--json", action="store_true", help="print the registry as JSON")
    methods.set_defaults(handler=cmd_methods)

    palette = commands.add_parser("palette", help="print an image's palette")
    palette.add_argument("image", metavar="IMAGE", type=Path)
    palette.add_argument(
        "-k",
        type=int,
        default=DEFAULT_K,
        help=f"palette size, {MIN_K} to {MAX_K} (default {DEFAULT_K})",
    )
    palette.add_argument("--json", action="store_true", help="print JSON: palette and weights")
    palette.set_defaults(handler=cmd_palette)

    recolor = commands.add_parser(
        "recolor",
        help="move an image's palette to new colours",
        description="Entry i of the image's own palette (dark to light) moves to the i-th "
        "given colour; an entry written as '=' keeps its colour. IMAGE may be a folder: every "
        "image in it is recolored into the folder OUT.",
    )
    _add_image_method_arguments(recolor, "recolor")
    recolor.add_argument(
        "--palette",
        required=True,
        help="new colours, dark to light, e.g. '#203040,=,#ffcc00' ('=' keeps an entry)",
    )
    recolor.add_argument(
        "-k",
        type=int,
        default=None,
        help=f"palette size to extract, {MIN_K} to {MAX_K} (default: the number of colours "
        f"given, at least {MIN_K}); entries beyond those given keep their colour",
    )
    recolor.set_defaults(handler=cmd_recolor)

    colorize = commands.add_parser(
        "colorize",
        help="colour a grayscale image",
        description="Colour an image from its lightness (its own colours are ignored), "
        "optionally guided by colour hints. IMAGE may be a folder: every image in it is "
        "colorized into the folder OUT.",
    )
    _add_image_method_arguments(colorize, "colorize")
    colorize.add_argument(
        "--temperature",
        metavar="T",
        type=float,
        help="shortcut for --param temperature=T: low is vivid, 1 is dull (the methods "
        "classification and paintings)",
    )
    colorize.add_argument(
        "--hints",
        metavar="FILE",
        type=Path,
        help='JSON colour hints [{"x": 10, "y": 20, "color": "#rrggbb"}, ...] in image pixels '
        "(not with a folder)",
    )
    colorize.set_defaults(handler=cmd_colorize)

    stylize = commands.add_parser(
        "stylize",
        help="give an image the colours or the style of another",
        description="The content image given the colours (or style) of the style image, at the "
        "content's size. CONTENT may be a folder: every image in it is stylized into the folder "
        "OUT.",
    )
    _add_image_method_arguments(stylize, "stylize", metavar="CONTENT")
    stylize.add_argument(
        "style", metavar="STYLE", type=Path, help="the image file to take the style from"
    )
    stylize.add_argument(
        "--strength",
        metavar="S",
        type=float,
        help="shortcut for --param strength=S: 0 keeps the content, 1 is the full transfer",
    )
    stylize.set_defaults(handler=cmd_stylize)
    _add_arena_commands(commands)
    return parser


def _add_image_method_arguments(
    command: argparse.ArgumentParser, task: str, metavar: str = "IMAGE"
) -> None:
    """IMAGE, -o OUT, --method and --param: what every image-to-image command takes."""
    default = DEFAULT_METHODS[task]
    command.add_argument("image", metavar=metavar, type=Path, help="an image file or a folder")
    command.add_argument(
        "-o", "--output", metavar="OUT", type=Path, required=True, help="output file or folder"
    )
    command.add_argument("--method", default=default, help=f"{task} method (default {default})")
    command.add_argument(
        "--param",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a method parameter (repeatable); see 'colorlab methods'",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.handler(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except (UsageError, ColorLabError, OSError) as exc:
        _report(_describe(exc))
        return EXIT_USAGE


# --- methods ------------------------------------------------------------------------------------


def cmd_methods(args: argparse.Namespace) -> int:
    from colorlab.methods import TASKS, list_methods

    methods = list_methods()
    if args.json:
        print(json.dumps([m.to_dict() for m in methods], indent=2))
        return EXIT_OK
    for task, summary in TASKS.items():
        print(f"{task}: {summary}")
        for method in (m for m in methods if m.task == task):
            print(f"  {method.name:<12} {method.title}")
            for param in method.params:
                print(
                    f"  {'':<12}   {param.name}={param.default}  {_param_range(param)}{param.help}"
                )
        print()
    return EXIT_OK


def _param_range(param: Any) -> str:
    if param.choices is not None:
        return f"[{', '.join(map(str, param.choices))}] "
    if param.minimum is not None or param.maximum is not None:
        low = "" if param.minimum is None else param.minimum
        high = "" if param.maximum is None else param.maximum
        return f"[{low}..{high}] "
    return ""


# --- palette ------------------------------------------------------------------------------------


def cmd_palette(args: argparse.Namespace) -> int:
    from colorlab.imageio import load_image
    from colorlab.palette import extract_palette

    palette = extract_palette(load_image(_existing_file(args.image)), k=args.k)
    hexes = palette.to_hex()
    if args.json:
        weights = [round(float(w), 4) for w in palette.weights]
        print(json.dumps({"palette": hexes, "weights": weights}))
        return EXIT_OK
    swatches = _use_colour(sys.stdout)
    for color, hex_, weight in zip(palette.colors, hexes, palette.weights, strict=True):
        swatch = _swatch(color) + " " if swatches else ""
        print(f"{swatch}{hex_}  {100 * float(weight):5.1f}%")
    return EXIT_OK


def _use_colour(stream: Any) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def _swatch(color: np.ndarray) -> str:
    r, g, b = (int(v) for v in np.clip(np.rint(np.asarray(color) * 255), 0, 255))
    return f"\x1b[48;2;{r};{g};{b}m      \x1b[0m"


# --- recolor ------------------------------------------------------------------------------------


def cmd_recolor(args: argparse.Namespace) -> int:
    from colorlab.palette import extract_palette, retarget

    # Every check that needs no image runs first, so a typo fails before any work is done.
    targets = parse_targets(args.palette)
    if len(targets) > MAX_K:
        raise UsageError(
            f"{len(targets)} colours given in --palette; a palette has at most {MAX_K}"
        )
    # A palette has at least two entries: one colour given moves the darkest, the other keeps.
    k = max(len(targets), MIN_K) if args.k is None else args.k
    if not MIN_K <= k <= MAX_K:
        raise UsageError(f"-k must be from {MIN_K} to {MAX_K}, got {k}")
    if k < len(targets):
        raise UsageError(
            f"-k {k} is smaller than the {len(targets)} colours given in --palette; "
            f"give at most {k} colours or a larger -k"
        )
    method, params = resolve_method("recolor", args.method, parse_params(args.param))

    def recolor(image: np.ndarray) -> np.ndarray:
        """Entry i of the image's k-colour palette moves to ``targets[i]``."""
        palette = extract_palette(image, k=k)
        target_palette = retarget(palette, targets)
        return method.run(
            image, source_palette=palette.colors, target_palette=target_palette, **params
        )

    return convert(args.image, args.output, recolor, desc="recolor")


def parse_targets(text: str) -> list[np.ndarray | None]:
    """``'#abc, =, #112233'`` -> one sRGB colour per entry, ``None`` for an entry to keep."""
    parts = split_colors(text)
    if not parts:
        raise UsageError("--palette is empty: give colours like '#ff8800,=,#224466'")
    return [None if part == KEEP else parse_hex(part) for part in parts]


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``['lattice_size=9']`` -> ``{'lattice_size': '9'}``; the method validates and converts."""
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise UsageError(f"--param takes NAME=VALUE, got {item!r}")
        params[name] = value
    return params


def with_shortcut(given: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """``given`` plus the value of a flag that is short for ``--param name=value``, if set."""
    if value is None:
        return given
    if name in given:
        raise UsageError(f"give the {name} once: --{name} or --param {name}=")
    return {**given, name: value}


def resolve_method(task: str, name: str, given: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The registered method and its validated parameters, before any image is read.

    A method that cannot run here (weights that cannot be had) is refused with its reason.
    """
    from colorlab.methods import get_method

    method = get_method(task, name)
    params = method.resolve_params(**given)
    method.check_available()
    return method, params


# --- colorize -----------------------------------------------------------------------------------


def cmd_colorize(args: argparse.Namespace) -> int:
    from colorlab.colorize.hints import hints_from_points

    # Hints are in one image's pixels, so they cannot apply to every image of a folder.
    if args.hints is not None and args.image.is_dir():
        raise UsageError(
            "--hints applies to one image (its pixel coordinates); give an image file, not a folder"
        )
    given = with_shortcut(parse_params(args.param), "temperature", args.temperature)
    method, params = resolve_method("colorize", args.method, given)
    hints_text = None
    if args.hints is not None:
        try:
            hints_text = _existing_file(args.hints, "a JSON file").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the hints file {str(args.hints)!r}: {exc}") from None

    def colorize(image: np.ndarray) -> np.ndarray:
        hints = None if hints_text is None else hints_from_points(hints_text, image.shape[:2])
        return method.run(image, hints=hints, **params)

    return convert(args.image, args.output, colorize, desc="colorize")


# --- stylize ------------------------------------------------------------------------------------


def cmd_stylize(args: argparse.Namespace) -> int:
    from colorlab.imageio import load_image

    given = with_shortcut(parse_params(args.param), "strength", args.strength)
    method, params = resolve_method("stylize", args.method, given)
    # One style for every content image: read once, and a folder here is a mistake.
    style = load_image(_existing_file(args.style, "an image file (the style)"))

    def stylize(content: np.ndarray) -> np.ndarray:
        return method.run(content, style, **params)

    return convert(args.image, args.output, stylize, desc="stylize")


# --- arena and survey ---------------------------------------------------------------------------


def _add_arena_commands(commands: Any) -> None:
    """``arena ratings`` and ``survey results``: read-only reports on collected votes."""
    arena = commands.add_parser("arena", help="reports on the A/B arena's votes")
    arena_commands = arena.add_subparsers(dest="arena_command", metavar="COMMAND", required=True)
    ratings = arena_commands.add_parser(
        "ratings",
        help="the leaderboard of a task: Bradley-Terry scores with 95%% intervals",
        description="Fit Bradley-Terry scores to the votes of one task and print the "
        "leaderboard (rank by interval, score, 95% interval, votes).",
    )
    ratings.add_argument(
        "--db", metavar="PATH", type=Path, required=True, help="the vote store (arena.sqlite3)"
    )
    ratings.add_argument(
        "--task", help="the task to rate (default: the only task with votes in the store)"
    )
    ratings.add_argument(
        "--min-votes",
        metavar="N",
        type=int,
        help="votes a method needs to be scored and ranked (default: ratings.MIN_VOTES, 10)",
    )
    ratings.add_argument("--json", action="store_true", help="print JSON: rows and matrices")
    ratings.set_defaults(handler=cmd_arena_ratings)

    survey = commands.add_parser("survey", help="reports on preference surveys")
    survey_commands = survey.add_subparsers(dest="survey_command", metavar="COMMAND", required=True)
    results = survey_commands.add_parser(
        "results",
        help="per-item shares with Wilson intervals and binomial tests; attention checks",
        description="Per item: the share in favour of the first method (ties half) with a "
        "Wilson 95% interval, the two-sided binomial test of no preference and the votes; the "
        "attention-check failure rate; votes of participants who failed a check, separately.",
    )
    results.add_argument("survey", metavar="SURVEY", type=Path, help="the survey file")
    source = results.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--db",
        metavar="PATH",
        type=Path,
        help="the vote store (arena.sqlite3) the app kept the survey's votes in",
    )
    source.add_argument(
        "--votes",
        metavar="FILE",
        type=Path,
        help='survey votes as JSON lines: {"item": ID, "participant": ID, "winner": '
        '"a"|"b"|"tie"|"both_bad"} per line',
    )
    results.add_argument("--csv", metavar="OUT", type=Path, help="also write the results as CSV")
    results.add_argument("--json", action="store_true", help="print the results as JSON")
    results.set_defaults(handler=cmd_survey_results)


def cmd_arena_ratings(args: argparse.Namespace) -> int:
    from colorlab.arena import ratings
    from colorlab.arena.store import DB_NAME, VoteStore
    from colorlab.arena.survey_runs import SURVEY_TASK_PREFIX
    from colorlab.methods import TASKS

    known = args.task is None or args.task in TASKS or args.task.startswith(SURVEY_TASK_PREFIX)
    if not known:
        raise UsageError(
            f"unknown task {args.task!r}; tasks are {', '.join(sorted(TASKS))} "
            f"and {SURVEY_TASK_PREFIX}<survey name>"
        )
    min_votes = ratings.MIN_VOTES if args.min_votes is None else args.min_votes
    if min_votes < 1:
        raise UsageError(f"--min-votes must be at least 1, got {min_votes}")
    path = args.db
    if path.is_dir() and (path / DB_NAME).is_file():
        path = path / DB_NAME
    if not path.exists():
        raise UsageError(f"no vote store at {str(path)!r}: give --db the arena's {DB_NAME} file")
    if path.is_dir():
        raise UsageError(f"{str(path)!r} is a folder without {DB_NAME}; give --db the file")
    if path.stat().st_size == 0:  # SQLite would happily turn an empty file into a new store
        raise UsageError(f"{str(path)!r} is an empty file, not a vote store")
    store = VoteStore(path, max_votes_per_minute=None)
    try:
        task = args.task
        if task is None:
            tasks = sorted({vote.task for vote in store.votes()})
            if not tasks:
                raise UsageError(f"the vote store {str(path)!r} holds no votes yet")
            if len(tasks) > 1:
                raise UsageError(
                    f"the vote store holds votes of several tasks ({', '.join(tasks)}); "
                    "choose one with --task"
                )
            task = tasks[0]
        votes = store.votes(task)
    finally:
        store.close()
    if not votes:
        raise UsageError(f"no votes for task {task!r} in {str(path)!r}")
    records = [{"method_a": v.method_a, "method_b": v.method_b, "winner": v.winner} for v in votes]
    comparisons = ratings.comparisons_from_records(records)
    if comparisons.a.size == 0:
        raise UsageError(
            f"all {len(votes)} votes for task {task!r} are 'both bad': there is nothing to rate"
        )
    board = ratings.leaderboard(
        comparisons.a,
        comparisons.b,
        comparisons.outcome,
        comparisons.methods,
        both_bad=comparisons.both_bad,
        min_votes=min_votes,
    )
    if args.json:
        report = {"task": task, "votes": len(votes)}
        print(json.dumps({**report, **board.to_dict()}, indent=2))
        return EXIT_OK
    print(f"Ratings for {task}\n")
    print(leaderboard_table(board))
    print(f"\n{len(votes)} votes ({board.both_bad} 'both bad', not rated)")
    return EXIT_OK


def leaderboard_table(board: Any) -> str:
    """A Markdown table: rank, method, score, 95% interval, votes ("needs more votes" and "-"
    below ``board.min_votes``), then the ranking rule and how the interval is made."""
    from colorlab.arena.ratings import INTERVAL, RANK_RULE

    lines = [("rank", "method", "score", "95% interval", "votes")]
    for row in board.rows:
        lines.append(
            (
                str(row.rank) if row.rated else "-",
                row.method,
                f"{row.score:.1f}" if row.rated else "needs more votes",
                f"{row.lower:.1f} to {row.upper:.1f}" if row.rated else "-",
                str(row.votes),
            )
        )
    footer = f"A method is scored from {board.min_votes} votes; rank = {RANK_RULE}. {INTERVAL}."
    return _markdown(lines, right=(0, 2, 4)) + "\n\n" + footer


def _markdown(lines: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Rows of text as a Markdown table, columns padded; the first row is the header."""
    widths = [max(len(line[c]) for line in lines) for c in range(len(lines[0]))]

    def cells(line: Sequence[str]) -> str:
        padded = (
            text.rjust(width) if c in right else text.ljust(width)
            for c, (text, width) in enumerate(zip(line, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if c in right else ":" + "-" * (w + 1) for c, w in enumerate(widths)
    )
    return "\n".join([cells(lines[0]), rule + "|", *(cells(line) for line in lines[1:])])


def cmd_survey_results(args: argparse.Namespace) -> int:
    from colorlab.arena.survey import load_survey, results_csv, survey_results

    survey = load_survey(args.survey)
    if args.db is not None:
        votes = _survey_store_votes(survey, args.db)
    else:
        votes = read_vote_lines(args.votes)
    results = survey_results(survey, votes)
    if args.csv is not None:
        results_csv(results, args.csv)
    if args.json:
        print(json.dumps(survey_json(survey, results), indent=2))
        return EXIT_OK
    print(f"Survey: {survey.title} (task {survey.task})\n")
    print(item_table(results.items))
    rate = results.attention_failure_rate
    failed_votes = round(rate * results.attention_votes) if results.attention_votes else 0
    checks = (
        f"{failed_votes} of {results.attention_votes} attention-check votes failed "
        f"({100 * rate:.1f}%)"
        if results.attention_votes
        else "no attention-check votes"
    )
    print(f"\n{results.participants} participants; {checks}")
    if results.failed_participants:
        print(
            f"\n{len(results.failed_participants)} participants failed an attention check; their "
            f"votes, reported separately: {', '.join(results.failed_participants)}\n"
        )
        voted = [row for row in results.failed_items if _item_votes(row)]
        print(item_table(voted) if voted else "(no votes on regular items)")
    if results.leaderboard is not None:
        print("\nRatings over the survey (participants who passed)\n")
        print(leaderboard_table(results.leaderboard))
    return EXIT_OK


def _survey_store_votes(survey: Any, path: Path) -> list[dict[str, Any]]:
    """The survey's votes in the vote store at ``path`` (a file, or a folder holding one)."""
    from colorlab.arena.store import DB_NAME, VoteStore
    from colorlab.arena.survey_runs import survey_votes

    if path.is_dir() and (path / DB_NAME).is_file():
        path = path / DB_NAME
    if not path.is_file() or path.stat().st_size == 0:
        raise UsageError(f"no vote store at {str(path)!r}: give --db the arena's {DB_NAME} file")
    store = VoteStore(path, max_votes_per_minute=None)
    try:
        return survey_votes(store, survey)
    finally:
        store.close()


def read_vote_lines(path: Path) -> list[dict[str, Any]]:
    """Survey votes from a JSON-lines file: one object per non-blank line."""
    text = _existing_file(path, "a JSON-lines file of votes").read_text(encoding="utf-8")
    votes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            vote = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path.name} line {number}: not valid JSON: {exc}") from None
        if not isinstance(vote, dict):
            raise UsageError(f"{path.name} line {number}: expected a JSON object, got {line!r}")
        votes.append(vote)
    return votes


def _item_votes(row: Any) -> int:
    return row.a_wins + row.b_wins + row.ties + row.both_bad


def item_table(rows: Sequence[Any]) -> str:
    """One line per survey item: share for method a, Wilson 95% interval, p-value, votes."""
    header = ("item", "method a", "method b", "share a", "95% interval", "p-value")
    lines = [(*header, "votes (a/b/tie/bad)")]
    for row in rows:
        has_share = not math.isnan(row.share_a)
        lines.append(
            (
                row.item,
                row.method_a,
                row.method_b,
                f"{row.share_a:.3f}" if has_share else "-",
                f"{row.lower:.3f} to {row.upper:.3f}" if has_share else "-",
                "-" if math.isnan(row.p_value) else f"{row.p_value:.3g}",
                f"{_item_votes(row)} ({row.a_wins}/{row.b_wins}/{row.ties}/{row.both_bad})",
            )
        )
    return _markdown(lines, right=(3, 5))


def survey_json(survey: Any, results: Any) -> dict[str, Any]:
    """The ``--json`` form of survey results (NaN as null)."""
    from colorlab.arena.ratings import json_number

    def item(row: Any) -> dict[str, Any]:
        return {
            name: json_number(value, 6) if isinstance(value, float) else value
            for name, value in vars(row).items()
        }

    board = results.leaderboard
    return {
        "survey": survey.title,
        "task": survey.task,
        "participants": results.participants,
        "attention_votes": results.attention_votes,
        "attention_failure_rate": json_number(results.attention_failure_rate, 6),
        "failed_participants": list(results.failed_participants),
        "items": [item(row) for row in results.items],
        "failed_items": [item(row) for row in results.failed_items],
        "ratings": None if board is None else board.to_dict(),
    }


# --- files and folders (recolor, colorize, stylize) ---------------------------------------------


Transform = Callable[[np.ndarray], np.ndarray]


def convert(source: Path, output: Path, transform: Transform, *, desc: str) -> int:
    """Apply ``transform`` to the image file ``source`` and write ``output``; return the exit code.

    A folder ``source`` converts every image in it into the folder ``output`` (see
    :func:`convert_folder`).
    """
    if source.is_dir():
        return convert_folder(source, output, transform, desc=desc)
    convert_file(_existing_file(source), output, transform)
    return EXIT_OK


def convert_file(source: Path, destination: Path, transform: Transform) -> Path:
    """Load one image, transform it, save it (format from the suffix); return the path written."""
    from colorlab.imageio import load_image, save_image

    return save_image(transform(load_image(source)), destination)


def convert_folder(folder: Path, out: Path, transform: Transform, *, desc: str) -> int:
    """Convert every image directly in ``folder`` into ``out`` under the same name.

    A file that fails is reported and skipped (exit 1); a model that cannot be loaded stops the
    run (exit 2), since it would fail every file the same way.
    """
    from tqdm import tqdm

    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise UsageError(
            f"no images in folder {str(folder)!r} (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"{str(out)!r} is a file; with a folder as IMAGE, OUT must be a folder")
    if out.exists() and out.resolve() == folder.resolve():
        raise UsageError(
            "OUT is the input folder; choose another folder so no image is overwritten"
        )
    out.mkdir(parents=True, exist_ok=True)

    failed = 0
    pairs = list(zip(files, _output_names(files), strict=True))
    # The context closes the bar on any exit, so an error line never lands on the bar's line.
    with tqdm(pairs, desc=desc, unit="image", file=sys.stderr) as progress:
        for path, name in progress:
            try:
                convert_file(path, out / name, transform)
            except CheckpointError:
                raise
            except Exception as exc:  # one bad file must not stop the batch; report it, go on
                failed += 1
                tqdm.write(f"{PROG}: error: {path.name}: {_describe(exc)}", file=sys.stderr)
    if failed:
        _report(f"{failed} of {len(files)} images failed; the others are in {str(out)!r}")
        return EXIT_FAILED
    return EXIT_OK


def _output_names(files: Sequence[Path]) -> list[str]:
    """Same name as the input; a suffix save_image cannot write (.bmp, .tif) becomes .png."""
    from colorlab.imageio import SAVE_FORMATS

    taken = {p.name.lower() for p in files if p.suffix.lower() in SAVE_FORMATS}
    names = []
    for path in files:
        if path.suffix.lower() in SAVE_FORMATS:
            names.append(path.name)
            continue
        name = path.with_suffix(".png").name
        if name.lower() in taken:  # photo.bmp beside photo.png: keep both, as photo.bmp.png
            name = f"{path.name}.png"
        taken.add(name.lower())
        names.append(name)
    return names


# --- helpers ------------------------------------------------------------------------------------


def _existing_file(path: Path, expected: str = "an image file") -> Path:
    if not path.exists():
        raise UsageError(f"{str(path)!r}: no such file or directory")
    if path.is_dir():
        raise UsageError(f"{str(path)!r} is a folder, expected {expected}")
    return path


def _describe(exc: BaseException) -> str:
    """One line for an error: its message, or for an unexpected error its type and message."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    elif isinstance(exc, (UsageError, ColorLabError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def _report(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
