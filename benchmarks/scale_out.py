"""Scale-out on PostgreSQL: the same batch served by 1 and by 2 `crewgate worker` processes.

N scripted add-feature runs (the shipped runbook, crewAI crew, offline scripted model),
each on its own fresh git copy of the sample repository, recorded as one batch
(`batch start --detach`) in a fresh database of a throwaway PostgreSQL server, then
brought to their gates by K worker processes with `--concurrency 1` each, sharing the
database (runs, blobs, liveness). Timed from the workers' start to the last run at its
gate; the warm pace (first gate to last) leaves out the workers' one-time imports.

The workers run on this one machine, so they share its cores: the speed-up shows the
engine spreading work over processes without losing or doubling any, not what two
machines would add. Run by `make bench` (`--runs N`, default 10). Writes
benchmarks/results/scale_out.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.batch_throughput import busy_cpu_seconds, fresh_repos  # noqa: E402
from tests.postgres import PostgresServer, postgres_missing  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "scale_out.json"
CREWGATE = Path(sys.executable).with_name("crewgate")
RUNBOOK = ROOT / "runbooks" / "add-feature.yaml"


def server_version(database: str) -> str:
    import psycopg

    with psycopg.connect(database) as db:
        return str(db.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]


def gate_times(database: str) -> list[datetime]:
    import psycopg

    with psycopg.connect(database) as db:
        rows = db.execute("SELECT started_at FROM crewgate_steps WHERE kind = 'gate' ORDER BY started_at").fetchall()
    return [datetime.fromisoformat(row[0]) for row in rows]


def batch_on_workers(server: PostgresServer, folder: Path, count: int, workers: int) -> dict[str, float]:
    database = server.new_database()
    env = {**os.environ, "CREWGATE_HOME": str(folder / f"home{workers}"), "CREWGATE_DATABASE_URL": database}
    rows = folder / f"rows{workers}.jsonl"
    repos = fresh_repos(folder / f"repos{workers}", count)
    rows.write_text("".join(json.dumps({"repo": str(repo)}) + "\n" for repo in repos))
    command = [str(CREWGATE), "batch", "start", str(RUNBOOK), "--inputs", str(rows), "--concurrency", str(workers)]
    recorded = subprocess.run([*command, "--detach", "--json"], capture_output=True, env=env)
    if recorded.returncode != 0:
        raise SystemExit(f"batch start failed: {recorded.stderr.decode()[-2000:]}")
    cpu, began = busy_cpu_seconds(), time.perf_counter()
    logs = [(folder / f"worker{workers}-{n}.log").open("w") for n in range(workers)]
    processes = [
        subprocess.Popen([str(CREWGATE), "worker", "--concurrency", "1"], stdout=log, stderr=log, env=env)
        for log in logs
    ]
    try:
        while len(gate_times(database)) < count:
            if any(process.poll() is not None for process in processes):
                raise SystemExit(f"a worker ended early: see {folder}")
            time.sleep(0.2)
        elapsed = time.perf_counter() - began
        busy = busy_cpu_seconds() - cpu
    finally:
        for process in processes:
            process.kill()
            process.wait()
    times = gate_times(database)
    return {
        "seconds": elapsed,
        "runs_per_minute": count / elapsed * 60,
        "warm_runs_per_minute": 60 * (count - 1) / (times[-1] - times[0]).total_seconds(),
        "cpu_busy_share": busy / (elapsed * (os.cpu_count() or 1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    count = parser.parse_args().runs
    missing = postgres_missing()
    if missing:
        raise SystemExit(f"the scale-out benchmark needs PostgreSQL: {missing}")
    server = PostgresServer()
    version = server_version(server.url())
    try:
        with tempfile.TemporaryDirectory() as name:
            ways = {f"{n} worker(s)": batch_on_workers(server, Path(name), count, n) for n in (1, 2)}
    finally:
        server.stop()
    one, two = ways["1 worker(s)"], ways["2 worker(s)"]
    speedup = two["runs_per_minute"] / one["runs_per_minute"]
    warm_speedup = two["warm_runs_per_minute"] / one["warm_runs_per_minute"]
    for way, found in ways.items():
        print(
            f"{way:<12} {count} runs to the gate in {found['seconds']:6.1f} s: "
            f"{found['runs_per_minute']:5.1f} runs/min "
            f"(warm pace {found['warm_runs_per_minute']:5.1f}), machine CPU {found['cpu_busy_share']:.0%} busy"
        )
    print(f"2 workers / 1 worker on PostgreSQL: {speedup:.2f}x ({warm_speedup:.2f}x at the warm pace)")
    print(f"(PostgreSQL {version}, {os.cpu_count()} cores)")
    result = {
        "runs": count,
        "cpus": os.cpu_count(),
        "postgres": version,
        "date": datetime.now().date().isoformat(),
        "ways": ways,
        "speedup": speedup,
        "warm_speedup": warm_speedup,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
