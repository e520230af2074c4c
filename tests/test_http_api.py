"""The HTTP API of a real `crewgate serve` process, with tokens made by the real commands' code.

The refusals are the CLI's, as statuses: no or a bad token 401, a viewer deciding
403, the requester approving their own run 403, another artifact's sha256 409,
the same reviewer twice 409. Twenty reviewers approving one `required: 1` item
at once over HTTP give one approval, and the worker promotes it once.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.durable_helpers import Crewgate, durable_runbook, git, kill, last_event, make_repo
from tests.helpers import LOCAL_TLS, wait_until
from tests.postgres import free_port
from workflows.store.accounts import Accounts
from workflows.store.database import Store

PASSWORD = "correct horse battery staple"  # noqa: S105 - test users' password


def to_gate(cg: Crewgate, runbook: Path, repo: Path) -> tuple[str, str]:
    done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    return last_event(done.stdout)["run"], last_event(done.stdout)["review"]


def serve(cg: Crewgate, log: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """A `crewgate serve` process (with `options`) on a free port, once it answers; and its API's base URL."""
    port = free_port()
    server = cg.start_logged(log, "serve", "--port", str(port), *options)
    base = f"http://127.0.0.1:{port}/api/v1"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/openapi.json", verify=LOCAL_TLS).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, 60, log.read_text)
    return server, base


@pytest.mark.docker
@pytest.mark.slow
def test_the_api_refuses_like_the_cli_and_twenty_concurrent_approvals_promote_once(
    cg: Crewgate, tmp_path: Path
) -> None:
    two_approvals = durable_runbook(tmp_path / "rb2", by_check=True)
    text = two_approvals.read_text().replace("version: 1.0.0", "version: 1.0.1")
    two_approvals.write_text(text.replace("{id: approve, gate: {}}", "{id: approve, gate: {required: 2}}"))
    pending_run, pending_review = to_gate(cg, two_approvals, make_repo(tmp_path / "repo2"))
    repo = make_repo(tmp_path / "repo")
    run_id, review_id = to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)

    accounts = Accounts(Store(cg.url).engine)
    reviewers = [f"reviewer{n}" for n in range(20)]
    for name, role in [("alice", "reviewer"), ("victor", "viewer"), (cg.requester, "reviewer")] + [
        (name, "reviewer") for name in reviewers
    ]:
        accounts.add_user(name, role, PASSWORD)
    token = {name: accounts.create_token(name)[1] for name in ["alice", "victor", cg.requester, *reviewers]}

    server, base = serve(cg, tmp_path / "serve.log")

    def as_user(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token[name]}"}

    def decide(name: str, review: str, sha: str | None, decision: str = "approve") -> httpx.Response:
        body = {"decision": decision, "sha256": sha, "message": f"by {name}"}
        return httpx.post(
            f"{base}/reviews/{review}/decisions", json=body, headers=as_user(name), timeout=60, verify=LOCAL_TLS
        )

    try:
        assert httpx.get(f"{base}/reviews", verify=LOCAL_TLS).status_code == 401
        assert (
            httpx.get(f"{base}/reviews", headers={"Authorization": "Bearer cgt_forged_x"}, verify=LOCAL_TLS).status_code
            == 401
        )
        item = httpx.get(f"{base}/reviews/{review_id}", headers=as_user("victor"), verify=LOCAL_TLS).json()
        sha = item["artifact_sha256"]
        assert item["changes"] and "def multiply" in item["diff"]  # a viewer reads
        refusals = [
            (decide("victor", review_id, sha), 403, "victor is a viewer"),
            (decide(cg.requester, review_id, sha), 403, "may not approve it"),
            (decide("alice", review_id, "0" * 64), 409, "is not the artifact of"),
            (decide("alice", "no-such-item", sha), 404, "no review item"),
        ]
        for response, status, words in refusals:
            assert response.status_code == status and words in response.json()["detail"], response.text
        bad = httpx.post(
            f"{base}/reviews/{review_id}/decisions",
            json={"decision": "maybe"},
            headers=as_user("alice"),
            verify=LOCAL_TLS,
        )
        assert bad.status_code == 422
        assert (
            json.loads(httpx.get(f"{base}/reviews/{review_id}", headers=as_user("alice"), verify=LOCAL_TLS).text)[
                "decisions"
            ]
            == []
        )

        other_sha = httpx.get(f"{base}/reviews/{pending_review}", headers=as_user("alice"), verify=LOCAL_TLS).json()[
            "artifact_sha256"
        ]
        first = decide("alice", pending_review, other_sha)
        assert first.status_code == 201 and first.json()["status"] == "pending"  # one of two approvals
        again = decide("alice", pending_review, other_sha)
        assert again.status_code == 409 and "already decided" in again.json()["detail"]

        with ThreadPoolExecutor(max_workers=len(reviewers)) as pool:
            responses = list(pool.map(lambda name: decide(name, review_id, sha), reviewers))
        codes = sorted(response.status_code for response in responses)
        assert codes == [201] + [409] * 19, [response.text for response in responses if response.status_code != 409]
        winner = next(response.json()["reviewer"] for response in responses if response.status_code == 201)
        worker = cg.run("worker", "--until-idle", "--json")
        assert worker.returncode == 0, worker.stdout[-2000:] + worker.stderr[-2000:]
        shown = httpx.get(f"{base}/runs/{run_id}", headers=as_user("victor"), verify=LOCAL_TLS).json()
        assert shown["status"] == "promoted" and shown["promotion"]["ref"].startswith(f"crewgate/{run_id}@")
        assert cg.query("SELECT count(*) FROM crewgate_promotions WHERE run_id = ?", run_id) == [(1,)]
        assert git(repo, "rev-list", "--count", f"main..crewgate/{run_id}") == "1"
        assert f"Approved-by: {winner}" in git(repo, "log", "-1", "--format=%B", f"crewgate/{run_id}")
        assert (
            httpx.get(f"{base}/runs/{pending_run}", headers=as_user("alice"), verify=LOCAL_TLS).json()["status"]
            == "waiting"
        )
        started = httpx.post(
            f"{base}/runs", json={"runbook": "durable-test"}, headers=as_user("alice"), verify=LOCAL_TLS
        )
        assert started.status_code == 403  # only admins start runs
    finally:
        kill(server)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(cg: Crewgate, tmp_path: Path) -> None:
    """Fuzz every operation from /api/v1/openapi.json as an admin (who may call all of them).

    Left out: `positive_data_acceptance` (a schema-valid body may still name an unknown
    input: 422 is the answer) and `allow_header_conformance` (Litestar's automatic
    OPTIONS answer lists the methods of one handler of a path).
    """
    cg.home.mkdir(parents=True)
    accounts = Accounts(Store(cg.url).engine)
    accounts.add_user("root", "admin", PASSWORD)
    token = accounts.create_token("root")[1]
    server, base = serve(cg, tmp_path / "serve.log")
    schemathesis = Path(sys.executable).with_name("schemathesis")
    try:
        fuzzed = subprocess.run(
            [str(schemathesis), "run", f"{base}/openapi.json", "-H", f"Authorization: Bearer {token}"]
            + ["--checks", "all", "--exclude-checks", "positive_data_acceptance,allow_header_conformance"]
            + ["--max-examples", "40", "--seed", "1"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        kill(server)
    assert fuzzed.returncode == 0, fuzzed.stdout[-6000:]
    assert " passed" in fuzzed.stdout
