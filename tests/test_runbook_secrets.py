"""No secret is kept with a runbook, and none is shown.

A runbook with a literal key is refused before it is registered. A version an
older crewgate registered with one still loads (runs pinned to it go on), but
`crewgate runbook show` prints `***` in its place, and the run page does the same
for the value of a secret-named input.
"""

import json
from pathlib import Path

import httpx
import pytest
import yaml

from tests.durable_helpers import Crewgate
from tests.helpers import LOCAL_TLS
from tests.test_http_api import PASSWORD, serve
from tests.test_web_pages import log_in
from workflows.runbook import canonical_hash
from workflows.runbook.literal_secrets import redacted_source
from workflows.store.accounts import Accounts
from workflows.store.database import Store
from workflows.store.tables import runbook_versions

KEY = "sk-live-0123456789abcdef"  # noqa: S105 - a fake key that must never be stored or shown
RUNBOOK = """\
name: keyed
version: 1.0.0
inputs:
  request: {type: string, default: Answer}
  api_token: {type: string}
model: scripted/replies.yaml
model_params:
  temperature: 0
  api_key: KEY   # as an older crewgate let through
crew:
  members:
    coder:
      goal: Answer
      model_params:
        extra_headers: {Authorization: "Bearer KEY"}
steps:
  - {id: answer, task: "{{ inputs.request }}", member: coder}
"""


def write_runbook(folder: Path, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "replies.yaml").write_text("coder: [<final_answer>done</final_answer>]\n")
    path = folder / "keyed.yaml"
    path.write_text(text)
    return path


def test_register_refuses_a_literal_key_naming_its_line_and_registers_nothing(cg: Crewgate, tmp_path: Path) -> None:
    path = write_runbook(tmp_path / "rb", RUNBOOK.replace("KEY", KEY))
    refused = cg.run("runbook", "register", str(path))
    assert refused.returncode == 2
    assert f"{path}:9:12: model param 'api_key' looks like a secret" in refused.stderr
    assert f"{path}:15:40: model param 'extra_headers.Authorization' of member 'coder'" in refused.stderr
    assert json.loads(cg.run("runbook", "list", "--json").stdout) == []


def test_show_prints_stars_for_a_key_an_older_crewgate_stored_which_still_loads(cg: Crewgate, tmp_path: Path) -> None:
    content = RUNBOOK.replace("KEY", KEY)
    cg.home.mkdir()
    store = Store(cg.url)
    try:
        with store.engine.begin() as connection:
            connection.execute(
                runbook_versions.insert().values(
                    name="keyed",
                    version="1.0.0",
                    sha256=canonical_hash(yaml.safe_load(content)),
                    content=content,
                    source_file="keyed.yaml",
                    base_dir=str(write_runbook(tmp_path / "rb", content).parent),
                    registered_at="2024-01-01T00:00:00+00:00",
                )
            )
        loaded = store.get_runbook("keyed", "1.0.0").load()  # a run pinned to it goes on
        assert loaded.runbook.model_params["api_key"] == KEY
    finally:
        store.close()

    shown = cg.run("runbook", "show", "keyed@1.0.0")
    assert shown.returncode == 0, shown.stderr
    assert KEY not in shown.stdout
    assert '  api_key: "***"   # as an older crewgate let through\n' in shown.stdout
    assert 'extra_headers: {Authorization: "***"}' in shown.stdout and "temperature: 0" in shown.stdout
    as_json = cg.run("runbook", "show", "keyed", "--json")
    assert as_json.returncode == 0 and KEY not in as_json.stdout
    assert yaml.safe_load(json.loads(as_json.stdout)["content"])["model_params"] == {"temperature": 0, "api_key": "***"}


@pytest.mark.docker
def test_the_run_page_shows_stars_for_a_secret_named_input(cg: Crewgate, tmp_path: Path) -> None:
    text = RUNBOOK.replace("  api_key: KEY   # as an older crewgate let through\n", "")
    path = write_runbook(tmp_path / "rb", text.replace('extra_headers: {Authorization: "Bearer KEY"}', "seed: 1"))
    queued = cg.run("run", str(path), "--detach", "--json", "-i", f"api_token={KEY}", "-i", "request=Say hi")
    assert queued.returncode == 0, queued.stderr
    run_id = json.loads(queued.stdout.splitlines()[-1])["run"]
    Accounts(Store(cg.url).engine).add_user("victor", "viewer", PASSWORD)
    _, api = serve(cg, tmp_path / "serve.log")
    with httpx.Client(base_url=api.removesuffix("/api/v1"), timeout=30, verify=LOCAL_TLS) as client:
        assert log_in(client, "victor").status_code == 303
        page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200, page.text[:2000]
    assert "<code>api_token=***</code>" in page.text and "<code>request=Say hi</code>" in page.text
    assert KEY not in page.text


def test_show_keeps_comments_and_layout_and_hides_block_scalars_and_anchored_values() -> None:
    text = (
        "shared: &key sk-anchored   # kept\n"
        "model_params: {api_key: *key, max_tokens: 9, stop: [token]}\n"
        "inputs:\n"
        "  db_password:\n"
        "    type: string\n"
        "    default: |\n"
        "      line one\n"
        "      line two\n"
        "    description: d\n"
    )
    assert redacted_source(text) == (
        'shared: "***"   # kept\n'
        "model_params: {api_key: *key, max_tokens: 9, stop: [token]}\n"
        "inputs:\n"
        "  db_password:\n"
        "    type: string\n"
        '    default: "***"\n'
        "    description: d\n"
    )
