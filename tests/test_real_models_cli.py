"""Real models from the command line: keys checked before anything is recorded, `--model`, `models check`.

Every model here is served by the loopback OpenAI-compatible server through litellm's HTTP
path; the commands are real `crewgate` processes on a private home.
"""

import json
from pathlib import Path

import httpx
import pytest

from tests.durable_helpers import Crewgate, durable_runbook, kill, last_event, make_repo
from tests.fake_openai import Failure, FakeOpenAI, serve
from tests.helpers import LOCAL_TLS
from tests.test_http_api import PASSWORD
from tests.test_http_api import serve as serve_api
from tests.test_run_durability import REPLIES
from workflows.store.accounts import Accounts
from workflows.store.database import Store

RECORDED = [
    "SELECT count(*) FROM crewgate_runbook_versions",
    "SELECT count(*) FROM crewgate_runs",
    "SELECT count(*) FROM crewgate_hosts",
    "SELECT count(*) FROM crewgate_batches",
    "SELECT count(*) FROM crewgate_schedules",
]


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' processes see only the keys a test gives them."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def openai_runbook(folder: Path, model: str = "openai/gpt-4o-mini", extra: str = "") -> Path:
    """The small durable runbook, its models switched to a real provider's."""
    path = durable_runbook(folder)
    path.write_text(path.read_text().replace("model: scripted/replies.yaml", f"model: {model}{extra}"))
    return path


def nothing_recorded(cg: Crewgate) -> None:
    for query in RECORDED:
        assert cg.query(query) == [(0,)], query


