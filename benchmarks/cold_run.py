"""How long a cold `crewgate run` of the add-feature demo takes to reach its gate.

Cold: a new `crewgate` process, a new CREWGATE_HOME (migrated on first open), a
fresh git copy of the sample repository and a new sandbox container, as `make
demo` does; the machine's file cache is warm (the first, uncounted run warms it).
The run ends at the approval gate with exit code 10. Goal: at most 6 s.

Beside the whole run, the import cost of the parts a run may load (crewAI, AutoGen,
litellm, docker, the runbook loader) is measured, each in a new interpreter, so the
figures say where a run's time goes.

Run by `make bench`. Writes benchmarks/results/cold_run.json.
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "cold_run.json"
CREWGATE = Path(sys.executable).with_name("crewgate")
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
GOAL_S = 6.0
WAITING_AT_GATE = 10
IMPORTS = {
    "crewai": "import crews._environment as e; e.quiet_frameworks(); import crewai",
    "autogen_agentchat": "import autogen_agentchat.teams",
    "litellm": "from agents._litellm import litellm_module; litellm_module()",
    "docker": "import docker",
    "runbook loader": "import workflows.runbook.loader",
}


def sample_repository(folder: Path) -> Path:
    repo = folder / "calculator"
    shutil.copytree(ROOT / "examples" / "calculator", repo)
    git = ["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "calculator: base"], check=True)
    return repo


def one_cold_run() -> float:
    """Seconds from starting `crewgate run` to its exit at the gate, in a new home."""
    with tempfile.TemporaryDirectory() as folder:
        repo = sample_repository(Path(folder))
        env = {**os.environ, "CREWGATE_HOME": str(Path(folder) / "home")}
        command = [str(CREWGATE), "run", str(ROOT / "runbooks" / "add-feature.yaml"), "-i", f"repo={repo}"]
        started = time.perf_counter()
        finished = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        elapsed = time.perf_counter() - started
        if finished.returncode != WAITING_AT_GATE:
            raise SystemExit(f"the run ended with exit code {finished.returncode}, not at its gate:\n{finished.stderr}")
        return elapsed


def import_seconds(statement: str) -> float:
    """Seconds a new interpreter takes to run `statement`, less an empty interpreter's start."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
        return time.perf_counter() - started

    empty = statistics.median(run("pass") for _ in range(3))
    return statistics.median(run(statement) for _ in range(3)) - empty


def main() -> None:
    one_cold_run()  # warms the file cache; not counted
    samples = sorted(one_cold_run() for _ in range(RUNS))
    median = statistics.median(samples)
    verdict = "within" if median <= GOAL_S else "OVER"
    print(
        f"cold add-feature run to its gate: median {median:.2f} s, max {samples[-1]:.2f} s over {RUNS} runs "
        f"({verdict} the {GOAL_S} s goal)"
    )
    imports = {name: import_seconds(statement) for name, statement in IMPORTS.items()}
    for name, seconds in imports.items():
        print(f"  importing {name}: {seconds:.2f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "command": "crewgate run runbooks/add-feature.yaml -i repo=<fresh copy>",
                "runs": RUNS,
                "median_s": median,
                "max_s": samples[-1],
                "samples_s": samples,
                "goal_s": GOAL_S,
                "import_s": imports,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
