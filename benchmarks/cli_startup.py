"""How long `crewgate --help` takes: the CLI must not import crewAI, AutoGen, litellm or docker at start.

Run by `make bench`. Writes benchmarks/results/cli.json.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cli.json"
CREWGATE = Path(sys.executable).with_name("crewgate")
RUNS = 15


def main() -> None:
    samples = []
    for _ in range(RUNS + 2):
        started = time.perf_counter()
        subprocess.run([str(CREWGATE), "--help"], capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    samples = sorted(samples[2:])  # the first runs warm the file cache
    result = {
        "command": "crewgate --help",
        "runs": RUNS,
        "median_s": statistics.median(samples),
        "max_s": samples[-1],
        "budget_s": 0.5,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    verdict = "within" if result["max_s"] <= result["budget_s"] else "OVER"
    print(
        f"crewgate --help: median {result['median_s']:.3f} s, max {result['max_s']:.3f} s ({verdict} the 0.5 s budget)"
    )


if __name__ == "__main__":
    main()
