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