def test_a_missing_key_stops_every_way_of_starting_runs_before_anything_is_recorded(
    cg: Crewgate, tmp_path: Path
) -> None:
    runbook = openai_runbook(tmp_path / "rb")
    repo = make_repo(tmp_path / "repo")
    cg.run("db", "upgrade")
    done = cg.run("run", str(runbook), "-i", f"repo={repo}")
    assert done.returncode == 3, done.stderr
    assert "error: set OPENAI_API_KEY for openai/gpt-4o-mini" in done.stderr and "Nothing was recorded" in done.stderr
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text(json.dumps({"repo": str(repo)}) + "\n")
    # refused before anything starts: in this process (the `run` above is a real one, its exit code 3)
    batch = cg.run("batch", "start", str(runbook), "--inputs", str(inputs), process=False)
    assert batch.returncode == 3 and "set OPENAI_API_KEY" in batch.stderr, batch.stderr
    scheduled = tmp_path / "scheduled" / "runbook.yaml"
    scheduled.parent.mkdir()
    scheduled.write_text(runbook.read_text() + f"schedule:\n  - {{cron: '0 3 * * *', inputs: {{repo: '{repo}'}}}}\n")
    (scheduled.parent / "replies.yaml").write_text((runbook.parent / "replies.yaml").read_text())
    applied = cg.run("schedule", "apply", str(scheduled))
    assert applied.returncode == 3 and "set OPENAI_API_KEY" in applied.stderr, applied.stderr
    overridden = cg.run(
        "run",
        str(durable_runbook(tmp_path / "scripted")),
        "-i",
        f"repo={repo}",
        "--model",
        "anthropic/claude-haiku-4-5",
        process=False,
    )
    assert overridden.returncode == 3 and "set ANTHROPIC_API_KEY for anthropic/claude-haiku-4-5" in overridden.stderr
    nothing_recorded(cg)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--model", "nosuchprovider/model-x"], "litellm knows no provider 'nosuchprovider'"),
        (["--model-param", "temperature"], "is not NAME=VALUE"),
        (["--model-param", "api_key=sk-live-123"], "a secret is never passed on a command line"),
        (["--model-param", "Authorization_Token=x"], "a secret is never passed on a command line"),
        (["--model-param", "stop=[a, b]"], "give one value"),
        (["--model-param", "api_base=https://me:hunter2@llm.example/v1"], "carries a user name and password"),
        (["--model", "scripted/no/such/file.yaml"], "does not exist"),
    ],
)
def test_bad_model_options_exit_2_with_nothing_recorded(
    cg: Crewgate, tmp_path: Path, args: list[str], words: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    cg.run("db", "upgrade")
    run = ("run", str(durable_runbook(tmp_path / "rb")), "-i", f"repo={repo}", *args)
    done = cg.run(*run, OPENAI_API_KEY="sk-t", process=False)  # refused before anything starts: in this process
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr
    nothing_recorded(cg)


def test_an_unknown_provider_in_a_runbook_exits_2(cg: Crewgate, tmp_path: Path) -> None:
    runbook = openai_runbook(tmp_path / "rb", model="madeup/model")
    cg.run("db", "upgrade")
    done = cg.run("run", str(runbook), "-i", f"repo={make_repo(tmp_path / 'repo')}", process=False)
    assert done.returncode == 2 and "knows no provider 'madeup'" in done.stderr, done.stderr
    nothing_recorded(cg)


@pytest.mark.docker
def test_model_override_calls_the_given_model_and_is_recorded(cg: Crewgate, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    runbook = durable_runbook(tmp_path / "rb")  # on the scripted model
    with serve(FakeOpenAI(replies=[reply.replace("SLEEP", "0") for reply in REPLIES])) as fake:
        done = cg.run(
            "run",
            str(runbook),
            "-i",
            f"repo={repo}",
            "--json",
            "--model",
            "openai/fake-override",
            "--model-param",
            f"api_base={fake.url}",
            "--model-param",
            "temperature=0",
            OPENAI_API_KEY="sk-test",
        )
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    run_id = last_event(done.stdout)["run"]
    assert len(fake.requests) == 3 and {request["model"] for request in fake.requests} == {"fake-override"}
    assert all(request["temperature"] == 0 for request in fake.requests)
    shown = cg.show_by_command(run_id)
    assert shown["model_override"] == {
        "model": "openai/fake-override",
        "params": {"api_base": fake.url, "temperature": 0},
    }
    assert set(shown["models"].values()) == {"openai/fake-override"}
    text = cg.run("runs", "show", run_id).stdout
    assert "models openai/fake-override (--model for this run" in text
    traced = cg.query("SELECT data FROM crewgate_trace WHERE run_id = ? AND member = 'coder'", run_id)
    assert all(json.loads(row[0]).get("model", "openai/fake-override") == "openai/fake-override" for row in traced)


def test_models_check_reports_latency_tokens_and_price(cg: Crewgate) -> None:
    with serve(FakeOpenAI(replies=["ok"])) as fake:
        done = cg.run(
            "models", "check", "openai/gpt-4o-mini", "--model-param", f"api_base={fake.url}", OPENAI_API_KEY="sk-t"
        )
        as_json = cg.run(
            "models",
            "check",
            "openai/gpt-4o-mini",
            "--model-param",
            f"api_base={fake.url}",
            "--json",
            OPENAI_API_KEY="sk-t",
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "openai/gpt-4o-mini: ok in" in done.stdout and "120 prompt + 30 completion tokens, $0.0000" in done.stdout
    (checked,) = json.loads(as_json.stdout)
    assert checked["ok"] and checked["prompt_tokens"] == 120 and checked["cost_usd"] > 0 and checked["priced"]
    assert len(fake.requests) == 2 and fake.requests[0]["max_tokens"] == 16


def test_models_check_missing_and_refused_keys_exit_3(cg: Crewgate, tmp_path: Path) -> None:
    missing = cg.run("models", "check", "openai/gpt-4o-mini")
    assert missing.returncode == 3 and "FAILED: set OPENAI_API_KEY for openai/gpt-4o-mini" in missing.stdout
    with serve(FakeOpenAI(replies=["ok"], failures=[Failure(401)] * 3)) as fake:
        refused = cg.run(
            "models", "check", "openai/x", "--model-param", f"api_base={fake.url}", OPENAI_API_KEY="sk-bad"
        )
    assert refused.returncode == 3 and "refused the credentials" in refused.stdout, refused.stdout
    assert len(fake.requests) == 1  # not retried
    scripted = cg.run("models", "check", str(durable_runbook(tmp_path / "rb")))
    assert scripted.returncode == 0 and "offline scripted model" in scripted.stdout, scripted.stdout + scripted.stderr


@pytest.mark.slow
def test_the_http_api_refuses_a_run_whose_model_has_no_key(cg: Crewgate, tmp_path: Path) -> None:
    runbook = openai_runbook(tmp_path / "rb")
    registered = cg.run("runbook", "register", str(runbook))
    assert registered.returncode == 0, registered.stderr
    accounts = Accounts(Store(cg.url).engine)
    accounts.add_user("ada", "admin", PASSWORD)
    token = accounts.create_token("ada")[1]
    server, base = serve_api(cg, tmp_path / "serve.log")
    try:
        body = {"runbook": "durable-test@1.0.0", "inputs": {"repo": str(make_repo(tmp_path / "repo"))}}
        started = httpx.post(
            f"{base}/runs", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60, verify=LOCAL_TLS
        )
    finally:
        kill(server)
    assert started.status_code == 503 and "set OPENAI_API_KEY for openai/gpt-4o-mini" in started.json()["detail"]
    assert cg.query("SELECT count(*) FROM crewgate_runs") == [(0,)]
