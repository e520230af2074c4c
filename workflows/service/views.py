"""What the service layer returns: frozen values the CLI prints and an HTTP API serialises.

Each view's `as_json` is the documented `--json` shape of the command that shows it,
so the CLI and a web server give the same answer for the same question; `cost_text`
writes a view's cost the one way both show it.
"""

from dataclasses import dataclass, field

from ..artifacts.artifact import Change
from ..durations import seconds_text
from ..plain import Json, JsonObject, plain
from ..store.costs import cost_text as cost_text
from ..store.cursors import Page as Page  # one page of a long list and the cursor of the next (store/cursors.py)
from ..store.queue import QueueQuery as QueueQuery  # the queue's filters, order and page (surfaces build one)
from ..store.rows import Decision, parse_time
from .story_views import ItemStory, masked_inputs


def as_json(value: object) -> Json:
    """A view (or a list of views) as plain JSON data."""
    found: Json = plain(value)
    return found


@dataclass(frozen=True)
class RunSummary:
    """One line of `runs list`."""

    id: str
    runbook: str  # NAME@VERSION
    status: str
    requester: str
    created_at: str
    cost_usd: float = 0.0  # its model calls' total (see `unpriced_calls` in `runs show`)


@dataclass(frozen=True)
class StepView:
    """One try of one step of a run."""

    id: str
    attempt: int
    kind: str
    status: str
    output: str
    usage: JsonObject
    started_at: str
    finished_at: str | None
    cost_usd: float = 0.0  # this try's model calls, from the reply log
    unpriced_calls: int = 0  # calls litellm had no price for, counted as 0
    verdict: str = ""  # the output's verdict line (service.verdicts): what a summary shows of it
    tokens: int = 0  # this try's model calls' prompt and completion tokens

    @property
    def duration(self) -> str:
        """How long the try took ("1.2 s", "3 min 4 s"), or "" while it runs."""
        if not self.finished_at:
            return ""
        seconds = (parse_time(self.finished_at) - parse_time(self.started_at)).total_seconds()
        return seconds_text(seconds)


@dataclass(frozen=True)
class PromotionView:
    target: str
    ref: str
    artifact_sha256: str


@dataclass(frozen=True)
class RunView:
    """A run with its pins, its steps and its promotion (`runs show`)."""

    id: str
    status: str
    message: str
    runbook: str
    runbook_sha256: str
    inputs: JsonObject
    models: dict[str, str]
    image: str
    image_id: str | None
    requester: str
    base_commit: str | None
    created_at: str
    updated_at: str
    steps: tuple[StepView, ...]
    promotion: PromotionView | None
    batch: str | None = None  # the batch it belongs to
    schedule: str | None = None  # the schedule that started it
    cost_usd: float = 0.0  # every model call of the run, from the reply log (litellm's prices)
    model_calls: int = 0
    unpriced_calls: int = 0  # calls litellm had no price for: cost_usd is then a lower bound
    cost_by_member: dict[str, float] = field(default_factory=dict)
    model_override: JsonObject | None = None  # {"model", "params"}: `crewgate run --model`, else None
    tool_calls: int = 0  # calls its members' code made to tools (README: Tools), refused ones included
    tool_calls_refused: int = 0
    continues: str = ""  # a waiting run whose review is decided: "... a worker will continue the run: ..."
    runtime: str = "runc"  # the sandbox runtime it is pinned to: runc, or runsc (gVisor)
    pruned: JsonObject | None = None  # when and what `runs prune` removed of it (store.retention)

    def pruned_text(self) -> str:
        """What `runs prune` removed of the run, in words ('' if it was not pruned)."""
        if not self.pruned:
            return ""
        found = self.pruned
        return (
            f"pruned {found.get('at')}: {found.get('trace_events', 0)} trace event(s), "
            f"{found.get('model_call_bodies', 0)} model-call bod(ies) and {found.get('tool_call_bodies', 0)} "
            "tool-call bod(ies) removed, with the snapshots and artifacts no other run uses; its steps, reviews, "
            "decisions, promotion and costs are kept (its trace and a replay are no longer available)"
        )

    def shown_inputs(self) -> JsonObject:
        """The inputs for a page: the text value of an input named like a secret (api_token, ...) is "***"."""
        return masked_inputs(self.inputs)


@dataclass(frozen=True)
class TraceEntry:
    """One member turn: the prompt's reply, the code, the observation, the tokens."""

    id: int
    run_id: str
    step_id: str
    attempt: int
    member: str
    turn: int
    data: JsonObject  # the member's TraceEvent as recorded (TraceRecord.data), read by the run page
    created_at: str


