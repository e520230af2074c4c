"""The review surfaces' holes closed (issue 23), each tried against a real `crewgate serve` as an attacker would.

Crew-written text cannot fake a line of the diff (in the browser and in `review show`);
a decision's fields are checked before anything is recorded; the login throttle is kept
in the database, keyed by the account, shared by servers and restarts; X-Forwarded-For
counts only from a named proxy; deep JSON is 422; confirmations come from the records;
redirects carry the security headers; CSRF, Origin and cookie names hold.
"""

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.durable_helpers import Crewgate, kill, make_repo
from tests.helpers import LOCAL_TLS, crewgate_bytes
from tests.test_gate_integrity import runbook, to_gate
from tests.test_http_api import PASSWORD, serve
from tests.test_web_pages import csrf_of, log_in
from workflows.store.accounts import Accounts
from workflows.store.database import Store

SPOOFS = {  # each becomes a line of its own to str.splitlines(): a fake diff line, header, hunk or note
    "lone CR": "e = 5\r+    approved_by_admin = True",
    "NEL": "c = 3\x85diff --git a/X b/X",
    "record separator": "d = 4\x1e@@ -1,1 +1,1 @@",
    "line separator": "a = 1\u2028-    return a - b",
    "paragraph separator": "f = 6\u2029[crewgate: nothing else changed]",
    "vertical tab": "g = 7\x0b+    also_fake = 1",
    "form feed": "h = 8\x0c+    fake_too = 2",
}
SPOOFING_CODE = (
    "open('spoof.py', 'w', newline='').write(" + repr("".join(line + "\n" for line in SPOOFS.values())) + ")"
)
GATE_ONLY = "  - {id: approve, gate: {}}\n"


