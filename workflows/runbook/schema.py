"""The runbook schema: one set of pydantic models, exported as JSON Schema.

Every model forbids unknown keys. Step kinds form a tagged union: the tag is
the key that names the kind (`task:`, `crew:`, `check:`, `gate:`,
`promote:`), so runbooks read naturally and each kind has only its own
fields. Promotion targets are a union tagged by `to:`.
"""

import keyword
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from ..clock import wall_clock
from ..durations import PATTERN as DURATION
from .semver import SEMVER

NAME = r"^[a-z][a-z0-9-]{0,62}$"
IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
STEP_KINDS = ("task", "crew", "check", "gate", "promote")
RESERVED_NAMES = ("_cg_", "__crewgate")  # the names the code crewgate generates in the sandbox uses
TOOL_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*\.(\*|[A-Za-z_][A-Za-z0-9_]*)$"  # namespace.function or namespace.*


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(Strict):
    """A runbook input, given with `-i name=value` at run time."""

    type: Literal["string", "integer", "boolean", "path", "choice"] = Field(description="Value type.")
    description: str = Field("", description="What the input is for, shown in `crewgate runbook show`.")
    default: str | int | bool | None = Field(
        None,
        description="Value used when the input is not given; never a secret (refused under a secret-looking name).",
    )
    choices: list[str] | None = Field(None, description="Allowed values; required for type `choice`.")

    @field_validator("choices")
    @classmethod
    def _non_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("choices must list at least one value")
        return value


class MemberSpec(Strict):
    """A crew member. Its role defaults to its name when that is a shipped role."""

    role: str | None = Field(None, description="planner, coder, tester or security_reviewer; default: the name.")
    goal: str = Field("", description="What this member is for; added to its system prompt.")
    model: str | None = Field(None, description="litellm model string; default: the runbook's `model`.")
    model_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Passed to litellm. No API keys: text under a secret-looking name is refused; "
        "set the provider's key (e.g. OPENAI_API_KEY) in the worker's environment.",
    )
    max_turns: int = Field(10, ge=1, le=200, description="Model replies allowed per task.")
    tools: list[Annotated[str, Field(pattern=TOOL_PATTERN)]] | None = Field(
        None,
        description="What this member may call: `server.tool`, `module.function`, or `NAME.*` for all of one "
        "namespace. Default: every Python tool module's functions, no MCP tool.",
    )


class CrewSpec(Strict):
    """Who works in this runbook, and on which framework."""

    engine: Literal["crewai", "autogen"] = Field("crewai", description="crewai (default) or autogen.")
    members: dict[Annotated[str, Field(pattern=IDENTIFIER)], MemberSpec] = Field(
        description="Member name -> member; names are what steps refer to.", min_length=1
    )


class SandboxSpec(Strict):
    """The run's sandbox: one hardened container shared by every member."""

    image: str | None = Field(None, description="Image tag; default: crewgate-sandbox:<version>.")
    memory: str = Field("512m", pattern=r"^\d+[kmg]?$", description="Memory limit (RAM = RAM+swap).")
    cpus: float = Field(1.0, gt=0, le=64, description="CPU share.")
    pids: int = Field(128, ge=16, le=4096, description="Process and thread limit.")
    timeout_s: float = Field(60.0, gt=0, le=3600, description="Default per-cell timeout.")
    network: Literal["none"] = Field("none", description="Only `none`: sandboxes have no network.")
    runtime: Literal["runc", "runsc"] | None = Field(
        None,
        description="Isolation tier: runc (a hardened container on the host's kernel) or runsc (gVisor: a second, "
        "user-space kernel in front of the host's); default: CREWGATE_SANDBOX_RUNTIME, else runc. Pinned on the "
        "run; the engine must offer it (never another instead).",
    )
    setup: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "Shell commands that prepare the run's environment once, from its base tree, in a build container "
            "with network (e.g. `pip install -r requirements.txt`); the result is an image named by a content "
            "hash and reused by every run with the same one. The crew's sandbox never has network."
        ),
    )
    setup_inputs: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = Field(
        None,
        max_length=100,
        description=(
            "Files of the repository the setup reads (names or globs, from its root), whose bytes are part of "
            "the environment's hash; default: pyproject.toml, setup.py, setup.cfg, requirements*.txt, "
            "constraints*.txt and the lock files of poetry, uv and pipenv that are there."
        ),
    )
    setup_timeout_s: float = Field(900.0, gt=0, le=7200, description="Time the whole setup may take.")


