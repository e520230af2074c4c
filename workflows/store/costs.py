"""What runs cost, summed from their recorded model calls: per step try, per member, per run, per batch.

The reply log (crewgate_model_calls) is the one record of every paid call, whichever
process made it; a reply replayed after a crash is read from it, not paid again, so
these sums are what was spent. A call litellm could not price counts as 0 and as
unpriced: a total with unpriced calls is a lower bound, and every view says how many.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection, Engine

from .tables import model_calls, runs


@dataclass(frozen=True)
class Cost:
    cost_usd: float = 0.0
    calls: int = 0
    unpriced_calls: int = 0
    tokens: int = 0  # prompt and completion tokens of the calls


@dataclass(frozen=True)
class RunCosts:
    total: Cost
    by_step: dict[str, Cost]  # "<step>#<attempt>"
    by_member: dict[str, Cost]


_SUMS = (
    func.coalesce(func.sum(model_calls.c.cost_usd), 0.0),
    func.count(),
    func.coalesce(func.sum(model_calls.c.unpriced), 0),
    func.coalesce(func.sum(model_calls.c.prompt_tokens + model_calls.c.completion_tokens), 0),
)


def run_costs(engine: Engine, run_id: str) -> RunCosts:
    """One run's costs by step try and by member, and in all."""
    with engine.connect() as db:
        by_step = _grouped(db, model_calls.c.scope, model_calls.c.run_id == run_id)
        by_member = _grouped(db, model_calls.c.member, model_calls.c.run_id == run_id)
    return RunCosts(total_of(by_step.values()), by_step, by_member)


def costs_of_runs(engine: Engine, run_ids: Iterable[str]) -> dict[str, Cost]:
    """Each run's total (runs without calls are left out: they cost nothing)."""
    wanted = sorted(set(run_ids))
    if not wanted:
        return {}
    with engine.connect() as db:
        return _grouped(db, model_calls.c.run_id, model_calls.c.run_id.in_(wanted))


def costs_of_batches(engine: Engine, batch_ids: Iterable[str]) -> dict[str, Cost]:
    """Each batch's total over all its runs, summed by the database (batches without calls are left out)."""
    wanted = sorted(set(batch_ids))
    if not wanted:
        return {}
    joined = model_calls.join(runs, runs.c.id == model_calls.c.run_id)
    query = select(runs.c.batch_id, *_SUMS).select_from(joined).where(runs.c.batch_id.in_(wanted))
    with engine.connect() as db:
        rows = db.execute(query.group_by(runs.c.batch_id))
        return {str(row[0]): Cost(float(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows}


def total_of(costs: Iterable[Cost]) -> Cost:
    found = list(costs)
    return Cost(
        sum(cost.cost_usd for cost in found),
        sum(cost.calls for cost in found),
        sum(cost.unpriced_calls for cost in found),
        sum(cost.tokens for cost in found),
    )


def _grouped(db: Connection, key: ColumnElement[str], where: ColumnElement[bool]) -> dict[str, Cost]:
    query = select(key, *_SUMS).where(where).group_by(key)
    return {str(row[0]): Cost(float(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in db.execute(query)}


def cost_text(cost_usd: float, unpriced_calls: int = 0) -> str:
    """`$0.001234`, or `$0.001234 + 2 unpriced call(s)` when some calls had no price."""
    text = f"${cost_usd:.6f}" if cost_usd < 1 else f"${cost_usd:,.2f}"
    return f"{text} + {unpriced_calls} unpriced call(s)" if unpriced_calls else text
