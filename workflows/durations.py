"""Durations as people write them in runbooks and on the command line: `90s`, `30m`, `48h`, `7d`."""

import datetime
import re

PATTERN = r"^[0-9]+[smhd]$"  # also the runbook schema's pattern (ASCII digits: `\d` would take ٣ as 3)
_PARTS = re.compile(r"^([0-9]+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> datetime.timedelta | None:
    """The duration `text` names, or None when it is not NUMBER followed by s, m, h or d."""
    found = _PARTS.match(text.strip())
    if found is None:
        return None
    amount, unit = found.groups()
    return datetime.timedelta(seconds=int(amount) * _SECONDS[unit])


def seconds_text(seconds: float) -> str:
    """A duration for people: "0.42 s", "12.3 s", "3 min 04 s", "2 h 05 min"."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
