"""Runbooks: the schema, the loader with precise errors, templates, and versions."""

from .loader import LoadedRunbook, canonical_hash, load_runbook, parse_runbook
from .schema import Runbook

__all__ = ["LoadedRunbook", "Runbook", "canonical_hash", "load_runbook", "parse_runbook"]
