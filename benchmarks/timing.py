"""Timing a call many times, the one way the benchmarks do it."""

import time
from collections.abc import Callable
from typing import Any


def timed(call: Callable[[], Any], count: int) -> list[float]:
    """Seconds each of `count` calls took (a monotonic, high-resolution clock)."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples
