"""The scripted model's reply files and reply positions (no litellm import here).

A reply file maps a member name to its ordered list of replies. Positions are
counted per (file, member, script key): callers that pass the same key again
(a step re-run after a crash) can reset it and get the same replies again.
"""

import threading
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


class ScriptCursors:
    """How many replies each (file, member, key) has consumed. Process-wide, thread-safe."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def take(self, path: Path, member: str, key: str) -> str:
        script = load_script(path)
        if member not in script:
            known = ", ".join(sorted(script)) or "none"
            raise ScriptError(f"scripted model file {path} has no replies for member {member!r} (members: {known})")
        replies = script[member]
        with self._lock:
            index = self._next.get((str(path), member, key), 0)
            if index >= len(replies):
                raise ScriptError(
                    f"scripted model file {path} ran out of replies for member {member!r} "
                    f"after {len(replies)}: add replies or lower max_turns"
                )
            self._next[(str(path), member, key)] = index + 1
        return replies[index]

    def calls(self, path: Path, member: str, key: str = "") -> int:
        return self._next.get((str(path), member, key), 0)

    def reset(self, key: str) -> None:
        """Forget the position of every member under `key` (a re-run step starts over)."""
        with self._lock:
            for entry in [entry for entry in self._next if entry[2] == key]:
                del self._next[entry]


CURSORS = ScriptCursors()
