"""Sandbox round-trip latency: crewgate's DockerSandbox vs AutoGen's Docker executor vs LocalSandbox.

Run by `make bench`, never by `make test`. Everything runs in one process, on
the same image, on the same machine; results go to benchmarks/results/executor.json
and a Markdown table is printed for the README.

Measured:
- warm round trip of a small cell (`x = x + 1`): median and p95;
- cold start: constructor to the first result of a cell;
- containers left behind after 20 sessions;
- the same warm round trip over the attach stream (`channel="attach"`, through the engine), beside the
  direct channel a runc session takes by default (executors/_direct.py);
- the same warm round trip and cold start under gVisor (`runtime="runsc"`), when the engine offers it:
  the isolation tier's cost, side by side with runc (README: Isolation tiers).
AutoGen's executor starts a fresh interpreter per block, so its cell must
re-create `x` (`x = 0; x = x + 1`): that is the statefulness it lacks.
"""

import asyncio
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import timed  # noqa: E402

from executors import DockerSandbox, LocalSandbox  # noqa: E402
from executors.engine import connect  # noqa: E402
from executors.image import default_image  # noqa: E402
from executors.runtimes import offered_runtimes  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "executor.json"
WARM_CELLS = int(os.environ.get("BENCH_WARM_CELLS", "500"))
AUTOGEN_CELLS = int(os.environ.get("BENCH_AUTOGEN_CELLS", "40"))
SESSIONS = 20


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(samples) * 1000,
        "p95_ms": percentile(samples, 0.95) * 1000,
        "n": len(samples),
    }


def bench_crewgate(kind: str) -> dict[str, Any]:
    started = time.perf_counter()
    box: DockerSandbox | LocalSandbox
    if kind == "local":
        box = LocalSandbox()
    else:
        box = DockerSandbox(
            runtime="runsc" if kind == "runsc" else "runc", channel="attach" if kind == "attach" else "auto"
        )
    with box:
        first = box.execute("x = 0")
        cold = time.perf_counter() - started
        assert first.ok, first
        timed(lambda: box.execute("x = x + 1"), 20)  # warm-up
        warm = timed(lambda: box.execute("x = x + 1"), WARM_CELLS)
        final = box.execute("x").value
        assert final == str(20 + WARM_CELLS), final  # state really persisted across every cell
    channel = getattr(box, "channel", "pipes")
    return {"cold_start_s": cold, "warm": summary(warm), "channel": channel}


def bench_autogen() -> dict[str, Any]:
    from autogen_core import CancellationToken
    from autogen_core.code_executor import CodeBlock
    from autogen_ext.code_executors.docker import DockerCommandLineCodeExecutor

    async def run() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as work_dir:
            os.chmod(work_dir, 0o755)  # noqa: S103 - the image user (uid 10001) must read the code files
            started = time.perf_counter()
            executor = DockerCommandLineCodeExecutor(image=default_image(), work_dir=work_dir, timeout=60)
            await executor.start()
            token = CancellationToken()
            cell = [CodeBlock(code="x = 0\nx = x + 1\nprint(x)", language="python")]
            first = await executor.execute_code_blocks(cell, token)
            cold = time.perf_counter() - started
            assert first.exit_code == 0, first.output
            samples = []
            for _ in range(AUTOGEN_CELLS):
                began = time.perf_counter()
                result = await executor.execute_code_blocks(cell, token)
                samples.append(time.perf_counter() - began)
                assert result.exit_code == 0, result.output
            stateless = await executor.execute_code_blocks([CodeBlock("print(x)", "python")], token)
            await executor.stop()
        return {"cold_start_s": cold, "warm": summary(samples), "keeps_variables": stateless.exit_code == 0}

    return asyncio.run(run())


def bench_sessions() -> dict[str, Any]:
    client = connect()
    label = {"label": "crewgate.managed=1"}
    before = len(client.api.containers(all=True, filters=label))
    colds = []
    for _ in range(SESSIONS):
        started = time.perf_counter()
        with DockerSandbox() as box:
            box.execute("1 + 1")
            colds.append(time.perf_counter() - started)
    after = len(client.api.containers(all=True, filters=label))
    return {"sessions": SESSIONS, "containers_left": after - before, "cold_start": summary(colds)}


