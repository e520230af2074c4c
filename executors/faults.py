"""Pause points for crash tests: kill a real process at an exact moment.

`CREWGATE_FAULT_PAUSE=after-decision:30` makes the process sleep 30 seconds at
that point, so a test can SIGKILL it there. Unset (always, outside tests), it
does nothing.
"""

import os
import sys
import time


def pause(point: str) -> None:
    setting = os.environ.get("CREWGATE_FAULT_PAUSE", "")
    name, _, seconds = setting.partition(":")
    if name == point:
        print(f"[crewgate] fault pause at {point}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 60))
