"""Bradley-Terry ratings of methods from pairwise votes, with 95% intervals that hold at few votes.

The model: method i beats method j with probability ``1 / (1 + exp(-(theta_i - theta_j)))``.
It is fitted by maximum likelihood with a tie counting half a win for each side (the standard
Bradley-Terry log-likelihood with fractional outcomes) and a weak Gaussian prior on theta
(``RIDGE``: worth one vote between even methods). "Both bad" votes say nothing about which of
the two is better, so the caller leaves them out and reports their count separately.

Speed comes from aggregation: the likelihood depends on the votes only through the win matrix
``W[i, j]`` (wins of i over j, ties counting half) and the count matrix ``N[i, j]``, so a fit on
100,000 votes over 8 methods is a Newton iteration on 8 unknowns.

Intervals come from the curvature of the penalised log-likelihood at its maximum (a Laplace
approximation of the posterior), see ``INTERVAL``. Measured on votes drawn from known strengths
(5 methods, 10% ties, 400 datasets each, tests/test_arena_ratings.py), they cover the true score
0.99, 0.97, 0.97 and 0.96 of the time at 5, 10, 20 and 50 votes per method; the percentile
bootstrap (1000 rounds) they replace covered 0.88, 0.92, 0.94, 0.95, and gave a zero-width
interval for a single vote. Methods with fewer than ``min_votes`` votes are listed with their
count but no score, interval or rank: a handful of votes says little.

Scores are ``1000 + 400 * theta / ln(10)``: theta in log10-odds units, like Elo, so a 400-point
gap means 10:1 odds and a 0-point gap means even odds. The mean of theta over the methods with
votes is 0, so their mean score is 1000.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from colorlab.errors import InvalidParameterError

BASE = 1000.0
SCALE = 400.0 / math.log(10.0)  # score points per natural-log unit of theta
RIDGE = 0.25  # Gaussian prior on theta, sd 2 log-odds: the curvature of one vote between evens
Z95 = 1.959963984540054  # the standard normal's 97.5% point
MIN_VOTES = 10  # fewer votes than this: listed as "needs more votes", not scored
INTERVAL = (
    "95% CI: score ± 1.96 standard errors, from the curvature of the Bradley-Terry likelihood "
    "with a weak prior worth one vote"
)
RANK_RULE = "1 + the number of methods whose interval lies wholly above its own"
OUTCOMES = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class Comparisons:
    """Votes as arrays: ``outcome`` is 1 if method ``a`` won, 0 if ``b`` won, 0.5 for a tie."""

    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    methods: tuple[str, ...]
    both_bad: int = 0


@dataclass(frozen=True)
class Row:
    """One leaderboard line; ``rank`` is None and the numbers NaN for a method with fewer than
    the leaderboard's ``min_votes`` votes."""

    rank: int | None
    method: str
    score: float
    lower: float
    upper: float
    votes: int

    @property
    def rated(self) -> bool:
        return self.rank is not None


@dataclass(frozen=True)
class Leaderboard:
    """Rated rows sorted by score, then the others by votes; the pairwise matrices are in the
    order of ``methods``."""

    rows: tuple[Row, ...]
    methods: tuple[str, ...]
    win_rate: np.ndarray  # win_rate[i, j]: share of i-vs-j votes i won (ties half); NaN if none
    vote_counts: np.ndarray  # vote_counts[i, j]: votes between i and j (symmetric)
    both_bad: int
    min_votes: int

    def to_dict(self) -> dict:
        """The JSON form the CLI and the app's /leaderboard share: scores to 0.1 point, rates to
        0.001, None for a missing number; ``status`` is "rated" or "needs more votes"."""
        rows = [
            {
                "rank": row.rank,
                "method": row.method,
                "score": json_number(row.score, 1),
                "lower": json_number(row.lower, 1),
                "upper": json_number(row.upper, 1),
                "votes": row.votes,
                "status": "rated" if row.rated else "needs more votes",
            }
            for row in self.rows
        ]
        return {
            "methods": list(self.methods),
            "rows": rows,
            "win_rate": [[json_number(rate, 3) for rate in line] for line in self.win_rate],
            "vote_counts": self.vote_counts.astype(int).tolist(),
            "both_bad": self.both_bad,
            "total": int(self.vote_counts.sum()) // 2 + self.both_bad,
            "min_votes": self.min_votes,
            "interval": INTERVAL,
        }