def table(results: dict[str, Any]) -> str:
    docker, autogen, local = results["crewgate_docker"], results["autogen_docker"], results["crewgate_local"]
    ratio = autogen["warm"]["median_ms"] / docker["warm"]["median_ms"]
    rows = [
        "| executor | warm median | warm p95 | cold start | keeps variables |",
        "|---|---|---|---|---|",
        f"| crewgate DockerSandbox ({docker['channel']} channel) | {docker['warm']['median_ms']:.3f} ms "
        f"| {docker['warm']['p95_ms']:.3f} ms | {docker['cold_start_s']:.2f} s | yes |",
        f"| AutoGen DockerCommandLineCodeExecutor | {autogen['warm']['median_ms']:.1f} ms "
        f"| {autogen['warm']['p95_ms']:.1f} ms | {autogen['cold_start_s']:.2f} s "
        f"| {'yes' if autogen['keeps_variables'] else 'no'} |",
        f"| crewgate LocalSandbox (not isolated) | {local['warm']['median_ms']:.3f} ms "
        f"| {local['warm']['p95_ms']:.3f} ms | {local['cold_start_s']:.2f} s | yes |",
    ]
    attach = results["crewgate_docker_attach"]
    rows.insert(
        3,
        f"| crewgate DockerSandbox (attach stream, through the engine) | {attach['warm']['median_ms']:.3f} ms "
        f"| {attach['warm']['p95_ms']:.3f} ms | {attach['cold_start_s']:.2f} s | yes |",
    )
    gvisor = results.get("crewgate_docker_runsc")
    if gvisor:
        rows.insert(
            3,
            f"| crewgate DockerSandbox under gVisor (runsc) | {gvisor['warm']['median_ms']:.3f} ms "
            f"| {gvisor['warm']['p95_ms']:.3f} ms | {gvisor['cold_start_s']:.2f} s | yes |",
        )
    sessions = results["sessions"]
    rows.append("")
    if gvisor:
        rows.append(
            f"Under gVisor a cell costs {gvisor['warm']['median_ms'] / docker['warm']['median_ms']:.1f}x runc's and is "
            f"still **{autogen['warm']['median_ms'] / gvisor['warm']['median_ms']:.0f}x** faster than AutoGen's."
        )
    rows.append(
        f"DockerSandbox is **{ratio:.0f}x** faster than AutoGen per cell. "
        f"{sessions['sessions']} sessions: cold start median {sessions['cold_start']['median_ms'] / 1000:.2f} s, "
        f"p95 {sessions['cold_start']['p95_ms'] / 1000:.2f} s; containers left behind: {sessions['containers_left']}."
    )
    return "\n".join(rows)


def main() -> None:
    client = connect()
    print(f"image {default_image()}, {os.cpu_count()} cores, Docker {client.version()['Version']}", flush=True)
    results: dict[str, Any] = {}
    measures = [
        ("crewgate_docker", lambda: bench_crewgate("docker")),
        ("crewgate_docker_attach", lambda: bench_crewgate("attach")),
        ("autogen_docker", bench_autogen),
        ("crewgate_local", lambda: bench_crewgate("local")),
        ("sessions", bench_sessions),
    ]
    if "runsc" in offered_runtimes(client):
        measures.insert(1, ("crewgate_docker_runsc", lambda: bench_crewgate("runsc")))
    else:
        print("  the engine does not offer runsc: gVisor is not measured (README: Isolation tiers)", flush=True)
    for name, run in measures:
        print(f"  measuring {name} ...", flush=True)
        results[name] = run()
    results["ratio_autogen_to_crewgate_median"] = (
        results["autogen_docker"]["warm"]["median_ms"] / results["crewgate_docker"]["warm"]["median_ms"]
    )
    results["machine"] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "docker": client.version()["Version"],
        "image": default_image(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
