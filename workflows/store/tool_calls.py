"""Reading a run's recorded tool calls, for `runs show` and a review's evidence (runs/tool_calls.py writes them)."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .tables import tool_calls


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


def list_tool_calls(engine: Engine, run_id: str) -> list[ToolCallRecord]:
    """The run's tool calls in the order they were made."""
    table = tool_calls.c
    query = select(tool_calls).where(table.run_id == run_id).order_by(table.created_at, table.scope, table.call_index)
    with engine.connect() as db:
        rows = db.execute(query).mappings().all()
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
        for row in rows
    ]
