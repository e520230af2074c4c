"""Environments: a runbook's `sandbox.setup` installs a project's dependencies once, in a build container,
and the crew's sandbox starts from the result with no network.

Each test's repository carries a unique line in the file its setup reads, so its first run builds a new
environment (nothing cached by an earlier test) and every image it makes is its own to remove.
"""

import base64
import hashlib
import json
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, git, pending_review

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NETWORK_CELL = """\
import os, socket
from pathlib import Path
print("interfaces", sorted(name for _, name in socket.if_nameindex()))
print("routes", Path('/proc/net/route').read_text().splitlines()[1:])
print("uid", os.getuid())
try:
    Path('/opt/crewgate-env/planted').write_text('x')
except OSError as exc:
    print("environment folder", exc.strerror)
"""


def dependent_repo(folder: Path, requirement: str, module: str, use: str) -> Path:
    """A git repository whose code and tests import `module`, installed by `requirement` (requirements.txt)."""
    (folder / "app").mkdir(parents=True)
    (folder / "tests").mkdir()
    (folder / "requirements.txt").write_text(f"# {uuid.uuid4().hex}: this test's own environment\n{requirement}\n")
    (folder / "app" / "__init__.py").write_text(f"import {module}\n\n\ndef answer():\n    return {use}\n")
    (folder / "tests" / "test_app.py").write_text(
        "from app import answer\n\n\ndef test_answer():\n    assert answer()\n"
    )
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=dev", "-c", "user.email=dev@example.invalid", "commit", "-qm", "base")
    return folder


def setup_runbook(folder: Path, setup: list[str], extra_sandbox: str = "", cell: str = "", schedule: str = "") -> Path:
    """A runbook whose coder runs `cell` (and prints the network it sees), then pytest checks the repository."""
    folder.mkdir(parents=True, exist_ok=True)
    code = NETWORK_CELL + cell
    replies = {"coder": [f"<execute>\n{code}</execute>", "<final_answer>Checked the environment.</final_answer>"]}
    (folder / "replies.yaml").write_text(json.dumps(replies))
    (folder / "runbook.yaml").write_text(
        f"name: env-{folder.name}\nversion: 1.0.0\n"
        "inputs:\n  repo: {type: path}\nmodel: scripted/replies.yaml\n"
        "crew:\n  engine: autogen\n  members:\n    coder: {goal: Code}\n"
        f"sandbox:\n  timeout_s: 60\n  setup: {json.dumps(setup)}\n{extra_sandbox}{schedule}"
        "steps:\n"
        "  - {id: look, task: Use the project's dependencies, member: coder}\n"
        '  - {id: test, check: "python3 -m pytest -q -p no:cacheprovider"}\n'
        "  - {id: approve, gate: {}}\n"
        '  - {id: ship, promote: {to: git, repo: "{{ inputs.repo }}", branch: "crewgate/{{ run.id }}"}}\n'
    )
    return folder / "runbook.yaml"


