"""The web review queue: how fast `crewgate serve` answers after it starts, and how fast an item page renders.

1. Start-up: a `crewgate serve` process is started on a free port and timed until
   its login page answers 200, five times (median and slowest); the goal is 2 s.
2. An item page with a 2,000-line diff: a real run (the offline scripted model, a
   check step writing a 2,000-line Python file) is brought to its gate, a reviewer
   logs in, and the item page is fetched 30 times over loopback; the goal is a
   median under 300 ms (the page's diff is coloured by Pygments and every line
   passes the hidden-character check). The goal is 150 ms since the page also tells the item's story
   (request, target, rounds, steps: issue 28).
3. The queue with 10,000 pending items: the gated item's run and review rows are copied
   10,000 times in the database, and the queue's first page (50 rows, each titled, sized and
   with its target in words) is fetched 30 times; the goal is a median under 200 ms.

Run by `make bench`; needs the Docker engine and the sandbox image (for the run).
Writes benchmarks/results/web.json.
"""

import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.durable_helpers import make_repo  # noqa: E402
from tests.postgres import free_port  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "web.json"
CREWGATE = Path(sys.executable).with_name("crewgate")
PASSWORD = "benchmark password"  # noqa: S105 - a throwaway account in a temp folder
LINES = 2000
RUNBOOK = """\
name: big-diff
version: 1.0.0
inputs:
  repo: {type: path}
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Code}
steps:
  - id: implement
    check: |
      python3 - <<'PY'
      with open("calc/generated.py", "w") as out:
          for n in range(LINES // 2):
              out.write(f"def f{n}(x: int) -> int:  # generated {n}\\n    return x * {n} + len('text {n}')\\n")
      PY
  - {id: approve, gate: {}}
"""


def serve_start_seconds(env: dict[str, str]) -> float:
    """Seconds from spawning `crewgate serve` to its first 200 on /login."""
    port = free_port()
    began = time.perf_counter()
    server = subprocess.Popen([str(CREWGATE), "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200:
                    return time.perf_counter() - began
            except httpx.TransportError:
                time.sleep(0.01)
            if server.poll() is not None:
                raise SystemExit("crewgate serve exited before it answered")
    finally:
        server.terminate()
        server.wait(timeout=30)


def gated_item(folder: Path, env: dict[str, str]) -> str:
    """A review item whose artifact adds one file of LINES lines; its id."""
    book = folder / "runbook"
    book.mkdir()
    (book / "replies.yaml").write_text("coder:\n  - Nothing to do.\n")
    (book / "runbook.yaml").write_text(RUNBOOK.replace("LINES // 2", str(LINES // 2)))
    repo = make_repo(folder / "repo")
    done = subprocess.run(
        [str(CREWGATE), "run", str(book / "runbook.yaml"), "-i", f"repo={repo}", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 10:
        raise SystemExit(f"the run did not reach its gate:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return str(json.loads(done.stdout.strip().splitlines()[-1])["review"])


QUEUE_ITEMS = 10_000


def fill_queue(database: Path, review_id: str) -> None:
    """QUEUE_ITEMS more pending items: copies of the gated item's run and review rows under new ids."""
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        run = dict(
            db.execute(
                "SELECT * FROM crewgate_runs WHERE id = (SELECT run_id FROM crewgate_reviews WHERE id = ?)",
                (review_id,),
            ).fetchone()
        )
        item = dict(db.execute("SELECT * FROM crewgate_reviews WHERE id = ?", (review_id,)).fetchone())
        runs, items = [], []
        for number in range(QUEUE_ITEMS):
            run_id = f"q{number:011d}"
            runs.append({**run, "id": run_id})
            items.append({**item, "id": f"{run_id}-approve-1", "run_id": run_id})
        for table, rows in (("crewgate_runs", runs), ("crewgate_reviews", items)):
            columns = list(rows[0])
            marks = ", ".join(f":{column}" for column in columns)
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608


def page_seconds(env: dict[str, str], path: str, check: Callable[[str], bool], times: int = 30) -> list[float]:
    """Seconds to fetch `path` as a logged-in reviewer, `times` times, after a first fetch that `check` accepts."""
    port = free_port()
    server = subprocess.Popen([str(CREWGATE), "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    login = client.get("/login")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
            client.post("/login", data={"name": "bench", "password": PASSWORD, "_csrf_token": token})
            first = client.get(path)
            if first.status_code != 200 or not check(first.text):
                raise SystemExit(f"{path} did not show what it should ({first.status_code})")
            spent = []
            for _ in range(times):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                spent.append(time.perf_counter() - began)
            return spent
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = {**os.environ, "CREWGATE_HOME": str(folder / "home")}
        subprocess.run([str(CREWGATE), "db", "upgrade"], env=env, check=True, capture_output=True)
        starts = sorted(serve_start_seconds(env) for _ in range(5))
        review_id = gated_item(folder, env)
        add = [str(CREWGATE), "users", "add", "bench", "--role", "reviewer", "--password-stdin"]
        subprocess.run(add, input=PASSWORD, text=True, env=env, check=True, capture_output=True)
        pages = page_seconds(env, f"/reviews/{review_id}", lambda text: text.count('class="line add') >= LINES)
        fill_queue(folder / "home" / "crewgate.db", review_id)
        queue = page_seconds(
            env, "/reviews", lambda text: f"{QUEUE_ITEMS + 1} item(s)" in text and text.count('class="title"') == 50
        )
    result = {
        "date": datetime.now().date().isoformat(),
        "cpus": os.cpu_count(),
        "serve_start_s": {"median": statistics.median(starts), "max": starts[-1], "goal": 2.0},
        "item_page_2000_lines_s": {
            "median": statistics.median(pages),
            "p95": sorted(pages)[int(len(pages) * 0.95) - 1],
            "goal": 0.15,
            "lines": LINES,
        },
        "queue_10000_pending_s": {
            "median": statistics.median(queue),
            "p95": sorted(queue)[int(len(queue) * 0.95) - 1],
            "goal": 0.2,
            "items": QUEUE_ITEMS + 1,
        },
    }
    print(f"crewgate serve answers after {starts[len(starts) // 2]:.2f} s (median of 5, slowest {starts[-1]:.2f} s)")
    print(
        f"item page with a {LINES}-line diff: {result['item_page_2000_lines_s']['median'] * 1000:.0f} ms median, "
        f"{result['item_page_2000_lines_s']['p95'] * 1000:.0f} ms p95 (30 requests)"
    )
    print(
        f"queue with {QUEUE_ITEMS + 1} pending items (first page of 50): "
        f"{result['queue_10000_pending_s']['median'] * 1000:.0f} ms median, "
        f"{result['queue_10000_pending_s']['p95'] * 1000:.0f} ms p95 (30 requests)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
