"""A review item tells its whole story, on the terminal and in the browser (README: "The review queue").

One run goes to its gate three times: a change request re-running only the check
(round 2: the artifact is byte for byte round 1's) and one re-running the step that
writes the change (round 3: 4 more lines). `review show` and the item page show the
request, the target in words, the requester, the rounds with their feedback and
"artifact unchanged since round 1"; the page numbers the diff's lines and folds each
file. Every read command's text output is scanned for Python values.
"""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import prefork
from tests.durable_helpers import Crewgate, durable_runbook, kill, make_repo
from tests.test_http_api import PASSWORD, serve, to_gate
from workflows.cli._display import FLAG_GUTTER, GUTTER
from workflows.store.accounts import Accounts
from workflows.store.database import Store

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("review_story")]

PYTHON_VALUES = re.compile(r"\b(True|False|None)\b|\[\]|\{\}|\(\)")


@dataclass(frozen=True)
class Rounds:
    cg: Crewgate
    repo: Path
    runbook: Path
    run_id: str
    items: tuple[str, str, str]


@pytest.fixture(scope="module")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rounds]:
    """One run at its gate for the third time: round 2 unchanged since round 1, round 3 changed."""
    tmp = tmp_path_factory.mktemp("story")
    cg = Crewgate(tmp / "home")
    repo = make_repo(tmp / "repo")
    runbook = durable_runbook(tmp / "rb", by_check=True)
    run_id, first = to_gate(cg, runbook, repo)
    again = cg.run(
        "review", "request-changes", first, "--reviewer", "bob", "-m", "Run the tests again", "--step", "test"
    )
    assert again.returncode == 10, again.stdout[-2000:] + again.stderr[-2000:]
    second = f"{run_id}-approve-2"
    twice = cg.run(
        "review", "request-changes", second, "--reviewer", "bob", "-m", "Write it once more", "--step", "implement"
    )
    assert twice.returncode == 10, twice.stdout[-2000:] + twice.stderr[-2000:]
    yield Rounds(cg, repo, runbook, run_id, (first, second, f"{run_id}-approve-3"))
    cg.stop_all()


def on_a_terminal(cg: Crewgate, *args: str, **extra: str) -> str:
    """What `crewgate ARGS` writes when its output is a terminal (a pseudo-terminal here)."""
    import pty
    import subprocess

    leader, follower = pty.openpty()
    process = subprocess.Popen([*prefork.command(), *args], stdout=follower, stderr=follower, env=cg.env(**extra))
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_review_show_prints_the_request_the_target_and_the_rounds(rounds: Rounds) -> None:
    cg, run_id, (_, second, third) = rounds.cg, rounds.run_id, rounds.items
    shown = cg.run("review", "show", second)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "requested by requester with durable-test@1.0.0" in text
    assert f"  repo: {rounds.repo}" in text
    assert (
        f"target: approving writes 1 commit (1 changed path) to the new branch crewgate/{run_id} "
        f"of the repository {rounds.repo}"
    ) in text
    assert "round 2 of this gate: artifact unchanged since round 1" in text
    assert 'bob request changes (step test): "Run the tests again"' in text
    assert "the requester (requester) may not approve" in text
    coloured = cg.run("--color", "always", "review", "show", second).stdout  # a pipe, yet colour was asked for
    assert "\x1b[32m  │ +def multiply(a, b):\x1b[0m" in coloured and "\x1b[36m  │ @@ " in coloured
    assert "\x1b[" not in text  # auto, not a terminal: no colour
    assert "\x1b[" not in cg.run("--color", "never", "review", "show", second).stdout
    on_terminal = on_a_terminal(cg, "review", "show", second)
    assert "\x1b[32m" in on_terminal  # auto on a terminal: colour
    assert "\x1b[" not in on_a_terminal(cg, "review", "show", second, NO_COLOR="1")
    later = cg.run("review", "show", third).stdout
    assert "round 3 of this gate: changed: +4 −0 lines since round 2" in later
    assert "  round 1 (" in later and "changed: +4 −0 lines since round 1" in later
    assert re.search(r"  implement\s+check\s+done after 2 tries: \(exit code 0\)", later), later


