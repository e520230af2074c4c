"""The member's parts on their own: roles, prompts, block parsing, budgets, the scripted file."""

from pathlib import Path

import pytest

from agents import AgentError, Budget, BudgetExceeded, ScriptError, Usage, role_names
from agents.blocks import parse_reply
from agents.gateway import redact
from agents.prompts import role_template, system_prompt
from agents.script_file import load_script


def test_every_role_ships_a_template_saying_what_good_output_is() -> None:
    assert role_names() == ["coder", "planner", "security_reviewer", "tester"]
    expectations = {
        "planner": "numbered plan",
        "coder": "verify every change by running it",
        "tester": "counts",
        "security_reviewer": "severity",
    }
    for role, phrase in expectations.items():
        assert phrase in role_template(role)


def test_unknown_role_lists_the_known_ones() -> None:
    with pytest.raises(AgentError, match="choose one of coder, planner"):
        system_prompt("x", "wizard", "")


def test_system_prompt_has_goal_and_codeact_rules() -> None:
    prompt = system_prompt("alice", "planner", "Break work down")
    assert "Your goal: Break work down" in prompt and "<execute>" in prompt and "WITHOUT any code" in prompt
    assert "<final_answer>" in prompt  # the one way to finish is said


@pytest.mark.parametrize(
    ("reply", "code", "problem"),
    [
        ("no code here", (), "no code to run and no final answer"),
        ("<execute>a = 1</execute> then <execute>\nb = 2\n</execute>", ("a = 1", "b = 2"), None),
        ("```python\nx = 1\n```", ("x = 1",), None),
        ("```py\nx = 1\n```\n```bash\nls\n```", ("x = 1",), None),
        ("<execute>\nx = 1", (), "never closed"),
        ("```python\nx = 1\n", (), "never closed"),
        ("<execute>a</execute>\n```python\nignored\n```", ("a",), None),
    ],
)
def test_parse_reply(reply: str, code: tuple[str, ...], problem: str | None) -> None:
    parsed = parse_reply(reply)
    assert parsed.code == code
    assert (parsed.problem is None) if problem is None else (problem in (parsed.problem or ""))


def test_budget_in_tokens_and_money() -> None:
    budget = Budget(max_tokens=100, max_usd=0.5)
    budget.charge(Usage(prompt_tokens=60, completion_tokens=30, cost_usd=0.1, calls=1))
    budget.check()
    budget.charge(Usage(prompt_tokens=10, calls=1))
    with pytest.raises(BudgetExceeded, match="100 of 100 tokens"):
        budget.check()
    money = Budget(max_usd=0.5)
    money.charge(Usage(cost_usd=0.6))
    with pytest.raises(BudgetExceeded, match=r"\$0.6000 of \$0.5000"):
        money.check()


def test_secrets_are_redacted_from_params() -> None:
    shown = redact({"api_key": "sk-1", "api_base": "http://x", "temperature": 0, "auth_token": "t"})
    assert shown == {"api_key": "***", "api_base": "http://x", "temperature": 0, "auth_token": "***"}


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("coder: [unclosed", "not valid YAML"),
        ("- a list", "expected a mapping"),
        ("coder: [1, 2]", "list of reply"),
        ("coder: {first: [a]}", "try numbers"),
        ("coder: {0: [a]}", "try numbers"),
        ("coder: {1: a}", "try numbers"),
    ],
)
def test_malformed_script_files(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ScriptError, match=complaint):
        load_script(path)


PROBE = """
import os
from agents._litellm import litellm_module

litellm = litellm_module()
imported = os.environ.get("CREWGATE_DOTENV_PROBE", "absent")
# The control: litellm's own call, made from its own file, finds the file (DEV mode would have loaded it).
exec(compile("import dotenv; dotenv.load_dotenv()", litellm.__file__, "exec"))
print(imported, os.environ.get("CREWGATE_DOTENV_PROBE", "absent"))
"""


def test_importing_litellm_loads_no_dotenv_file_from_the_folders_above_it(tmp_path: Path) -> None:
    """litellm in its default mode loads the first `.env` above its own install folder at import."""
    import importlib.util
    import os
    import subprocess
    import sys

    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    installed = tmp_path / "project" / ".venv" / "site-packages"
    installed.mkdir(parents=True)
    (installed / "litellm").symlink_to(Path(spec.origin).parent)  # litellm installed under the project
    (tmp_path / "project" / ".env").write_text("CREWGATE_DOTENV_PROBE=loaded\n")
    (tmp_path / "probe.py").write_text(PROBE)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LITELLM_")}
    repo = Path(__file__).resolve().parents[1]
    environment["PYTHONPATH"] = f"{installed}{os.pathsep}{repo}"
    done = subprocess.run(
        [sys.executable, str(tmp_path / "probe.py")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["absent", "loaded"]
