"""Environments: the first build of a `sandbox.setup`, and what a cached one adds to a run's start.

Run by `make bench`, never by `make test`. A small project needing one package from the package index
(`isodate`, through this machine's pip settings) is built once, fresh (its requirements file carries a
unique line); then, twenty times each, the cached path a run takes (the recipe from the base tree, the
image found) and a session's start (constructor to the first cell's result) from the environment image
and from the plain sandbox image. Results go to benchmarks/results/environment.json; a Markdown table is
printed for the README. The environment image is removed afterwards.
"""

import datetime
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import timed  # noqa: E402

from executors import DockerSandbox  # noqa: E402
from executors._tarsafe import pack_directory  # noqa: E402
from executors.engine import connect  # noqa: E402
from executors.environment import Build, PackageSources, Recipe, build_environment, find_environment  # noqa: E402
from executors.image import default_image, image_id  # noqa: E402
from workflows.runbook.loader import parse_runbook  # noqa: E402
from workflows.runs.environments import recipe_of  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "environment.json"
REPEATS = int(os.environ.get("BENCH_ENV_REPEATS", "20"))
RUNBOOK = """\
name: env-bench
version: 1.0.0
inputs:
  repo: {type: path}
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Code}
sandbox:
  setup: ["pip install -r requirements.txt"]
steps:
  - {id: test, check: "python3 -c 'import isodate'"}
"""


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def quiet(line: str) -> None:
    """Build output is not part of the measurement."""


def first_cell(image: str) -> None:
    with DockerSandbox(image=image) as box:
        result = box.execute("import isodate" if image.startswith("crewgate-env:") else "1")
        assert result.ok, result


def main() -> None:
    client = connect()
    base = default_image()
    base_id = image_id(client, base)
    assert base_id, f"{base} is missing: run `crewgate sandbox build`"
    with tempfile.TemporaryDirectory(prefix="crewgate-env-bench-") as scratch:
        repo = Path(scratch)
        (repo / "requirements.txt").write_text(f"# {uuid.uuid4().hex}\nisodate==0.7.2\n")
        tree = pack_directory(repo, "", 1 << 20)
    loaded = parse_runbook(RUNBOOK)
    recipe = recipe_of(loaded, base_id, tree)
    assert recipe is not None
    sources = PackageSources.from_host

    def again() -> Recipe:  # what a run does each time: the recipe from its base tree
        found = recipe_of(loaded, base_id, tree)
        assert found is not None
        return found

    print(f"building {recipe.tag} from {base} ...", flush=True)
    started = time.perf_counter()
    build_environment(client, Build(base, recipe, tree, sources, 900), quiet)
    first_build_s = time.perf_counter() - started
    try:
        cached = timed(lambda: build_environment(client, Build(base, again(), tree, sources, 900), quiet), REPEATS)
        plain_start = timed(lambda: first_cell(base), REPEATS)
        env_start = timed(lambda: first_cell(recipe.tag), REPEATS)
        assert find_environment(client, recipe)
    finally:
        client.api.remove_image(recipe.tag, force=True)
    added = median_ms(cached) + median_ms(env_start) - median_ms(plain_start)
    results = {
        "first_build_s": first_build_s,
        "cached_lookup_median_ms": median_ms(cached),
        "session_start_plain_median_ms": median_ms(plain_start),
        "session_start_environment_median_ms": median_ms(env_start),
        "cached_adds_to_a_run_ms": added,
        "repeats": REPEATS,
        "machine": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "docker": client.version()["Version"],
            "image": base,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("| environment (isodate from the index) | time |")
    print("|---|---|")
    print(f"| first build (build container, pip, commit) | {first_build_s:.1f} s |")
    print(f"| cached: recipe from the base tree + image found | {results['cached_lookup_median_ms']:.0f} ms |")
    print(
        f"| session start to first cell: plain image / environment | {results['session_start_plain_median_ms']:.0f} ms"
        f" / {results['session_start_environment_median_ms']:.0f} ms |"
    )
    print(f"| what a cached environment adds to a run's start | {added:.0f} ms |")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
