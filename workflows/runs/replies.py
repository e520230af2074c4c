"""A run's model replies, recorded before their code runs: the run's reply log and its ledger.

A step re-run after a crash asks for the same (scope, member, index) again and
gets the recorded reply, so no model call is made or paid for twice; and what
a run has spent is the sum of what is recorded, whichever process spent it.
"""

import contextlib

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from agents import ModelReply, Usage

from ..clock import Clock, stamp, wall_clock
from ..store.tables import model_calls


class RecordedReplies:
    """The reply log and spending ledger of one run."""

    def __init__(self, engine: Engine, run_id: str, clock: Clock = wall_clock) -> None:
        self.engine = engine
        self.run_id = run_id
        self.clock = clock

    def recorded(self, scope: str, member: str, index: int) -> ModelReply | None:
        table = model_calls.c
        query = select(model_calls).where(
            table.run_id == self.run_id, table.scope == scope, table.member == member, table.call_index == index
        )
        with self.engine.connect() as db:
            row = db.execute(query).mappings().first()
        if row is None:
            return None
        usage = Usage(row["prompt_tokens"], row["completion_tokens"], row["cost_usd"], 1, row["unpriced"])
        return ModelReply(row["reply"], usage, row["finish_reason"], row["reasoning"] or "")

    def record(self, scope: str, member: str, index: int, reply: ModelReply) -> None:
        row = {
            "run_id": self.run_id,
            "scope": scope,
            "member": member,
            "call_index": index,
            "reply": reply.text,
            "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens,
            "cost_usd": reply.usage.cost_usd,
            "unpriced": int(reply.usage.unpriced_calls > 0),
            "finish_reason": reply.finish_reason,
            "reasoning": reply.reasoning or None,
            "created_at": stamp(self.clock()),
        }
        # A reply already there (two processes on one run) is kept: the first one is the truth.
        with contextlib.suppress(IntegrityError), self.engine.begin() as db:
            db.execute(insert(model_calls).values(**row))

    def spent(self) -> Usage:
        """Everything the run's model calls cost, from the records."""
        table = model_calls.c
        query = select(
            func.coalesce(func.sum(table.prompt_tokens), 0),
            func.coalesce(func.sum(table.completion_tokens), 0),
            func.coalesce(func.sum(table.cost_usd), 0.0),
            func.count(),
            func.coalesce(func.sum(table.unpriced), 0),
        ).where(table.run_id == self.run_id)
        with self.engine.connect() as db:
            prompt, completion, cost, calls, unpriced = db.execute(query).one()
        return Usage(int(prompt), int(completion), float(cost), int(calls), int(unpriced))


def scope_of(step_id: str, attempt: int) -> str:
    return f"{step_id}#{attempt}"
