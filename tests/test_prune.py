"""Containers outlive no owner: a killed process's sandbox disappears; live ones are kept."""

import json
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from executors import DockerSandbox
from executors.engine import engine
from executors.prune import prune
from tests.helpers import crewgate, wait_until

pytestmark = pytest.mark.docker

OWNER = """
from executors import DockerSandbox
box = DockerSandbox().start()
print(box.container_id, flush=True)
import time
time.sleep(600)
"""


def container_exists(container_id: str) -> bool:
    with engine() as client:
        return bool(client.api.containers(all=True, filters={"id": container_id}))


def test_sandbox_of_a_killed_process_is_gone_after_prune() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    container_id = owner.stdout.readline().strip()
    assert container_exists(container_id)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    owner.stdout.close()
    done = crewgate("sandbox", "prune", "--json")
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)
    wait_until(lambda: not container_exists(container_id), 15, "the pruned container is gone", every=0.2)


def test_prune_keeps_sessions_whose_owner_is_alive(docker_box: DockerSandbox) -> None:
    assert docker_box.container_id is not None
    done = crewgate("sandbox", "prune")
    assert done.returncode == 0
    assert container_exists(docker_box.container_id)
    assert docker_box.execute("'alive'").value == "'alive'"


def test_prunes_racing_over_one_runs_containers_both_succeed() -> None:
    """Auto-removal and a second reaper both remove the same containers: a 404 or a 409 means it is going."""
    run_id = f"race-{uuid.uuid4().hex[:8]}"
    boxes = [DockerSandbox(labels={"crewgate.run": run_id}).start() for _ in range(4)]
    ids = [box.container_id for box in boxes]

    def reap() -> int:
        with engine() as client:
            return len(prune(client, run=run_id))

    with ThreadPoolExecutor(max_workers=3) as pool:
        reaped = list(pool.map(lambda _: reap(), range(3)))
    assert all(count <= len(ids) for count in reaped)
    wait_until(lambda: not any(container_exists(str(container_id)) for container_id in ids), 15, "all gone", every=0.2)
    for box in boxes:  # their containers are gone; this closes their engine connections
        box.close()
