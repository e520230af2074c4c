"""The review queue's pages on a real `crewgate serve` process, driven over HTTP like a browser would.

Login sets a signed, HttpOnly, SameSite=Strict session cookie and is throttled
after failures; a form post without its CSRF token is refused with 403 and
records nothing; the item page shows a file named with U+202E and diff lines
carrying OSC 8 and screen-clearing escapes as visible, flagged text (and so does
`crewgate review show`); a file name and a line that are HTML arrive as text;
the approval form binds to the sha256 the page showed; logout ends the session
on the server.
"""

import re
from pathlib import Path

import httpx
import pytest

from tests.durable_helpers import Crewgate, git, kill, make_repo
from tests.helpers import LOCAL_TLS
from tests.test_http_api import PASSWORD, serve, to_gate
from workflows.store.accounts import Accounts
from workflows.store.database import Store

HOSTILE = """\
name: hostile-diff
version: 1.0.0
inputs:
  repo: {type: path}
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Code}
sandbox: {timeout_s: 60}
steps:
  - id: implement
    check: |
      printf '\\n\\ndef multiply(a, b):\\n    return a * b\\n' >> calc/ops.py
      printf '# see \\033]8;;https://evil.example\\033\\\\here\\033]8;;\\033\\\\ then \\033[2J\\n' >> calc/ops.py
      printf 'x = 1\\n' > "$(printf 'evil\\342\\200\\256txt.py')"
      printf 'z = "</pre><script>alert(1)</script>"\\n' > '<img src=x onerror=alert(1)>.py'
      printf 'x\\n' > "$(printf 'csi_\\2332J\\23331m_red.txt')"
      printf 'y\\n' > "$(printf 'nel_\\205+ approved.txt')"
  - {id: approve, gate: {}}
  - {id: ship, promote: {to: git, repo: "{{ inputs.repo }}", branch: "crewgate/{{ run.id }}"}}
"""


def hostile_runbook(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replies.yaml").write_text("coder:\n  - <final_answer>Nothing to do.</final_answer>\n")
    (folder / "runbook.yaml").write_text(HOSTILE)
    return folder / "runbook.yaml"


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1)


def log_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"name": name, "password": password, "_csrf_token": token, "next": "/reviews"})