@dataclass(frozen=True)
class ReviewSummary:
    """One line of `review list`."""

    id: str
    run_id: str
    runbook: str
    step: str
    status: str
    artifact_sha256: str
    created_at: str
    expires_at: str | None
    age: str
    batch: str | None = None  # the batch its run belongs to
    title: str = ""  # the first line of the run's request
    requester: str = ""
    lines_added: int | None = None  # None: opened before crewgate kept sizes
    lines_removed: int | None = None
    paths: int | None = None
    change_key: str | None = None  # equal keys in a batch: one cluster (artifacts.change_key)
    target: str = ""  # where approving writes, in words (review_story.target_words)

    @property
    def size(self) -> str:
        """ "+12 −3 in 2 path(s)", or "" for an item opened before sizes were kept."""
        if self.lines_added is None or self.lines_removed is None:
            return ""
        return f"+{self.lines_added} −{self.lines_removed} in {self.paths} path(s)"


@dataclass(frozen=True)
class QueuePage:
    """A page of the review queue: its items, how many match in all, and the query that chose them."""

    items: tuple[ReviewSummary, ...]
    total: int
    query: QueueQuery
    next_cursor: str | None = None  # the next page's cursor (QueueQuery.cursor); None on the last page
    total_capped: bool = False  # pending and other items are each counted up to 1,000: `total` is a lower bound

    @property
    def total_text(self) -> str:
        """How many items match, in words: "1,234", or "1,000+" past the count's cap."""
        return f"{self.total:,}{'+' if self.total_capped else ''}"


@dataclass(frozen=True)
class ReviewView:
    """What a reviewer is shown, all of it read from the artifact (`review show`).

    `artifact_problem` says why the artifact cannot be shown (the store was
    modified, say); the change list and diff are then empty.
    """

    id: str
    run_id: str
    step_id: str
    status: str
    artifact_sha256: str
    policy: JsonObject
    requester: str
    created_at: str
    expires_at: str | None
    closed_at: str | None
    evidence: JsonObject
    decisions: tuple[Decision, ...]
    image: str = ""  # the sandbox image the run's work and checks ran in: its environment, when it has one
    image_id: str | None = None
    runtime: str = "runc"  # the sandbox runtime the run's work and checks ran under
    artifact_problem: str | None = None
    base_snapshot: str | None = None
    changes: tuple[Change, ...] = ()
    summary: dict[str, int] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    diff: str = ""
    diff_truncated: bool = False
    diff_chars: int = 0
    diff_files: int = 0
    story: ItemStory | None = None  # the request, the target, earlier rounds, the steps (None: not read)

    @property
    def reviewers(self) -> list[str]:
        """Who may approve, as the gate's policy names them ("any" for anyone)."""
        return _strings(self.policy.get("reviewers"))

    @property
    def warnings(self) -> list[str]:
        """What the gate warns a reviewer about the change (a name escaped, a path left out)."""
        return _strings(self.evidence.get("warnings"))

    @property
    def outputs(self) -> dict[str, str]:
        """Each earlier step's output (written by the crew), by step id."""
        found = self.evidence.get("outputs")
        return {str(step): str(text) for step, text in found.items()} if isinstance(found, dict) else {}

    @property
    def tool_calls(self) -> list[str]:
        """The tool calls the run made before the gate, one line each: `step member tool outcome` (README: Tools)."""
        found = self.evidence.get("tool_calls")
        return [
            " ".join(str(call.get(key, "")) for key in ("step", "member", "tool", "outcome"))
            for call in (found if isinstance(found, list) else [])
            if isinstance(call, dict)
        ]


def _strings(found: Json) -> list[str]:
    return [str(item) for item in found] if isinstance(found, list) else []


@dataclass(frozen=True)
class DecisionResult:
    """A recorded decision and where it left its review item."""

    review_id: str
    run_id: str
    reviewer: str
    decision: str
    artifact_sha256: str
    status: str  # the item's status now: pending until its policy is met

    @property
    def decided(self) -> bool:
        """Whether the run can go on (approved, rejected or changes requested)."""
        return self.status != "pending"


@dataclass(frozen=True)
class StartedRun:
    """A run just recorded: what it is pinned to and which tree it starts from."""

    run_id: str
    runbook: str
    runbook_sha256: str
    base_commit: str | None
    left_out: int  # uncommitted, untracked or ignored paths the run does not see


@dataclass(frozen=True)
class ProblemView:
    """One problem of a runbook file, as `runbook validate --json` shows it."""

    line: int | None
    col: int | None
    message: str
    field: str
    text: str


@dataclass(frozen=True)
class ValidationReport:
    """One file checked by `runbook validate`."""

    path: str
    ok: bool
    problems: tuple[ProblemView, ...]
    runbook: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ReviewPage:
    """A review item as the web page shows it: with its run's runbook and the steps it may send back to."""

    item: ReviewView
    runbook: str  # NAME@VERSION of the item's run
    rerun_steps: tuple[str, ...]
