"""Charts of an arena leaderboard as matplotlib figures (Agg canvas, no pyplot state).

- :func:`ratings_plot`: one row per rated method, best at the top; a dot at the Bradley-Terry
  score and an error bar over its 95% interval. Methods with fewer than the leaderboard's
  ``min_votes`` votes are named in a note below the axis, not plotted.
- :func:`winrate_heatmap`: cell (row i, column j) is the share of i-vs-j votes that i won, ties
  counting half, on a colour-blind-safe diverging map (orange 0, white 0.5, purple 1) with the
  share printed in the cell and a colourbar; grey where the pair has no votes.

Both figures grow with the number of methods, so every name stays readable, and carry no title:
the app's component label names them, over a band left clear at the top (``LABEL_INCHES``).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from colorlab.arena.ratings import Leaderboard

INCH_PER_METHOD = 0.45  # ratings_plot: height of one row
CELL_INCHES = 0.75  # winrate_heatmap: side of one cell
SCORE_AXIS = "score (1000 = mean; +400 points = 10:1 odds)"
LABEL_INCHES = 0.6  # kept clear at the top for the app's component label
NO_VOTES = "0.85"  # grey: a pair never compared, and the diagonal
# ColorBrewer's PuOr: safe for the common colour-vision deficiencies, white at even odds.
RATE_COLOURS = colormaps["PuOr"].with_extremes(bad=NO_VOTES)


def ratings_plot(leaderboard: Leaderboard) -> Figure:
    """Scores with their 95% intervals, one error bar per rated method, best on top.

    The dashed line marks 1000, the mean score.
    """
    rated = [row for row in leaderboard.rows if row.rated]
    waiting = [row for row in leaderboard.rows if not row.rated and row.votes]
    figure = _figure(6.4, 1.3 + INCH_PER_METHOD * max(len(rated), 1))
    axes = figure.add_subplot()
    for y, row in enumerate(reversed(rated)):
        axes.errorbar(
            row.score,
            y,
            xerr=[[row.score - row.lower], [row.upper - row.score]],
            fmt="o",
            color="#1f5fbf",
            ecolor="#7f9fd5",
            elinewidth=3,
            capsize=4,
            label=row.method,
        )
    axes.set_yticks(range(len(rated)), [row.method for row in reversed(rated)])
    axes.set_ylim(-0.6, max(len(rated), 1) - 0.4)
    axes.axvline(1000, color="0.5", linestyle="--", linewidth=1)
    axes.grid(axis="x", color="0.9")
    axes.set_xlabel(SCORE_AXIS)
    if waiting:
        names = ", ".join(f"{row.method} ({row.votes})" for row in waiting)
        figure.supxlabel(
            f"Needs {leaderboard.min_votes} votes, not plotted: {names}", fontsize="small"
        )
    return figure


def winrate_heatmap(leaderboard: Leaderboard) -> Figure:
    """Pairwise win rates, row method against column method, both in leaderboard order."""
    order = [leaderboard.methods.index(row.method) for row in leaderboard.rows]
    names = [leaderboard.methods[i] for i in order]
    rates = leaderboard.win_rate[np.ix_(order, order)]
    side = 2.2 + CELL_INCHES * len(order)
    figure = _figure(side + 1.0, side)
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(rates), cmap=RATE_COLOURS, vmin=0.0, vmax=1.0)
    for (r, c), rate in np.ndenumerate(rates):
        if not math.isnan(rate):
            ink = "white" if abs(rate - 0.5) > 0.3 else "black"
            axes.text(c, r, f"{rate:.2f}", ha="center", va="center", color=ink, fontsize=12)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("opponent (column)")
    axes.set_ylabel("method (row)")
    bar = figure.colorbar(image, ax=axes, shrink=0.8)
    bar.set_label("share of votes won by the row (ties half); grey: none")
    return figure


def _figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches plus the label band, laid out to fit."""
    height += LABEL_INCHES
    layout = ConstrainedLayoutEngine(rect=(0.0, 0.0, 1.0, 1.0 - LABEL_INCHES / height))
    return Figure(figsize=(width, height), layout=layout)
