"""Secrets written into a runbook: refused by validation, hidden when a stored runbook is shown.

Every registered runbook version is kept for good (`crewgate_runbook_versions`),
so a key written into one would be too. A literal secret is a text value under a
name that looks like a secret (`secret_word`: key, token, secret, password,
authorization, in any case) in one of the places a runbook passes values on:
a model param (at any depth, e.g. `extra_headers.Authorization`), an input's
`default`, a schedule's `inputs`, or an MCP server's `env`/`headers`. Only an MCP
server's values may name an environment variable (`${GITHUB_TOKEN}`, read when the
server starts); everywhere else every text value is literal. Numbers and true/false
are not secrets: `max_tokens: 4096` is fine.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agents.credentials import key_variable
from agents.secret_names import secret_word

from ..errors import Problem, RunbookError
from ._yaml import Path, Positions, YamlProblem, parse

SHOWN = '"***"'  # what `runbook show` prints instead of the value (still valid YAML)


@dataclass(frozen=True)
class LiteralSecret:
    """A secret-looking text value: where it is in the runbook's data, and the name and word that make it one."""

    path: Path
    name: str
    word: str


def literal_secrets(data: Any) -> Iterator[LiteralSecret]:
    """Every literal secret in parsed runbook data (which need not be a valid runbook)."""
    top = _mapping(data)
    yield from _params(top.get("model_params"), ("model_params",), None)
    for member, spec in _mapping(_mapping(top.get("crew")).get("members")).items():
        where = ("crew", "members", member, "model_params")
        yield from _params(_mapping(spec).get("model_params"), where, None)
    for name, spec in _mapping(top.get("inputs")).items():
        default = _mapping(spec).get("default")
        word = secret_word(str(name))
        if word and _is_text(default):
            yield LiteralSecret(("inputs", name, "default"), str(name), word)
    for server, spec in _mapping(_mapping(top.get("tools")).get("mcp")).items():
        for part in ("env", "headers"):
            for name, value in _mapping(_mapping(spec).get(part)).items():
                word = secret_word(str(name))
                if word and _is_text(value) and not (isinstance(value, str) and REFERENCE.search(value)):
                    yield LiteralSecret(("tools", "mcp", server, part, name), str(name), word)
    schedule = top.get("schedule")
    for index, entry in enumerate(schedule if isinstance(schedule, list) else []):
        for name, value in _mapping(_mapping(entry).get("inputs")).items():
            word = secret_word(str(name))
            if word and _is_text(value):
                yield LiteralSecret(("schedule", index, "inputs", name), str(name), word)


def check_literal_secrets(data: dict[str, Any], positions: Positions, file: str) -> list[Problem]:
    """A problem at each literal secret's value, saying where the secret goes instead."""
    problems = []
    for found in literal_secrets(data):
        mark = positions.of(found.path)
        where = ".".join(str(part) for part in found.path)
        problems.append(Problem(file, mark.line, mark.col, _message(found, data), where))
    return problems


def redacted_source(text: str) -> str:
    """Runbook text with every literal secret's value replaced by "***"; comments and layout kept.

    Raises RunbookError when the text is not YAML (a registered runbook always is).
    """
    try:
        data, positions = parse(text)
    except YamlProblem as exc:
        raise RunbookError([Problem("<runbook>", exc.mark.line, exc.mark.col, str(exc))]) from exc
    # From the end, so earlier spans keep their indexes; a set, as an alias shares its anchor's span.
    spans = sorted({positions.spans[found.path] for found in literal_secrets(data)}, reverse=True)
    for start, end in spans:
        value = text[start:end]
        text = text[:start] + SHOWN + value[len(value.rstrip("\n")) :] + text[end:]  # a block scalar's newlines stay
    return text


def _message(found: LiteralSecret, data: dict[str, Any]) -> str:
    why = (
        f"holds {found.word}"
        if found.word.startswith("a ")
        else f"looks like a secret (its name contains {found.word!r})"
    )
    kept = (
        f"{why} and is written here as text, and a registered runbook is kept for good: read it from the environment: "
    )
    variable = found.name.upper()
    match found.path:
        case ("inputs", name, "default"):
            return (
                f"input {name!r} {kept}remove the default and pass "
                f'-i {name}="${variable}" when the run starts (or rename the input if it is not a secret)'
            )
        case ("schedule", _, "inputs", name):
            return (
                f"schedule input {name!r} {kept}remove it and start these runs with "
                f'-i {name}="${variable}" instead of a schedule (or rename the input if it is not a secret)'
            )
        case ("crew", "members", member, "model_params", *param):
            own = _mapping(_mapping(_mapping(data.get("crew")).get("members")).get(member)).get("model")
            model = own or data.get("model")
            return f"model param {_dotted(param)!r} of member {member!r} {kept}{_use_provider_key(model)}"
        case ("tools", "mcp", server, part, name):
            return (
                f'{part} {name!r} of MCP server {server!r} {kept}write it as "${{{variable}}}" and set '
                f"{variable} in the environment of every crewgate process that runs it"
            )
        case ("model_params", *param):
            return f"model param {_dotted(param)!r} {kept}{_use_provider_key(data.get('model'))}"
        case _:
            return f"{found.name!r} {kept}remove it"


def _use_provider_key(model: Any) -> str:
    """What to do instead: the provider's key in the worker's environment, named for the model's provider."""
    provider, slash, _ = str(model or "").partition("/")
    if not slash or provider == "scripted":
        provider = "openai"
    variable = key_variable(f"{provider}/")
    return f"remove it and set the provider's key in every worker's environment, e.g. {variable} for {provider}/ models"


def _dotted(parts: list[str | int]) -> str:
    return ".".join(str(part) for part in parts)


def _params(value: Any, path: Path, secret: tuple[str, str] | None) -> Iterator[LiteralSecret]:
    """Literal secrets in a model param value: text under a secret-looking key, or anywhere below one."""
    if isinstance(value, dict):
        for key, item in value.items():
            word = secret_word(str(key))
            yield from _params(item, (*path, key), (str(key), word) if word else secret)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _params(item, (*path, index), secret)
    elif secret is not None and _is_text(value):
        yield LiteralSecret(path, *secret)
    elif isinstance(value, str) and _URL_PASSWORD.search(value):
        yield LiteralSecret(path, str(path[-1]), "a password in a URL")


REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")  # ${NAME}: read from crewgate's environment at start
_URL_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]+@")  # scheme://user:password@host
LONG_NUMBER = 12  # digits: a number this long under a secret name is a key, not a setting like max_tokens


def _is_text(value: Any) -> bool:
    """A literal a secret could be: text, bytes, or a number too long to be a setting."""
    if isinstance(value, str | bytes):
        return bool(value.strip())
    return isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= LONG_NUMBER


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}