def comparisons_from_records(
    records: Iterable[Mapping], methods: Sequence[str] | None = None
) -> Comparisons:
    """Turn vote records (``method_a``, ``method_b``, ``winner``) into arrays.

    ``winner`` is one of "a", "b", "tie", "both_bad"; "both_bad" votes are counted, not rated.
    ``methods`` fixes the order and lets a method with no votes yet still be listed; by default
    it is every method named in the records, sorted.
    """
    records = list(records)
    for number, record in enumerate(records):
        if record["winner"] not in OUTCOMES and record["winner"] != "both_bad":
            raise InvalidParameterError(
                f"vote {number}: winner must be 'a', 'b', 'tie' or 'both_bad', "
                f"got {record['winner']!r}"
            )
        if record["method_a"] == record["method_b"]:
            raise InvalidParameterError(
                f"vote {number}: a method cannot be compared with itself ({record['method_a']!r})"
            )
    if methods is None:
        methods = sorted({r["method_a"] for r in records} | {r["method_b"] for r in records})
    index = {name: i for i, name in enumerate(methods)}
    rated = [r for r in records if r["winner"] != "both_bad"]
    try:
        a = np.array([index[r["method_a"]] for r in rated], dtype=np.int64)
        b = np.array([index[r["method_b"]] for r in rated], dtype=np.int64)
    except KeyError as error:
        raise InvalidParameterError(
            f"vote names method {error.args[0]!r}, which is not in methods {list(methods)}"
        ) from None
    outcome = np.array([OUTCOMES[r["winner"]] for r in rated], dtype=np.float64)
    return Comparisons(a, b, outcome, tuple(methods), len(records) - len(rated))


def tally(
    a: np.ndarray, b: np.ndarray, outcome: np.ndarray, n_methods: int
) -> tuple[np.ndarray, np.ndarray]:
    """Decisive-win matrix ``D[i, j]`` (i beat j) and symmetric tie-count matrix ``T``.

    These cell counts are everything the votes say about the ratings (sides do not matter).
    """
    a, b, outcome = _check(a, b, outcome, n_methods)
    winner = np.where(outcome == 0.0, b, a)
    loser = np.where(outcome == 0.0, a, b)
    decisive = outcome != 0.5
    cells = n_methods * n_methods
    wins = np.bincount(winner[decisive] * n_methods + loser[decisive], minlength=cells)
    ties = np.bincount(a[~decisive] * n_methods + b[~decisive], minlength=cells)
    ties = ties.reshape(n_methods, n_methods)
    return wins.reshape(n_methods, n_methods).astype(np.float64), (ties + ties.T).astype(np.float64)


