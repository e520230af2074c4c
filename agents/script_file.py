"""The scripted model's reply files (no litellm import here).

A reply file maps a member name to its ordered replies. The list may be one for
every try of a step, or a mapping from the step's try number to that try's list,
so a script can show a first fix failing its check and a second one passing:

    coder:
      1: [<execute>...wrong fix...</execute>, <final_answer>Fixed.</final_answer>]
      2: [<execute>...right fix...</execute>, <final_answer>Fixed, really.</final_answer>]

A try with no list of its own takes the nearest lower-numbered one. Which reply a
call gets is the call's own index and try, so nothing here keeps state.
"""

from pathlib import Path
from typing import Any

import yaml

from .errors import ScriptError

Replies = list[str] | dict[int, list[str]]


def resolve_scripted(model: str, folder: Path | None) -> str:
    """`scripted/<relative path>` made absolute against `folder` (a runbook's; the working folder when None);
    any other model string as it is."""
    if not model.startswith("scripted/"):
        return model
    path = Path(model.removeprefix("scripted/"))
    if not path.is_absolute():
        path = (folder or Path.cwd()) / path
    return f"scripted/{path.resolve()}"


def load_script(path: Path) -> dict[str, Replies]:
    """Read and check a reply file: member name -> list of replies, or try number -> list of replies."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScriptError(f"scripted model file {path} does not exist: check the `scripted/...` model path") from exc
    except yaml.YAMLError as exc:
        raise ScriptError(f"scripted model file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScriptError(f"{path}: expected a mapping of member name -> list of replies")
    return {str(member): _replies(path, str(member), replies) for member, replies in data.items()}


def _replies(path: Path, member: str, replies: Any) -> Replies:
    if _is_reply_list(replies):
        return list(replies)
    if isinstance(replies, dict) and replies:
        tries = {}
        for number, listed in replies.items():
            if not isinstance(number, int) or isinstance(number, bool) or number < 1 or not _is_reply_list(listed):
                break
            tries[number] = list(listed)
        else:
            return tries
    raise ScriptError(
        f"{path}: member {member!r} must map to a list of reply strings, "
        "or to try numbers (1, 2, ...) each with a list of reply strings"
    )


def _is_reply_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(reply, str) for reply in value)


def reply_for(path: Path, member: str, index: int, attempt: int = 1) -> str:
    """The member's reply number `index` (0-based) in try `attempt` (1-based) of its step."""
    script = load_script(path)
    if member not in script:
        known = ", ".join(sorted(script)) or "none"
        raise ScriptError(f"scripted model file {path} has no replies for member {member!r} (members: {known})")
    replies = script[member]
    where = ""
    if isinstance(replies, dict):
        earlier = [number for number in replies if number <= attempt]
        if not earlier:
            raise ScriptError(
                f"scripted model file {path} has no replies for member {member!r} in try {attempt}: "
                f"its first list is for try {min(replies)}"
            )
        chosen = max(earlier)
        replies, where = replies[chosen], f" in try {chosen}"
    if index >= len(replies):
        raise ScriptError(
            f"scripted model file {path} ran out of replies for member {member!r}{where} "
            f"after {len(replies)}: add replies or lower max_turns"
        )
    return replies[index]
