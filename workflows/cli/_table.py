"""List commands print a table: a header row, then one row per item, each column as wide as it needs.

Cells are shown on one line (`one_line`: a name from a user or a run cannot break a
row or drive the terminal); the last column is not padded, so a long title or
message does not push trailing spaces.
"""

from collections.abc import Sequence

import click

from ._display import one_line

GAP = "  "


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[str] = ()) -> None:
    """Print `rows` under `headers`; columns named in `right` are right-aligned (numbers, ages, money)."""
    cells = [[one_line(_text(value)) for value in row] for row in rows]
    widths = [max([len(header), *(len(row[index]) for row in cells)]) for index, header in enumerate(headers)]
    for row in [list(headers), *cells]:
        shown = [
            cell
            if index == len(row) - 1 and header not in right
            else cell.rjust(width)
            if header in right
            else cell.ljust(width)
            for index, (cell, width, header) in enumerate(zip(row, widths, headers, strict=True))
        ]
        click.echo(GAP.join(shown).rstrip())


def _text(value: object) -> str:
    """A cell as words: "" for nothing, "yes"/"no" for a flag, never a Python value like None or []."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    return str(value)


def next_page(cursor: str | None, command: str, limit: int | None, extra: str = "") -> None:
    """Say, on standard error (a JSON page stays valid), the command that prints the next page, if any."""
    if cursor is not None:
        size = f" --limit {limit}" if limit is not None else ""
        click.echo(f"more: {command}{extra}{size} --after {cursor}", err=True)
