"""Webhooks against a real receiver on 127.0.0.1, posted by real crewgate processes.

The receiver answers each path from a script (500, 500, then 200...) and keeps
every request with the time it came. A run reaching its gate in a `crewgate
worker` records `review.created`; the worker's delivery workflow retries it
through two 500s and delivers it once, each attempt signed at its own time: the
receiver's check (signing.check_signature) accepts each as it came and refuses
the same request replayed later than its tolerance. A receiver that always
fails shows as failed, with its last error, in `webhooks list`. The approving
`review approve` hosts the rest of the run and posts `review.decided` and
`run.finished` before it exits. The `text` of every event escapes what its
stored fields hold. Bad URLs and events are refused with exit code 2 and
nothing stored.
"""

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.durable_helpers import Crewgate, durable_runbook, kill, pending_review, queue_runs
from tests.helpers import wait_until
from tests.stored_rows import stored_run
from workflows.errors import BadInput
from workflows.store.database import Store
from workflows.store.records import Records
from workflows.store.tables import webhook_deliveries
from workflows.webhooks import (
    SIGNATURE_HEADER,
    TOLERANCE_S,
    SignatureRefused,
    Webhooks,
    check_signature,
    record_event,
    review_created,
    review_decided,
    run_finished,
    verify,
)
from workflows.webhooks.outbox import attempt
from workflows.webhooks.post import DeliveryFailed

SECRET = "s3cret-only-the-receiver-knows"  # noqa: S105 - the test hook's signing key
OTHER_SECRET = "another-key-read-from-stdin"  # noqa: S105
FAST_RETRIES = {"CREWGATE_WEBHOOK_RETRY_S": "0.2", "CREWGATE_WEBHOOK_ATTEMPTS": "3"}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float  # the receiver's clock when the request came, unix seconds

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    def signed_by(self, secret: str) -> bool:
        """What a receiver checks when the request comes: signed with `secret`, within the tolerance of now."""
        return verify(secret, self.headers.get(SIGNATURE_HEADER), self.body, self.at)

    @property
    def signed_at(self) -> int:
        return int(self.headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))


