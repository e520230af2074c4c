"""Reading and writing run records: runs, steps, trace, reviews, decisions, promotions.

The approval gate is data: a pending review is a row bound to an artifact's
sha256, a decision is a row (one per reviewer, by a unique constraint), and a
promotion is a row keyed by run id + artifact sha256, so it happens once.
"""

import contextlib
import datetime
import json
from collections.abc import Mapping

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, database_time, stamp, wall_clock
from ..errors import GateError, GateForbidden, NotFound
from ..identity import fold, person_key
from ..plain import json_list
from .reading import EngineReader
from .reads import promotions_of_run, read_run, reviews_of_run, steps_of_run, trace_of_run
from .rows import (
    TERMINAL,
    Decision,
    NewRun,
    PromotionRecord,
    ReviewRecord,
    RunRecord,
    StepRecord,
    TraceRecord,
    parse_time,
)
from .tables import decisions, promotions, reviews, runs, steps, trace

ANY_REVIEWER = "any"


def insert_run(db: Connection, run: NewRun, at: str) -> None:
    """Record a queued run (from `runs.create.prepare_run`) at `at` in the caller's transaction."""
    db.execute(insert(runs).values(**run.columns(), status="queued", message="", created_at=at, updated_at=at))


class Records:
    """Run records in the crewgate database (the Store's engine)."""

    def __init__(self, engine: Engine, clock: Clock = wall_clock) -> None:
        self.engine = engine
        self.clock = clock
        self.reader = EngineReader(engine)  # the reads the read commands share (store/reads.py)

    def timestamp(self) -> str:
        """The time to record, by this store's clock (the database's, in a process's services)."""
        return stamp(self.clock())

    # -- runs -------------------------------------------------------------
    def create_run(self, run: NewRun) -> None:
        with self.engine.begin() as db:
            insert_run(db, run, self.timestamp())

    def run(self, run_id: str) -> RunRecord:
        return read_run(self.reader, run_id)

    def active_runs(self) -> list[RunRecord]:
        """Every run that has not ended, oldest first."""
        query = select(runs).where(runs.c.status.not_in(sorted(TERMINAL))).order_by(runs.c.created_at)
        with self.engine.connect() as db:
            return [RunRecord.from_row(row) for row in db.execute(query).mappings()]

    def runs_by_id(self, run_ids: list[str]) -> list[RunRecord]:
        if not run_ids:
            return []
        with self.engine.connect() as db:
            return [
                RunRecord.from_row(row) for row in db.execute(select(runs).where(runs.c.id.in_(run_ids))).mappings()
            ]

    def set_run(self, run_id: str, **fields: object) -> None:
        """Update a run; an ended run's status never changes again (a cancel wins over a late step)."""
        query = update(runs).where(runs.c.id == run_id)
        if "status" in fields:
            query = query.where(runs.c.status.not_in(sorted(TERMINAL)))
        with self.engine.begin() as db:
            db.execute(query.values(**fields, updated_at=self.timestamp()))

    def status_of(self, run_id: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar()

    def cancelled_among(self, run_ids: list[str]) -> list[str]:
        if not run_ids:
            return []
        query = select(runs.c.id).where(runs.c.id.in_(run_ids), runs.c.status == "cancelled")
        with self.engine.connect() as db:
            return [row.id for row in db.execute(query)]

    def stopped_runs(self, run_ids: list[str]) -> list[str]:
        """Which of these cancelled runs their host has stopped (it records where, in the trace)."""
        query = select(trace.c.run_id).where(
            trace.c.run_id.in_(run_ids), trace.c.member == "crewgate", trace.c.data.like('%"status": "cancelled"%')
        )
        with self.engine.connect() as db:
            return sorted({row.run_id for row in db.execute(query)})

    def cancel(self, run_ids: list[str], message: str) -> tuple[list[str], list[str]]:
        """End the runs that have not ended as cancelled, and close their pending reviews (status `cancelled`),
        in one transaction; (the ids cancelled, those of them that were running).

        Queued runs are never started after this (a claim needs `queued`), and a worker's
        watch on a running one stops its cell and its model calls.
        """
        cancelled: list[str] = []
        running: list[str] = []
        with self.engine.begin() as db:
            found = db.execute(select(runs.c.id, runs.c.status).where(runs.c.id.in_(run_ids))).all()
            for run_id, status in found:
                if status in TERMINAL:
                    continue
                db.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(status="cancelled", message=message, updated_at=self.timestamp())
                )
                db.execute(
                    update(reviews)
                    .where(reviews.c.run_id == run_id, reviews.c.status == "pending")
                    .values(status="cancelled", closed_at=self.timestamp())
                )
                cancelled.append(run_id)
                if status == "running":
                    running.append(run_id)
        return cancelled, running

    # -- steps and trace --------------------------------------------------
    def start_step(self, run_id: str, step_id: str, attempt: int, kind: str) -> None:
        row = {"run_id": run_id, "step_id": step_id, "attempt": attempt, "kind": kind}
        with self.engine.begin() as db:
            found = db.execute(
                select(steps.c.status).where(
                    steps.c.run_id == run_id, steps.c.step_id == step_id, steps.c.attempt == attempt
                )
            ).first()
            if found is None:
                db.execute(
                    insert(steps).values(**row, status="running", output="", usage="{}", started_at=self.timestamp())
                )
            else:  # a step re-run after a crash
                db.execute(
                    update(steps)
                    .where(steps.c.run_id == run_id, steps.c.step_id == step_id, steps.c.attempt == attempt)
                    .values(status="running", started_at=self.timestamp())
                )

    def finish_step(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        status: str,
        output: str,
        usage: Mapping[str, object],
        snapshot: str | None = None,
    ) -> None:
        """`snapshot`: the blob of the workspace the try left, so a prune knows every blob of the run."""
        values: dict[str, object] = {"status": status, "output": output, "usage": json.dumps(usage)}
        if snapshot is not None:
            values["snapshot"] = snapshot
        with self.engine.begin() as db:
            db.execute(
                update(steps)
                .where(steps.c.run_id == run_id, steps.c.step_id == step_id, steps.c.attempt == attempt)
                .values(**values, finished_at=self.timestamp())
            )

    def steps(self, run_id: str) -> list[StepRecord]:
        return steps_of_run(self.reader, run_id)

    def add_trace(
        self, run_id: str, step_id: str, attempt: int, member: str, turn: int, data: Mapping[str, object]
    ) -> None:
        with self.engine.begin() as db:
            db.execute(
                insert(trace).values(
                    run_id=run_id,
                    step_id=step_id,
                    attempt=attempt,
                    member=member,
                    turn=turn,
                    data=json.dumps(data, default=str),
                    created_at=self.timestamp(),
                )
            )

    def trace(self, run_id: str, after_id: int = 0) -> list[TraceRecord]:
        """The run's trace events in order; with `after_id`, only the ones recorded since."""
        return trace_of_run(self.reader, run_id, after_id)

    # -- reviews and decisions ------------------------------------------------
    def open_review(self, **fields: object) -> bool:
        """Create the review item; a re-run of the same gate attempt finds it already there.

        False (and nothing created) if the run has ended meanwhile: a run cancelled while its
        artifact was being built leaves no pending item nobody may decide.
        """
        with self.engine.begin() as db:
            status = db.execute(select(runs.c.status).where(runs.c.id == fields["run_id"])).scalar()
            if status in TERMINAL:
                return False
            exists = db.execute(select(reviews.c.id).where(reviews.c.id == fields["id"])).first()
            if exists is None:
                db.execute(insert(reviews).values(**fields, status="pending", created_at=self.timestamp()))
        return True

    def close_pending_reviews(self, run_id: str, status: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(reviews)
                .where(reviews.c.run_id == run_id, reviews.c.status == "pending")
                .values(status=status, closed_at=self.timestamp())
            )

    def expire(self, review_id: str) -> None:
        """Close a pending item whose time ran out (its run ends as rejected)."""
        with self.engine.begin() as db:
            db.execute(
                update(reviews)
                .where(reviews.c.id == review_id, reviews.c.status == "pending")
                .values(status="expired", closed_at=self.timestamp())
            )

    def review(self, review_id: str) -> ReviewRecord:
        with self.engine.connect() as db:
            row = db.execute(select(reviews).where(reviews.c.id == review_id)).mappings().first()
        if row is None:
            raise NotFound(f"no review item {review_id!r}: see `crewgate review list`")
        return ReviewRecord.from_row(row)

    def pending_reviews(self, run_id: str) -> list[ReviewRecord]:
        return self.reviews_of_run(run_id, status="pending")

    def reviews_of_run(self, run_id: str, status: str | None = None) -> list[ReviewRecord]:
        """The run's review items, oldest first (only those in `status`, if given)."""
        return reviews_of_run(self.reader, run_id, status)

    def reviews_of_waiting_runs(self) -> list[ReviewRecord]:
        """The reviews of runs waiting at a gate: what a worker looks at every poll (not the whole history)."""
        query = select(reviews).join(runs, runs.c.id == reviews.c.run_id).where(runs.c.status == "waiting")
        with self.engine.connect() as db:
            return [ReviewRecord.from_row(row) for row in db.execute(query).mappings()]

    def decisions(self, review_id: str) -> list[Decision]:
        with self.engine.connect() as db:
            rows = db.execute(select(decisions).where(decisions.c.review_id == review_id).order_by(decisions.c.id))
            return [
                Decision(r.review_id, r.reviewer, r.decision, r.message, r.target_step, r.artifact_sha256, r.created_at)
                for r in rows
            ]

    def decide(
        self,
        review_id: str,
        reviewer: str,
        decision: str,
        message: str,
        artifact_sha256: str | None,
        target_step: str | None = None,
    ) -> str:
        """Record a decision if every rule allows it; return the item's new status.

        Names are compared by their key (see `identity`), and the key is what is stored.
        Refused (GateError, nothing changed): unknown, closed or expired item, a reviewer the
        policy does not allow, the requester approving their own run, a second decision by the
        same reviewer, or a sha256 that is not the item's.
        """
        reviewer = person_key(reviewer)
        with self.engine.begin() as db:
            locked = select(reviews).where(reviews.c.id == review_id).with_for_update()
            item = db.execute(locked).mappings().first()
            if item is None:
                raise NotFound(f"no review item {review_id!r}: see `crewgate review list`")
            review = ReviewRecord.from_row(item)
            run_status = db.execute(select(runs.c.status).where(runs.c.id == review.run_id)).scalar_one()
            moment = datetime.datetime.fromtimestamp(database_time(db), datetime.UTC)  # expiry by the database's clock
            _check_decision(review, reviewer, decision, artifact_sha256, run_status, moment)
            try:
                db.execute(
                    insert(decisions).values(
                        review_id=review_id,
                        reviewer=reviewer,
                        decision=decision,
                        message=message,
                        target_step=target_step,
                        artifact_sha256=review.artifact_sha256,
                        created_at=self.timestamp(),
                    )
                )
            except IntegrityError as exc:
                raise GateError(f"{reviewer} has already decided on {review_id}; a reviewer decides once") from exc
            status = _new_status(db, review_id, decision, review.required)
            if status != "pending":
                db.execute(
                    update(reviews)
                    .where(reviews.c.id == review_id, reviews.c.status == "pending")
                    .values(status=status, closed_at=self.timestamp())
                )
            return status

    # -- promotions ---------------------------------------------------------
    def claim_promotion(self, run_id: str, artifact_sha256: str, target: str) -> PromotionRecord:
        """The promotion row for run + artifact, created on first claim (idempotency key)."""
        key = f"{run_id}:{artifact_sha256}"
        # The first claim creates the row; a later one (a re-run after a crash) finds it. The
        # transaction is outside the suppress so a refused insert is rolled back, not committed.
        with contextlib.suppress(IntegrityError), self.engine.begin() as db:
            db.execute(
                insert(promotions).values(
                    idempotency_key=key,
                    run_id=run_id,
                    artifact_sha256=artifact_sha256,
                    target=target,
                    status="started",
                    created_at=self.timestamp(),
                )
            )
        with self.engine.connect() as db:
            row = db.execute(select(promotions).where(promotions.c.idempotency_key == key)).mappings().one()
        return PromotionRecord.from_row(row)

    def finish_promotion(self, run_id: str, artifact_sha256: str, ref: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(promotions)
                .where(promotions.c.idempotency_key == f"{run_id}:{artifact_sha256}")
                .values(status="done", ref=ref)
            )

    def promotions(self, run_id: str) -> list[PromotionRecord]:
        return promotions_of_run(self.reader, run_id)


