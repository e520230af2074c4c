"""Checks that need the whole runbook: names that must exist, order, templates, files.

Each check returns Problems with the position of the offending value, so the
user is sent to the exact spot.
"""

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from agents.prompts import role_names

from ..errors import Problem
from ._yaml import Positions
from .schema import CheckStep, CrewStep, GateStep, GitTarget, PromoteStep, Runbook, TaskStep
from .templates import ROOTS, TemplateProblem, references
from .tool_files import ToolModule, allow_list_problems, read_tool_modules

ENGINE_PROCESSES = {"crewai": ("sequential", "hierarchical"), "autogen": ("round_robin", "selector")}

Report = Callable[..., Problem]


def check_references(runbook: Runbook, positions: Positions, file: str, base_dir: Path | None) -> list[Problem]:
    def report(path: tuple[str | int, ...], message: str, key: bool = False) -> Problem:
        mark = positions.of(path, key=key)
        return Problem(file, mark.line, mark.col, message, ".".join(str(part) for part in path))

    problems: list[Problem] = []
    for check in (_members, _inputs, _steps, _templates):
        problems.extend(check(runbook, report))
    problems.extend(_schedule(runbook, report, base_dir))
    problems.extend(_model_files(runbook, report, base_dir))
    return problems


def check_tools(
    runbook: Runbook,
    positions: Positions,
    file: str,
    base_dir: Path | None,
    tool_files: Mapping[str, bytes] | None = None,
) -> tuple[list[ToolModule], list[Problem]]:
    """The tool modules (read once, here, or the stored ones), and the problems with them and the allow-lists."""
    modules, unusable = read_tool_modules(runbook, base_dir, tool_files)
    problems = []
    for where, message in [*unusable, *allow_list_problems(runbook, modules)]:
        mark = positions.of(where)
        problems.append(Problem(file, mark.line, mark.col, message, ".".join(str(part) for part in where)))
    return modules, problems


def _members(runbook: Runbook, report: Report) -> Iterator[Problem]:
    known = role_names()
    for name, member in runbook.crew.members.items():
        role = member.role or name
        if role not in known:
            where = ("crew", "members", name, "role") if member.role else ("crew", "members", name)
            message = f"member {name!r} has no role {role!r}: set `role:` to one of {', '.join(known)}"
            yield report(where, message, key=not member.role)


def _inputs(runbook: Runbook, report: Report) -> Iterator[Problem]:
    kinds = {"string": str, "path": str, "choice": str, "integer": int, "boolean": bool}
    for name, spec in runbook.inputs.items():
        if spec.type == "choice" and not spec.choices:
            yield report(("inputs", name, "type"), f"input {name!r} is a choice: list its `choices:`")
        if spec.type != "choice" and spec.choices:
            yield report(("inputs", name, "choices"), f"input {name!r}: `choices` needs `type: choice`")
        if spec.default is not None:
            wrong_type = type(spec.default) is not kinds[spec.type]
            if wrong_type:
                yield report(("inputs", name, "default"), f"input {name!r}: default must be a {spec.type}")
            elif spec.choices and spec.default not in spec.choices:
                yield report(("inputs", name, "default"), f"input {name!r}: default must be one of {spec.choices}")


def _steps(runbook: Runbook, report: Report) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    members = runbook.crew.members
    gate_seen = False
    for index, step in enumerate(runbook.steps):
        where = ("steps", index)
        if step.id in seen:
            yield report((*where, "id"), f"duplicate step id {step.id!r} (first used by step {seen[step.id] + 1})")
        if isinstance(step, TaskStep) and step.member not in members:
            yield report((*where, "member"), f"unknown member {step.member!r}: the crew has {', '.join(members)}")
        if isinstance(step, CrewStep):
            for position, name in enumerate(step.members or []):
                if name not in members:
                    yield report(
                        (*where, "members", position), f"unknown member {name!r}: the crew has {', '.join(members)}"
                    )
            allowed = ENGINE_PROCESSES[runbook.crew.engine]
            if step.process not in allowed:
                engine = runbook.crew.engine
                message = f"process {step.process!r} is not available on engine {engine!r}: use {' or '.join(allowed)}"
                yield report((*where, "process"), message)
        if isinstance(step, CheckStep) and step.on_fail is not None and step.on_fail not in seen:
            later = any(other.id == step.on_fail for other in runbook.steps)
            reason = "must name an earlier step" + (" (it names this or a later one)" if later else "")
            yield report((*where, "on_fail"), f"on_fail {step.on_fail!r} {reason}")
        if isinstance(step, GateStep):
            gate_seen = True
        if isinstance(step, PromoteStep) and not gate_seen:
            yield report((*where, "promote"), "a promote step needs a gate step before it: nothing ships unapproved")
        seen.setdefault(step.id, index)


