"""Durations as people write them: every unit, and what is not a duration.

Fast and in process: `make mutation` runs mutmut on workflows/durations.py against these.
"""

import datetime
import re

import pytest

from workflows.durations import PATTERN, parse_duration, seconds_text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("1s", 1), ("90s", 90), ("1m", 60), ("30m", 1800), ("1h", 3600), ("48h", 172800), ("1d", 86400),
     ("7d", 604800), (" 2h ", 7200), ("15m\n", 900)],
)  # fmt: skip
def test_every_unit_means_what_it_says(text: str, seconds: int) -> None:
    assert parse_duration(text) == datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "h", "5x", "1.5h", "-1h", "5 h", "h5", "5hh", "5H", "5w", "1h30m", "٣h"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_the_schema_pattern_accepts_exactly_what_parses() -> None:
    for text in ["90s", "30m", "48h", "7d", "0s"]:
        assert re.match(PATTERN, text) and parse_duration(text) is not None
    for text in ["5", "5x", "1.5h", "5 h", "h5", "5hh", "7dd"]:
        assert not re.match(PATTERN, text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0.00 s"), (0.421, "0.42 s"), (9.999, "10.00 s"), (10, "10.0 s"), (59.94, "59.9 s"), (60, "1 min 00 s"),
     (184, "3 min 04 s"), (3599, "59 min 59 s"), (3600, "1 h 00 min"), (7500, "2 h 05 min")],
)  # fmt: skip
def test_a_duration_is_said_in_the_unit_that_reads_best(seconds: float, text: str) -> None:
    assert seconds_text(seconds) == text
