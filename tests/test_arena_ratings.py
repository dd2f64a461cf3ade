"""Bradley-Terry ratings recover known strengths, with intervals honest at few votes too."""

import numpy as np
import pytest

from colorlab.arena import ratings
from colorlab.errors import InvalidParameterError

METHODS = ("A", "B", "C", "D", "E")
THETA = np.array([0.0, 0.5, 1.0, -0.5, 0.2]) - 0.24  # natural-log odds, mean 0


def simulate(rng, n, theta=THETA, ties=0.0):
    """n votes between random distinct pairs, won with Bradley-Terry probabilities; a share
    ``ties`` of them (at random) turned into ties."""
    k = len(theta)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p = 1.0 / (1.0 + np.exp(-(theta[a] - theta[b])))
    outcome = (rng.random(n) < p).astype(float)
    outcome[rng.random(n) < ties] = 0.5
    return a, b, outcome


def by_method(board):
    return {row.method: row for row in board.rows}


def test_order_of_known_strengths_is_recovered():
    a, b, outcome = simulate(np.random.default_rng(0), 20_000)
    board = ratings.leaderboard(a, b, outcome, METHODS)
    expected = [METHODS[i] for i in np.argsort(-THETA)]
    assert [row.method for row in board.rows] == expected
    scores = np.array([by_method(board)[m].score for m in METHODS])
    assert np.allclose(scores, ratings.to_score(THETA), atol=25)
    assert scores.mean() == pytest.approx(1000.0)


def test_scale_is_elo_like_400_points_for_ten_to_one():
    # 10:1 odds between two methods -> 400 points apart.
    a, b, outcome = np.zeros(11, int), np.ones(11, int), np.array([1.0] * 10 + [0.0])
    wins, counts = ratings.aggregate(*ratings.tally(a, b, outcome, 2))
    score = ratings.to_score(ratings.fit_bradley_terry(wins, counts, ridge=0.0))
    assert score[0] - score[1] == pytest.approx(400.0, abs=1e-6)


def test_fit_matches_per_vote_likelihood_optimum():
    from scipy.optimize import minimize

    a, b, outcome = simulate(np.random.default_rng(3), 3000)
    wins, counts = ratings.aggregate(*ratings.tally(a, b, outcome, 5))
    theta = ratings.fit_bradley_terry(wins, counts, ridge=0.0)

    def nll(free):
        t = np.append(free, -free.sum())
        d = t[a] - t[b]
        return -np.sum(outcome * -np.logaddexp(0, -d) + (1 - outcome) * -np.logaddexp(0, d))

    reference = minimize(nll, np.zeros(4), method="BFGS").x
    assert np.allclose(theta, np.append(reference, -reference.sum()), atol=1e-4)


