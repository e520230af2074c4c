"""A package's names imported on first use (PEP 562), for packages a quick command passes through.

`crewgate runs list` must answer in a quarter of a second; importing `agents.telemetry`
or `executors._version` runs their package's `__init__`, and an `__init__` that
imports every module (the Docker client, litellm's seams, pydantic schemas) costs
more than the whole command. With `lazy_names`, a package lists where each of its
names lives and imports that module only when the name is asked for.
"""

import importlib
from collections.abc import Callable, Mapping


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: `homes` maps each exported name to its submodule (".gateway")."""

    def __getattr__(name: str) -> object:  # noqa: N807 - the module hook's own name
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        found = getattr(importlib.import_module(home, package), name)
        setattr(importlib.import_module(package), name, found)
        return found

    return __getattr__