def aggregate(decisive: np.ndarray, ties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Win matrix ``W`` (ties count half to each side) and symmetric count matrix ``N``.

    ``W + W.T == N``: every vote is shared out between the two methods it compares. Works on
    one (k, k) pair or a batch (..., k, k).
    """
    wins = decisive + ties / 2.0
    return wins, wins + np.swapaxes(wins, -1, -2)


def fit_bradley_terry(
    wins: np.ndarray, counts: np.ndarray, ridge: float = RIDGE, tol: float = 1e-10
) -> np.ndarray:
    """Maximum-likelihood theta (natural-log odds, mean 0) from win and count matrices.

    Works on one (k, k) pair or a batch (..., k, k), fitted together. The small ``ridge``
    (a Gaussian prior on theta) keeps the answer finite when a method won every vote and puts a
    method with no votes at 0. The mean stays at exactly 0 because the likelihood's gradient sums
    to zero over methods; a constant added along the mean direction keeps the Newton system
    solvable even with ``ridge=0`` (then every method needs votes, in one connected graph).
    Newton steps on the concave objective, each capped at 2 log-odds so a far start cannot
    overshoot.
    """
    wins = np.asarray(wins, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    k = wins.shape[-1]
    theta = np.zeros(wins.shape[:-1])
    mean_only = np.full((k, k), 1.0 / k)  # curvature along the mean, whose gradient is 0
    for _ in range(200):
        p = expit(theta[..., :, None] - theta[..., None, :])
        gradient = (wins - counts * p).sum(-1) - ridge * theta
        step = np.linalg.solve(information(theta, counts, ridge) + mean_only, gradient[..., None])
        step = step[..., 0]
        largest = np.abs(step).max(-1, keepdims=True)
        theta = theta + step * np.minimum(1.0, 2.0 / np.maximum(largest, 1e-300))
        if largest.max() < tol:
            return theta
    raise RuntimeError("Bradley-Terry fit did not converge in 200 Newton steps")


def to_score(theta: np.ndarray) -> np.ndarray:
    """Natural-log-odds theta to the displayed scale, 1000 + 400 * log10 odds."""
    return BASE + SCALE * np.asarray(theta)


def information(theta: np.ndarray, counts: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Curvature (minus the Hessian) of the penalised log-likelihood at ``theta``, (..., k, k).

    Each pair's votes add ``N_ij p_ij (1 - p_ij)``: a Laplacian over the comparison graph.
    """
    p = expit(theta[..., :, None] - theta[..., None, :])
    weight = counts * p * (1.0 - p)
    eye = np.eye(theta.shape[-1])
    return weight.sum(-1)[..., :, None] * eye - weight + ridge * eye


def standard_errors(theta: np.ndarray, counts: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Standard errors of theta (mean 0) from the curvature at the fit, natural-log odds.

    The covariance is the inverse curvature within the mean-0 plane, where the scores live;
    the pseudo-inverse also serves ``ridge=0`` on a connected comparison graph.
    """
    k = theta.shape[-1]
    centre = np.eye(k) - 1.0 / k
    covariance = centre @ np.linalg.pinv(information(theta, counts, ridge), hermitian=True) @ centre
    return np.sqrt(np.clip(np.diagonal(covariance, axis1=-2, axis2=-1), 0.0, None))


def rank_by_interval(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Rank = 1 + number of methods whose lower bound is above my upper bound.

    Methods whose intervals overlap share a rank, so the ranking claims no more than the data show.
    """
    lower, upper = np.asarray(lower), np.asarray(upper)
    return 1 + (lower[None, :] > upper[:, None]).sum(1)


def win_rate_matrix(wins: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Share of i-vs-j votes that i won (ties half); NaN where the pair has no votes."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, wins / counts, np.nan)


def leaderboard(
    a: np.ndarray,
    b: np.ndarray,
    outcome: np.ndarray,
    methods: Sequence[str],
    *,
    both_bad: int = 0,
    ridge: float = RIDGE,
    min_votes: int = MIN_VOTES,
) -> Leaderboard:
    """Fit, 95% intervals (``INTERVAL``) and ranks by interval of the methods with at least
    ``min_votes`` votes.

    Every method with votes is fitted, so an under-voted one still informs the others; it is
    listed after the rated ones with its count and NaN score, interval and no rank. Methods
    with no votes are fitted out (so they do not move the others' mean) and listed last.
    """
    if min_votes < 1:
        raise InvalidParameterError(f"min_votes must be at least 1, got {min_votes}")
    methods = tuple(methods)
    wins, counts = aggregate(*tally(a, b, outcome, len(methods)))
    votes = counts.sum(1).astype(int)
    voted = np.flatnonzero(votes > 0)
    sub = np.ix_(voted, voted)
    theta = fit_bradley_terry(wins[sub], counts[sub], ridge)
    margin = Z95 * SCALE * standard_errors(theta, counts[sub], ridge)
    score = np.full(len(methods), np.nan)
    lower, upper = score.copy(), score.copy()
    shown = votes[voted] >= min_votes
    rated = voted[shown]
    score[rated] = to_score(theta[shown])
    lower[rated], upper[rated] = score[rated] - margin[shown], score[rated] + margin[shown]
    ranks = rank_by_interval(lower[rated], upper[rated])
    rank_of = dict(zip(rated.tolist(), ranks.tolist(), strict=True))
    order = sorted(
        range(len(methods)),
        key=lambda i: (i not in rank_of, -np.nan_to_num(score[i]), -votes[i], methods[i]),
    )
    rows = tuple(
        Row(
            rank_of.get(i),
            methods[i],
            float(score[i]),
            float(lower[i]),
            float(upper[i]),
            int(votes[i]),
        )
        for i in order
    )
    return Leaderboard(
        rows, methods, win_rate_matrix(wins, counts), counts.astype(int), both_bad, min_votes
    )


def json_number(value: float, digits: int) -> float | None:
    """A JSON-safe number: rounded, and None (null) for NaN."""
    value = float(value)
    return None if math.isnan(value) else round(value, digits)


def _check(
    a: np.ndarray, b: np.ndarray, outcome: np.ndarray, n_methods: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    outcome = np.asarray(outcome, dtype=np.float64)
    if not (a.shape == b.shape == outcome.shape) or a.ndim != 1:
        raise InvalidParameterError(
            f"a, b and outcome must be 1-D of one length, got shapes {a.shape}, {b.shape}, "
            f"{outcome.shape}"
        )
    if a.size == 0:
        raise InvalidParameterError("no votes to rate (every vote was 'both bad', or none yet)")
    if n_methods < 2:
        raise InvalidParameterError(f"need at least 2 methods to rate, got {n_methods}")
    if min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_methods:
        raise InvalidParameterError(f"method indices must be in [0, {n_methods - 1}]")
    if np.any(a == b):
        raise InvalidParameterError("a method cannot be compared with itself (a == b)")
    if not np.all(np.isin(outcome, (0.0, 0.5, 1.0))):
        raise InvalidParameterError("outcome must be 1 (a wins), 0 (b wins) or 0.5 (tie)")
    return a, b, outcome
