"""Loading a runbook: YAML -> strict model -> cross-reference checks.

Every problem found is reported at once, as `file:line:col: message`,
pointing at the offending key (unknown keys, with a "did you mean") or value
(wrong types, bad references, bad templates, secrets written as text).
"""

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Problem, RunbookError
from . import schema
from ._yaml import Positions, YamlProblem, parse
from .literal_secrets import check_literal_secrets
from .references import check_references, check_tools
from .schema import STEP_KINDS, Runbook
from .tool_files import ToolModule


@dataclass(frozen=True)
class LoadedRunbook:
    """A valid runbook with what identifies it: its source text and content hash.

    `tool_modules` are its Python tool modules as read when it was loaded; their bytes are part of `sha256`.
    """

    runbook: Runbook
    source: str
    sha256: str
    file: str
    base_dir: Path | None
    tool_modules: tuple[ToolModule, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.runbook.name}@{self.runbook.version}"


def canonical_hash(data: Any) -> str:
    """sha256 of the runbook's data as canonical JSON: comments and layout do not count."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_runbook(path: str | Path) -> LoadedRunbook:
    """Read and validate a runbook file. Raises RunbookError listing every problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RunbookError([Problem(str(path), 1, 1, "file not found: check the path")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RunbookError([Problem(str(path), 1, 1, f"cannot read the file: {exc}")]) from exc
    return parse_runbook(text, str(path), file.resolve().parent)


def parse_runbook(
    text: str,
    file: str = "<runbook>",
    base_dir: Path | None = None,
    *,
    stored: bool = False,
    tool_files: Mapping[str, bytes] | None = None,
) -> LoadedRunbook:
    """Validate runbook text. `base_dir` resolves relative files (scripted replies).

    `stored`: the text of a registered version. It may hold a literal secret when an
    older crewgate registered it; that is let through, so runs pinned to it go on.
    `tool_files`: a registered version's tool modules by path, used instead of the files on disk.
    """
    try:
        data, positions = parse(text)
    except YamlProblem as exc:
        raise RunbookError([Problem(file, exc.mark.line, exc.mark.col, str(exc))]) from exc
    if not isinstance(data, dict):
        raise RunbookError([Problem(file, 1, 1, "a runbook is a YAML mapping (name:, version:, crew:, steps: ...)")])
    secrets = [] if stored else check_literal_secrets(data, positions, file)
    try:
        runbook = Runbook.model_validate(data)
    except ValidationError as exc:
        raise RunbookError([_problem(error, data, positions, file) for error in exc.errors()] + secrets) from exc
    modules, tool_problems = check_tools(runbook, positions, file, base_dir, tool_files)
    problems = check_references(runbook, positions, file, base_dir) + tool_problems + secrets
    if problems:
        raise RunbookError(problems)
    return LoadedRunbook(runbook, text, content_hash(data, modules), file, base_dir, tuple(modules))


def content_hash(data: Any, modules: list[ToolModule]) -> str:
    """The runbook's data, and the bytes of its tool modules when it has some (a runbook without keeps its hash)."""
    if not modules:
        return canonical_hash(data)
    return canonical_hash({"runbook": data, "tool_modules": {module.path: module.sha256 for module in modules}})


def _problem(error: Any, data: Any, positions: Positions, file: str) -> Problem:
    path = _data_path(error["loc"], data)
    kind = error["type"]
    if kind == "extra_forbidden":
        mark = positions.of(path, key=True)
        message = f"unknown key {path[-1]!r}" + _suggestion(str(path[-1]), path[:-1], data)
    elif kind == "missing":
        mark = positions.of(path[:-1])
        message = f"missing required key {error['loc'][-1]!r}"
    else:
        mark = positions.of(path)
        message = _readable(error)
    return Problem(file, mark.line, mark.col, message, ".".join(str(part) for part in path))


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Map pydantic's error location onto the YAML data.

    pydantic puts a union's tag into the location (`steps.0.task.member`, with
    `task` the step kind; `...promote.git.repo`); tags are not keys, so any
    part that does not exist in the data is skipped, except a final one (a
    missing or unknown key). The step kind comes right after the step index.
    """
    path: list[str | int] = []
    current = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        right_after_step_index = len(path) == 2 and path[0] == "steps" and loc[position - 1] == path[1]
        if right_after_step_index and part in STEP_KINDS and not last:
            continue  # the step-kind tag
        if (
            isinstance(current, dict)
            and part in current
            or isinstance(current, list)
            and isinstance(part, int)
            and 0 <= part < len(current)
        ):
            path.append(part)
            current = current[part]
        elif last:
            path.append(part)
    return tuple(path)


def _readable(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "step_kind":
        return "a step needs exactly one of: task, crew, check, gate, promote"
    expectations = {
        "string_type": "text",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "float_type": "a number",
        "float_parsing": "a number",
        "dict_type": "a mapping",
        "list_type": "a list",
    }
    if error["type"] in expectations:
        expected = expectations[error["type"]]
        got = error.get("input")
        hint = f' (quote it: "{got}")' if error["type"] == "string_type" and isinstance(got, int | float) else ""
        return f"expected {expected}, got {type(got).__name__} {got!r}{hint}"
    if error["type"] == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(str(error.get("input")), allowed, n=1, cutoff=0.6)
        return f"{error.get('input')!r} is not allowed here; use one of: {', '.join(allowed)}" + (
            f" (did you mean {close[0]!r}?)" if close else ""
        )
    if error["type"] == "union_tag_invalid":
        return f"unknown promotion target: {error.get('input')!r}; use git, directory or patch"
    return message.removeprefix("Value error, ")


def _suggestion(key: str, parent: tuple[str | int, ...], data: Any) -> str:
    model = _model_at(parent, data)
    if model is None:
        return ""
    close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
    allowed = ", ".join(model.model_fields)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed here: {allowed}"


def _model_at(path: tuple[str | int, ...], data: Any) -> type[BaseModel] | None:
    """Which schema model describes the mapping at `path`."""
    node: Any = data
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    match path:
        case ():
            return Runbook
        case ("inputs", _):
            return schema.InputSpec
        case ("crew",):
            return schema.CrewSpec
        case ("crew", "members", _):
            return schema.MemberSpec
        case ("sandbox",):
            return schema.SandboxSpec
        case ("budget",):
            return schema.BudgetSpec
        case ("tools",):
            return schema.ToolsSpec
        case ("tools", "mcp", _):
            return schema.McpServerSpec
        case ("schedule", _):
            return schema.ScheduleEntry
        case ("schedule", _, "batch"):
            return schema.ScheduleBatch
        case ("steps", _, "gate"):
            return schema.GatePolicy
        case ("steps", _, "promote"):
            targets: dict[str, type[BaseModel]] = {
                "git": schema.GitTarget,
                "directory": schema.DirectoryTarget,
                "patch": schema.PatchTarget,
            }
            return targets.get(str(node.get("to"))) if isinstance(node, dict) else None
        case ("steps", _):
            steps: dict[str, type[BaseModel]] = {
                "task": schema.TaskStep,
                "crew": schema.CrewStep,
                "check": schema.CheckStep,
                "gate": schema.GateStep,
                "promote": schema.PromoteStep,
            }
            kinds = [kind for kind in STEP_KINDS if isinstance(node, dict) and kind in node]
            return steps[kinds[0]] if len(kinds) == 1 else None
    return None


def problem_at(loaded: LoadedRunbook, path: tuple[str | int, ...], message: str) -> Problem:
    """A problem found after loading (e.g. against a run's repository), at its place in the runbook's text."""
    _, positions = parse(loaded.source)
    mark = positions.of(path)
    return Problem(loaded.file, mark.line, mark.col, message, ".".join(str(part) for part in path))
