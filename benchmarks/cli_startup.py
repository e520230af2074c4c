"""How long `crewgate --help` and the read commands take to start and answer.

The CLI must not import crewAI, AutoGen, litellm or docker at start, and a read
command (`runs list`, `review list`, `runs show`, `runs trace`, `batch list`) must not import
the runbook loader, the engine or SQLAlchemy: they read a few rows (store/reading.py).
Each command is measured against a new CREWGATE_HOME holding one add-feature run
waiting at its gate, as `make demo` leaves it.

Run by `make bench`. Writes benchmarks/results/cli.json.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cli.json"
CREWGATE = Path(sys.executable).with_name("crewgate")
ROOT = Path(__file__).resolve().parents[1]
RUNS = 15
BUDGET_S = 0.25  # issue 29: a read command answers in at most 0.25 s
COMMANDS = ("--help", "runs list", "review list", "runs show {run}", "runs trace {run}", "batch list")


def measure(args: list[str], env: dict[str, str]) -> dict[str, float]:
    samples = []
    for _ in range(RUNS + 2):
        started = time.perf_counter()
        subprocess.run([str(CREWGATE), *args], capture_output=True, check=True, env=env)
        samples.append(time.perf_counter() - started)
    samples = sorted(samples[2:])  # the first runs warm the file cache
    return {"median_s": statistics.median(samples), "max_s": samples[-1]}


def run_to_the_gate(folder: Path, env: dict[str, str]) -> str:
    """Run the add-feature demo to its gate in the home; its run id."""
    from cold_run import sample_repository

    repo = sample_repository(folder)
    command = [str(CREWGATE), "run", str(ROOT / "runbooks" / "add-feature.yaml"), "-i", f"repo={repo}"]
    ran = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if ran.returncode != 10:
        raise SystemExit(f"the demo run did not reach its gate (exit code {ran.returncode}):\n{ran.stderr[-2000:]}")
    listed = subprocess.run([str(CREWGATE), "runs", "list", "--json"], capture_output=True, env=env, check=True)
    return str(next(run["id"] for run in json.loads(listed.stdout) if run["status"] == "waiting"))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "CREWGATE_HOME": str(Path(folder) / "home")}
        run = run_to_the_gate(Path(folder), env)
        results = []
        budget = BUDGET_S
        for pattern in COMMANDS:
            command = pattern.format(run=run)
            timing = measure(command.split(), env)
            results.append({"command": f"crewgate {command}", "runs": RUNS, **timing, "budget_s": budget})
            verdict = "within" if timing["median_s"] <= budget else "OVER"
            print(
                f"crewgate {command}: median {timing['median_s']:.3f} s, max {timing['max_s']:.3f} s "
                f"({verdict} the {budget} s budget)"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
