"""Pictures of an arena leaderboard, drawn with PIL alone (no plotting library needed).

- :func:`ratings_plot`: one row per method, best at the top; a dot at the Bradley-Terry score
  and a horizontal bar over its bootstrap 95% interval. ``PLOT_WIDTH`` (720) by
  ``60 + 40 * n`` pixels for n methods.
- :func:`winrate_heatmap`: cell (row i, column j) is the share of i-vs-j votes that i won, ties
  counting half, coloured red (0) through white (0.5) to blue (1), grey where the pair has no
  votes, with the share printed in the cell. ``LABEL + CELL * n + PAD`` pixels square.

Both take a :class:`colorlab.arena.ratings.Leaderboard` and return an RGB ``PIL.Image``; the
style follows ``training/loop.py``'s ``draw_curve`` (white ground, black frame, light grid).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from colorlab.arena.ratings import Leaderboard

PLOT_WIDTH = 720
ROW = 40  # ratings_plot: pixels per method
TOP, BOTTOM = 24, 36  # ratings_plot: title above, tick labels and axis label below
CELL = 60  # winrate_heatmap: pixels per cell
LABEL = 130  # winrate_heatmap: room for the method names left of and above the cells
PAD = 30  # winrate_heatmap: margin right of and below the cells (the legend line)

DOT = (30, 90, 200)  # the score: the project's "validation blue"
BAR = (150, 175, 225)  # the 95% interval, lighter so the dot stands out
GRID = (225, 225, 225)
RED, WHITE, BLUE = np.array([200, 40, 40]), np.array([255, 255, 255]), np.array([40, 70, 200])
NO_VOTES = (190, 190, 190)


def _font(size: int = 12) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: only the small bitmap font
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int, font) -> str:
    """``text``, shortened with '..' until it is at most ``width`` pixels wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "..", font=font) > width:
        text = text[:-1]
    return text + ".."


def _nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) in [low, high]."""
    raw = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) / step + 1e-9) + 1)]


def ratings_plot(leaderboard: Leaderboard, title: str = "Ratings") -> Image.Image:
    """Scores with 95% intervals, methods on the y axis sorted by score (best on top).

    The image is ``PLOT_WIDTH`` x ``TOP + BOTTOM + ROW * n`` = 720 x (60 + 40 n) pixels. A
    method with no votes yet is listed at the bottom with "no votes" and no dot. The dashed
    vertical line marks 1000, the mean score.
    """
    rows = leaderboard.rows
    width, height = PLOT_WIDTH, TOP + BOTTOM + ROW * len(rows)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = _font()
    names = [_fit(draw, row.method, 170, font) for row in rows]
    left = int(max([draw.textlength(n, font=font) for n in names] + [40])) + 16
    right = width - 20
    rated = [row for row in rows if not math.isnan(row.score)]
    if rated:
        low = min(min(r.lower, r.score) for r in rated)
        high = max(max(r.upper, r.score) for r in rated)
    else:
        low, high = 1000.0, 1000.0
    if high - low < 20:
        low, high = (low + high) / 2 - 10, (low + high) / 2 + 10
    spread = high - low
    low, high = low - 0.06 * spread, high + 0.06 * spread

    def x_of(score: float) -> float:
        return left + (score - low) / (high - low) * (right - left)

    bottom = height - BOTTOM
    draw.rectangle([left, TOP, right, bottom], outline="black")
    for tick in _nice_ticks(low, high):
        x = x_of(tick)
        draw.line([x, TOP + 1, x, bottom - 1], fill=GRID)
        draw.line([x, bottom, x, bottom + 4], fill="black")
        label = f"{tick:g}"
        draw.text((x - draw.textlength(label, font=font) / 2, bottom + 6), label, "black", font)
    if low < 1000 < high:
        x = x_of(1000)
        for y in range(TOP + 2, bottom - 2, 8):
            draw.line([x, y, x, min(y + 4, bottom - 2)], fill=(160, 160, 160))
    for number, (row, name) in enumerate(zip(rows, names, strict=True)):
        y = TOP + ROW * number + ROW / 2
        draw.text((left - 8 - draw.textlength(name, font=font), y - 7), name, "black", font)
        if math.isnan(row.score):
            draw.text((left + 8, y - 7), "no votes", (120, 120, 120), font)
            continue
        x_low, x_high, x = x_of(row.lower), x_of(row.upper), x_of(row.score)
        draw.line([x_low, y, x_high, y], fill=BAR, width=4)
        for end in (x_low, x_high):
            draw.line([end, y - 6, end, y + 6], fill=BAR, width=2)
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=DOT)
    draw.text((left, 5), f"{title}: score with 95% interval", "black", font)
    axis = "score (1000 = mean; +400 = 10:1 odds)"
    draw.text((width / 2 - draw.textlength(axis, font=font) / 2, height - 17), axis, "black", font)
    return image


def rate_colour(rate: float) -> tuple[int, int, int]:
    """Red at 0, white at 0.5, blue at 1 (linear in between); grey for NaN (no votes)."""
    if rate is None or math.isnan(rate):
        return NO_VOTES
    rate = min(max(float(rate), 0.0), 1.0)
    if rate < 0.5:
        colour = RED + (WHITE - RED) * (rate / 0.5)
    else:
        colour = WHITE + (BLUE - WHITE) * ((rate - 0.5) / 0.5)
    return tuple(int(round(c)) for c in colour)


def winrate_heatmap(leaderboard: Leaderboard, title: str = "Win rate") -> Image.Image:
    """Pairwise win rates, row method against column method, both in leaderboard order.

    The image is ``LABEL + CELL * n + PAD`` pixels square (130 + 60 n + 30). Column names are
    written upwards above the cells; names longer than the margin are shortened with '..'.
    """
    order = [leaderboard.methods.index(row.method) for row in leaderboard.rows]
    n = len(order)
    size = LABEL + CELL * n + PAD
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    font = _font()
    names = [_fit(draw, leaderboard.methods[i], LABEL - 14, font) for i in order]
    for r, i in enumerate(order):
        for c, j in enumerate(order):
            x0, y0 = LABEL + CELL * c, LABEL + CELL * r
            rate = float(leaderboard.win_rate[i, j])
            colour = rate_colour(rate)
            draw.rectangle([x0, y0, x0 + CELL - 1, y0 + CELL - 1], fill=colour)
            if math.isnan(rate):
                continue
            text = f"{rate:.2f}"
            ink = "white" if abs(rate - 0.5) > 0.35 else "black"
            tx = x0 + (CELL - draw.textlength(text, font=font)) / 2
            draw.text((tx, y0 + CELL / 2 - 7), text, ink, font)
    for k, name in enumerate(names):
        y = LABEL + CELL * k + CELL / 2
        draw.text((LABEL - 8 - draw.textlength(name, font=font), y - 7), name, "black", font)
        # Column names upwards: draw on a strip, rotate it, paste it above the column.
        strip = Image.new("RGB", (LABEL - 8, 16), "white")
        strip_draw = ImageDraw.Draw(strip)
        strip_draw.text((2, 1), name, "black", font)
        upright = strip.rotate(90, expand=True)
        image.paste(upright, (int(LABEL + CELL * k + CELL / 2 - 8), 0))
    edge = LABEL + CELL * n
    draw.rectangle([LABEL - 1, LABEL - 1, edge, edge], outline="black")
    draw.text((6, 6), title, "black", font)
    legend = "row beats column (ties half); red 0 - white 0.5 - blue 1; grey: no votes"
    draw.text((6, edge + 8), _fit(draw, legend, size - 12, font), "black", font)
    return image
