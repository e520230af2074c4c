"""Every list is paginated with a cursor, and its queries read indexes, not whole tables.

A real SQLite store, seeded through the product's own records (runs, steps, model
calls, batches, review items pending and decided); each list is read through the
service function every surface calls, page after page by cursor, and must give
every item exactly once, in its order, a page at a time. Every statement a list
runs is recorded and its plan read (EXPLAIN QUERY PLAN): no full scan of a table
that grows with runs, and no sort of a whole table for an ORDER BY (a sort of the rows an index
range found, a batch's or a page's, is fine).
"""

import datetime
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.stored_rows import stored_run
from workflows.runs.services import RunServices, open_blobs
from workflows.service.batch_list import list_batches
from workflows.service.batches import show_batch
from workflows.service.queue import review_queue
from workflows.service.runs import list_runs
from workflows.service.views import QueueQuery
from workflows.store.database import Store
from workflows.store.records import Records

# The seeded store (`services`, a few seconds of CPU) is built once, on the one worker that runs this module.
pytestmark = pytest.mark.xdist_group("list_queries")

RUNS = 260
GROWING = ("crewgate_runs", "crewgate_reviews", "crewgate_batches", "crewgate_model_calls", "crewgate_trace")
FULL_SCAN = re.compile(r"^SCAN (\w+)(?! USING)")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunServices]:
    home = tmp_path_factory.mktemp("lists")
    store = Store(f"sqlite:///{home / 'crewgate.db'}")
    moments = (datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=n) for n in range(10**6))
    records = Records(store.engine, clock=lambda: next(moments))
    seed(records)
    yield RunServices(store, records, open_blobs(store.engine, home / "blobs"))
    store.close()


def seed(records: Records) -> None:
    """RUNS runs, every tenth waiting at a pending review, the others decided; two batches; a model call each."""
    from sqlalchemy import insert

    from workflows.store.tables import batches

    with records.engine.begin() as db:
        for batch in ("batch-a", "batch-b"):
            db.execute(
                insert(batches).values(
                    id=batch, runbook="book", version="1.0.0", concurrency=2, source="rows.csv",
                    requester="Requester", status="open", created_at=records.timestamp(),
                )
            )  # fmt: skip
    for number in range(RUNS):
        run_id = f"run{number:05d}"
        batch = ("batch-a", "batch-b", None)[number % 3]
        stored_run(records, run_id, batch_id=batch, inputs={"request": f"change {number}"})
        records.start_step(run_id, "implement", 1, "task")
        records.add_trace(run_id, "implement", 1, "coder", 1, {"status": "turn", "reply": "done"})
        records.finish_step(run_id, "implement", 1, "done", "ok", {})
        opened = records.open_review(
            id=f"{run_id}-approve-1", run_id=run_id, step_id="approve", artifact_sha256="a" * 64,
            policy='{"required": 1, "reviewers": ["any"], "allow_requester": false}', evidence="{}",
            requester="Requester", expires_at=None, lines_added=1, lines_removed=0, paths=1, change_key=None,
        )  # fmt: skip
        assert opened
        if number % 10:
            records.decide(f"{run_id}-approve-1", "alice", "approve", "", "a" * 64)


def every_page(read: Callable[[str | None], tuple[list[Any], str | None]]) -> tuple[list[Any], int]:
    """Every item of a list, read page after page by cursor; and how many pages it took."""
    found: list[Any] = []
    cursor, pages = None, 0
    while True:
        items, cursor = read(cursor)
        found += items
        pages += 1
        if cursor is None:
            return found, pages
        assert pages < 1000, "the cursor never ends"


def test_runs_newest_first_a_page_at_a_time(services: RunServices) -> None:
    first = list_runs(services)
    assert len(first.items) == 50 and first.next_cursor, "a default page, and a cursor to the next"
    found, pages = every_page(lambda cursor: (lambda p: (p.items, p.next_cursor))(list_runs(services, 100, cursor)))
    assert [run.id for run in found] == [f"run{n:05d}" for n in reversed(range(RUNS))]
    assert pages == 3


def test_the_queue_pending_first_then_the_rest_across_pages(services: RunServices) -> None:
    def read(cursor: str | None) -> tuple[list[Any], str | None]:
        page = review_queue(services, QueueQuery(limit=7, cursor=cursor))
        assert page.total == RUNS
        return list(page.items), page.next_cursor

    found, _ = every_page(read)
    pending = [f"run{n:05d}-approve-1" for n in range(0, RUNS, 10)]
    rest = [f"run{n:05d}-approve-1" for n in range(RUNS) if n % 10]
    assert [item.id for item in found] == pending + rest, "pending first, each part oldest first, none twice"
    newest, _ = every_page(
        lambda cursor: (lambda p: (list(p.items), p.next_cursor))(
            review_queue(services, QueueQuery(status="approved", newest_first=True, limit=50, cursor=cursor))
        )
    )
    assert [item.id for item in newest] == list(reversed(rest))
    by_offset = review_queue(services, QueueQuery(limit=5, offset=24))
    assert [item.id for item in by_offset.items] == (pending + rest)[24:29], "pages by number still work"


