"""A run's tool calls, recorded as they happen: the durable half of tools.

Each call is written `started` before crewgate calls the tool and gets its outcome
before the result returns to the cell. A step re-run after a crash asks for the
same (scope, member, index) again: a finished call is answered from the record,
and a call that was started but never finished (the crash came mid-call) is not
made again either, since crewgate cannot know whether it took effect. So a tool
with side effects is called at most once per call of the code.
"""

import contextlib
import json
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, stamp, wall_clock
from ..plain import Json
from ..store.tables import tool_calls


@dataclass(frozen=True)
class RecordedCall:
    """One recorded call. `outcome` is started, ok, error or refused."""

    tool: str
    arguments: str
    outcome: str
    result: Json = None
    error_type: str = ""
    message: str = ""


def canonical(arguments: Json) -> str:
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class RecordedToolCalls:
    """The tool-call log of one run."""

    def __init__(self, engine: Engine, run_id: str, clock: Clock = wall_clock) -> None:
        self.engine = engine
        self.run_id = run_id
        self.clock = clock

    def recorded(self, scope: str, member: str, index: int) -> RecordedCall | None:
        table = tool_calls.c
        query = select(tool_calls).where(
            table.run_id == self.run_id, table.scope == scope, table.member == member, table.call_index == index
        )
        with self.engine.connect() as db:
            row = db.execute(query).mappings().first()
        if row is None:
            return None
        result = json.loads(row["result"]) if row["result"] is not None else None
        return RecordedCall(
            row["tool"], row["arguments"], row["outcome"], result, row["error_type"] or "", row["message"] or ""
        )

    def start(self, scope: str, member: str, index: int, tool: str, arguments: str, local: bool) -> bool:
        """Record a call as started; False when the index is taken (another process on the run got there first)."""
        row = {
            "run_id": self.run_id,
            "scope": scope,
            "member": member,
            "call_index": index,
            "tool": tool,
            "arguments": arguments,
            "local": int(local),
            "outcome": "started",
            "created_at": stamp(self.clock()),
        }
        with contextlib.suppress(IntegrityError), self.engine.begin() as db:
            db.execute(insert(tool_calls).values(**row))
            return True
        return False

    def finish(
        self,
        scope: str,
        member: str,
        index: int,
        outcome: str,
        duration_s: float,
        result: str | None = None,
        error_type: str = "",
        message: str = "",
    ) -> None:
        table = tool_calls.c
        where = (table.run_id == self.run_id, table.scope == scope, table.member == member, table.call_index == index)
        values = {
            "outcome": outcome,
            "result": result,
            "error_type": error_type or None,
            "message": message or None,
            "duration_s": duration_s,
        }
        with self.engine.begin() as db:
            db.execute(update(tool_calls).where(*where).values(**values))

    def count(self) -> int:
        with self.engine.connect() as db:
            return int(db.execute(select(func.count()).where(tool_calls.c.run_id == self.run_id)).scalar_one())
