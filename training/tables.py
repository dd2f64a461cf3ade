"""Markdown tables as the evaluation scripts print them and write into model cards."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_table(caption: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A caption paragraph, then the table with one header row and the given rows of cells."""
    lines = [caption, "", f"| {' | '.join(columns)} |", "|" + "---|" * len(columns)]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)