def test_the_queue_counts_each_part_up_to_its_cap_and_offsets_still_land(
    services: RunServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting every pending item on every page would grow with the queue: each part is counted up to a cap
    (1,000; 20 here, so the fixture's 26 pending and 234 decided items pass it), the total is then a lower bound
    shown with a "+", and a page by number still lands where it should, counted past the cap as far as it goes."""
    from workflows.store import queue

    monkeypatch.setattr(queue, "COUNT_CAP", 20)
    pending = [f"run{n:05d}-approve-1" for n in range(0, RUNS, 10)]
    rest = [f"run{n:05d}-approve-1" for n in range(RUNS) if n % 10]
    page = review_queue(services, QueueQuery(limit=5))
    assert (page.total, page.total_capped, page.total_text) == (40, True, "40+")
    for offset in (0, 19, 24, 26, 30, 250):
        found = review_queue(services, QueueQuery(limit=5, offset=offset))
        assert [item.id for item in found.items] == (pending + rest)[offset : offset + 5], offset
    only_pending = review_queue(services, QueueQuery(status="pending", limit=50))
    assert [item.id for item in only_pending.items] == pending and only_pending.total_text == "20+"


def test_batches_and_a_batchs_runs_a_page_at_a_time(services: RunServices) -> None:
    batches = list_batches(services, 1)
    assert [batch.id for batch in batches.items] in (["batch-b"], ["batch-a"]) and batches.next_cursor
    rest = list_batches(services, 1, batches.next_cursor)
    assert rest.next_cursor is None and {batches.items[0].id, rest.items[0].id} == {"batch-a", "batch-b"}
    assert batches.items[0].total == rest.items[0].total == len(range(0, RUNS, 3))

    def read(cursor: str | None) -> tuple[list[Any], str | None]:
        view = show_batch(services, "batch-a", 40, cursor)
        assert view.total == len(range(0, RUNS, 3)) and view.counts["waiting"] == 0
        return list(view.runs), view.runs_cursor

    found, pages = every_page(read)
    assert [row.run for row in found] == [f"run{n:05d}" for n in range(0, RUNS, 3)]
    assert [row.position for row in found] == list(range(1, len(found) + 1)), "positions go on across pages"
    assert pages == 3


def test_a_cursor_from_elsewhere_is_bad_input(services: RunServices) -> None:
    from workflows.errors import BadInput

    runs_cursor = list_runs(services).next_cursor
    assert runs_cursor
    for bad in ("not a cursor", "W10", runs_cursor + "x", ""):
        with pytest.raises(BadInput, match="not one this list gave"):
            list_runs(services, 10, bad)
    with pytest.raises(BadInput, match="not one this list gave"):
        review_queue(services, QueueQuery(limit=10, cursor=runs_cursor))  # another list's shape


@pytest.mark.parametrize(
    "name, read",
    [
        ("runs", lambda s: list_runs(s, 50, list_runs(s, 50).next_cursor)),
        (
            "queue",
            lambda s: review_queue(s, QueueQuery(limit=50, cursor=review_queue(s, QueueQuery(limit=50)).next_cursor)),
        ),
        ("queue, one status", lambda s: review_queue(s, QueueQuery(status="pending", limit=10, newest_first=True))),
        ("queue, by batch", lambda s: review_queue(s, QueueQuery(batch="batch-a", limit=10))),
        ("batches", lambda s: list_batches(s, 1, list_batches(s, 1).next_cursor)),
        ("a batch", lambda s: show_batch(s, "batch-a", 20, show_batch(s, "batch-a", 20).runs_cursor)),
    ],
)
def test_list_queries_read_indexes(services: RunServices, name: str, read: Callable[[RunServices], Any]) -> None:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    engine = services.store.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        read(services)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements, name
    with engine.connect() as db:
        for statement, parameters in statements:
            plan = [row[-1] for row in db.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            scans = [line for line in plan if (found := FULL_SCAN.match(line)) and found.group(1) in GROWING]
            assert not scans, f"{name}: a full scan in {plan} for {statement}"
            scanned = [line for line in plan if line.startswith("SCAN ")]
            sorted_all = scanned and any("TEMP B-TREE FOR ORDER BY" in line for line in plan)
            assert not sorted_all, f"{name}: a whole table read and sorted in {plan} for {statement}"


def test_the_indexes_exist_after_the_migrations(services: RunServices) -> None:
    with services.store.engine.connect() as db:
        names = {row[0] for row in db.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    assert {
        "ix_crewgate_runs_created",
        "ix_crewgate_runs_batch_created",
        "ix_crewgate_batches_created",
        "ix_crewgate_reviews_created",
        "ix_crewgate_reviews_status_created",
        "ix_crewgate_promotions_run",
    } <= names
