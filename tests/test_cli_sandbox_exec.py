"""`crewgate sandbox exec`: cells in one session, safe terminal output, honest exit codes."""

import json

import pytest

from tests.helpers import crewgate


@pytest.mark.docker
def test_cells_share_one_session_in_docker() -> None:
    done = crewgate("sandbox", "exec", "--json", "import os\nx = 41", "x + 1", "os.getuid()")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["value"] for r in results] == [None, "42", "10001"]


@pytest.mark.docker
def test_failed_cell_exits_1_and_shows_the_traceback() -> None:
    done = crewgate("sandbox", "exec", "math.sqrt(2)")
    assert done.returncode == 1
    assert "NameError: name 'math' is not defined" in done.stdout


@pytest.mark.docker
def test_terminal_escapes_from_the_sandbox_are_neutralised() -> None:
    done = crewgate("sandbox", "exec", "print('\\x1b]0;owned\\x07\\x1b[2Jdone')")
    assert done.returncode == 0
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "\\x1b]0;owned\\x07\\x1b[2Jdone" in done.stdout


def test_local_must_be_asked_for_and_says_it_is_not_isolated(tmp_path) -> None:
    (tmp_path / "data.txt").write_text("from the repo")
    done = crewgate("sandbox", "exec", "--local", "--repo", str(tmp_path), "open('data.txt').read()")
    assert done.returncode == 0, done.stderr
    assert "WITHOUT isolation" in done.stderr
    assert "'from the repo'" in done.stdout


def test_stdin_cell(tmp_path) -> None:
    from tests.helpers import crewgate

    done = crewgate("sandbox", "exec", "--local", "--json", "-", stdin="a = 2\na ** 10\n")
    assert json.loads(done.stdout)["value"] == "1024"
