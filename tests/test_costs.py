"""What runs cost, from litellm's prices of their recorded calls, in `runs show`, `runs list` and the web.

A run through the local OpenAI-compatible server with a model litellm prices
(gpt-4o-mini, from litellm's bundled price map) costs what litellm says each of
its calls costs, summed per step and per run; a model litellm cannot price
counts as 0 and is shown as unpriced; the scripted model is free.
"""

import json
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, last_event, make_repo
from tests.fake_openai import FakeOpenAI, serve
from tests.test_run_durability import REPLIES, http_runbook


def run_on(cg: Crewgate, folder: Path, repo: Path, model: str, version: str) -> str:
    with serve(FakeOpenAI(replies=[reply.replace("SLEEP", "0") for reply in REPLIES])) as fake:
        runbook = http_runbook(folder, fake.url)
        text = runbook.read_text().replace("openai/fake-model", model)
        runbook.write_text(text.replace("version: 1.0.0", f"version: {version}"))
        done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json", OPENAI_API_KEY="sk-test")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    return str(last_event(done.stdout)["run"])


@pytest.mark.docker
@pytest.mark.slow
def test_a_priced_model_costs_the_sum_of_its_calls_and_an_unknown_one_is_marked_unpriced(
    cg: Crewgate, tmp_path: Path, repo: Path
) -> None:
    import litellm

    priced = run_on(cg, tmp_path / "priced", repo, "openai/gpt-4o-mini", "1.0.0")
    shown = json.loads(cg.run("runs", "show", priced, "--json").stdout)
    calls = cg.query("SELECT scope, cost_usd FROM crewgate_model_calls WHERE run_id = ?", priced)
    one_call = sum(litellm.cost_per_token(model="gpt-4o-mini", prompt_tokens=120, completion_tokens=30))
    assert one_call > 0 and all(cost == pytest.approx(one_call) for _, cost in calls)
    assert shown["cost_usd"] == pytest.approx(one_call * len(calls)) and shown["model_calls"] == len(calls) == 3
    assert shown["unpriced_calls"] == 0
    by_step = {step["id"]: step["cost_usd"] for step in shown["steps"]}
    assert by_step["plan"] == pytest.approx(one_call) and by_step["implement"] == pytest.approx(2 * one_call)
    assert by_step["test"] == 0 and sum(shown["cost_by_member"].values()) == pytest.approx(shown["cost_usd"])
    tokens = {step["id"]: step["tokens"] for step in shown["steps"]}  # the run page's Tokens column
    assert tokens["plan"] == 150 and tokens["implement"] == 300 and tokens["test"] == 0
    listed = {item["id"]: item for item in json.loads(cg.run("runs", "list", "--json").stdout)}
    assert listed[priced]["cost_usd"] == pytest.approx(shown["cost_usd"])
    assert f"cost ${shown['cost_usd']:.6f} for 3 model call(s)" in cg.run("runs", "show", priced).stdout

    unpriced = run_on(
        cg, tmp_path / "unpriced", make_repo(tmp_path / "repo2"), "openai/crewgate-no-such-model", "1.0.1"
    )
    shown = json.loads(cg.run("runs", "show", unpriced, "--json").stdout)
    assert shown["cost_usd"] == 0 and shown["unpriced_calls"] == shown["model_calls"] == 3
    assert "cost $0.000000 + 3 unpriced call(s)" in cg.run("runs", "show", unpriced).stdout
