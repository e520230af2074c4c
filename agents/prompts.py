"""System prompts: the role's template, the goal, the CodeAct rules, the helpers.

Role templates are files in `agents/roles/`. Helper functions are shown to the
model as Python signatures with docstrings (via `inspect`) and defined in the
sandbox from their source, so the model's code can call them.
"""

import inspect
import textwrap
from collections.abc import Callable, Sequence
from functools import cache
from importlib.resources import files

from .errors import AgentError

CODEACT_RULES = """\
## How you work
You act by writing Python. Put code in <execute>...</execute> (a ```python block also works).
It runs in a persistent Python session that your whole crew shares: variables, imports and
files in /workspace stay from one block to the next, and other members see them too.
After each reply with code you get an Observation: printed output, the value of the last
expression (`Out:`), or the traceback. Read it; when it shows an error, fix the cause and run again.
Verify your work by running it. Keep each block short and focused.
When you are finished, reply WITHOUT any code, with your answer in <final_answer>...</final_answer>.
Only that ends your work: a reply with neither code nor a final answer is sent back to you."""


def role_names() -> list[str]:
    return sorted(
        path.name.removesuffix(".md") for path in files("agents.roles").iterdir() if path.name.endswith(".md")
    )


@cache
def role_template(role: str) -> str:
    """The template text of a shipped role."""
    path = files("agents.roles").joinpath(f"{role}.md")
    if not path.is_file():
        raise AgentError(f"unknown role {role!r}: choose one of {', '.join(role_names())}")
    return path.read_text(encoding="utf-8").strip()


def helper_source(helper: Callable[..., object]) -> str:
    """The source that defines `helper` in the sandbox; it must be a plain, self-contained function."""
    if not inspect.isfunction(helper) or helper.__name__ == "<lambda>":
        raise AgentError(f"helper {helper!r} must be a named function defined with `def`")
    try:
        return textwrap.dedent(inspect.getsource(helper))
    except (OSError, TypeError) as exc:
        raise AgentError(f"helper {helper.__name__} has no source to send to the sandbox") from exc


def render_helpers(helpers: Sequence[Callable[..., object]]) -> str:
    """Helpers as the model sees them: `def name(signature):` and the docstring."""
    rendered = []
    for helper in helpers:
        doc = inspect.getdoc(helper) or "(no description)"
        body = textwrap.indent(f'"""{doc}"""', "    ")
        rendered.append(f"def {helper.__name__}{inspect.signature(helper)}:\n{body}")
    return "\n\n".join(rendered)


def system_prompt(
    name: str, role: str, goal: str, helpers: Sequence[Callable[..., object]] = (), tools: str = ""
) -> str:
    """The member's system prompt; `tools` is the rendered stubs section of what it may call (agents.tools)."""
    parts = [role_template(role), f"Your name in the crew: {name}."]
    if goal:
        parts.append(f"Your goal: {goal}")
    parts.append(CODEACT_RULES)
    if helpers:
        parts.append(
            "## Helper functions already defined in the session\n```python\n" + render_helpers(helpers) + "\n```"
        )
    if tools:
        parts.append(tools)
    return "\n\n".join(parts)
