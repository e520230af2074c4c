"""Pages of a long list, read with a cursor: where the last page ended, not how many rows to skip.

A list that skips rows (OFFSET) reads every skipped row, so page 2,000 of the runs
costs 2,000 pages; a cursor names the last row shown (its sort key and id), and the
next page is read from the index right after it, at the same cost wherever it is.
A row inserted meanwhile never shifts the pages: nothing is shown twice or skipped.

A cursor is opaque to its users: the sort key of the last row and its id, as JSON in
URL-safe base64 (it travels in URLs and command lines). A cursor that does not
decode, or has the wrong shape for its list, is bad input.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..errors import BadInput

DEFAULT_PAGE = 50
MAX_PAGE = 1000

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a list, and the cursor of the next one (None: this is the last)."""

    items: list[Item]
    next_cursor: str | None


def encode_cursor(*key: str | int) -> str:
    """The cursor of a row whose sort key is `key` (its last part the row's id)."""
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, shape: Sequence[type]) -> list[str | int]:
    """The sort key a cursor names, checked against its list's `shape` (e.g. (str, str)). BadInput if not."""
    text = cursor.strip()
    try:
        found = json.loads(base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        found = None
    key = [part for part in found if isinstance(part, str | int)] if isinstance(found, list) else []
    if (
        len(key) != len(shape)
        or len(found) != len(shape)
        or any(type(p) is not k for p, k in zip(key, shape, strict=True))
    ):
        raise BadInput(f"the cursor {cursor[:80]!r} is not one this list gave: start again from its first page")
    return key


def page_of(found: list[Item], size: int, key: Callable[[Item], Sequence[str | int]]) -> Page[Item]:
    """A page from `found` (read with LIMIT size + 1: one more row says there is a next page)."""
    shown = found[:size]
    return Page(shown, encode_cursor(*key(shown[-1])) if len(found) > size else None)


def page_size(limit: int | None) -> int:
    """A page's size: DEFAULT_PAGE when not given, at most MAX_PAGE; BadInput below 1."""
    if limit is None:
        return DEFAULT_PAGE
    if limit < 1:
        raise BadInput(f"a page holds at least one item (got --limit {limit})")
    return min(limit, MAX_PAGE)


def after(when: str, row_id: str, key: Sequence[str | int], newest_first: bool) -> tuple[str, dict[str, str]]:
    """SQL for the rows after the one whose (time, id) is `key`, in a list ordered by the columns `when` then
    `row_id`, oldest or newest first; and its parameters (`:after_time`, `:after_id`).

    Written as a range on the time plus a tie-break, not a row-value comparison, so SQLite and
    PostgreSQL both read it from the (time, id) index.
    """
    params = {"after_time": str(key[-2]), "after_id": str(key[-1])}
    if newest_first:
        return f"({when} <= :after_time AND ({when} < :after_time OR {row_id} < :after_id))", params
    return f"({when} >= :after_time AND ({when} > :after_time OR {row_id} > :after_id))", params