def test_the_queue_says_the_target_kept_at_the_gate_and_lists_without_loading_a_runbook(rounds: Rounds) -> None:
    """The gate step keeps where approving writes on the item; `review list` shows it and loads no runbook
    (nor pydantic, the template engine or YAML: seconds of a reviewer's day, a tenth of a second at a time)."""
    import json
    import subprocess
    import sys

    from sqlalchemy import select

    from workflows.store.tables import reviews

    cg, run_id = rounds.cg, rounds.run_id
    expected = f"approving writes 1 commit (1 changed path) to the new branch crewgate/{run_id} of the repository"
    with Store(cg.url).engine.connect() as db:
        kept = dict(db.execute(select(reviews.c.id, reviews.c.target).where(reviews.c.run_id == run_id)).all())
    assert set(kept) == set(rounds.items)
    assert all(target.startswith(expected) for target in kept.values()), kept
    listed = json.loads(cg.run("review", "list", "--json").stdout)
    assert {item["id"]: item["target"] for item in listed} == kept, "the queue shows what the gate kept"
    probe = (
        "import sys\nfrom workflows.cli import main\nsys.argv = ['crewgate', 'review', 'list']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['pydantic', 'jinja2', 'yaml', 'workflows.runbook.schema', 'workflows.runbook.loader']\n"
        "print([name for name in heavy if name in sys.modules], file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=cg.env(), timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
    assert run_id in done.stdout


def test_list_commands_have_header_rows_and_no_read_command_prints_python_values(rounds: Rounds) -> None:
    cg, run_id, items = rounds.cg, rounds.run_id, rounds.items
    assert cg.run("users", "add", "alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    assert cg.run("tokens", "create", "--user", "alice").returncode == 0
    assert cg.run("webhooks", "add", "http://127.0.0.1:9/hook", "--events", "review.created").returncode == 0
    scheduled = rounds.runbook.parent / "scheduled.yaml"
    scheduled.write_text(
        rounds.runbook.read_text().replace("version: 1.0.0", "version: 1.1.0")
        + "schedule:\n  - {name: nightly, cron: '0 3 * * *', inputs: {repo: /nowhere}}\n"
    )
    applied = cg.run("schedule", "apply", str(scheduled))
    assert applied.returncode == 0, applied.stderr
    rows = rounds.runbook.parent / "rows.jsonl"
    rows.write_text(f'{{"repo": "{rounds.repo}"}}\n')
    started = cg.run("batch", "start", str(rounds.runbook), "--inputs", str(rows), "--detach")
    assert started.returncode == 0, started.stderr
    batch_id = started.stdout.split()[1].rstrip(":")

    listed = cg.run("runs", "list").stdout.splitlines()
    assert listed[0].split() == ["RUN", "STATUS", "RUNBOOK", "REQUESTER", "COST", "CREATED"]
    queue = cg.run("review", "list").stdout.splitlines()
    assert queue[0].split() == ["ID", "STATUS", "AGE", "TITLE", "REQUESTER", "SIZE", "BATCH"]
    assert f"{items[2]}  pending" in queue[1] and "durable-test@1.0.0: " in queue[1]
    assert "+4 −0 in 1 path(s)" in queue[1] or "+8 −0 in 1 path(s)" in queue[1], queue

    commands = [
        ("runs", "list"),
        ("runs", "show", run_id),
        ("runs", "trace", run_id),
        ("review", "list"),
        *(("review", "show", item) for item in items),
        ("runbook", "list"),
        ("runbook", "validate", str(rounds.runbook)),
        ("batch", "list"),
        ("batch", "show", batch_id),
        ("schedule", "list"),
        ("schedule", "show", "nightly"),
        ("users", "list"),
        ("tokens", "list"),
        ("webhooks", "list"),
        ("workers",),
        ("sandbox", "envs"),
        ("tools", "list", str(rounds.runbook)),
    ]
    for command in commands:
        done = cg.run(*command)
        assert done.returncode == 0, (command, done.stderr)
        ours = [line for line in done.stdout.splitlines() if not line.startswith((GUTTER, FLAG_GUTTER))]
        found = [line for line in ours if PYTHON_VALUES.search(line)]
        assert not found, (command, found)


@pytest.mark.browser
def test_the_item_page_shows_the_story_line_numbers_and_folds_files(rounds: Rounds, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import launch

    cg, run_id, (first, second, third) = rounds.cg, rounds.run_id, rounds.items
    Accounts(Store(cg.url).engine).add_user("carol", "reviewer", PASSWORD)
    server, api = serve(cg, tmp_path / "serve.log")
    base = api.removesuffix("/api/v1")
    shots = Path(os.environ["CREWGATE_SCREENSHOTS"]) if os.environ.get("CREWGATE_SCREENSHOTS") else None
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo", locale="en-US")
            page.goto(f"{base}/login?next=/reviews/{second}")
            page.get_by_label("Name").fill("carol")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()

            expect(page.locator("#request")).to_contain_text(f"repo: {rounds.repo}")
            expect(page.locator("#target")).to_have_text(
                f"approving writes 1 commit (1 changed path) to the new branch crewgate/{run_id} "
                f"of the repository {rounds.repo}"
            )
            expect(page.locator("#requester")).to_have_text("requester")
            expect(page.locator("#round")).to_have_text("2 — artifact unchanged since round 1")
            expect(page.locator("#round-1")).to_contain_text("Run the tests again")
            expect(page.locator("#round-1 a")).to_have_attribute("href", f"/reviews/{first}")
            expect(page.locator("section.decide")).to_have_count(0)  # decided: no form

            page.goto(f"{base}/reviews/{third}")
            expect(page.locator("#round")).to_have_text("3 — changed: +4 −0 lines since round 2")
            approving = "Approving writes 1 commit (1 changed path) to the new branch"
            expect(page.locator("#approving")).to_contain_text(approving)
            expect(page.locator("select[name=step] option")).to_have_text(["implement", "test"])  # nothing refused
            if shots:
                page.screenshot(path=shots / "review-item.png", full_page=True)
            page.get_by_role("button", name="Reject").click()  # no message
            expect(page.get_by_role("alert").first).to_contain_text("a reject needs a message")
            assert cg.query("SELECT count(*) FROM crewgate_decisions WHERE review_id = ?", third) == [(0,)]

            added = page.locator("pre.diff .line.add").last
            expect(added).to_contain_text("return a * b")
            expect(added.locator(".ln").nth(1)).to_have_attribute("data-n", re.compile(r"^\d+$"))
            expect(added.locator(".ln").nth(0)).to_have_attribute("data-n", "")
            expect(page.locator("table.files a[href='#file-1']")).to_have_text("calc/ops.py")
            expect(page.locator("table.files")).to_contain_text("+8 −0")

            page.locator("#file-1 > summary").click()
            expect(added).to_be_hidden()
            page.locator("#file-1 > summary").click()
            expect(added).to_be_visible()

            page.get_by_label("Message").fill("Not this way")
            page.get_by_role("button", name="Reject").click()  # no worker runs: the run waits, decided
            expect(page.get_by_role("status")).to_contain_text("Your decision was recorded: reject")
            page.goto(f"{base}/runs/{run_id}")
            expect(page.locator("#run-continues")).to_contain_text(
                f"review {third} is decided (rejected); a worker will continue the run"
            )
            steps = page.locator("table.steps tbody tr")
            expect(steps.first.locator("td.took")).to_have_text(re.compile(r"^\d+\.\d+ s$"))
            started = steps.first.locator("time")  # shown in the viewer's zone (Tokyo here), UTC on hover
            expect(started).to_have_text(re.compile(r"GMT\+9"))
            expect(started).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\dT.*\+00:00 \(UTC\)$"))
            browser.close()
    finally:
        kill(server)