def wheel(folder: Path, name: str, version: str, source: str) -> Path:
    """A pure-Python wheel made by hand (no build tool, no network): `name` as a one-module package."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: crewgate-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    target = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return target


def greetlib_wheelhouse(folder: Path) -> Path:
    """A wheelhouse holding `greetlib` 1.0, a package no index has."""
    wheel(folder, "greetlib", "1.0", "def greet(name):\n    return 'hello ' + name\n")
    return folder


def greetlib_repo(folder: Path) -> Path:
    return dependent_repo(folder, "greetlib==1.0", "greetlib", "greetlib.greet('x') == 'hello x'")


def run_id_of(output: str) -> str:
    return next(line.split()[1].rstrip(":") for line in output.splitlines() if line.startswith("run "))


def cell_output(cg: Crewgate, run_id: str) -> str:
    return json.dumps(cg.turns(run_id, "look"))


def remove_image(tag: str) -> None:
    import docker

    client = docker.from_env()
    try:
        client.images.remove(tag)
    finally:
        client.close()


def images_with_digest_prefix(prefix: str) -> list[str]:
    import docker

    client = docker.from_env()
    try:
        # One listing call: `images.list` inspects each image after listing, and another test's prune may
        # remove one in between (ImageNotFound).
        listed = client.api.images(name="crewgate-env")
        return [tag for image in listed for tag in image.get("RepoTags") or [] if f":{prefix}" in tag]
    finally:
        client.close()


def test_a_setup_installs_a_package_from_the_index_the_crew_uses_it_offline_and_runs_share_it(
    cg: Crewgate, tmp_path: Path
) -> None:
    repo = dependent_repo(tmp_path / "repo", "isodate==0.7.2", "isodate", "isodate.parse_duration('P3D').days == 3")
    runbook = setup_runbook(
        tmp_path / "rb",
        ["pip install -r requirements.txt"],
        cell="import isodate\nprint('isodate', isodate.__file__)\n",
    )
    plain = cg.run("sandbox", "exec", "import isodate")  # not in the base image
    assert "No module named 'isodate'" in plain.stdout + plain.stderr

    first = cg.run("run", str(runbook), "-i", f"repo={repo}")
    assert first.returncode == 10, first.stdout[-2000:] + first.stderr[-3000:]
    assert "1/1 `pip install -r requirements.txt`" in first.stderr and "Successfully installed isodate" in first.stderr
    run_id = run_id_of(first.stdout)
    shown = cg.show_by_command(run_id)
    assert shown["image"].startswith("crewgate-env:") and shown["image_id"].startswith("sha256:")
    seen = cell_output(cg, run_id)
    assert "interfaces ['lo']" in seen and "routes []" in seen  # the crew's cell: loopback only, no route
    assert "/opt/crewgate-env/lib/" in seen  # the package came from the environment
    assert "uid 10001" in seen and "environment folder Read-only file system" in seen  # hardening kept
    assert [
        row[0] for row in cg.query("SELECT status FROM crewgate_steps WHERE run_id = ? AND step_id = 'test'", run_id)
    ] == ["done"]
    review = pending_review(cg, run_id)
    item = json.loads(cg.run("review", "show", review, "--json").stdout)
    assert (item["image"], item["image_id"]) == (shown["image"], shown["image_id"])
    assert f"checked in: {shown['image']}" in cg.run("review", "show", review).stdout

    second = cg.run("run", str(runbook), "-i", f"repo={repo}")
    assert second.returncode == 10, second.stderr[-3000:]
    assert "building" not in second.stderr  # the same recipe: the environment is reused
    again = cg.show_by_command(run_id_of(second.stdout))
    assert (again["image"], again["image_id"]) == (shown["image"], shown["image_id"])

    remove_image(shown["image"])  # as on another machine: the same recipe is rebuilt, and checked the same
    replayed = cg.run("runs", "replay", run_id)
    assert replayed.returncode == 0 and "0 difference(s)" in replayed.stdout, replayed.stdout + replayed.stderr
    assert "building from" in replayed.stderr and f"{shown['image']} is now" in replayed.stdout
    assert images_with_digest_prefix(shown["image"].split(":")[1]) == [shown["image"]]

    listed = json.loads(cg.run("sandbox", "envs", "--json").stdout)
    mine = next(view for view in listed if view["tag"] == shown["image"])
    assert sorted(mine["unfinished_runs"]) == sorted([run_id, again["id"]]) and mine["last_used_at"]
    kept = json.loads(cg.run("sandbox", "envs", "prune", "--json").stdout)
    assert shown["image"] in [entry["environment"]["tag"] for entry in kept["kept"]]
    elsewhere = json.loads(Crewgate(tmp_path / "another-home").run("sandbox", "envs", "prune", "--json").stdout)
    assert shown["image"] not in [view["tag"] for view in elsewhere["removed"]]  # another home's prune leaves it
    for run in (run_id, again["id"]):
        rejected = cg.run("review", "reject", pending_review(cg, run), "--reviewer", "alice", "-m", "done")
        assert rejected.returncode == 1 and f"run {run} rejected" in rejected.stdout, rejected.stderr
    pruned = json.loads(cg.run("sandbox", "envs", "prune", "--json").stdout)
    assert shown["image"] in [view["tag"] for view in pruned["removed"]]
    assert images_with_digest_prefix(shown["image"].split(":")[1]) == []


def test_a_wheelhouse_builds_the_environment_with_no_network_and_a_batch_builds_each_recipe_once(
    cg: Crewgate, tmp_path: Path
) -> None:
    wheels = greetlib_wheelhouse(tmp_path / "wheels")
    repo = greetlib_repo(tmp_path / "repo")
    other = greetlib_repo(tmp_path / "other")
    no_network = "python3 -c \"import socket; assert [n for _, n in socket.if_nameindex()] == ['lo']\""
    keys_stay_home = "! env | grep -q sk-crewgate-test-secret"  # the host's keys never reach the build
    runbook = setup_runbook(tmp_path / "rb", [no_network, keys_stay_home, "pip install -r requirements.txt"])
    offline = {"CREWGATE_WHEELHOUSE": str(wheels), "OPENAI_API_KEY": "sk-crewgate-test-secret"}

    done = cg.run("run", str(runbook), "-i", f"repo={repo}", **offline)
    assert done.returncode == 10, done.stderr[-3000:]
    assert (
        "3/3 `pip install -r requirements.txt`" in done.stderr and "Successfully installed greetlib-1.0" in done.stderr
    )
    shown = cg.show_by_command(run_id_of(done.stdout))
    assert shown["image"].startswith("crewgate-env:")
    assert [row[0] for row in cg.query("SELECT status FROM crewgate_steps WHERE step_id = 'test'")] == ["done"]

    third = greetlib_repo(tmp_path / "third")
    together = [cg.start("run", str(runbook), "-i", f"repo={third}", **offline) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in together]  # two processes, one new recipe
    assert [process.returncode for process in together] == [10, 10], outputs
    assert sum(err.count("building from") for _, err in outputs) == 1  # one built it, the other waited and reused it
    pinned = {tuple(cg.show_by_command(run_id_of(out))[key] for key in ("image", "image_id")) for out, _ in outputs}
    assert len(pinned) == 1

    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"repo": str(path)}) + "\n" for path in (repo, other, other)))
    batch = cg.run("batch", "start", str(runbook), "--inputs", str(rows), "--detach", "--json", **offline)
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert batch.stderr.count("building from") == 1  # `repo`'s is there already; `other`'s is built once for two rows
    images = {row[0] for row in cg.query("SELECT image FROM crewgate_runs WHERE batch_id IS NOT NULL")}
    assert len(images) == 2 and shown["image"] in images
    assert cg.run("batch", "cancel", json.loads(batch.stdout.splitlines()[0])["id"]).returncode == 0
    for out, _ in [(done.stdout, ""), *outputs]:
        rejected = cg.run("review", "reject", pending_review(cg, run_id_of(out)), "--reviewer", "alice", "-m", "done")
        assert rejected.returncode == 1 and "rejected" in rejected.stdout, rejected.stderr
    pruned = json.loads(cg.run("sandbox", "envs", "prune", "--json").stdout)
    assert images | {image for image, _ in pinned} <= {view["tag"] for view in pruned["removed"]}


def test_a_failing_or_hanging_setup_fails_before_any_model_call_and_keeps_nothing(cg: Crewgate, tmp_path: Path) -> None:
    repo = dependent_repo(tmp_path / "repo", "isodate==0.7.2", "isodate", "True")
    # the project's own output: escape sequences for the terminal, then megabytes on one line
    hostile = "printf '\\033[2J\\342\\200\\256hostile\\n'; head -c 3000000 /dev/zero | tr '\\0' x; echo"
    broken = setup_runbook(tmp_path / "broken", ["echo preparing", hostile, "echo broken dependency >&2; exit 7"])
    failed = cg.run("run", str(broken), "-i", f"repo={repo}")
    assert "hostile" in failed.stderr and "\x1b" not in failed.stderr and "\u202e" not in failed.stderr
    assert "\\u001b[2J" in failed.stderr and len(failed.stderr) < 20_000  # escaped, and never the megabytes
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "`echo broken dependency >&2; exit 7` exited 7" in failed.stderr
    ((run_id, status, message),) = cg.query("SELECT id, status, message FROM crewgate_runs")
    assert status == "failed" and "broken dependency" in message and "exited 7" in message
    shown = cg.run("runs", "show", run_id)
    assert "broken dependency" in shown.stdout, shown.stdout
    assert cg.query("SELECT count(*) FROM crewgate_model_calls") == [(0,)]
    assert cg.query("SELECT count(*) FROM crewgate_steps") == [(0,)]

    hanging = setup_runbook(tmp_path / "hanging", ["sleep 600"], extra_sandbox="  setup_timeout_s: 2\n")
    timed_out = cg.run("run", str(hanging), "-i", f"repo={repo}")
    assert timed_out.returncode == 3 and "`sleep 600` timed out after 2 s" in timed_out.stderr, timed_out.stderr

    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"repo": str(repo)}) + "\n")
    batch = cg.run("batch", "start", str(broken), "--inputs", str(rows), "--detach")
    assert batch.returncode == 2 and f"{rows}:1:" in batch.stderr and "exited 7" in batch.stderr, batch.stderr
    assert cg.query("SELECT count(*) FROM crewgate_batches") == [(0,)]
    assert cg.query("SELECT count(*) FROM crewgate_runs") == [(2,)]  # the two single runs, failed; none of the batch

    import docker

    client = docker.from_env()
    try:
        # this test's builds, by the hash their progress named (other tests may be building at the same time)
        mine = {
            f"env-{line.split()[1].rstrip(':')}"
            for out in (failed, timed_out)
            for line in out.stderr.splitlines()
            if line.startswith("environment ")
        }
        assert len(mine) == 2
        # one listing call, as in images_with_digest_prefix: another test's container may go between calls
        leftovers = client.api.containers(all=True, filters={"label": "crewgate.managed=1"})
        sessions = [(c.get("Labels") or {}).get("crewgate.session") for c in leftovers]
        assert [session for session in sessions if session in mine] == []
        assert [
            image.get("RepoTags")
            for image in client.api.images(name="crewgate-env")
            if "broken" in (image.get("Labels") or {}).get("crewgate.env.commands", "")
        ] == []
    finally:
        client.close()


def test_bad_setup_input_is_refused_at_its_place_with_nothing_recorded(cg: Crewgate, tmp_path: Path) -> None:
    repo = dependent_repo(tmp_path / "repo", "isodate==0.7.2", "isodate", "True")
    runbook = setup_runbook(
        tmp_path / "rb",
        ["pip install -r requirements.txt"],
        extra_sandbox="  setup_inputs: [requirements.txt, poetry.lock]\n",
    )
    missing = cg.run("run", str(runbook), "-i", f"repo={repo}")
    assert missing.returncode == 2, missing.stderr
    line = next(n for n, text in enumerate(runbook.read_text().splitlines(), 1) if "setup_inputs" in text)
    assert (
        f"{runbook}:{line}:" in missing.stderr
        and "'poetry.lock', which is not in the run's repository" in missing.stderr
    )

    fine = setup_runbook(tmp_path / "fine", ["pip install -r requirements.txt"])
    no_wheels = cg.run("run", str(fine), "-i", f"repo={repo}", CREWGATE_WHEELHOUSE=str(tmp_path / "nowhere"))
    assert (
        no_wheels.returncode == 2
        and "CREWGATE_WHEELHOUSE" in no_wheels.stderr
        and "is not a folder" in no_wheels.stderr
    )

    empty = tmp_path / "empty.yaml"
    empty.write_text(runbook.read_text().replace('setup: ["pip install -r requirements.txt"]', "setup: ['']"))
    refused = cg.run("runbook", "validate", str(empty))
    assert refused.returncode == 2 and "setup" in refused.stderr + refused.stdout
    assert cg.query("SELECT count(*) FROM crewgate_runs") == [(0,)]


def test_a_schedules_ticks_share_one_environment_and_a_run_taken_up_elsewhere_rebuilds_it_or_stops_saying_why(
    cg: Crewgate, tmp_path: Path
) -> None:
    wheels = greetlib_wheelhouse(tmp_path / "wheels")
    repo = greetlib_repo(tmp_path / "repo")
    nightly = (
        "schedule:\n  - {name: nightly, cron: '0 3 * * *', overlap: allow, while_in_review: allow, "
        f"inputs: {{repo: '{repo}'}}}}\n"
    )
    runbook = setup_runbook(tmp_path / "rb", ["pip install -r requirements.txt"], schedule=nightly)
    offline = {"CREWGATE_WHEELHOUSE": str(wheels)}
    assert cg.run("schedule", "apply", str(runbook)).returncode == 0
    for _ in range(2):
        assert cg.run("schedule", "trigger", "nightly").returncode == 0
    idle = cg.run("worker", "--until-idle", "--json", "--concurrency", "2", **offline)
    assert idle.returncode == 0, idle.stdout[-3000:] + idle.stderr[-3000:]
    runs = cg.query("SELECT id, image, status FROM crewgate_runs ORDER BY created_at")
    assert [status for _, _, status in runs] == ["waiting", "waiting"], runs
    assert len({image for _, image, _ in runs}) == 1 and runs[0][1].startswith("crewgate-env:")
    assert (idle.stdout + idle.stderr).count("building from") == 1  # two ticks, one build

    remove_image(runs[0][1])  # as on a machine that never built it: the process that takes the run up rebuilds it
    review = pending_review(cg, runs[0][0])
    changed = cg.run(
        "review", "request-changes", review, "--reviewer", "bob", "-m", "again", "--step", "test", **offline
    )
    assert changed.returncode == 10, (
        changed.stdout[-2000:] + changed.stderr[-3000:]
    )  # the check re-ran: back at the gate
    assert "building from" in changed.stderr
    assert images_with_digest_prefix(runs[0][1].split(":")[1]) == [runs[0][1]]
    tests = cg.query(
        "SELECT status FROM crewgate_steps WHERE run_id = ? AND step_id = 'test' ORDER BY attempt", runs[0][0]
    )
    assert tests == [("done",), ("done",)]
    # a machine whose sandbox image differs makes another recipe: the run stops, saying so, never runs elsewhere
    other_base = {"CREWGATE_SANDBOX_IMAGE": runs[0][1], **offline}
    review = pending_review(cg, runs[1][0])
    moved = cg.run(
        "review", "request-changes", review, "--reviewer", "bob", "-m", "again", "--step", "test", **other_base
    )
    assert moved.returncode == 1, moved.stdout[-2000:] + moved.stderr[-2000:]
    ((status, message),) = cg.query("SELECT status, message FROM crewgate_runs WHERE id = ?", runs[1][0])
    assert status == "failed" and f"was made in environment {runs[1][1]}" in message, message
    cg.run("review", "reject", pending_review(cg, runs[0][0]), "--reviewer", "alice", "-m", "done")
    pruned = json.loads(cg.run("sandbox", "envs", "prune", "--json").stdout)
    assert runs[0][1] in [view["tag"] for view in pruned["removed"]]