@pytest.mark.docker
@pytest.mark.slow
def test_pages_log_in_show_hostile_text_flagged_refuse_posts_without_csrf_and_approve(
    cg: Crewgate, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    run_id, review_id = to_gate(cg, hostile_runbook(tmp_path / "rb"), repo)
    accounts = Accounts(Store(cg.url).engine)
    accounts.add_user("alice", "reviewer", PASSWORD)
    accounts.add_user("mallory", "viewer", PASSWORD)
    server, api = serve(cg, tmp_path / "serve.log")
    base = api.removesuffix("/api/v1")
    try:
        with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as client:
            assert client.get("/reviews").headers["location"].startswith("/login")  # not logged in: to the login page
            assert log_in(client, "alice", "wrong password!").status_code == 401
            logged = log_in(client, "alice")
            assert logged.status_code == 303 and logged.headers["location"] == "/reviews"
            cookie = next(v for k, v in logged.headers.multi_items() if k == "set-cookie" and "crewgate_session" in v)
            assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()

            queue = client.get("/reviews")
            assert queue.status_code == 200 and "<title>(1) Review queue" in queue.text and review_id in queue.text
            csp = queue.headers["content-security-policy"]
            assert (
                "script-src 'self'" in csp and "unsafe-inline" not in csp and queue.headers["x-frame-options"] == "DENY"
            )
            assert queue.headers["cache-control"] == "no-store"

            page = client.get(f"/reviews/{review_id}")
            assert page.status_code == 200 and "def multiply" in page.text
            assert "\x1b" not in page.text and "\u202e" not in page.text
            assert "evil\\u202etxt.py" in page.text and "name: bidi control U+202E" in page.text
            assert "\\x1b]8;;https://evil.example" in page.text and "\\x1b[2J" in page.text
            assert "contains a terminal escape sequence" in page.text and "hidden characters" in page.text
            assert "csi_\\x9b2J\\x9b31m_red.txt" in page.text and "name: undecodable byte 0x9B" in page.text
            assert "nel_\\x85+ approved.txt" in page.text and "name: undecodable byte 0x85" in page.text
            assert "<script>alert" not in page.text and "<img src=x" not in page.text  # markup from a run is text
            assert (
                "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
                and "&lt;img src=x onerror=alert(1)&gt;.py" in page.text
            )
            sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', page.text)
            assert sha is not None

            forged = client.post(f"/reviews/{review_id}/decide", data={"decision": "approve", "sha256": sha.group(1)})
            assert forged.status_code == 403 and "CSRF" in forged.text
            assert cg.query("SELECT count(*) FROM crewgate_decisions WHERE review_id = ?", review_id) == [(0,)]

            assert "<option>implement</option>" in page.text and "<option>ship</option>" not in page.text  # only steps
            token = csrf_of(page.text)  # a request-changes would accept: the check before the gate, not the promotion
            silent = {"decision": "reject", "sha256": sha.group(1), "_csrf_token": token, "message": "  "}
            refused = client.post(f"/reviews/{review_id}/decide", data=silent)
            assert refused.status_code == 422 and "needs a message saying why" in refused.text, refused.text[-500:]
            assert cg.query("SELECT count(*) FROM crewgate_decisions WHERE review_id = ?", review_id) == [(0,)]

            form = {"decision": "approve", "sha256": "0" * 64, "_csrf_token": csrf_of(page.text), "message": "ok"}
            stale = client.post(f"/reviews/{review_id}/decide", data=form)
            assert stale.status_code == 409 and "is not the artifact of" in stale.text
            approved = client.post(f"/reviews/{review_id}/decide", data={**form, "sha256": sha.group(1)})
            assert approved.status_code == 303, approved.text[:2000]
            decided = cg.query("SELECT reviewer, decision, artifact_sha256 FROM crewgate_decisions")
            assert decided == [("alice", "approve", sha.group(1))]

            signed_cookie = client.cookies["crewgate_session"]
            session_token = signed_cookie.rsplit(".", 1)[0]  # a web login is not an API token, nor listed as one
            assert (
                httpx.get(
                    f"{api}/reviews", headers={"Authorization": f"Bearer {session_token}"}, verify=LOCAL_TLS
                ).status_code
                == 401
            )
            assert accounts.tokens() == []
            assert client.post("/logout", data={"_csrf_token": csrf_of(client.get("/runs").text)}).status_code == 303
            client.cookies.set("crewgate_session", signed_cookie)  # a copy kept after logout no longer works
            assert client.get("/reviews").status_code == 303

        with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as viewer:
            assert log_in(viewer, "mallory").status_code == 303
            shown = viewer.get(f"/reviews/{review_id}")
            assert shown.status_code == 200 and "Your decision" not in shown.text  # viewers get no form
            tampered = viewer.cookies["crewgate_session"][:-2] + "xx"
            viewer.cookies.set("crewgate_session", tampered)
            assert viewer.get("/reviews").status_code == 303

        with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as guesser:
            codes = [log_in(guesser, "alice", f"guess number {n}").status_code for n in range(6)]
            assert codes == [401] * 5 + [429], codes  # five failures per name, then a wait
            assert log_in(guesser, "alice").status_code == 429  # even the right password, until the wait is over
    finally:
        kill(server)

    blank = cg.run("review", "reject", review_id, "--reviewer", "bob", "-m", " ")
    assert blank.returncode == 2 and "needs a message saying why" in blank.stderr, blank.stderr
    text = cg.run("review", "show", review_id).stdout
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b]8;;https://evil.example" in text and "\\x1b[2J" in text and "terminal escape U+001B" in text
    assert "evil\\u202etxt.py" in text and "bidi control U+202E" in text
    worker = cg.run("worker", "--until-idle", "--json")
    assert worker.returncode == 0, worker.stdout[-2000:] + worker.stderr[-2000:]
    assert cg.show(run_id)["status"] == "promoted"
    assert git(repo, "rev-list", "--count", f"main..crewgate/{run_id}") == "1"
