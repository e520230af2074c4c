"""The scripted model's reply files (no litellm import here).

A reply file maps a member name to its ordered list of replies; which one a
call gets is the call's own index, so nothing here keeps state.
"""

from pathlib import Path

import yaml

from .errors import ScriptError


def load_script(path: Path) -> dict[str, list[str]]:
    """Read and check a reply file: a mapping of member name -> list of reply strings."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScriptError(f"scripted model file {path} does not exist: check the `scripted/...` model path") from exc
    except yaml.YAMLError as exc:
        raise ScriptError(f"scripted model file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScriptError(f"{path}: expected a mapping of member name -> list of replies")
    for member, replies in data.items():
        if not isinstance(replies, list) or not all(isinstance(reply, str) for reply in replies):
            raise ScriptError(f"{path}: member {member!r} must map to a list of reply strings")
    return {str(member): list(replies) for member, replies in data.items()}


def reply_for(path: Path, member: str, index: int) -> str:
    """The member's reply number `index` (0-based) from the reply file."""
    script = load_script(path)
    if member not in script:
        known = ", ".join(sorted(script)) or "none"
        raise ScriptError(f"scripted model file {path} has no replies for member {member!r} (members: {known})")
    replies = script[member]
    if index >= len(replies):
        raise ScriptError(
            f"scripted model file {path} ran out of replies for member {member!r} "
            f"after {len(replies)}: add replies or lower max_turns"
        )
    return replies[index]
