"""Runbook versions are immutable once used; the schema is generated, committed and referenced."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.durable_helpers import Crewgate, last_event, make_repo
from workflows.runbook import load_runbook
from workflows.store.runbooks import json_schema_text

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = sorted((ROOT / "runbooks").glob("*.yaml"))
SCHEMA_HEADER = "# yaml-language-server: $schema="

NO_GATE = """\
name: versioned
version: 1.0.0
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Answer}
steps:
  - {id: answer, check: "echo 'WORDS'"}
"""


def test_committed_schema_is_the_generated_one() -> None:
    assert (ROOT / "schema" / "runbook.schema.json").read_text() == json_schema_text(), (
        "schema/runbook.schema.json is stale: run `crewgate runbook schema --output schema/runbook.schema.json`"
    )


def test_schema_command_prints_the_committed_schema(cg: Crewgate) -> None:
    done = cg.run("runbook", "schema")
    assert done.returncode == 0 and done.stdout == (ROOT / "schema" / "runbook.schema.json").read_text()


@pytest.mark.parametrize("path", RUNBOOKS, ids=[p.name for p in RUNBOOKS])
def test_shipped_runbook_validates_and_points_at_the_schema(path: Path) -> None:
    loaded = load_runbook(path)
    header = path.read_text().splitlines()[0]
    assert header.startswith(SCHEMA_HEADER)
    schema_path = (path.parent / header.removeprefix(SCHEMA_HEADER)).resolve()
    assert schema_path == ROOT / "schema" / "runbook.schema.json" and schema_path.is_file()
    assert loaded.runbook.name == path.stem


def test_at_least_five_shipped_runbooks_with_both_engines() -> None:
    books = {path.stem: load_runbook(path).runbook for path in RUNBOOKS}
    assert {"add-feature", "fix-failing-tests", "security-audit"} <= set(books)
    processes = {step.process for book in books.values() for step in book.steps if hasattr(step, "process")}
    assert {"hierarchical", "round_robin"} <= processes


def write_runbook(folder: Path, words: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "replies.yaml").write_text(yaml.safe_dump({"coder": ["stored answer", "second answer"]}))
    path = folder / "versioned.yaml"
    path.write_text(NO_GATE.replace("WORDS", words))
    return path


def test_changed_content_under_a_used_version_is_refused(cg: Crewgate, tmp_path: Path) -> None:
    path = write_runbook(tmp_path / "rb", "first words")
    assert cg.run("runbook", "register", str(path)).returncode == 0
    assert "already registered" in cg.run("runbook", "register", str(path)).stdout  # same content is fine
    path.write_text(path.read_text().replace("first words", "other words"))
    refused = cg.run("runbook", "register", str(path))
    assert refused.returncode == 2
    assert f"{path}:2:1: versioned@1.0.0 is already registered with different content" in refused.stderr
    assert "bump `version:`" in refused.stderr
    listing = json.loads(cg.run("runbook", "list", "--json").stdout)
    assert [(r["name"], r["version"]) for r in listing] == [("versioned", "1.0.0")]


@pytest.mark.docker
@pytest.mark.slow
def test_name_at_version_runs_the_stored_content_after_the_file_changes(cg: Crewgate, tmp_path: Path) -> None:
    path = write_runbook(tmp_path / "rb", "the stored task")
    first = cg.run("run", str(path), "--json")
    assert first.returncode == 0, first.stdout[-1500:] + first.stderr[-1500:]
    path.write_text(path.read_text().replace("the stored task", "an edited task"))
    assert cg.run("run", str(path)).returncode == 2  # the edited file cannot reuse 1.0.0
    shutil.move(path, tmp_path / "moved-away.yaml")  # and even with the file gone...
    again = cg.run("run", "versioned@1.0.0", "--json")
    assert again.returncode == 0, again.stdout[-1500:] + again.stderr[-1500:]
    run_id = last_event(again.stdout)["run"]
    output = cg.show(run_id)["steps"][0]["output"]
    assert "the stored task" in output and "edited" not in output
    latest = cg.run("run", "versioned", "--json")
    assert latest.returncode == 0 and last_event(latest.stdout)["status"] == "completed"
    unknown = cg.run("run", "versioned@9.9.9")
    assert unknown.returncode == 2 and "no registered version '9.9.9' (registered: 1.0.0)" in unknown.stderr


def test_a_version_registered_from_a_removed_folder_runs_from_its_new_one(cg: Crewgate, tmp_path: Path) -> None:
    """The same content run from another folder, once the first is gone, reads its scripted replies there."""
    first = tmp_path / "first"
    shutil.copytree(ROOT / "runbooks", first)
    assert cg.run("runbook", "register", str(first / "add-feature.yaml")).returncode == 0
    shutil.rmtree(first)
    again = tmp_path / "again"
    shutil.copytree(ROOT / "runbooks", again)
    repo = make_repo(tmp_path / "repo")
    ran = cg.run("run", str(again / "add-feature.yaml"), "-i", f"repo={repo}", "--json")
    assert ran.returncode == 10, ran.stdout[-1500:] + ran.stderr[-1500:]  # at its gate, the replies found
    folder = "SELECT base_dir FROM crewgate_runbook_versions WHERE name = 'add-feature'"
    assert cg.query(folder) == [(str(again),)]
    third = tmp_path / "third"
    shutil.copytree(ROOT / "runbooks", third)
    assert cg.run("runbook", "register", str(third / "add-feature.yaml")).returncode == 0
    assert cg.query(folder) == [(str(again),)]  # a folder that still exists is kept