class BudgetSpec(Strict):
    """The run's spending limit across all members."""

    max_tokens: int | None = Field(None, ge=1, description="Total prompt+completion tokens.")
    max_usd: float | None = Field(None, gt=0, description="Total cost in US dollars.")
    max_tool_calls: int = Field(
        200, ge=0, le=100000, description="Tool calls the whole run may make (refused ones count too)."
    )


class McpServerSpec(Strict):
    """One MCP server: a command crewgate starts on the host for the run (stdio), or a URL (streamable HTTP)."""

    command: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1, description="Program and arguments, e.g. [uvx, mcp-server-time]; run beside the runbook."
    )
    env: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict,
        description="The server's environment (added to a minimal PATH/HOME). Secrets as ${VARIABLE}, read from "
        "crewgate's environment when the server starts; they never enter the sandbox.",
    )
    url: str | None = Field(None, pattern=r"^https?://", description="A streamable HTTP server's URL.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers for a `url` server; secrets as ${VARIABLE}."
    )

    @model_validator(mode="after")
    def _one_way(self) -> "McpServerSpec":
        if (self.command is None) == (self.url is None):
            raise ValueError("give an MCP server either `command:` (stdio) or `url:` (streamable HTTP)")
        if self.url is None and self.headers:
            raise ValueError("`headers:` are for a `url:` server; a `command:` server takes `env:`")
        if self.url is not None and self.env:
            raise ValueError("`env:` is for a `command:` server; a `url:` server takes `headers:`")
        return self


class ToolsSpec(Strict):
    """Tools the crew's code can call as Python functions (README: Tools)."""

    python: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list,
        description="Python files beside the runbook (part of its content hash), imported in the sandbox; "
        "each public function is `<file stem>.<function>`.",
    )
    mcp: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")], McpServerSpec] = Field(
        default_factory=dict, description="Server name -> server; its tools are `<name>.<tool>` in the sandbox."
    )
    timeout_s: float = Field(30.0, gt=0, le=3600, description="Time one MCP tool call may take.")
    max_result_bytes: int = Field(
        262144, ge=1024, le=16 * 1024 * 1024, description="Largest result (as JSON) a call may return to a cell."
    )

    @field_validator("mcp")
    @classmethod
    def _server_names(cls, value: dict[str, McpServerSpec]) -> dict[str, McpServerSpec]:
        for name in value:
            if keyword.iskeyword(name) or name.startswith(RESERVED_NAMES):
                raise ValueError(f"MCP server name {name!r} cannot name a namespace in Python code: rename it")
        return value


class StepBase(Strict):
    id: str = Field(pattern=IDENTIFIER, description="Unique step id; later templates use `steps.<id>.output`.")


class TaskStep(StepBase):
    """One member works on a task."""

    task: str = Field(description="The task (a template).")
    member: str = Field(description="Name of the crew member who does it.")
    max_turns: int | None = Field(None, ge=1, le=200, description="Overrides the member's max_turns.")


class CrewStep(StepBase):
    """The crew works on a goal together."""

    crew: str = Field(description="The goal (a template).")
    process: Literal["sequential", "hierarchical", "round_robin", "selector"] = Field(
        "sequential", description="crewai: sequential, hierarchical; autogen: round_robin, selector."
    )
    members: list[str] | None = Field(None, description="Who takes part, in order; default: every member.")
    max_rounds: int = Field(1, ge=1, le=20, description="autogen: rounds through the members at most.")


class CheckStep(StepBase):
    """A deterministic command in the sandbox (exit code 0 passes)."""

    check: str = Field(description="Shell command run in /workspace (a template).")
    on_fail: str | None = Field(None, description="An earlier step to go back to when the check fails.")
    max_loops: int = Field(1, ge=1, le=20, description="How many times on_fail may send the run back.")
    timeout_s: float = Field(300.0, gt=0, le=3600, description="Time limit of the command.")


class GatePolicy(Strict):
    """Who must approve before the run continues."""

    reviewers: list[str] = Field(default_factory=lambda: ["any"], description="Allowed reviewers, or [any].")
    required: int = Field(1, ge=1, le=10, description="Approvals needed.")
    allow_requester: bool = Field(False, description="May the person who started the run approve it?")
    expires_after: str | None = Field(None, pattern=DURATION, description="e.g. 48h; the item expires after.")