@dataclass
class Receiver:
    """An HTTP server answering each path from its script (the last answer repeats), keeping every request."""

    scripts: dict[str, list[int]]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    seen = sum(1 for item in receiver.received if item.path == self.path)
                    script = receiver.scripts.get(self.path, [404])
                    status = script[min(seen, len(script) - 1)]
                    receiver.received.append(Received(self.path, dict(self.headers), body, status, time.time()))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads `received`."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.path == path]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    """A receiver: /flaky answers 500, 500, then 200; /down always 500; /ok always 200. And its base URL."""
    found = Receiver({"/flaky": [500, 500, 200], "/down": [500], "/ok": [200]})
    server = found.start()
    yield found, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.docker
@pytest.mark.slow
def test_review_created_is_delivered_once_after_two_500s_signed_and_failures_show_in_list(
    cg: Crewgate, repo: Path, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    received, base = receiver
    hooks = {}
    for path, args, stdin in [
        ("/flaky", ["--events", "review.created", "--secret", SECRET], None),
        ("/down", ["--events", "review.created"], None),
        ("/ok", ["--events", "review.decided, run.finished", "--secret-stdin"], OTHER_SECRET + "\n"),
    ]:
        added = cg.run("webhooks", "add", f"{base}{path}", *args, "--json", stdin=stdin)
        assert added.returncode == 0, added.stderr
        hooks[path] = json.loads(added.stdout)["id"]

    [run_id] = queue_runs(cg, [(str(durable_runbook(tmp_path / "rb", by_check=True)), {"repo": str(repo)})])
    worker = cg.run("worker", "--until-idle", "--json", **FAST_RETRIES)
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]
    review_id = pending_review(cg, run_id)

    flaky = received.at("/flaky")  # idle means every delivery settled: nothing is still on its way
    assert [item.answered for item in flaky] == [500, 500, 200]
    assert len({item.headers["X-Crewgate-Delivery"] for item in flaky}) == 1
    assert all(item.signed_by(SECRET) for item in flaky)  # each attempt, when it came
    assert all(abs(item.signed_at - item.at) <= 5 for item in flaky)  # signed when sent, not when recorded
    assert [item.signed_at for item in flaky] == sorted(item.signed_at for item in flaky)
    assert not flaky[0].signed_by("a-wrong-key")
    assert all("X-Crewgate-Signature" not in item.headers for item in flaky)  # the untimed signature is gone
    replayed = flaky[-1]  # the accepted request, captured and sent again later than the tolerance
    with pytest.raises(SignatureRefused, match="a replay of an old delivery"):
        check_signature(SECRET, replayed.headers[SIGNATURE_HEADER], replayed.body, replayed.at + TOLERANCE_S + 1)
    event = flaky[-1].json
    assert flaky[-1].headers["X-Crewgate-Event"] == event["event"] == "review.created"
    assert flaky[-1].headers["Content-Type"] == "application/json"
    assert event["id"] == flaky[-1].headers["X-Crewgate-Delivery"]
    assert review_id in event["text"] and "waits for approval" in event["text"]
    [[sha]] = cg.query("SELECT artifact_sha256 FROM crewgate_reviews WHERE id = ?", review_id)
    assert event["data"]["review_id"] == review_id
    assert event["data"]["run_id"] == run_id
    assert event["data"]["runbook"] == "durable-test@1.0.0"
    assert event["data"]["artifact_sha256"] == sha

    down = received.at("/down")
    assert [item.answered for item in down] == [500, 500, 500]  # CREWGATE_WEBHOOK_ATTEMPTS=3, then given up
    assert SIGNATURE_HEADER not in down[0].headers  # no secret, no signature
    assert received.at("/ok") == []  # it wants decisions and ends only

    listed = cg.run("webhooks", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert SECRET not in listed.stdout and OTHER_SECRET not in listed.stdout
    views = {view["id"]: view for view in json.loads(listed.stdout)}
    delivered = views[hooks["/flaky"]]
    assert (delivered["delivered"], delivered["pending"], delivered["failed"]) == (1, 0, 0)
    assert delivered["secret_set"] is True and delivered["last_failure"] is None
    assert delivered["recent"][0]["attempts"] == 3 and delivered["recent"][0]["last_status"] == 200
    failing = views[hooks["/down"]]
    assert (failing["delivered"], failing["pending"], failing["failed"]) == (0, 0, 1)
    assert failing["secret_set"] is False
    assert failing["last_failure"]["attempts"] == 3
    assert failing["last_failure"]["last_status"] == 500
    assert failing["last_failure"]["last_error"] == "HTTP 500: no"
    text = cg.run("webhooks", "list").stdout
    assert f"{hooks['/down']}  {base}/down" in text and "last failure" in text and "HTTP 500: no" in text

    approved = cg.run("review", "approve", review_id, "--reviewer", "alice", "--json")
    assert approved.returncode == 0, approved.stdout[-3000:] + approved.stderr[-3000:]
    ok = received.at("/ok")  # posted by `review approve`, which hosted the rest of the run, before it exited
    assert all(item.signed_by(OTHER_SECRET) for item in ok)
    assert not any(verify(OTHER_SECRET, item.headers[SIGNATURE_HEADER], item.body, item.at + 3600) for item in ok)
    events = {item.json["event"]: item.json for item in ok}
    assert sorted(events) == ["review.decided", "run.finished"] and len(ok) == 2
    decided = events["review.decided"]["data"]
    assert (decided["reviewer"], decided["decision"], decided["review_status"]) == ("alice", "approve", "approved")
    assert "alice approved review" in events["review.decided"]["text"]
    finished = events["run.finished"]["data"]
    assert (finished["run_id"], finished["status"]) == (run_id, "promoted")
    assert finished["promotion"]["artifact_sha256"] == sha
    assert len(received.at("/flaky")) == 3 and len(received.at("/down")) == 3  # nothing else was theirs


def test_bad_urls_and_events_are_refused_with_exit_2_and_nothing_stored(cg: Crewgate) -> None:
    for args, says in [
        (["ftp://example.com/hook", "--events", "review.created"], "http:// or https://"),
        (["http://127.0.0.1:9/hook", "--events", "review.created,review.opened"], "unknown webhook event"),
    ]:
        refused = cg.run("webhooks", "add", *args)
        assert refused.returncode == 2, refused.stderr
        assert says in refused.stderr
    hooks = Webhooks(Store(cg.url).engine)
    for url, events, says in [
        ("example.com/hook", "run.finished", "has no scheme"),
        ("https:///hook", "run.finished", "names no host"),
        ("https://user:pw@example.com/hook", "run.finished", "user name or password"),
        ("https://example.com/ho ok", "run.finished", "spaces"),
        ("https://example.com:port/hook", "run.finished", "cannot be read"),
        ("https://example.com/hook", " , ", "no events given"),
    ]:
        with pytest.raises(BadInput, match=says):
            hooks.add(url, events)
    with pytest.raises(BadInput, match="secret is empty"):
        hooks.add("https://example.com/hook", "run.finished", secret=" ")  # noqa: S106 - a blank one, refused
    assert hooks.hooks() == []
    assert cg.run("webhooks", "remove", "nosuchhook").returncode == 2


def test_the_retry_policy_is_read_when_a_process_starts_hosting_and_bad_values_stop_it_with_exit_2(
    cg: Crewgate,
) -> None:
    from workflows.webhooks.delivery import RetryPolicy

    assert RetryPolicy.from_environment({}) == RetryPolicy(2.0, 8)
    assert RetryPolicy.from_environment(FAST_RETRIES) == RetryPolicy(0.2, 3)
    for name, value in [
        ("CREWGATE_WEBHOOK_ATTEMPTS", "0"),
        ("CREWGATE_WEBHOOK_RETRY_S", "-1"),
        ("CREWGATE_WEBHOOK_RETRY_S", "x"),
    ]:
        with pytest.raises(BadInput, match="CREWGATE_WEBHOOK_ATTEMPTS a whole number"):
            RetryPolicy.from_environment({name: value})
    bad_setting = {"CREWGATE_WEBHOOK_ATTEMPTS": "none"}
    assert cg.run("runs", "list", **bad_setting).returncode == 0  # nothing reads it at import
    refused = cg.run("worker", "--until-idle", **bad_setting)
    assert refused.returncode == 2, refused.stderr
    assert "CREWGATE_WEBHOOK_ATTEMPTS a whole number 1 or more (got '2.0' and 'none')" in refused.stderr


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_cg(request: pytest.FixtureRequest, cg: Crewgate) -> Crewgate:
    """The same installation on SQLite, then on PostgreSQL (where a refused duplicate must not spoil a transaction)."""
    return request.getfixturevalue("pg_cg") if request.param == "postgres" else cg


def test_an_event_is_recorded_once_per_subscribed_hook_and_posted_signed(
    any_cg: Crewgate, receiver: tuple[Receiver, str]
) -> None:
    received, base = receiver
    any_cg.home.mkdir(parents=True)
    engine = Store(any_cg.url).engine
    hooks = Webhooks(engine)
    wants = hooks.add(f"{base}/flaky", "run.finished,review.created", secret=SECRET)
    other = hooks.add(f"{base}/ok", ["review.decided"])
    first = record_event(engine, "run.finished", "run1", "crewgate: run run1 ended", {"run_id": "run1"})
    again = record_event(engine, "run.finished", "run1", "a replayed step", {"run_id": "run1"})
    assert len(first) == 1 and again == []  # one delivery per hook and subject, however often recorded
    with engine.connect() as db:
        [row] = db.execute(select(webhook_deliveries)).mappings().all()
    assert row["webhook_id"] == wants.id != other.id
    assert list(json.loads(row["body"])) == ["created_at", "data", "event", "id", "text"]  # sorted keys

    sent = int(time.time()) - 60
    clock = itertools.count(sent, 2).__next__  # a minute behind the receiver's, 2 s further at each attempt
    for expected in (500, 500):
        with pytest.raises(DeliveryFailed, match=f"HTTP {expected}"):
            attempt(engine, row["id"], clock=clock)
    assert attempt(engine, row["id"], clock=clock) == "delivered"
    assert attempt(engine, row["id"]) == "delivered"  # settled: a replay posts nothing
    posted = received.at("/flaky")
    assert len(posted) == 3 and all(item.body == row["body"].encode() for item in posted)
    assert [item.signed_at for item in posted] == [sent, sent + 2, sent + 4]  # each signed afresh
    assert all(item.signed_by(SECRET) for item in posted)  # a minute is within the tolerance
    assert not verify(SECRET, posted[0].headers[SIGNATURE_HEADER], posted[0].body, sent + TOLERANCE_S + 1)
    [view] = [view for view in hooks.hooks() if view.id == wants.id]
    assert (view.delivered, view.recent[0].attempts, view.recent[0].last_error) == (1, 3, None)

    hooks.remove(wants.id)
    assert [view.id for view in hooks.hooks()] == [other.id]
    with engine.connect() as db:
        assert db.execute(select(webhook_deliveries)).all() == []


def test_the_text_of_every_event_escapes_what_its_stored_fields_hold_and_data_keeps_them_as_they_are(
    tmp_path: Path,
) -> None:
    engine = Store(f"sqlite:///{tmp_path / 'crewgate.db'}").engine
    Webhooks(engine).add("http://127.0.0.1:9/hook", ["review.created", "review.decided", "run.finished"])
    records = Records(engine)
    stored_run(  # names no check would let through: the text must not trust any stored field
        records, "run1", runbook="book<!channel>", version="1.0\u202e0"
    )
    sha = "<!here>\x1b[2J" + "a" * 53  # a stored hash no gate would write, still shown escaped
    records.open_review(
        id="r1",
        run_id="run1",
        step_id="approve",
        artifact_sha256=sha,
        policy=json.dumps({"required": 1}),
        evidence="{}",
        requester="Requester",
        expires_at=None,
    )
    review_created(engine, "r1")
    status = records.decide("r1", "alice", "approve", "fine\u2028<@U024BE7LH>", sha)
    review_decided(engine, "r1", "alice", status)
    said = "failed: step broke\u2028[crewgate: a fake line] <https://evil.example|click>\x1b[31m\nsecond line"
    run_finished(engine, "run1", "failed", said)

    with engine.connect() as db:
        bodies = [json.loads(body) for body in db.execute(select(webhook_deliveries.c.body)).scalars()]
    events = {body["event"]: body for body in bodies}
    for body in bodies:
        assert not any(char in body["text"] for char in "<>\x1b\u202e\u2028\n"), body["text"]
        assert "(book&lt;!channel&gt;@1.0\\u202e0)" in body["text"]
    assert "artifact sha256 &lt;!here&gt;\\x1b[2Ja." in events["review.created"]["text"]
    assert events["review.decided"]["text"].endswith("the review is now approved")
    assert events["run.finished"]["text"] == (
        "crewgate: run run1 (book&lt;!channel&gt;@1.0\\u202e0) failed: "
        "step broke\\u2028[crewgate: a fake line] &lt;https://evil.example|click&gt;\\x1b[31m"
    )  # one line, cut at the first newline only
    assert events["review.created"]["data"]["artifact_sha256"] == sha  # data: the stored values, untrusted
    assert events["review.decided"]["data"]["message"] == "fine\u2028<@U024BE7LH>"
    assert events["run.finished"]["data"]["message"] == said
    assert events["run.finished"]["data"]["runbook"] == "book<!channel>@1.0\u202e0"


@pytest.mark.docker
@pytest.mark.slow
def test_a_worker_killed_between_retries_leaves_the_delivery_to_another_which_delivers_it_once(
    cg: Crewgate, repo: Path, tmp_path: Path
) -> None:
    received = Receiver({"/hook": [500, 500, 500, 500, 200]})
    server = received.start()
    slow_retries = {"CREWGATE_WEBHOOK_RETRY_S": "1", "CREWGATE_WEBHOOK_ATTEMPTS": "8"}
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        assert cg.run("webhooks", "add", url, "--events", "review.created").returncode == 0
        [run_id] = queue_runs(cg, [(str(durable_runbook(tmp_path / "rb", by_check=True)), {"repo": str(repo)})])
        first = cg.start_logged(tmp_path / "first.log", "worker", "--json", **slow_retries)
        wait_until(  # the first worker is retrying it
            lambda: len(received.at("/hook")) >= 2, 120, lambda: (tmp_path / "first.log").read_text()[-3000:], 0.05
        )
        kill(first)
        second = cg.run("worker", "--until-idle", "--json", **slow_retries)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    finally:
        server.shutdown()
        server.server_close()
    posted = received.at("/hook")
    assert [item.answered for item in posted].count(200) == 1 and posted[-1].answered == 200
    assert len({item.headers["X-Crewgate-Delivery"] for item in posted}) == 1
    assert cg.query("SELECT status, attempts FROM crewgate_webhook_deliveries") == [("delivered", len(posted))]
    assert pending_review(cg, run_id)
    cg.run("sandbox", "prune")  # the killed worker's containers
