"""A reviewer in a real browser: Chromium, driven by Playwright, against a real `crewgate serve`.

Log in, open the queue, open the item, see the diff, approve, and watch the run
page (its live part polled by htmx) turn to promoted while a real `crewgate
worker` promotes; the git branch exists afterwards. The page runs under the
server's Content-Security-Policy: a violation (an inline script or style that
the policy blocks) shows in the console and fails the test.
With CREWGATE_SCREENSHOTS=DIR the queue is saved there (README's screenshots come from here;
the item page's from tests/test_review_story.py).
"""

import os
from pathlib import Path

import pytest

from tests.browser import launch
from tests.durable_helpers import Crewgate, durable_runbook, git, kill, make_repo
from tests.test_http_api import PASSWORD, serve, to_gate
from workflows.store.accounts import Accounts
from workflows.store.database import Store


@pytest.mark.browser
@pytest.mark.docker
@pytest.mark.slow
def test_a_reviewer_logs_in_reads_the_diff_approves_and_watches_the_run_promote(cg: Crewgate, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    repo = make_repo(tmp_path / "repo")
    run_id, review_id = to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    Accounts(Store(cg.url).engine).add_user("alice", "reviewer", PASSWORD)
    server, api = serve(cg, tmp_path / "serve.log")
    worker = cg.start_logged(tmp_path / "worker.log", "worker", "--json")
    base = api.removesuffix("/api/v1")
    shots = Path(os.environ["CREWGATE_SCREENSHOTS"]) if os.environ.get("CREWGATE_SCREENSHOTS") else None
    console: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.goto(f"{base}/reviews")
            expect(page).to_have_url(f"{base}/login?next=/reviews")
            page.get_by_label("Name").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()

            expect(page).to_have_title("(1) Review queue · crewgate")
            if shots:
                page.screenshot(path=shots / "review-queue.png")
            page.get_by_role("link", name=review_id).click()
            diff = page.get_by_label("diff")
            expect(diff).to_contain_text("def multiply(a, b):")
            expect(page.locator("pre.diff .line.add").first).to_be_visible()
            sha = cg.query("SELECT artifact_sha256 FROM crewgate_reviews WHERE id = ?", review_id)[0][0]
            expect(page.locator("code.sha").first).to_have_text(sha)
            page.get_by_label("Message").fill("looks right")
            page.get_by_role("button", name="Approve").click()
            expect(page.get_by_role("status")).to_contain_text("Your decision was recorded: approve")

            page.get_by_role("link", name=run_id).first.click()
            expect(page.locator("#run-status")).to_have_text("promoted", timeout=90_000)  # htmx polls every 2 s
            expect(page.locator("p.promotion")).to_contain_text(f"crewgate/{run_id}")
            browser.close()
    finally:
        kill(server)
        kill(worker)
    assert not [line for line in console if "Content Security Policy" in line or line.startswith("error")], console
    assert cg.query("SELECT reviewer, decision, message FROM crewgate_decisions") == [
        ("alice", "approve", "looks right")
    ]
    assert git(repo, "rev-list", "--count", f"main..crewgate/{run_id}") == "1"
