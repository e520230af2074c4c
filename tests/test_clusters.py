"""Cluster review (README: "The review queue", Clusters): a batch that makes the same change on many
repositories is read once and decided once, each decision still bound to its own item's sha256.

Six copies of the sample repository get the same change: one cluster of six; one
`review approve --cluster` records six decisions, each with its own item's sha256, and a
worker promotes six branches. In a batch where one row's change differs in one line, that
item stays out of the cluster, the cluster page shows what differs, and a decision on the
cluster (from the page, in Chromium) leaves it undecided; a decision naming an artifact the
cluster does not hold records nothing.
"""

import json
import os
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, git, kill, make_repo
from tests.test_http_api import PASSWORD, serve
from workflows.service.clusters import decide_cluster
from workflows.service.run_services import open_services
from workflows.store.accounts import Accounts
from workflows.store.database import Store

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNBOOK = """\
name: same-change
version: 1.0.0
inputs:
  repo: {type: path}
  factor: {type: string, default: "1"}
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Code}
sandbox: {timeout_s: 60}
steps:
  - id: implement
    check: "printf '\\\\n\\\\ndef multiply(a, b):\\\\n    return a * b * {{ inputs.factor }}\\\\n' >> calc/ops.py"
  - {id: approve, gate: {}}
  - {id: ship, promote: {to: git, repo: "{{ inputs.repo }}", branch: "crewgate/{{ run.id }}"}}
"""


def batch_at_gates(cg: Crewgate, tmp_path: Path, factors: list[str]) -> tuple[str, list[Path]]:
    """A batch of one run per factor, each on its own copy of the sample repository, every run at its gate."""
    book = tmp_path / "book"
    book.mkdir()
    (book / "runbook.yaml").write_text(RUNBOOK)
    (book / "replies.yaml").write_text("coder:\n  - Nothing to do.\n")
    repos = [make_repo(tmp_path / f"repo{number}") for number in range(len(factors))]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"repo": str(repo), "factor": factor}) + "\n"
            for repo, factor in zip(repos, factors, strict=True)
        )
    )
    done = cg.run("batch", "start", str(book / "runbook.yaml"), "--inputs", str(rows), "--concurrency", "2", "--json")
    assert done.returncode == 10, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[0])["id"], repos


def test_one_approval_of_a_six_item_cluster_gives_six_decisions_and_six_promotions(
    cg: Crewgate, tmp_path: Path
) -> None:
    batch, repos = batch_at_gates(cg, tmp_path, ["1"] * 6)
    (cluster,) = json.loads(cg.run("review", "clusters", "--batch", batch, "--json").stdout)
    assert cluster["items"] == 6 and cluster["batch"] == batch
    shown = cg.run("review", "cluster", cluster["id"]).stdout
    assert shown.count("  identical") == 6, shown
    assert "other pending items" not in shown

    own = cg.run("review", "approve", "--cluster", cluster["id"], "--reviewer", cg.requester)  # policy per item
    assert own.returncode == 1 and own.stdout.count("started this run") == 6, own.stdout + own.stderr
    assert "0 of 6 member(s) decided" in own.stdout and cg.query("SELECT count(*) FROM crewgate_decisions") == [(0,)]
    decided = cg.run("review", "approve", "--cluster", cluster["id"], "--reviewer", "alice")
    assert decided.returncode == 0, decided.stdout + decided.stderr
    assert "6 of 6 member(s) decided" in decided.stdout
    rows = cg.query(
        "SELECT d.review_id, d.artifact_sha256, r.artifact_sha256, d.decision FROM crewgate_decisions d "
        "JOIN crewgate_reviews r ON r.id = d.review_id"
    )
    assert len(rows) == 6 and len({row[0] for row in rows}) == 6
    assert all(own == item and decision == "approve" for _, own, item, decision in rows)

    worker = cg.run("worker", "--until-idle", timeout=600)
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]
    assert cg.query("SELECT count(*) FROM crewgate_promotions WHERE status = 'done'") == [(6,)]
    for repo in repos:
        (branch,) = [name for name in git(repo, "branch", "--format=%(refname:short)").split() if name != "main"]
        assert "return a * b * 1" in git(repo, "show", f"{branch}:calc/ops.py")
    assert json.loads(cg.run("review", "clusters", "--json").stdout) == []


@pytest.mark.browser
def test_an_item_whose_change_differs_in_one_line_stays_out_and_undecided(
    cg: Crewgate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import launch

    batch, _ = batch_at_gates(cg, tmp_path, ["1", "2", "1"])
    (cluster,) = json.loads(cg.run("review", "clusters", "--batch", batch, "--json").stdout)
    assert cluster["items"] == 2
    items = {row[0]: row[1] for row in cg.query("SELECT id, artifact_sha256 FROM crewgate_reviews")}
    members = [line.split()[0] for line in cg.run("review", "cluster", cluster["id"]).stdout.splitlines()[1:3]]
    (outsider,) = set(items) - set(members)
    text = cg.run("review", "cluster", cluster["id"]).stdout
    assert f"  {outsider}  sha256 {items[outsider][:12]}  differs:" in text
    assert "- +    return a * b * 1" in text and "+ +    return a * b * 2" in text

    monkeypatch.setenv("CREWGATE_HOME", str(cg.home))  # the blobs' folder
    services = open_services(cg.url)
    forged = decide_cluster(services, cluster["id"], "bob", "approve", shown={members[0]: "0" * 64})
    assert forged.decided == () and {item.review_id for item in forged.skipped} == set(members)
    assert cg.query("SELECT count(*) FROM crewgate_decisions") == [(0,)]

    Accounts(Store(cg.url).engine).add_user("carol", "reviewer", PASSWORD)
    server, api = serve(cg, tmp_path / "serve.log")
    base = api.removesuffix("/api/v1")
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/login?next=/reviews")
            page.get_by_label("Name").fill("carol")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.locator("table.clusters td.size")).to_have_text("2 items")
            expect(page.locator("table.queue").last).to_contain_text(outsider)
            page.locator("table.clusters a.title").click()
            expect(page.locator("td.relation")).to_have_text(["identical", "identical"])
            expect(page.locator("#other-1")).to_contain_text("+ +    return a * b * 2")
            if os.environ.get("CREWGATE_SCREENSHOTS"):
                page.screenshot(path=Path(os.environ["CREWGATE_SCREENSHOTS"]) / "review-cluster.png", full_page=True)
            page.get_by_role("button", name="Approve all").click()
            expect(page.get_by_role("status")).to_contain_text("2 of 2 member(s) decided: approve")
            browser.close()
    finally:
        kill(server)
    decided = dict(cg.query("SELECT review_id, artifact_sha256 FROM crewgate_decisions"))
    assert decided == {member: items[member] for member in members}
    assert cg.query("SELECT status FROM crewgate_reviews WHERE id = ?", outsider) == [("pending",)]
