"""What runs cost, summed from their recorded model calls: per step try, per member, per run, per batch.

The reply log (crewgate_model_calls) is the one record of every paid call, whichever
process made it; a reply replayed after a crash is read from it, not paid again, so
these sums are what was spent. A call litellm could not price counts as 0 and as
unpriced: a total with unpriced calls is a lower bound, and every view says how many.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from ..plain import Row
from .reading import Reader, in_list


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


# What every cost sums, over the calls a query groups (SQL text, store/reading.py: `runs list` reads it).
_SUMS = (
    "COALESCE(SUM(cost_usd), 0.0) AS cost_usd, COUNT(*) AS calls,"
    " COALESCE(SUM(unpriced), 0) AS unpriced,"
    " COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS tokens"
)


def run_costs(reader: Reader, run_id: str) -> RunCosts:
    """One run's costs by step try and by member, and in all."""
    with reader.together() as db:
        by_step = _grouped(db, "scope", "run_id = :run_id", {"run_id": run_id})
        by_member = _grouped(db, "member", "run_id = :run_id", {"run_id": run_id})
    return RunCosts(total_of(by_step.values()), by_step, by_member)


def costs_of_runs(reader: Reader, run_ids: Iterable[str]) -> dict[str, Cost]:
    """Each run's total (runs without calls are left out: they cost nothing)."""
    wanted, params = in_list("run", sorted(set(run_ids)))
    if not params:
        return {}
    return _grouped(reader, "run_id", f"run_id IN ({wanted})", params)


def costs_of_batches(reader: Reader, batch_ids: Iterable[str]) -> dict[str, Cost]:
    """Each batch's total over all its runs, summed by the database (batches without calls are left out)."""
    wanted, params = in_list("batch", sorted(set(batch_ids)))
    if not params:
        return {}
    found = reader.rows(
        f"SELECT crewgate_runs.batch_id AS grouped_by, {_SUMS} FROM crewgate_model_calls"  # noqa: S608
        " JOIN crewgate_runs ON crewgate_runs.id = crewgate_model_calls.run_id"
        f" WHERE crewgate_runs.batch_id IN ({wanted}) GROUP BY crewgate_runs.batch_id",
        params,
    )
    return {str(row["grouped_by"]): _cost(row) for row in found}


def total_of(costs: Iterable[Cost]) -> Cost:
    found = list(costs)
    return Cost(
        sum(cost.cost_usd for cost in found),
        sum(cost.calls for cost in found),
        sum(cost.unpriced_calls for cost in found),
        sum(cost.tokens for cost in found),
    )


def _grouped(reader: Reader, key: str, where: str, params: dict[str, object]) -> dict[str, Cost]:
    found = reader.rows(
        f"SELECT {key} AS grouped_by, {_SUMS} FROM crewgate_model_calls"  # noqa: S608 (values are params)
        f" WHERE {where} GROUP BY {key}",
        params,
    )
    return {str(row["grouped_by"]): _cost(row) for row in found}


def _cost(row: Row) -> Cost:
    return Cost(float(row["cost_usd"]), int(row["calls"]), int(row["unpriced"]), int(row["tokens"]))


def cost_text(cost_usd: float, unpriced_calls: int = 0) -> str:
    """`$0.001234`, or `$0.001234 + 2 unpriced call(s)` when some calls had no price."""
    text = f"${cost_usd:.6f}" if cost_usd < 1 else f"${cost_usd:,.2f}"
    return f"{text} + {unpriced_calls} unpriced call(s)" if unpriced_calls else text
