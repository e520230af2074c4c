"""`make mutation`: run mutmut on the five modules named in pyproject.toml and print each one's score.

A module's score is its killed mutants (a timeout counts as killed: the tests did not pass) out of its
mutants that are not equivalent (tests/mutation-equivalent.txt says why each listed one is). Exits 1
when a module scores below 95%, or when an equivalent mutant listed no longer exists.
"""

import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).parent / "mutmut"
EQUIVALENT = ROOT / "tests" / "mutation-equivalent.txt"
THRESHOLD = 95.0


def main() -> int:
    subprocess.run([str(MUTMUT), "run", "--max-children", "2"], cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    listed = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    results = dict(line.strip().rsplit(": ", 1) for line in listed.splitlines() if ": " in line)
    equivalent = {
        line.split(": ", 1)[0]
        for line in EQUIVALENT.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    stale = sorted(equivalent - set(results))
    counts: dict[str, Counter[str]] = {}
    for mutant, status in results.items():
        module = mutant.split(".x_")[0]
        kind = "equivalent" if mutant in equivalent else "killed" if status in ("killed", "timeout") else status
        counts.setdefault(module, Counter())[kind] += 1
    print(f"{'module':<22} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'other':>7} {'score':>7}")
    failing = []
    for module, found in sorted(counts.items()):
        scored = sum(found.values()) - found["equivalent"]
        score = 100.0 * found["killed"] / scored if scored else 100.0
        other = scored - found["killed"]
        total, killed, same = sum(found.values()), found["killed"], found["equivalent"]
        print(f"{module:<22} {total:>7} {killed:>7} {same:>7} {other:>7} {score:>6.1f}%")
        if score < THRESHOLD:
            failing.append(module)
    for mutant, status in sorted(results.items()):
        if mutant not in equivalent and status not in ("killed", "timeout"):
            print(f"  {status}: {mutant}  (`mutmut show {mutant}`)")
    for mutant in stale:
        print(f"  listed as equivalent but no longer generated: {mutant} (update {EQUIVALENT.name})")
    return 1 if failing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
