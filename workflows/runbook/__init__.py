"""Runbooks: the schema, the loader with precise errors, templates, and versions.

The names below are imported on first use (executors/lazy_names.py): `runbook.semver`
alone does not import the pydantic schema.
"""

from typing import TYPE_CHECKING

from executors.lazy_names import lazy_names

if TYPE_CHECKING:  # what a type checker sees: the same names, imported at once
    from .loader import LoadedRunbook as LoadedRunbook
    from .loader import canonical_hash as canonical_hash
    from .loader import load_runbook as load_runbook
    from .loader import parse_runbook as parse_runbook
    from .schema import Runbook as Runbook

__all__ = ["LoadedRunbook", "Runbook", "canonical_hash", "load_runbook", "parse_runbook"]

__getattr__ = lazy_names(
    __name__,
    {
        "LoadedRunbook": ".loader",
        "Runbook": ".schema",
        "canonical_hash": ".loader",
        "load_runbook": ".loader",
        "parse_runbook": ".loader",
    },
)
