"""Reading a run's recorded tool calls, for `runs show` and a review's evidence (runs/tool_calls.py writes them).

SQL text on a `Reader` (store/reading.py): `runs show` reads them without SQLAlchemy.
"""

from dataclasses import dataclass

from .reading import Reader


@dataclass(frozen=True)
class ToolCallRecord:
    """One call: which step try and member made it, to what, and how it ended (started, ok, error, refused)."""

    scope: str
    member: str
    index: int
    tool: str
    outcome: str
    local: bool
    created_at: str


def list_tool_calls(reader: Reader, run_id: str) -> list[ToolCallRecord]:
    """The run's tool calls in the order they were made."""
    found = reader.rows(
        "SELECT scope, member, call_index, tool, outcome, local, created_at FROM crewgate_tool_calls"
        " WHERE run_id = :run_id ORDER BY created_at, scope, call_index",
        {"run_id": run_id},
    )
    return [
        ToolCallRecord(
            row["scope"],
            row["member"],
            row["call_index"],
            row["tool"],
            row["outcome"],
            bool(row["local"]),
            row["created_at"],
        )
        for row in found
    ]
