"""A tiny calculator: the sample repository crewgate's shipped runbooks work on."""

from .ops import add, subtract

__all__ = ["add", "subtract"]
