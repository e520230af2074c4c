"""One approval and one promotion, however many reviewers approve at once, on SQLite and on PostgreSQL.

A hundred threads, each with its own database connection, decide the same
review item at the same instant through the service layer (what `review
approve` and the web server call). SQLite serialises them with BEGIN IMMEDIATE,
PostgreSQL with a row lock on the item (SELECT ... FOR UPDATE); either way one
decision is recorded and the run is promoted once.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, durable_runbook, git, last_event, make_repo
from workflows.errors import GateError
from workflows.runs.services import open_services
from workflows.service.reviews import decide

APPROVERS = 100
pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_cg(request: pytest.FixtureRequest, cg: Crewgate) -> Crewgate:
    """The same crewgate installation on SQLite, then on PostgreSQL."""
    return request.getfixturevalue("pg_cg") if request.param == "postgres" else cg


def test_a_hundred_concurrent_approvals_record_one_approval_and_one_promotion(
    any_cg: Crewgate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cg = any_cg
    repo = make_repo(tmp_path / "repo")
    done = cg.run("run", str(durable_runbook(tmp_path / "rb", by_check=True)), "-i", f"repo={repo}", "--json")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    run_id, review_id = last_event(done.stdout)["run"], last_event(done.stdout)["review"]
    for name, value in cg.env().items():
        if name.startswith("CREWGATE_"):
            monkeypatch.setenv(name, value)

    reviewers = ["alice"] * (APPROVERS // 2) + [f"reviewer{n}" for n in range(APPROVERS - APPROVERS // 2)]
    services = [open_services(cg.url) for _ in reviewers]  # a connection each, like a process each
    at_once = threading.Barrier(len(reviewers))

    def approve(number: int) -> str:
        at_once.wait()
        try:
            return decide(services[number], review_id, reviewers[number], "approve").status
        except GateError as exc:
            return f"refused: {exc}"

    with ThreadPoolExecutor(max_workers=len(reviewers)) as pool:
        outcomes = list(pool.map(approve, range(len(reviewers))))
    for service in services:
        service.close()
    assert outcomes.count("approved") == 1, [o for o in outcomes if o != "approved"][:3]
    assert all(o.startswith("refused: ") for o in outcomes if o != "approved")
    assert cg.query("SELECT count(*) FROM crewgate_decisions WHERE review_id = ?", review_id) == [(1,)]

    worker = cg.run("worker", "--until-idle", "--json")
    assert worker.returncode == 0, worker.stdout[-2000:] + worker.stderr[-2000:]
    assert cg.show(run_id)["status"] == "promoted"
    assert cg.query("SELECT count(*) FROM crewgate_promotions WHERE run_id = ?", run_id) == [(1,)]
    winner = cg.query("SELECT reviewer FROM crewgate_decisions WHERE review_id = ?", review_id)[0][0]
    assert git(repo, "rev-list", "--count", f"main..crewgate/{run_id}") == "1"
    assert f"Approved-by: {winner}" in git(repo, "log", "-1", "--format=%B", f"crewgate/{run_id}")
