"""Run inputs: `-i name=value` strings checked and converted against the runbook's declarations."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import RunError
from ..plain import Json, JsonObject
from .schema import Runbook


def parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise RunError(f"input {pair!r} is not name=value (e.g. -i request='Add a flag')")
        values[name.strip()] = value
    return values


def resolve_inputs(runbook: Runbook, given: Mapping[str, Json]) -> JsonObject:
    """Every declared input with its typed value; unknown, missing or ill-typed ones are refused."""
    unknown = sorted(set(given) - set(runbook.inputs))
    if unknown:
        raise RunError(
            f"unknown input(s) {', '.join(unknown)}: {runbook.name} declares {', '.join(runbook.inputs) or 'none'}"
        )
    values: JsonObject = {}
    for name, spec in runbook.inputs.items():
        if name not in given:
            if spec.default is None:
                raise RunError(f"input {name!r} ({spec.type}) is required: add -i {name}=...")
            values[name] = spec.default
            continue
        raw = given[name]
        values[name] = _convert(name, spec.type, raw, spec.choices)
    return values


def _convert(name: str, kind: str, raw: Any, choices: list[str] | None) -> Any:
    text = str(raw)
    if "\x00" in text:
        raise RunError(f"input {name!r} holds a NUL character: no input may")
    if kind == "integer":
        try:
            return int(text)
        except ValueError as exc:
            raise RunError(f"input {name!r} must be an integer, got {text!r}") from exc
    if kind == "boolean":
        if text.lower() in ("true", "yes", "1"):
            return True
        if text.lower() in ("false", "no", "0"):
            return False
        raise RunError(f"input {name!r} must be true or false, got {text!r}")
    if kind == "choice" and choices and text not in choices:
        raise RunError(f"input {name!r} must be one of {', '.join(choices)}, got {text!r}")
    if kind == "path":
        return str(Path(text).expanduser().resolve())
    return text
