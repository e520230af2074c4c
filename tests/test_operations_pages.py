"""The schedules and batches pages in Chromium (README: "The web review queue"): what they show, and who
may act on them.

A schedule in Europe/Paris fired twice by hand: the first tick starts a run (it waits at
its gate), the second is skipped because that run is unfinished. Its page says the cron in
words, lists the next five fire times in Paris and in UTC, and shows both ticks with the
run's status and the reason of the skip; an admin pauses it from the page, a viewer sees no
button and a viewer's post is refused. A detached batch of two rows shows its progress and
each row's inputs and run; an admin cancels it from the page, a viewer cannot. The same
data answers over /api/v1.
"""

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.browser import launch
from tests.durable_helpers import Crewgate, durable_runbook, kill, make_repo
from tests.helpers import LOCAL_TLS
from tests.test_http_api import PASSWORD, serve
from workflows.store.accounts import Accounts
from workflows.store.database import Store

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.browser]


def log_in(page, base: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login?next=/schedules")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_schedules_and_batches_pages_show_their_data_and_only_an_admin_acts(cg: Crewgate, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    repo = make_repo(tmp_path / "repo")
    runbook = durable_runbook(tmp_path / "rb", by_check=True)
    runbook.write_text(
        runbook.read_text()
        + f"schedule:\n  - {{name: nightly, cron: '30 3 * * *', timezone: Europe/Paris, inputs: {{repo: {repo}}}}}\n"
    )
    assert cg.run("schedule", "apply", str(runbook)).returncode == 0
    assert cg.run("schedule", "trigger", "nightly").returncode == 0
    assert cg.run("schedule", "trigger", "nightly").returncode == 0
    worker = cg.run("worker", "--until-idle", timeout=300)
    assert worker.returncode == 0, worker.stdout[-2000:] + worker.stderr[-2000:]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(f'{{"repo": "{repo}"}}\n{{"repo": "{repo}"}}\n')
    started = cg.run("batch", "start", str(runbook), "--inputs", str(rows), "--detach")
    assert started.returncode == 0, started.stderr
    batch_id = started.stdout.split()[1].rstrip(":")
    accounts = Accounts(Store(cg.url).engine)
    accounts.add_user("ada", "admin", PASSWORD)
    accounts.add_user("vic", "viewer", PASSWORD)
    (token,) = re.findall(r"cgt_\S+", cg.run("tokens", "create", "--user", "vic").stdout)
    server, api = serve(cg, tmp_path / "serve.log")
    base = api.removesuffix("/api/v1")
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            viewer = browser.new_page()
            log_in(viewer, base, "vic")
            expect(viewer.locator("table.schedules")).to_contain_text("at 03:30 every day (Europe/Paris)")
            viewer.get_by_role("link", name="nightly").click()
            expect(viewer.locator("#when")).to_contain_text("at 03:30 every day (Europe/Paris) — 30 3 * * *")
            fires = viewer.locator("table.fires tbody tr")
            expect(fires).to_have_count(5)
            expect(fires.first.locator("td").nth(0)).to_have_text(re.compile(r"T03:30:00\+0[12]:00$"))
            expect(fires.first.locator("td").nth(1)).to_have_text(re.compile(r"T0[12]:30:00(\+00:00|Z)$"))
            expect(viewer.locator("tr.tick.started")).to_contain_text("waiting")
            expect(viewer.locator("tr.tick.skipped")).to_contain_text("skipped")
            assert viewer.locator("tr.tick.skipped td").last.inner_text().strip()  # a reason is given
            expect(viewer.get_by_role("button", name="Pause")).to_have_count(0)
            if os.environ.get("CREWGATE_SCREENSHOTS"):  # README's screenshot of a schedule's page
                viewer.screenshot(path=Path(os.environ["CREWGATE_SCREENSHOTS"]) / "schedule.png", full_page=True)
            csrf = viewer.locator("form.logout input[name=_csrf_token]").get_attribute("value")
            refused = viewer.request.post(f"{base}/schedules/nightly/pause", form={"_csrf_token": csrf or ""})
            assert refused.status == 403
            viewer.goto(f"{base}/batches/{batch_id}")
            expect(viewer.locator("#progress")).to_have_text("2 queued of 2")
            expect(viewer.locator("table.batch-runs tbody tr")).to_have_count(2)
            expect(viewer.locator("table.batch-runs")).to_contain_text(f"repo={repo}")
            expect(viewer.get_by_role("button", name="Cancel the batch")).to_have_count(0)
            refused = viewer.request.post(f"{base}/batches/{batch_id}/cancel", form={"_csrf_token": csrf or ""})
            assert refused.status == 403

            admin = browser.new_page()
            log_in(admin, base, "ada")
            admin.goto(f"{base}/schedules/nightly")
            admin.get_by_role("button", name="Pause").click()
            expect(admin.locator("#state")).to_have_text("paused")
            expect(admin.get_by_role("button", name="Resume")).to_be_visible()
            admin.get_by_role("button", name="Trigger now").click()
            expect(admin.get_by_role("status")).to_have_text("A tick is queued: a worker fires it.")
            admin.goto(f"{base}/batches")
            admin.get_by_role("link", name=batch_id).click()
            admin.get_by_role("button", name="Cancel the batch").click()
            expect(admin.locator("#progress")).to_have_text("2 cancelled of 2")
            browser.close()
        headers = {"Authorization": f"Bearer {token}"}
        (listed,) = httpx.get(f"{api}/schedules", headers=headers, verify=LOCAL_TLS).json()
        assert listed["cron_words"] == "at 03:30 every day (Europe/Paris)" and listed["paused"] is True
        shown = httpx.get(f"{api}/schedules/nightly", headers=headers, verify=LOCAL_TLS).json()
        assert len(shown["next_fires"]) == 5 and {tick["outcome"] for tick in shown["recent"]} >= {"started", "skipped"}
        batch = httpx.get(f"{api}/batches/{batch_id}", headers=headers, verify=LOCAL_TLS).json()
        assert batch["counts"]["cancelled"] == 2 and batch["runs"][0]["inputs"] == {"repo": str(repo)}
    finally:
        kill(server)
    assert cg.query("SELECT paused FROM crewgate_schedules WHERE name = 'nightly'") == [(1,)]
    assert cg.query("SELECT count(*) FROM crewgate_schedule_ticks WHERE kind = 'trigger'") == [(3,)]