def serve_with(cg: Crewgate, log: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """A `crewgate serve` with `options`, once it answers; its base URL."""
    server, api = serve(cg, log, *options)
    return server, api.removesuffix("/api/v1")


def spoofed_item(cg: Crewgate, tmp_path: Path) -> str:
    book = runbook(tmp_path / "rb", SPOOFING_CODE, steps=GATE_ONLY, by_check=True, name="spoof")
    return to_gate(cg, book, f"repo={make_repo(tmp_path / 'repo')}")[1]


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.browser
def test_crew_written_separators_stay_inside_their_line_in_the_browser_and_the_terminal(
    cg: Crewgate, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    review_id = spoofed_item(cg, tmp_path)
    Accounts(Store(cg.url).engine).add_user("alice", "reviewer", PASSWORD)
    server, base = serve_with(cg, tmp_path / "serve.log")
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page()
            page.goto(f"{base}/login")
            page.get_by_label("Name").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto(f"{base}/reviews/{review_id}")
            rows = page.locator("pre.diff .line").evaluate_all(
                "lines => lines.map(l => [l.className, l.querySelector('.sign')?.textContent || '', l.textContent])"
            )
            banner = page.locator("section.changes p.warning").first.text_content() or ""
            browser.close()
    finally:
        kill(server)
    added = [(kind, text) for kind, sign, text in rows if "add" in kind.split()]
    assert len(added) == len(SPOOFS), rows  # one added line per written line: nothing split off
    for (kind, text), line in zip(added, SPOOFS.values(), strict=True):
        assert "flagged" in kind.split() and text.removeprefix("+").startswith(line.split()[0]), (kind, text)
    kinds = [kind.split()[1] for kind, _, _ in rows]
    assert kinds.count("file") == 1 and kinds.count("hunk") == 1 and "del" not in kinds and "note" not in kinds
    assert f"{len(SPOOFS)} line(s) of this diff contain hidden characters" in banner

    shown = crewgate_bytes("review", "show", review_id, env=cg.env())
    for raw in (b"\r", b"\x85", b"\x1e", b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\x0b", b"\x0c"):
        assert raw not in shown, raw
    diff = shown.decode().split("== diff")[1].split("== evidence")[0]
    spoof_lines = [line for line in diff.splitlines() if "e = 5" in line or "[crewgate: nothing" in line]
    assert len(spoof_lines) == 2 and all(line.startswith("  ⚠ +") for line in spoof_lines), spoof_lines


@pytest.mark.docker
@pytest.mark.slow
def test_decisions_and_requests_are_checked_before_anything_is_recorded(cg: Crewgate, tmp_path: Path) -> None:
    review_id = spoofed_item(cg, tmp_path)
    accounts = Accounts(Store(cg.url).engine)
    accounts.add_user("alice", "reviewer", PASSWORD)
    _, token = accounts.create_token("alice")
    sha = cg.query("SELECT artifact_sha256 FROM crewgate_reviews")[0][0]
    server, base = serve_with(cg, tmp_path / "serve.log")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        decisions = f"{base}/api/v1/reviews/{review_id}/decisions"
        refused = {
            "step on an approval": {"decision": "approve", "sha256": sha, "step": "\u202eevil\x1b[2J"},
            "plain step on an approval": {"decision": "approve", "sha256": sha, "step": "implement"},
            "no sha256": {"decision": "approve"},
            "a message of 10,001 characters": {"decision": "approve", "sha256": sha, "message": "x" * 10_001},
        }
        for why, body in refused.items():
            answer = httpx.post(decisions, json=body, headers=auth, verify=LOCAL_TLS)
            assert answer.status_code == 422, (why, answer.status_code, answer.text)
        deep = "[" * 20_000 + "]" * 20_000
        for url in (decisions, f"{base}/api/v1/runs"):
            answer = httpx.post(
                url, content=deep, headers={**auth, "Content-Type": "application/json"}, verify=LOCAL_TLS
            )
            assert answer.status_code == 422 and "nests deeper" in answer.json()["detail"], answer.text[:300]
            assert answer.headers["x-frame-options"] == "DENY"
        assert cg.query("SELECT count(*) FROM crewgate_decisions") == [(0,)]
        long = cg.run("review", "reject", review_id, "--reviewer", "bob", "-m", "y" * 10_001)
        assert long.returncode == 2 and "at most 10000" in long.stderr
        ok = httpx.post(
            decisions,
            json={"decision": "approve", "sha256": sha, "message": "z" * 10_000},
            headers=auth,
            verify=LOCAL_TLS,
        )
        assert ok.status_code == 201, ok.text

        with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as client:
            login = client.get("/reviews")
            assert login.status_code == 303 and login.headers["x-frame-options"] == "DENY"
            assert "default-src 'none'" in login.headers["content-security-policy"]
            log_in(client, "alice")
            page = client.get(f"/reviews/{review_id}?done=<b>forged%20approve</b>")
            assert "forged" not in page.text and "Your decision was recorded: approve." in page.text
            reflected = client.get("/reviews?batch=%E2%80%AEevil")
            assert "\u202e" not in reflected.text and "\\u202eevil" in reflected.text
    finally:
        kill(server)


@pytest.mark.docker
def test_csrf_origin_and_cookie_names_hold(cg: Crewgate, tmp_path: Path) -> None:
    cg.home.mkdir(parents=True)
    Accounts(Store(cg.url).engine).add_user("alice", "reviewer", PASSWORD)
    server, base = serve_with(cg, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as client:
            before = client.get("/login")
            old_token = client.cookies["crewgate_csrf"]
            sneaky = client.post("/reviews/api/decide", data={"decision": "approve"})
            assert sneaky.status_code == 403 and "CSRF" in sneaky.text  # "/api/" elsewhere in a path is no API
            token = csrf_of(before.text)
            foreign = client.post(
                "/login",
                data={"name": "alice", "password": PASSWORD, "_csrf_token": token, "next": "/reviews"},
                headers={"Origin": "http://evil.example"},
            )
            assert foreign.status_code == 403 and "refused" in foreign.text
            logged = log_in(client, "alice")
            assert logged.status_code == 303
            assert any(
                "crewgate_csrf=" in value and ("max-age=0" in value.lower() or "expires=" in value.lower())
                for key, value in logged.headers.multi_items()
                if key == "set-cookie"
            )
            client.get("/reviews")
            assert client.cookies.get("crewgate_csrf") not in (None, old_token)  # a new token after login
    finally:
        kill(server)
    secure, secure_base = serve_with(cg, tmp_path / "secure.log", "--https-proxy")
    try:
        with httpx.Client(base_url=secure_base, timeout=30, verify=LOCAL_TLS) as client:
            page = client.get("/login")
            cookies = [value for key, value in page.headers.multi_items() if key == "set-cookie"]
            csrf = next(value for value in cookies if value.startswith("__Host-crewgate_csrf="))
            assert "Secure" in csrf and "Path=/" in csrf and "Domain" not in csrf
            done = client.post(  # the client keeps no Secure cookie over http: send it as a browser over https would
                "/login",
                data={"name": "alice", "password": PASSWORD, "_csrf_token": csrf_of(page.text), "next": "/reviews"},
                headers={"Cookie": csrf.split(";")[0]},
            )
            issued = [value for key, value in done.headers.multi_items() if key == "set-cookie"]
            assert any(value.startswith("__Host-crewgate_session=") and "Secure" in value for value in issued), issued
            removed = next(value for value in issued if value.startswith("__Host-crewgate_csrf="))
            assert "Max-Age=0" in removed and "Secure" in removed  # a browser honours it: a new token follows
    finally:
        kill(secure)


def failed_logins(base: str, name: str, times: int, forwarded: str | None = None) -> list[int]:
    codes = []
    with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as client:
        for _ in range(times):
            token = csrf_of(client.get("/login").text)
            headers = {"X-Forwarded-For": forwarded} if forwarded else {}
            data = {"name": name, "password": "wrong password!", "_csrf_token": token, "next": "/reviews"}
            codes.append(client.post("/login", data=data, headers=headers).status_code)
    return codes


@pytest.mark.docker
@pytest.mark.slow
def test_the_login_throttle_is_per_account_shared_kept_and_not_fooled_by_forwarded_headers(
    cg: Crewgate, tmp_path: Path
) -> None:
    cg.home.mkdir(parents=True)
    accounts = Accounts(Store(cg.url).engine)
    accounts.add_user("victim", "reviewer", PASSWORD)
    first, base = serve_with(cg, tmp_path / "one.log")
    second, other = serve_with(cg, tmp_path / "two.log")
    try:
        assert failed_logins(base, "victim", 3) == [401] * 3
        assert failed_logins(other, "Victim", 2) == [401] * 2  # another server, another spelling: one account
        with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as client:
            assert log_in(client, "\uff56ictim").status_code == 429  # fullwidth v: the same account, throttled
        kill(first)
        first, base = serve_with(cg, tmp_path / "one-again.log")  # a restart forgets nothing
        with httpx.Client(base_url=base, timeout=30, verify=LOCAL_TLS) as client:
            assert log_in(client, "victim").status_code == 429
        codes = [
            code
            for n in range(21)
            for code in failed_logins(base, f"nobody{n}", 1, forwarded=f"192.0.2.{n}")  # made up, and ignored
        ]
        assert codes[-1] == 429 and codes[:20].count(401) >= 14, codes  # the connection's address is counted
    finally:
        kill(first)
        kill(second)
    proxied, base = serve_with(cg, tmp_path / "proxy.log", "--forwarded-allow-ips", "127.0.0.1")
    try:  # behind a named proxy (nginx writes the client's address), each client is counted apart
        assert failed_logins(base, "someone", 1, forwarded="192.0.2.77") == [401]
        for n in range(20):
            failed_logins(base, f"guess{n}", 1, forwarded="192.0.2.99")
        assert failed_logins(base, "fresh", 1, forwarded="192.0.2.99")[-1] == 429
        assert failed_logins(base, "fresh", 1, forwarded="198.51.100.1, 192.0.2.99")[-1] == 429  # appending fails
        assert failed_logins(base, "other", 1, forwarded="192.0.2.77") == [401]  # another client is not locked out
    finally:
        kill(proxied)


@pytest.mark.docker
def test_a_burst_of_simultaneous_guesses_gets_five_tries_not_forty(cg: Crewgate, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cg.home.mkdir(parents=True)
    Accounts(Store(cg.url).engine).add_user("burst", "reviewer", PASSWORD)
    server, base = serve_with(cg, tmp_path / "serve.log")
    try:
        forms = []
        for _ in range(20):  # each guess from its own browser, all ready before any is sent
            client = httpx.Client(base_url=base, timeout=60, verify=LOCAL_TLS)
            forms.append((client, csrf_of(client.get("/login").text)))

        def guess(form: tuple[httpx.Client, str]) -> int:
            client, token = form
            data = {"name": "burst", "password": "wrong password!", "_csrf_token": token, "next": "/reviews"}
            return client.post("/login", data=data).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(guess, forms))
        for client, _ in forms:
            client.close()
    finally:
        kill(server)
    assert sorted(codes) == [401] * 5 + [429] * 15, codes  # counted before each password is checked
