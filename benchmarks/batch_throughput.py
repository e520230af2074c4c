"""Throughput of many runs: one warm worker against one `crewgate run` process per run.

N scripted add-feature runs (the shipped runbook, crewAI crew, offline scripted model),
each on its own fresh git copy of the sample repository, each brought to its approval
gate. Three ways, in one run of this script, on the same machine:

- sequential: N `crewgate run` processes, one after the other (each imports litellm and
  crewAI, about 10 s of CPU, before its run starts);
- warm worker, concurrency 1: `batch start --concurrency 1` (one process, imports once);
- warm worker, concurrency 2: `batch start --concurrency 2`.

Ideal 2-way parallel throughput is twice the concurrency-1 throughput; the report gives
the concurrency-2 worker's share of it, and its ratio to sequential processes. Each way is
also measured warm (steady state: from the first run at its gate to the last, without the
worker's one-time imports), and with the machine's busy CPU (from /proc/stat): a run costs
CPU in the worker, in Docker and in its sandbox (pytest, bandit), so on a 2-core machine
one run at a time already keeps the cores mostly busy, and that bounds what 2-way can add.

Run by `make bench` (`--runs N` to change N, default 20). Writes benchmarks/results/batch.json.
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "batch.json"
CREWGATE = Path(sys.executable).with_name("crewgate")
RUNBOOK = ROOT / "runbooks" / "add-feature.yaml"


def fresh_repos(folder: Path, count: int) -> list[Path]:
    repos = []
    for number in range(count):
        repo = folder / f"repo{number}"
        shutil.copytree(ROOT / "examples" / "calculator", repo)
        for args in (["init", "-q", "-b", "main"], ["add", "-A"]):
            subprocess.run(["git", "-C", str(repo), *args], check=True)
        commit = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-qm", "base"]
        subprocess.run(["git", "-C", str(repo), *commit], check=True)
        repos.append(repo)
    return repos


def busy_cpu_seconds() -> float:
    """All cores' busy time so far (user, nice, system, irq, softirq), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return sum(int(fields[index]) for index in (0, 1, 2, 5, 6)) / os.sysconf("SC_CLK_TCK")


def steady_seconds_per_run(home: Path) -> float:
    """Seconds between runs reaching their gates, first to last: the warm pace, without start-up."""
    with sqlite3.connect(home / "crewgate.db") as db:
        times = sorted(row[0] for row in db.execute("SELECT started_at FROM crewgate_steps WHERE kind = 'gate'"))
    from datetime import datetime

    first, last = datetime.fromisoformat(times[0]), datetime.fromisoformat(times[-1])
    return (last - first).total_seconds() / (len(times) - 1)


def measured(way: Callable[[], Path]) -> dict[str, float]:
    cpu, began = busy_cpu_seconds(), time.perf_counter()
    home = way()
    elapsed = time.perf_counter() - began
    busy = busy_cpu_seconds() - cpu
    return {
        "seconds": elapsed,
        "cpu_busy_share": busy / (elapsed * (os.cpu_count() or 1)),
        "steady_seconds_per_run": steady_seconds_per_run(home),
    }


def sequential(folder: Path, count: int) -> Path:
    repos = fresh_repos(folder / "sequential", count)
    home = folder / "home-sequential"
    env = {**os.environ, "CREWGATE_HOME": str(home)}
    for repo in repos:
        done = subprocess.run([str(CREWGATE), "run", str(RUNBOOK), "-i", f"repo={repo}"], capture_output=True, env=env)
        if done.returncode != 10:
            raise SystemExit(f"a sequential run ended with {done.returncode}: {done.stderr.decode()[-2000:]}")
    return home


def warm(folder: Path, count: int, concurrency: int) -> Path:
    repos = fresh_repos(folder / f"warm{concurrency}", count)
    rows = folder / f"rows{concurrency}.jsonl"
    rows.write_text("".join(json.dumps({"repo": str(repo)}) + "\n" for repo in repos))
    home = folder / f"home-warm{concurrency}"
    env = {**os.environ, "CREWGATE_HOME": str(home)}
    command = [str(CREWGATE), "batch", "start", str(RUNBOOK), "--inputs", str(rows), "--concurrency", str(concurrency)]
    done = subprocess.run([*command, "--json"], capture_output=True, env=env)
    last = json.loads(done.stdout.decode().splitlines()[-1])
    if done.returncode != 10 or last["counts"]["waiting"] != count:
        raise SystemExit(f"the batch ended with {done.returncode}: {done.stdout.decode()[-2000:]}")
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    count = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ways = {
            "sequential processes": measured(lambda: sequential(folder, count)),
            "warm worker, concurrency 1": measured(lambda: warm(folder, count, 1)),
            "warm worker, concurrency 2": measured(lambda: warm(folder, count, 2)),
        }
    rate = {way: count / found["seconds"] * 60 for way, found in ways.items()}
    steady = {way: 60 / found["steady_seconds_per_run"] for way, found in ways.items()}
    one, two = "warm worker, concurrency 1", "warm worker, concurrency 2"
    versus_sequential = rate[two] / rate["sequential processes"]
    of_ideal, of_ideal_steady = rate[two] / (2 * rate[one]), steady[two] / (2 * steady[one])
    for way, found in ways.items():
        print(
            f"{way:<28} {count} runs to the gate in {found['seconds']:6.1f} s: {rate[way]:5.1f} runs/min "
            f"(warm pace {steady[way]:5.1f} runs/min), machine CPU {found['cpu_busy_share']:.0%} busy"
        )
    print(f"warm worker (concurrency 2) / sequential processes: {versus_sequential:.2f}x (goal 3x)")
    print(f"warm worker (concurrency 2) / ideal 2-way (2 x concurrency 1): {of_ideal:.0%} (goal 80%)")
    print(f"  the same at the warm pace (without the worker's start-up): {of_ideal_steady:.0%}")
    result = {
        "runs": count,
        "cpus": os.cpu_count(),
        "ways": ways,
        "runs_per_minute": rate,
        "warm_runs_per_minute": steady,
        "warm_vs_sequential": versus_sequential,
        "share_of_ideal_2_way": of_ideal,
        "share_of_ideal_2_way_warm": of_ideal_steady,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