def _template_fields(runbook: Runbook) -> Iterator[tuple[tuple[str | int, ...], str, set[str]]]:
    """(path, template, step ids before it) for every templated field."""
    earlier: set[str] = set()
    for index, step in enumerate(runbook.steps):
        where = ("steps", index)
        if isinstance(step, TaskStep):
            yield (*where, "task"), step.task, set(earlier)
        elif isinstance(step, CrewStep):
            yield (*where, "crew"), step.crew, set(earlier)
        elif isinstance(step, CheckStep):
            yield (*where, "check"), step.check, set(earlier)
        elif isinstance(step, PromoteStep):
            target = step.promote
            if isinstance(target, GitTarget):
                place = "repo" if target.repo is not None else "remote"
                yield (*where, "promote", place), target.repo or target.remote or "", set(earlier)
                yield (*where, "promote", "branch"), target.branch, set(earlier)
            else:
                yield (*where, "promote", "path"), target.path, set(earlier)
        earlier.add(step.id)


def _templates(runbook: Runbook, report: Report) -> Iterator[Problem]:
    for path, template, earlier in _template_fields(runbook):
        try:
            refs = references(template)
        except TemplateProblem as exc:
            yield report(path, str(exc))
            continue
        for root in sorted(refs.roots - ROOTS):
            yield report(path, f"template uses unknown name {root!r}: use inputs.<name>, steps.<id>.output or run.id")
        for root, name in sorted(refs.attributes):
            if root == "inputs" and name not in runbook.inputs:
                yield report(path, f"template uses undeclared input {name!r}: declare it under `inputs:`")
            if root == "steps" and name not in earlier:
                yield report(path, f"template uses steps.{name}, which is not an earlier step")
            if root == "run" and name not in ("id", "runbook", "version", "requester"):
                yield report(
                    path, f"template uses run.{name}: available are run.id, run.runbook, run.version, run.requester"
                )


MAX_SCHEDULE_NAME = 63  # a run records its schedule's name in 64 characters


def _schedule(runbook: Runbook, report: Report, base_dir: Path | None) -> Iterator[Problem]:
    """Cron and time zone are checked by the schema; here: names, inputs and a batch's file."""
    seen: set[str] = set()
    for index, (name, entry) in enumerate(zip(runbook.schedule_names(), runbook.schedule, strict=True)):
        if name in seen:
            yield report(("schedule", index), f"schedule name {name!r} is used twice: give each entry its own `name:`")
        elif len(name) > MAX_SCHEDULE_NAME:
            yield report(
                ("schedule", index),
                f"schedule name {name!r} (from the runbook's name) is longer than {MAX_SCHEDULE_NAME} characters: "
                "give the entry a shorter `name:`",
            )
        seen.add(name)
        for given in entry.inputs:
            if given not in runbook.inputs:
                yield report(("schedule", index, "inputs", given), f"schedule gives undeclared input {given!r}")
        if entry.batch is not None:
            if entry.inputs:
                yield report(("schedule", index, "inputs"), "a batch schedule takes its inputs from `batch.inputs`")
            file = Path(entry.batch.inputs)
            if base_dir is not None and not (file if file.is_absolute() else base_dir / file).is_file():
                yield report(("schedule", index, "batch", "inputs"), f"batch inputs file {file} not found")
            continue
        for needed, spec in runbook.inputs.items():
            if spec.default is None and needed not in entry.inputs:
                yield report(("schedule", index), f"schedule must give input {needed!r} (it has no default)")


def _model_files(runbook: Runbook, report: Report, base_dir: Path | None) -> Iterator[Problem]:
    models = [(("model",), runbook.model)] + [
        (("crew", "members", name, "model"), member.model) for name, member in runbook.crew.members.items()
    ]
    for path, model in models:
        if model and model.startswith("scripted/") and base_dir is not None:
            file = Path(model.removeprefix("scripted/"))
            if not (file if file.is_absolute() else base_dir / file).is_file():
                yield report(path, f"scripted model file {file} not found (relative to {base_dir})")
