"""Malformed runbooks: each fails `crewgate runbook validate` with exit 2 at the offending line:col.

In every case the offending spot is marked with « in the YAML; the test
removes the marker and expects the error at exactly that position.
"""

from pathlib import Path

import pytest

from tests.helpers import crewgate
from workflows.errors import RunbookError
from workflows.runbook import load_runbook, parse_runbook

BASE = """\
name: demo
version: 1.0.0
inputs:
  request: {type: string}
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Code}
steps:
  - id: implement
    task: "Do {{ inputs.request }}"
    member: coder
  - id: test
    check: python3 -m pytest -q
    on_fail: implement
  - id: approve
    gate: {required: 1}
  - id: ship
    promote: {to: patch, path: out.patch}
"""

CASES = {
    "yaml syntax": ("model: scripted/replies.yaml", "model: scripted/replies.yaml«: extra"),
    "unclosed bracket": ("  request: {type: string}", "  request: {type: string\nx«: 1"),
    "tab indentation": ("    coder: {goal: Code}", "«\tcoder: {goal: Code}"),
    "unclosed quote": ('    task: "Do {{ inputs.request }}"', '    task: «"Do {{ inputs.request }}'),
    "duplicate key": ("model: scripted/replies.yaml", "model: scripted/replies.yaml\n«model: other"),
    "unknown top-level key": ("steps:\n", "«stepz:\n"),
    "unknown step key": ("    member: coder", "    «membr: coder"),
    "wrong type": ("    member: coder", "    member: coder\n    max_turns: «ten"),
    "bad semver": ("version: 1.0.0", "version: «'1.0'"),
    "unquoted version": ("version: 1.0.0", "version: «1.0"),
    "unknown member": ("    member: coder", "    member: «tester"),
    "on_fail to a later step": ("    on_fail: implement", "    on_fail: «approve"),
    "promote without gate": ("  - id: approve\n    gate: {required: 1}\n", ""),
    "duplicate step id": ("  - id: test", "  - id: «implement"),
    "template syntax": ('    task: "Do {{ inputs.request }}"', '    task: «"Do {{ inputs.request "'),
    "undeclared input": ('    task: "Do {{ inputs.request }}"', '    task: «"Do {{ inputs.reqest }}"'),
    "later step output": ('    task: "Do {{ inputs.request }}"', '    task: «"Do {{ steps.test.output }}"'),
    "two step kinds": ("  - id: test\n", "  - «id: test\n    task: also\n"),
    "unknown promote target": ("{to: patch, path: out.patch}", "«{to: s3, path: out.patch}"),
    "bad cron": ("steps:\n", 'schedule:\n  - cron: «"61 * * *"\nsteps:\n'),
    "process not on engine": (
        "    member: coder\n",
        "    member: coder\n  - id: together\n    crew: Build it\n    process: «round_robin\n",
    ),
    "missing scripted file": ("model: scripted/replies.yaml", "model: «scripted/missing.yaml"),
    "wrong default type": ("  request: {type: string}", "  request: {type: integer, default: «'many'}"),
    "unknown role": ("    coder: {goal: Code}", "    coder: {goal: Code}\n    «wizard: {goal: Magic}"),
    "missing required key": ("model: scripted/replies.yaml\n", ""),
    "bad input type": ("  request: {type: string}", "  request: {type: «strin}"),
    "literal api key": (
        "model: scripted/replies.yaml\n",
        "model: scripted/replies.yaml\nmodel_params: {api_key: «sk-1}\n",
    ),
    "literal member key": ("    coder: {goal: Code}", '    coder: {goal: Code, model_params: {API_KEY: «"sk-1"}}'),
    "literal token": (
        "model: scripted/replies.yaml\n",
        "model: scripted/replies.yaml\nmodel_params:\n  OpenAI_Token: «t\n",
    ),
    "literal secret": (
        "model: scripted/replies.yaml\n",
        "model: scripted/replies.yaml\nmodel_params:\n  client_SECRET: «s\n",
    ),
    "literal header": (
        "model: scripted/replies.yaml\n",
        "model: scripted/replies.yaml\nmodel_params:\n  extra_headers: {Authorization: «Bearer x}\n",
    ),
    "literal password default": (
        "  request: {type: string}",
        "  request: {type: string}\n  db_Password: {type: string, default: «hunter2}",
    ),
    "literal schedule input": (
        "steps:\n",
        "schedule:\n  - cron: '0 3 * * *'\n    inputs: {request: r, api_token: «t}\nsteps:\n",
    ),
}
EXPECTED_WORDS = {
    "unclosed quote": "quote is never closed",
    "yaml syntax": "mapping values are not allowed here",
    "unclosed bracket": "started at line 4, column 12",
    "tab indentation": "tab",
    "duplicate key": "duplicate key 'model'",
    "unknown top-level key": "did you mean 'steps'",
    "unknown step key": "did you mean 'member'",
    "wrong type": "expected an integer",
    "bad semver": "not a semantic version",
    "unquoted version": 'quote it: "1.0"',
    "unknown member": "unknown member 'tester'",
    "on_fail to a later step": "must name an earlier step",
    "promote without gate": "needs a gate step before it",
    "duplicate step id": "duplicate step id 'implement'",
    "template syntax": "template syntax error",
    "undeclared input": "undeclared input 'reqest'",
    "later step output": "steps.test, which is not an earlier step",
    "two step kinds": "exactly one of: task, crew, check, gate, promote",
    "unknown promote target": "use git, directory or patch",
    "bad cron": "is not a cron expression",
    "process not on engine": "not available on engine 'crewai'",
    "missing scripted file": "missing.yaml not found",
    "wrong default type": "default must be a integer",
    "unknown role": "has no role 'wizard'",
    "missing required key": "missing required key 'model'",
    "bad input type": "did you mean 'string'",
    "literal api key": "model param 'api_key' looks like a secret (its name contains 'key')",
    "literal member key": "model param 'API_KEY' of member 'coder' looks like a secret",
    "literal token": "model param 'OpenAI_Token' looks like a secret (its name contains 'token')",
    "literal secret": "model param 'client_SECRET' looks like a secret (its name contains 'secret')",
    "literal header": "model param 'extra_headers.Authorization' looks like a secret",
    "literal password default": "input 'db_Password' looks like a secret (its name contains 'password')",
    "literal schedule input": "schedule input 'api_token' looks like a secret",
}