class GateStep(StepBase):
    """Snapshot the workspace into an artifact and wait for human review."""

    gate: GatePolicy = Field(description="The approval policy.")


class GitTarget(Strict):
    """A new branch holding one commit on the run's base commit: in a repository folder, or pushed to a remote."""

    to: Literal["git"]
    repo: str | None = Field(
        None, description="Path of the git repository, the same on every worker that may promote (a template)."
    )
    remote: str | None = Field(
        None,
        description="A git URL to push the new branch to (a bare repository or a git server; a template). "
        "Any worker can promote; the run's base commit must be on the remote.",
    )
    branch: str = Field("crewgate/{{ run.id }}", description="New branch to create (a template).")

    @model_validator(mode="after")
    def _one_place(self) -> "GitTarget":
        if (self.repo is None) == (self.remote is None):
            raise ValueError("a git target needs exactly one of `repo:` (a folder) or `remote:` (a git URL)")
        return self


class DirectoryTarget(Strict):
    to: Literal["directory"]
    path: str = Field(description="Folder to write the approved files into (a template).")


class PatchTarget(Strict):
    to: Literal["patch"]
    path: str = Field(description="File to write the approved unified diff to (a template).")


PromoteTarget = Annotated[GitTarget | DirectoryTarget | PatchTarget, Field(discriminator="to")]


class PromoteStep(StepBase):
    """Apply exactly the approved bytes to a target, once."""

    promote: PromoteTarget = Field(description="Where the approved artifact goes.")


def _step_kind(value: Any) -> str | None:
    """The tag of a step: the one kind key it has (None lets validation explain)."""
    if isinstance(value, BaseModel):
        return next((kind for kind in STEP_KINDS if hasattr(value, kind)), None)
    if isinstance(value, dict):
        kinds = [kind for kind in STEP_KINDS if kind in value]
        return kinds[0] if len(kinds) == 1 else None
    return None


Step = Annotated[
    Annotated[TaskStep, Tag("task")]
    | Annotated[CrewStep, Tag("crew")]
    | Annotated[CheckStep, Tag("check")]
    | Annotated[GateStep, Tag("gate")]
    | Annotated[PromoteStep, Tag("promote")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one of: task, crew, check, gate, promote",
    ),
]


class ScheduleBatch(Strict):
    """Start a batch on each tick instead of one run: one run per row of an inputs file."""

    inputs: str = Field(description="JSON Lines or CSV file of run inputs, relative to the runbook's folder.")
    concurrency: int = Field(2, ge=1, description="Runs of the batch working at once.")