def _check_decision(
    item: ReviewRecord,
    reviewer: str,
    decision: str,
    artifact_sha256: str | None,
    run_status: str,
    moment: datetime.datetime,
) -> None:
    review_id, policy = item.id, item.policy
    if item.status == "cancelled":
        raise GateError(
            f"review {review_id} is closed (cancelled): run {item.run_id} already ended ({run_status}); "
            "nothing was changed"
        )
    if item.status != "pending":
        raise GateError(f"review {review_id} is closed ({item.status}); nothing was changed")
    if run_status in TERMINAL:
        raise GateError(f"run {item.run_id} already ended ({run_status}); nothing was changed")
    if item.expires_at and parse_time(item.expires_at) <= moment:
        raise GateError(f"review {review_id} expired at {item.expires_at}; start a new run")
    named = policy.get("reviewers")
    allowed = [fold(str(name)) for name in named] if isinstance(named, list) and named else [ANY_REVIEWER]
    if ANY_REVIEWER not in allowed and reviewer not in allowed:
        raise GateForbidden(f"{reviewer} may not decide on {review_id}: the gate allows {', '.join(allowed)}")
    if decision == "approve" and reviewer == fold(item.requester) and not policy.get("allow_requester", False):
        raise GateForbidden(f"{reviewer} started this run and may not approve it (the gate's allow_requester is false)")
    blocked = json_list(item.evidence.get("blocked"))
    if decision == "approve" and blocked:
        raise GateError(
            f"review {review_id} holds {len(blocked)} path(s) its git target cannot store (see the warning in "
            "`crewgate review show`): approving is refused; request changes or reject"
        )
    if artifact_sha256 is not None and artifact_sha256 != item.artifact_sha256:
        raise GateError(
            f"sha256 {artifact_sha256[:12]} is not the artifact of {review_id} ({item.artifact_sha256[:12]}); "
            "review what is actually there with `crewgate review show`"
        )


def _new_status(db: Connection, review_id: str, decision: str, required: int) -> str:
    if decision == "reject":
        return "rejected"
    if decision == "request_changes":
        return "changes_requested"
    approvals = db.execute(
        select(func.count())
        .select_from(decisions)
        .where(decisions.c.review_id == review_id, decisions.c.decision == "approve")
    ).scalar_one()
    return "approved" if approvals >= required else "pending"