def coverage(votes_per_method: int, datasets: int, seed: int) -> np.ndarray:
    """Per method, the share of simulated datasets (10% ties) whose interval holds the truth."""
    covered = []
    for dataset in range(datasets):
        rng = np.random.default_rng([seed, votes_per_method, dataset])
        a, b, outcome = simulate(rng, votes_per_method * len(METHODS) // 2, ties=0.1)
        board = by_method(ratings.leaderboard(a, b, outcome, METHODS, min_votes=1))
        score = np.array([board[m].score for m in METHODS])
        voted = ~np.isnan(score)  # at 5 votes a method now and then draws none
        truth = ratings.to_score(THETA - THETA[voted].mean())
        lower = np.array([board[m].lower for m in METHODS])
        upper = np.array([board[m].upper for m in METHODS])
        covered.append(np.where(voted, (lower <= truth) & (truth <= upper), np.nan))
    return np.nanmean(covered, axis=0)


@pytest.mark.parametrize("votes_per_method", [5, 10, 20, 50])
def test_intervals_cover_true_scores_at_the_nominal_rate_even_with_few_votes(votes_per_method):
    # 400 datasets x 5 methods: a binomial sd of about 0.005 on the mean. Measured: 0.992,
    # 0.972, 0.969, 0.963; the percentile bootstrap this replaced: 0.883, 0.922 (failing),
    # 0.942, 0.948.
    rates = coverage(votes_per_method, 400, seed=11)
    assert 0.94 <= rates.mean() <= 0.995, rates
    assert np.all(rates >= 0.9), rates


def test_intervals_cover_true_scores_with_many_votes():
    truth = ratings.to_score(THETA)
    covered = []
    for dataset in range(200):
        board = by_method(
            ratings.leaderboard(*simulate(np.random.default_rng([7, dataset]), 2000), METHODS)
        )
        lower = np.array([board[m].lower for m in METHODS])
        upper = np.array([board[m].upper for m in METHODS])
        covered.append((lower <= truth) & (truth <= upper))
    rates = np.mean(covered, axis=0)
    assert 0.92 <= rates.mean() <= 0.975, rates
    assert np.all((rates >= 0.88) & (rates <= 0.99)), rates


def test_intervals_are_reproducible_and_widen_with_fewer_votes():
    a, b, outcome = simulate(np.random.default_rng(1), 4000)
    first = ratings.leaderboard(a, b, outcome, METHODS)
    assert first.rows == ratings.leaderboard(a, b, outcome, METHODS).rows
    few = by_method(ratings.leaderboard(a[:400], b[:400], outcome[:400], METHODS))
    many = by_method(first)
    for m in METHODS:
        assert few[m].upper - few[m].lower > many[m].upper - many[m].lower


def test_ties_count_half_so_tie_only_votes_give_equal_scores():
    rng = np.random.default_rng(2)
    a, b, _ = simulate(rng, 300)
    board = ratings.leaderboard(a, b, np.full(300, 0.5), METHODS)
    assert all(row.score == pytest.approx(1000.0) for row in board.rows)
    assert all(row.rank == 1 for row in board.rows)
    assert np.allclose(board.win_rate[~np.eye(5, dtype=bool)], 0.5)


def test_tie_counts_as_half_a_win_for_each_side():
    # One win and one tie for A equals 1.5 wins out of 2: W = [[0, 1.5], [0.5, 0]].
    decisive, ties = ratings.tally(np.array([0, 1]), np.array([1, 0]), np.array([1.0, 0.5]), 2)
    wins, counts = ratings.aggregate(decisive, ties)
    assert np.array_equal(wins, [[0, 1.5], [0.5, 0]])
    assert np.array_equal(counts, [[0, 2], [2, 0]])


def test_method_with_only_wins_gets_a_finite_score():
    a, b, outcome = simulate(np.random.default_rng(4), 1000)
    a = np.concatenate([a, np.full(50, 4)])
    b = np.concatenate([b, np.arange(50) % 4])
    keep = (a != 4) & (b != 4) | (np.arange(len(a)) >= 1000)  # E only ever appears winning
    board = by_method(
        ratings.leaderboard(a[keep], b[keep], np.r_[outcome, np.ones(50)][keep], METHODS)
    )
    assert np.isfinite([board["E"].score, board["E"].lower, board["E"].upper]).all()
    assert board["E"].rank == 1 and board["E"].score > max(board[m].score for m in "ABCD")


def test_method_without_votes_is_listed_last_unrated():
    a, b, outcome = simulate(np.random.default_rng(5), 500, theta=THETA[:4])
    board = ratings.leaderboard(a, b, outcome, METHODS)
    last = board.rows[-1]
    assert last.method == "E" and last.votes == 0 and last.rank is None
    assert np.isnan([last.score, last.lower, last.upper]).all()
    assert np.mean([row.score for row in board.rows[:-1]]) == pytest.approx(1000.0)


def one_sided(pairs, wins=1):
    """``wins`` votes won by the first method of each (winner, loser) index pair."""
    a = np.repeat([w for w, _ in pairs], wins)
    b = np.repeat([loser for _, loser in pairs], wins)
    return a, b, np.ones(len(a))


def assert_honest(row):
    assert np.isfinite([row.score, row.lower, row.upper]).all()
    assert row.lower < row.score < row.upper


def test_a_single_vote_gives_a_wide_finite_interval_around_its_score():
    board = ratings.leaderboard(*one_sided([(0, 1)]), ("x", "y"), min_votes=1)
    for row in board.rows:
        assert_honest(row)
        assert row.upper - row.lower > 400  # one vote: not even 10:1 odds are ruled out
    assert [row.rank for row in board.rows] == [1, 1]


def test_all_ties_give_equal_scores_with_real_intervals():
    a, b, _ = simulate(np.random.default_rng(8), 20)
    board = ratings.leaderboard(a, b, np.full(20, 0.5), METHODS, min_votes=1)
    for row in board.rows:
        assert_honest(row)
        assert row.score == pytest.approx(1000.0) and row.rank == 1


def test_a_method_that_never_loses_gets_a_finite_interval_holding_its_score():
    board = by_method(
        ratings.leaderboard(*one_sided([(0, 1), (0, 2)], wins=6), ("top", "b", "c"), min_votes=1)
    )
    assert_honest(board["top"])
    assert board["top"].score > board["b"].score and board["top"].rank == 1


def test_clearly_separated_methods_get_distinct_ranks():
    # Each of 12 votes per pair won by the better method: A > B > C beyond doubt.
    board = ratings.leaderboard(*one_sided([(0, 1), (1, 2), (0, 2)], wins=12), ("A", "B", "C"))
    assert [(row.method, row.rank) for row in board.rows] == [("A", 1), ("B", 2), ("C", 3)]


def test_methods_below_min_votes_need_more_votes_and_are_not_ranked():
    # A, B and C meet often; D has 3 votes (all won) and E none.
    a, b, outcome = simulate(np.random.default_rng(9), 300, theta=THETA[:3])
    a, b = np.r_[a, [3, 3, 3]], np.r_[b, [0, 1, 2]]
    board = ratings.leaderboard(a, b, np.r_[outcome, [1.0, 1.0, 1.0]], METHODS, min_votes=10)
    assert [row.method for row in board.rows[3:]] == ["D", "E"]
    for row, votes in zip(board.rows[3:], (3, 0), strict=True):
        assert row.rank is None and not row.rated and row.votes == votes
        assert np.isnan([row.score, row.lower, row.upper]).all()
    assert all(row.rated for row in board.rows[:3])
    assert (
        ratings.leaderboard(a, b, np.r_[outcome, [1.0] * 3], METHODS, min_votes=3).rows[0].method
        == "D"
    )
    with pytest.raises(InvalidParameterError, match="min_votes"):
        ratings.leaderboard(a, b, np.r_[outcome, [1.0] * 3], METHODS, min_votes=0)


def test_to_dict_is_json_with_one_rounding_and_a_status_per_row():
    import json

    a, b, outcome = simulate(np.random.default_rng(10), 200, theta=THETA[:4])
    board = ratings.leaderboard(a, b, outcome, METHODS, both_bad=3)
    data = json.loads(json.dumps(board.to_dict(), allow_nan=False))
    assert data["methods"] == list(METHODS) and data["both_bad"] == 3
    assert data["total"] == 203 and data["min_votes"] == ratings.MIN_VOTES
    assert data["interval"] == ratings.INTERVAL
    first, last = data["rows"][0], data["rows"][-1]
    assert first["status"] == "rated" and first["score"] == round(board.rows[0].score, 1)
    assert last == {
        "rank": None, "method": "E", "score": None, "lower": None, "upper": None, "votes": 0,
        "status": "needs more votes",
    }  # fmt: skip
    assert data["win_rate"][0][1] == round(board.win_rate[0, 1], 3)
    assert data["win_rate"][0][0] is None and data["vote_counts"] == board.vote_counts.tolist()


def test_rank_counts_methods_whose_lower_bound_beats_my_upper_bound():
    lower = np.array([1100, 1050, 900, 700])
    upper = np.array([1200, 1150, 1000, 800])
    # A and B overlap (both rank 1); C is beaten by A and B; D by all three.
    assert ratings.rank_by_interval(lower, upper).tolist() == [1, 1, 3, 4]


def test_win_rate_matrix_is_complementary_where_votes_exist():
    a, b, outcome = simulate(np.random.default_rng(6), 800)
    outcome[::7] = 0.5
    board = ratings.leaderboard(a, b, outcome, METHODS)
    w, n = board.win_rate, board.vote_counts
    off = ~np.eye(5, dtype=bool)
    assert np.allclose((w + w.T)[off], 1.0)
    assert np.isnan(np.diag(w)).all()
    assert np.array_equal(n, n.T) and n.sum() == 2 * 800
    assert [row.votes for row in board.rows] == [
        int(n[METHODS.index(r.method)].sum()) for r in board.rows
    ]


def test_records_are_converted_and_both_bad_counted_separately():
    records = [
        {"method_a": "x", "method_b": "y", "winner": "a"},
        {"method_a": "y", "method_b": "x", "winner": "tie"},
        {"method_a": "y", "method_b": "z", "winner": "both_bad"},
        {"method_a": "z", "method_b": "x", "winner": "b"},
    ]
    c = ratings.comparisons_from_records(records)
    assert c.methods == ("x", "y", "z") and c.both_bad == 1
    assert c.a.tolist() == [0, 1, 2] and c.b.tolist() == [1, 0, 0]
    assert c.outcome.tolist() == [1.0, 0.5, 0.0]
    board = ratings.leaderboard(c.a, c.b, c.outcome, c.methods, both_bad=c.both_bad, min_votes=1)
    assert board.both_bad == 1


@pytest.mark.parametrize(
    "record, message",
    [
        ({"method_a": "x", "method_b": "y", "winner": "left"}, "winner"),
        ({"method_a": "x", "method_b": "x", "winner": "a"}, "itself"),
    ],
)
def test_bad_records_are_rejected_with_the_field_named(record, message):
    with pytest.raises(InvalidParameterError, match=message):
        ratings.comparisons_from_records([record])


def test_empty_input_gives_a_clear_error():
    empty = np.array([], dtype=int)
    with pytest.raises(InvalidParameterError, match="no votes"):
        ratings.leaderboard(empty, empty, np.array([]), METHODS)
    only_bad = [{"method_a": "x", "method_b": "y", "winner": "both_bad"}]
    c = ratings.comparisons_from_records(only_bad)
    with pytest.raises(InvalidParameterError, match="no votes"):
        ratings.leaderboard(c.a, c.b, c.outcome, c.methods)


def test_bad_arrays_are_rejected():
    with pytest.raises(InvalidParameterError, match="outcome"):
        ratings.leaderboard(np.array([0]), np.array([1]), np.array([0.3]), METHODS)
    with pytest.raises(InvalidParameterError, match="indices"):
        ratings.leaderboard(np.array([0]), np.array([9]), np.array([1.0]), METHODS)
