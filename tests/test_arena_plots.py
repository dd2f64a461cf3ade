"""The leaderboard charts: matplotlib figures whose artists hold the leaderboard's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from colorlab.arena import plots
from colorlab.arena.ratings import comparisons_from_records, leaderboard

STRENGTHS = {"best": 1.2, "good": 0.4, "fair": -0.3, "worst": -1.3}


def synthetic_board(extra: dict[str, int] | None = None):
    """A leaderboard from 600 votes drawn with known strengths; ``extra`` adds methods with that
    many votes (each won by the newcomer), too few to be rated."""
    rng = np.random.default_rng(0)
    names = list(STRENGTHS)
    records = []
    for _ in range(600):
        a, b = rng.choice(names, 2, replace=False)
        p_a = 1 / (1 + np.exp(STRENGTHS[b] - STRENGTHS[a]))
        records.append({"method_a": a, "method_b": b, "winner": "a" if rng.random() < p_a else "b"})
    for name, votes in (extra or {}).items():
        records += [{"method_a": name, "method_b": "fair", "winner": "a"}] * votes
    c = comparisons_from_records(records)
    return leaderboard(c.a, c.b, c.outcome, c.methods)


def errorbars(figure):
    (axes,) = figure.axes
    return [c for c in axes.containers if isinstance(c, ErrorbarContainer)]


def all_text(figure) -> str:
    return "\n".join(text.get_text() for text in figure.findobj(lambda a: hasattr(a, "get_text")))


def test_ratings_plot_has_one_errorbar_per_method_in_score_order() -> None:
    board = synthetic_board()
    bars = errorbars(plots.ratings_plot(board))
    # Drawn bottom-up, so the best method is last (at the top).
    assert [bar.get_label() for bar in reversed(bars)] == ["best", "good", "fair", "worst"]
    for bar, row in zip(reversed(bars), board.rows, strict=True):
        x, _ = bar.lines[0].get_data()
        assert x[0] == row.score
        (segments,) = [c.get_segments() for c in bar.lines[2]]
        assert np.allclose(segments[0][:, 0], [row.lower, row.upper])


def test_ratings_plot_names_methods_and_axis_without_a_title() -> None:
    figure = plots.ratings_plot(synthetic_board())
    (axes,) = figure.axes
    assert [label.get_text() for label in axes.get_yticklabels()] == [
        "worst",
        "fair",
        "good",
        "best",
    ]
    assert axes.get_xlabel() == plots.SCORE_AXIS
    assert axes.get_title() == "" and figure.get_suptitle() == ""


def test_ratings_plot_leaves_out_methods_with_too_few_votes_but_names_them() -> None:
    board = synthetic_board({"newcomer": 3})
    figure = plots.ratings_plot(board)
    assert "newcomer" not in [bar.get_label() for bar in errorbars(figure)]
    assert len(errorbars(figure)) == 4
    assert "not plotted: newcomer (3)" in all_text(figure)


def test_ratings_plot_grows_with_the_number_of_methods() -> None:
    small = plots.ratings_plot(synthetic_board()).get_size_inches()
    records = [{"method_a": "p", "method_b": "q", "winner": "a"}] * 10
    c = comparisons_from_records(records)
    two = plots.ratings_plot(leaderboard(c.a, c.b, c.outcome, c.methods)).get_size_inches()
    assert small[1] - two[1] == pytest.approx(2 * plots.INCH_PER_METHOD)


def test_winrate_heatmap_cells_equal_the_win_rate_matrix_in_leaderboard_order() -> None:
    board = synthetic_board({"newcomer": 3})
    figure = plots.winrate_heatmap(board)
    axes = figure.axes[0]
    order = [board.methods.index(row.method) for row in board.rows]
    cells = axes.images[0].get_array()
    expected = board.win_rate[np.ix_(order, order)]
    assert np.array_equal(np.ma.getmaskarray(cells), np.isnan(expected))
    assert np.allclose(cells.filled(np.nan), expected, equal_nan=True)
    names = [row.method for row in board.rows]
    assert [t.get_text() for t in axes.get_xticklabels()] == names
    assert [t.get_text() for t in axes.get_yticklabels()] == names


def test_winrate_heatmap_prints_each_rate_and_has_a_colourbar() -> None:
    records = [{"method_a": "p", "method_b": "q", "winner": "a"}] * 4
    records += [{"method_a": "q", "method_b": "r", "winner": "tie"}] * 2
    c = comparisons_from_records(records)
    figure = plots.winrate_heatmap(leaderboard(c.a, c.b, c.outcome, c.methods))
    axes, colourbar = figure.axes
    printed = sorted(text.get_text() for text in axes.texts)
    assert printed == ["0.00", "0.50", "0.50", "1.00"]  # p-r never met: no number, grey
    assert "ties half" in colourbar.get_ylabel()
    assert colourbar.get_ylim() == (0.0, 1.0)


def test_winrate_heatmap_colours_are_diverging_and_grey_for_no_votes() -> None:
    colours = plots.RATE_COLOURS
    low, middle, high = (np.array(colours(x)[:3]) for x in (0.0, 0.5, 1.0))
    assert middle.min() > 0.9  # white at even odds
    assert np.abs(low - high).sum() > 0.5  # two distinct hues at the ends
    assert np.allclose(colours(np.ma.masked_invalid([np.nan]))[0][:3], 0.85)
