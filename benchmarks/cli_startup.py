"""How long `crewgate --help` and the read commands take to start and answer.

The CLI must not import crewAI, AutoGen, litellm or docker at start, and a read
command (`runs list`, `review list`, `runs show`) must not import the runbook
loader or the engine: they read a few rows. Each command is measured against a
CREWGATE_HOME holding one run waiting at its gate (crewgate 0.1.0's test home,
migrated on first open).

Run by `make bench`. Writes benchmarks/results/cli.json.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cli.json"
CREWGATE = Path(sys.executable).with_name("crewgate")
HOME = Path(__file__).resolve().parents[1] / "tests" / "data" / "release-0.1.0" / "home"
RUNS = 15
# Issue 29: a read command answers in at most 0.25 s.
BUDGETS = {"--help": 0.25, "runs list": 0.25, "review list": 0.25, "runs show 895da62c316b": 0.25}


def measure(args: list[str], env: dict[str, str]) -> dict[str, float]:
    samples = []
    for _ in range(RUNS + 2):
        started = time.perf_counter()
        subprocess.run([str(CREWGATE), *args], capture_output=True, check=True, env=env)
        samples.append(time.perf_counter() - started)
    samples = sorted(samples[2:])  # the first runs warm the file cache (and migrate the copied home)
    return {"median_s": statistics.median(samples), "max_s": samples[-1]}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        shutil.copytree(HOME, home)
        env = {**os.environ, "CREWGATE_HOME": str(home)}
        results = []
        for command, budget in BUDGETS.items():
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
