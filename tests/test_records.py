"""The gate's decision rules and the promotion claim, on a real SQLite database, in this process.

Every refusal leaves the item as it was; an accepted decision is stored under the
reviewer's key and moves the item only when its policy is met.
"""

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from tests.stored_rows import stored_run
from workflows.errors import GateError
from workflows.store.database import Store
from workflows.store.records import Records

SHA = "a" * 64


@pytest.fixture
def records(tmp_path: Path) -> Records:
    store = Store(f"sqlite:///{tmp_path / 'crewgate.db'}")
    return Records(store.engine)


def open_item(records: Records, review_id: str = "r1", expires_at: str | None = None, **policy: Any) -> str:
    run_id = review_id.split("-")[0]
    stored_run(records, run_id)
    gate = {"required": 1, "reviewers": ["any"], "allow_requester": False, **policy}
    records.open_review(
        id=review_id,
        run_id=run_id,
        step_id="approve",
        artifact_sha256=SHA,
        policy=json.dumps(gate),
        evidence="{}",
        requester="Requester",
        expires_at=expires_at,
    )
    return review_id


def refused(records: Records, review_id: str, *args: Any, words: str) -> None:
    before = (records.review(review_id).status, len(records.decisions(review_id)))
    with pytest.raises(GateError, match=words):
        records.decide(review_id, *args)
    assert (records.review(review_id).status, len(records.decisions(review_id))) == before


def test_the_requester_may_not_approve_unless_the_gate_allows_it(records: Records) -> None:
    refused(records, open_item(records), " REQUESTER ", "approve", "", None, words="started this run")
    assert records.decide(open_item(records, "r2", allow_requester=True), "requester", "approve", "", None) == (
        "approved"
    )


def test_a_sha256_other_than_the_artifacts_is_refused(records: Records) -> None:
    refused(records, open_item(records), "alice", "approve", "", "0" * 64, words="is not the artifact")
    assert records.decide("r1", "alice", "approve", "", SHA) == "approved"


def test_two_approvals_from_two_people_are_needed_when_the_gate_says_two(records: Records) -> None:
    review = open_item(records, required=2)
    assert records.decide(review, "Alice", "approve", "", None) == "pending"
    refused(records, review, " alice ", "approve", "", None, words="already decided")  # the same person, spelled apart
    assert records.decide(review, "bob", "approve", "", None) == "approved"
    assert [d.reviewer for d in records.decisions(review)] == ["alice", "bob"]


def test_only_the_named_reviewers_may_decide(records: Records) -> None:
    review = open_item(records, reviewers=["alice"])
    refused(records, review, "mallory", "approve", "", None, words="may not decide")
    refused(records, review, "mallory", "reject", "", None, words="may not decide")
    assert records.decide(review, "ALICE", "reject", "no", None) == "rejected"


def test_a_closed_expired_or_ended_item_refuses_every_decision(records: Records) -> None:
    closed = open_item(records)
    records.decide(closed, "alice", "request_changes", "more tests", None, "implement")
    refused(records, closed, "bob", "approve", "", None, words=r"closed \(changes_requested\)")
    assert records.decisions(closed)[0].target_step == "implement"

    past = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)).isoformat(timespec="seconds")
    refused(records, open_item(records, "r2", expires_at=past), "alice", "approve", "", None, words="expired")

    ended = open_item(records, "r3")
    records.set_run("r3", status="cancelled")
    refused(records, ended, "alice", "approve", "", None, words=r"already ended \(cancelled\)")


def test_a_promotion_is_claimed_once_per_run_and_artifact(records: Records) -> None:
    open_item(records)
    first = records.claim_promotion("r1", SHA, "git")
    again = records.claim_promotion("r1", SHA, "git")  # a re-run after a crash finds the same row
    assert first == again and first.status == "started"
    records.finish_promotion("r1", SHA, "crewgate/r1@abc")
    assert [(p.status, p.ref) for p in records.promotions("r1")] == [("done", "crewgate/r1@abc")]