class ScheduleEntry(Strict):
    """Run this runbook version on a cron schedule (`crewgate schedule apply` registers it with the workers)."""

    name: str | None = Field(
        None, pattern=NAME, description="Schedule name [default: the runbook's name, then NAME-2, NAME-3, ...]."
    )
    cron: str = Field(
        description="Cron: 5 fields ('0 3 * * *'), or 6 with leading seconds ('*/2 * * * * *'); it must fire within "
        "5 years. A wall time that occurs twice (clocks going back) fires once; one that does not exist fires when "
        "the clocks jump."
    )
    timezone: str = Field("UTC", description="IANA time zone the cron is read in, e.g. Europe/Paris.")
    inputs: dict[str, str | int | bool] = Field(default_factory=dict, description="Inputs for scheduled runs.")
    overlap: Literal["skip", "allow", "buffer_one"] = Field(
        "skip",
        description="While this schedule's previous run is queued or running (or waits for review, see "
        "while_in_review): skip the tick (recorded), allow another run, or buffer_one (one run waits for the "
        "previous; more skip).",
    )
    while_in_review: Literal["skip", "allow"] = Field(
        "skip",
        description="skip: a previous run waiting for review counts as unfinished for `overlap`, so reviews do not "
        "pile up; allow: it does not. A waiting run never holds a worker slot either way.",
    )
    catch_up: Literal["none", "all"] = Field(
        "none",
        description="Ticks due while no worker was alive: none (recorded as missed) or all (each runs late, by the "
        "overlap rule, if within catch_up_window).",
    )
    catch_up_window: str = Field(
        "7d",
        pattern=DURATION,
        description="With catch_up: all, how late a tick may still run, e.g. 1h; older ticks are recorded missed.",
    )
    jitter: str | None = Field(
        None,
        pattern=DURATION,
        description="Most delay after a tick's time before it fires (0s to 60s), the same on every worker "
        "[default: a tenth of the time to the next tick, at most 10s].",
    )
    batch: ScheduleBatch | None = Field(None, description="Start a batch over an inputs file on each tick.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:

        from ..schedules.cron import CronError, CronTimes

        try:
            times = CronTimes(value)
        except CronError as exc:
            raise ValueError(
                f"{value!r} is not a cron expression: use 5 fields (minute hour day month weekday, e.g. '0 3 * * *') "
                "or 6 with leading seconds (e.g. '*/2 * * * * *')"
            ) from exc
        try:
            times.check_fires(wall_clock())  # a date this cron matches exists from now on
        except CronError as exc:
            raise ValueError(f"{exc}: no date matches it (check the day of month against the month)") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone: use a name like UTC or Europe/Paris") from exc
        return value

    @field_validator("jitter")
    @classmethod
    def _jitter(cls, value: str | None) -> str | None:
        from ..durations import parse_duration

        found = parse_duration(value) if value is not None else None
        if found is not None and found.total_seconds() > 60:
            raise ValueError(f"jitter {value} is more than 60s: use 0s to 60s")
        return value


class Runbook(Strict):
    """A versioned recipe: inputs, a crew, a sandbox, and steps run in order."""

    name: str = Field(pattern=NAME, description="Lower-case name, e.g. add-feature.")
    version: str = Field(description="Semantic version, e.g. 1.0.0; content under a used version is immutable.")
    description: str = Field("", description="What the runbook does.")
    inputs: dict[Annotated[str, Field(pattern=IDENTIFIER)], InputSpec] = Field(default_factory=dict)
    model: str = Field(description="Default litellm model for members, e.g. scripted/replies.yaml.")
    model_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Default litellm params. No API keys: text under a secret-looking name is refused; "
        "set the provider's key (e.g. OPENAI_API_KEY) in the worker's environment.",
    )
    budget: BudgetSpec = Field(default_factory=lambda: BudgetSpec())
    crew: CrewSpec
    sandbox: SandboxSpec = Field(default_factory=lambda: SandboxSpec())
    tools: ToolsSpec = Field(default_factory=lambda: ToolsSpec())
    steps: list[Step] = Field(min_length=1)
    schedule: list[ScheduleEntry] = Field(default_factory=list)

    def schedule_names(self) -> list[str]:
        """Each schedule entry's name: its own, else the runbook's name, then NAME-2, NAME-3, ..."""
        return [entry.name or (self.name if n == 1 else f"{self.name}-{n}") for n, entry in enumerate(self.schedule, 1)]

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not SEMVER.match(value):
            raise ValueError(f"{value!r} is not a semantic version: use MAJOR.MINOR.PATCH, e.g. 1.0.0")
        return value

    def step(self, step_id: str) -> TaskStep | CrewStep | CheckStep | GateStep | PromoteStep:
        return next(step for step in self.steps if step.id == step_id)

    def changes_choices(self, gate_id: str) -> list[str]:
        """The steps changes requested at gate `gate_id` may send the run back to, the default first.

        Exactly what `changes_step` accepts, so a form offering these offers nothing it would refuse.
        """
        earlier = self.steps[: [step.id for step in self.steps].index(gate_id)]
        work = [step.id for step in earlier if isinstance(step, TaskStep | CrewStep | CheckStep)]
        try:
            default = self.changes_step(gate_id, None)
        except ValueError:
            return work  # no default: the reviewer names one
        return [default, *(step for step in work if step != default)]

    def changes_step(self, gate_id: str, requested: str | None) -> str:
        """The step that changes requested at gate `gate_id` send the run back to.

        `requested` must be a task, crew or check step before the gate; by default it
        is the last task or crew step before it. ValueError says why there is none, so
        a reviewer's decision is refused before it is recorded instead of failing the run.
        """
        earlier = self.steps[: [step.id for step in self.steps].index(gate_id)]
        work = [step.id for step in earlier if isinstance(step, TaskStep | CrewStep | CheckStep)]
        if requested is not None:
            if requested not in work:
                choices = ", ".join(work) or "none"
                raise ValueError(f"step {requested!r} is not a step before gate {gate_id!r} (one of: {choices})")
            return requested
        members = [step.id for step in earlier if isinstance(step, TaskStep | CrewStep)]
        if not members:
            raise ValueError(
                f"no task or crew step before gate {gate_id!r} takes feedback: name a step with --step "
                f"(one of: {', '.join(work) or 'none'}), or approve or reject"
            )
        return members[-1]