def write_case(folder: Path, old: str, new: str) -> tuple[Path, int, int]:
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    if "«" in text:
        before = text[: text.index("«")]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        text = text.replace("«", "", 1)
    else:  # the problem is about something absent: reported at the step or document it belongs to
        line, col = 0, 0
    (folder / "replies.yaml").write_text("coder: ['done']\n")
    path = folder / "runbook.yaml"
    path.write_text(text)
    return path, line, col


def test_base_runbook_is_valid(tmp_path: Path) -> None:
    path, _, _ = write_case(tmp_path, "name: demo", "name: demo")
    done = crewgate("runbook", "validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "ok (demo@1.0.0" in done.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_runbook_points_at_the_offending_spot(tmp_path: Path, case: str) -> None:
    """In-process: the loader's problems are what `crewgate runbook validate` prints (one smoke test below)."""
    path, line, col = write_case(tmp_path, *CASES[case])
    with pytest.raises(RunbookError) as refused:
        load_runbook(path)
    messages = [str(problem) for problem in refused.value.problems]
    matching = [m for m in messages if EXPECTED_WORDS[case] in m]
    assert matching, f"{case}: expected {EXPECTED_WORDS[case]!r} in {messages}"
    if line:
        assert matching[0].startswith(f"{path}:{line}:{col}: "), f"{case}: {matching[0]}"
    else:
        assert matching[0].startswith(f"{path}:"), matching[0]


def test_json_output_lists_problems(tmp_path: Path) -> None:
    import json

    path, line, col = write_case(tmp_path, *CASES["unknown step key"])
    done = crewgate("runbook", "validate", "--json", str(path))
    assert done.returncode == 2
    (report,) = json.loads(done.stdout)
    assert report["ok"] is False
    unknown = next(problem for problem in report["problems"] if problem["field"] == "steps.0.membr")
    assert (unknown["line"], unknown["col"]) == (line, col)
    assert "did you mean 'member'" in unknown["message"]


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    done = crewgate("runbook", "validate", str(tmp_path / "nope.yaml"))
    assert done.returncode == 2 and "file not found" in done.stderr
    listing = tmp_path / "list.yaml"
    listing.write_text("- just\n- a list\n")
    done = crewgate("runbook", "validate", str(listing))
    assert done.returncode == 2 and "a runbook is a YAML mapping" in done.stderr


SHIPPED = Path(__file__).resolve().parents[1] / "runbooks" / "add-feature.yaml"


@pytest.mark.parametrize("quote", ['"', "'"])
def test_an_unclosed_quote_on_any_line_of_the_shipped_runbook_is_reported_where_it_opens(
    tmp_path: Path, quote: str
) -> None:
    """YAML only notices an open quote lines later (at the next quote, or the end of the file)."""
    lines = SHIPPED.read_text().splitlines()
    tried = 0
    for number, line in enumerate(lines, start=1):
        if ": " not in line or line.lstrip().startswith("#"):
            continue
        key = line.split(": ", 1)[0]
        broken = tmp_path / f"line{number}.yaml"
        broken.write_text("\n".join([*lines[: number - 1], f"{key}: {quote}never closed", *lines[number:]]) + "\n")
        with pytest.raises(RunbookError) as refused:
            load_runbook(broken)
        problem = refused.value.problems[0]
        assert problem.line == number, (number, str(refused.value))
        assert "quote" in problem.message, problem.message
        tried += 1
    assert tried >= 25


def test_a_literal_key_exits_2_naming_its_line_and_says_where_keys_go(tmp_path: Path) -> None:
    path, line, col = write_case(
        tmp_path,
        "model: scripted/replies.yaml\n",
        "model: scripted/replies.yaml\nmodel_params:\n  temperature: 0\n  api_key: «sk-live-0123456789\n",
    )
    done = crewgate("runbook", "validate", str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert f"{path}:{line}:{col}: model param 'api_key' looks like a secret" in done.stderr
    assert "read it from the environment: remove it" in done.stderr and "OPENAI_API_KEY" in done.stderr


def test_the_provider_key_named_is_the_members_model_s() -> None:
    text = BASE.replace(
        "    coder: {goal: Code}",
        "    coder: {goal: Code, model: anthropic/claude-x, model_params: {api_key: sk-ant-1}}",
    )
    with pytest.raises(RunbookError) as refused:
        parse_runbook(text)
    (problem,) = refused.value.problems
    assert "e.g. ANTHROPIC_API_KEY for anthropic/ models" in problem.message
    assert problem.path == "crew.members.coder.model_params.api_key"


def test_a_secret_input_default_says_to_pass_it_from_the_environment_at_run_start() -> None:
    text = BASE.replace(
        "  request: {type: string}", "  request: {type: string}\n  api_token: {type: string, default: t0k}"
    )
    with pytest.raises(RunbookError) as refused:
        parse_runbook(text)
    assert '-i api_token="$API_TOKEN" when the run starts' in str(refused.value)


def test_a_literal_secret_is_reported_with_the_schema_s_problems() -> None:
    text = BASE.replace("model: scripted/replies.yaml\n", "model_params: {api_key: sk-1}\n")  # and no `model:`
    with pytest.raises(RunbookError) as refused:
        parse_runbook(text)
    messages = [problem.message for problem in refused.value.problems]
    assert "missing required key 'model'" in messages and any("'api_key' looks like a secret" in m for m in messages)


@pytest.mark.parametrize(
    "allowed",
    [
        "model_params: {user: sk-live-0123456789, api_base: 'http://localhost:8000/v1'}",  # secret-looking value
        "model_params: {max_tokens: 4096, thinking: {budget_tokens: 1024}, api_key: '', seed: 7}",  # not text
        "model_params: {stop: [secret, password]}",  # secret words as values
        "inputs:\n  request: {type: string}\n  api_token: {type: string}\n  max_tokens: {type: integer, default: 9}",
    ],
)
def test_numbers_empty_text_and_secret_looking_values_under_other_names_are_fine(allowed: str) -> None:
    if allowed.startswith("inputs:"):
        text = BASE.replace("inputs:\n  request: {type: string}", allowed)
    else:
        text = BASE.replace("model: scripted/replies.yaml\n", f"model: scripted/replies.yaml\n{allowed}\n")
    assert parse_runbook(text).runbook.name == "demo"


@pytest.mark.parametrize(
    ("param", "where"),
    [
        ("{api_key: !!binary c2stc2VjcmV0}", "model_params.api_key"),  # bytes are text too
        ("{api_key: 12345678901234567890}", "model_params.api_key"),  # a number as long as a key
        ("{vertex_credentials: '{\"private_key\": 1}'}", "model_params.vertex_credentials"),
        ("{extra_headers: {Cookie: session=abc}}", "model_params.extra_headers.Cookie"),
        ("{api_base: 'https://user:sk-live-1@llm.internal/v1'}", "model_params.api_base"),  # a password in a URL
    ],
)
def test_secrets_in_other_shapes_are_refused_too(param: str, where: str) -> None:
    text = BASE.replace("model: scripted/replies.yaml\n", f"model: scripted/replies.yaml\nmodel_params: {param}\n")
    with pytest.raises(RunbookError) as refused:
        parse_runbook(text)
    assert [problem.path for problem in refused.value.problems] == [where]
