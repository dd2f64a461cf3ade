"""Speed of Bradley-Terry ratings: fit plus intervals on synthetic votes; prints a Markdown table.

    python -m benchmarks.bench_arena_ratings [--runs 3] [--votes 10000 100000]

Votes are drawn between random pairs of 8 methods with known strengths (about 1 in 10 a tie).
Each row times ``leaderboard`` (tally, fit, curvature intervals, ranks, matrices),
median of ``--runs`` runs. The reference, in the same process, is one plain fit with
``scipy.optimize.minimize`` (L-BFGS-B) on the per-vote likelihood of the first vote count, without
aggregation or intervals; the table also gives the largest score gap between the two fits.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.optimize import minimize

from colorlab.arena.ratings import aggregate, fit_bradley_terry, leaderboard, tally, to_score

METHODS = tuple(f"m{i}" for i in range(8))
THETA = np.linspace(-1.0, 1.0, len(METHODS))


def votes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = len(METHODS)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p = 1.0 / (1.0 + np.exp(-(THETA[a] - THETA[b])))
    outcome = (rng.random(n) < p).astype(float)
    outcome[rng.random(n) < 0.1] = 0.5
    return a, b, outcome


def median_seconds(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_vote_fit(a: np.ndarray, b: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Plain maximum likelihood over the rows, theta_0 fixed at 0; returns mean-0 theta."""

    def negative_log_likelihood(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.append(0.0, free)
        d = theta[a] - theta[b]
        p = 1.0 / (1.0 + np.exp(-d))
        value = -np.sum(outcome * -np.logaddexp(0, -d) + (1 - outcome) * -np.logaddexp(0, d))
        residual = outcome - p
        gradient = -(np.bincount(a, residual, len(theta)) - np.bincount(b, residual, len(theta)))
        return value, gradient[1:]

    free = minimize(negative_log_likelihood, np.zeros(len(METHODS) - 1), jac=True).x
    theta = np.append(0.0, free)
    return theta - theta.mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--votes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()

    print(f"| votes | methods | what | median s ({args.runs} runs) |")
    print("|---:|---:|---|---:|")
    for n in args.votes:
        a, b, outcome = votes(n)
        seconds = median_seconds(
            lambda a=a, b=b, o=outcome: leaderboard(a, b, o, METHODS),
            args.runs,
        )
        print(f"| {n:,} | {len(METHODS)} | fit + 95% intervals | {seconds:.4f} |")

    a, b, outcome = votes(args.votes[0])
    seconds = median_seconds(lambda: per_vote_fit(a, b, outcome), args.runs)
    wins, counts = aggregate(*tally(a, b, outcome, len(METHODS)))
    gap = np.abs(
        to_score(fit_bradley_terry(wins, counts, ridge=0.0)) - to_score(per_vote_fit(a, b, outcome))
    ).max()
    fit_only = median_seconds(
        lambda: fit_bradley_terry(*aggregate(*tally(a, b, outcome, len(METHODS)))), args.runs
    )
    print(f"| {args.votes[0]:,} | {len(METHODS)} | aggregated fit only | {fit_only:.4f} |")
    print(
        f"| {args.votes[0]:,} | {len(METHODS)} | reference: scipy minimize per vote, fit only "
        f"(max score gap {gap:.2g}) | {seconds:.4f} |"
    )


if __name__ == "__main__":
    main()
