"""Frozen dataclasses as plain JSON data, for artifact manifests and `--json` views."""

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any

# JSON as it is read and written: the one type of data crossing a JSON edge (a column, a body, a --json line)
Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
JsonObject = dict[str, Json]
# A progress event: what a command prints as a sentence, or with --json as one JSON line
Event = dict[str, object]
# A database row by column name, as a query returns it (SQLAlchemy's RowMapping, or a dict from sqlite3): its
# values are the columns' str, int, float or None, typed by a record's `from_row` (store/rows.py); its keys are
# Any because SQLAlchemy types RowMapping's keys wider than str.
Row = Mapping[Any, Any]


def plain(value: Any) -> Any:
    """`dataclasses.asdict`'s shape (tuples as lists), without its deep copies.

    A 20,000-path change took 0.9 s through `asdict`; the values are frozen, so the
    result may share its leaves (strings, numbers) with them.
    """
    if is_dataclass(value) and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(item.name for item in fields(kind))


# Reading recorded JSON whose shape the reader checks (a trace event, evidence): what is not there, or not of
# the expected kind, reads as empty or zero; recorded data never raises a TypeError in a view.
def json_object(found: Json) -> JsonObject:
    return found if isinstance(found, dict) else {}


def json_list(found: Json) -> list[Json]:
    return found if isinstance(found, list) else []


def json_text(found: Json, default: str = "") -> str:
    return found if isinstance(found, str) else default


def json_number(found: Json) -> float:
    return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else 0.0


def json_int(found: Json) -> int:
    return found if isinstance(found, int) and not isinstance(found, bool) else 0
