"""The leaderboard pictures: a ratings plot with intervals and a win-rate heatmap, PIL only."""

from __future__ import annotations

import numpy as np
import pytest

from colorlab.arena import plots
from colorlab.arena.ratings import comparisons_from_records, leaderboard

STRENGTHS = {"best": 1.2, "good": 0.4, "fair": -0.3, "worst": -1.3}


def synthetic_board(with_gap: bool = False):
    """A leaderboard from votes drawn with known strengths; ``with_gap``: best never met worst."""
    rng = np.random.default_rng(0)
    names = list(STRENGTHS)
    records = []
    for _ in range(600):
        a, b = rng.choice(names, 2, replace=False)
        if with_gap and {a, b} == {"best", "worst"}:
            continue
        p_a = 1 / (1 + np.exp(STRENGTHS[b] - STRENGTHS[a]))
        records.append({"method_a": a, "method_b": b, "winner": "a" if rng.random() < p_a else "b"})
    c = comparisons_from_records(records)
    return leaderboard(c.a, c.b, c.outcome, c.methods, rounds=100, seed=0)


def colour_columns(image, colour) -> np.ndarray:
    """Pixel columns holding exactly ``colour``."""
    pixels = np.asarray(image)
    return np.flatnonzero((pixels == np.array(colour, dtype=np.uint8)).all(-1).any(0))


def dot_columns_in_row(image, board, method: str) -> np.ndarray:
    """Columns of the dot colour within the band of ``method``'s row."""
    index = [row.method for row in board.rows].index(method)
    top = plots.TOP + plots.ROW * index
    band = np.asarray(image)[top : top + plots.ROW]
    return np.flatnonzero((band == np.array(plots.DOT, dtype=np.uint8)).all(-1).any(0))


def test_ratings_plot_has_documented_size() -> None:
    board = synthetic_board()
    image = plots.ratings_plot(board)
    assert image.mode == "RGB"
    assert image.size == (720, 60 + 40 * len(board.rows))


def test_ratings_plot_draws_best_dot_right_of_worst() -> None:
    board = synthetic_board()
    assert [row.method for row in board.rows] == ["best", "good", "fair", "worst"]
    image = plots.ratings_plot(board)
    best = dot_columns_in_row(image, board, "best")
    worst = dot_columns_in_row(image, board, "worst")
    assert best.size and worst.size
    assert best.min() > worst.max()
    # Each dot sits inside its own interval bar.
    bar = colour_columns(image, plots.BAR)
    assert bar.min() < worst.min() and bar.max() > best.max()


def test_ratings_plot_lists_a_method_without_votes_without_dot() -> None:
    records = [{"method_a": "x", "method_b": "y", "winner": "a"}] * 5
    c = comparisons_from_records(records, methods=["x", "y", "unvoted"])
    board = leaderboard(c.a, c.b, c.outcome, c.methods, rounds=20)
    image = plots.ratings_plot(board)
    assert image.size == (720, 60 + 40 * 3)
    assert board.rows[-1].method == "unvoted"
    assert dot_columns_in_row(image, board, "unvoted").size == 0
    assert dot_columns_in_row(image, board, "x").size > 0


def cell_colour(image, row: int, column: int) -> np.ndarray:
    """Colour at the corner of a cell (away from the printed rate)."""
    x = plots.LABEL + plots.CELL * column + 4
    y = plots.LABEL + plots.CELL * row + 4
    return np.asarray(image)[y, x].astype(int)


def test_winrate_heatmap_has_documented_size() -> None:
    board = synthetic_board()
    image = plots.winrate_heatmap(board)
    n = len(board.methods)
    side = plots.LABEL + plots.CELL * n + plots.PAD
    assert image.size == (side, side) == (130 + 60 * n + 30,) * 2


def test_winrate_heatmap_colours_cells_by_rate() -> None:
    records = [{"method_a": "p", "method_b": "q", "winner": "a"}] * 4
    records += [{"method_a": "q", "method_b": "r", "winner": "tie"}] * 2
    c = comparisons_from_records(records)
    board = leaderboard(c.a, c.b, c.outcome, c.methods, rounds=20)
    image = plots.winrate_heatmap(board)
    order = [row.method for row in board.rows]
    p, q, r = (order.index(name) for name in "pqr")
    red, green, blue = cell_colour(image, p, q)  # p beat q every time: 1.0
    assert blue > 150 and blue > red + 80 and blue > green + 80
    red, green, blue = cell_colour(image, q, p)  # 0.0
    assert red > 150 and red > blue + 80 and red > green + 80
    assert tuple(cell_colour(image, q, r)) == (255, 255, 255)  # ties only: 0.5
    assert tuple(cell_colour(image, p, r)) == plots.NO_VOTES  # never compared
    assert tuple(cell_colour(image, p, p)) == plots.NO_VOTES  # the diagonal


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.0, (200, 40, 40)), (0.5, (255, 255, 255)), (1.0, (40, 70, 200)), (float("nan"), None)],
)
def test_rate_colour_endpoints(rate: float, expected) -> None:
    assert plots.rate_colour(rate) == (expected or plots.NO_VOTES)


def test_winrate_heatmap_prints_rates_in_cells() -> None:
    board = synthetic_board(with_gap=True)
    image = plots.winrate_heatmap(board)
    pixels = np.asarray(image).astype(int)
    order = [row.method for row in board.rows]
    best, good = order.index("best"), order.index("good")
    x0, y0 = plots.LABEL + plots.CELL * good, plots.LABEL + plots.CELL * best
    cell = pixels[y0 + 8 : y0 + plots.CELL - 8, x0 + 8 : x0 + plots.CELL - 8]
    background = cell_colour(image, best, good)
    assert (np.abs(cell - background).sum(-1) > 120).sum() > 20  # the digits are drawn
