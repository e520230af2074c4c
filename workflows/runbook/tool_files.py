"""A runbook's Python tool modules: where they are, what they define, and their bytes.

The files beside the runbook are read once, when the runbook is loaded: their
sha256s go into its content hash (a changed tool module is a changed runbook, so
a used version cannot change under a run), and their bytes are what the run's
sandbox imports. Function names come from the module's syntax tree, so an
allow-list naming a function that does not exist is refused at validation,
without running anything.
"""

import ast
import hashlib
import keyword
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .schema import RESERVED_NAMES, Runbook

MODULE_BYTES = 256 * 1024
ReportAt = tuple[tuple[str | int, ...], str]  # (where in the runbook, message)


@dataclass(frozen=True)
class ToolModule:
    """One module: its name in the sandbox (the file's stem), its bytes and its public top-level functions."""

    name: str
    path: str
    source: bytes
    functions: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()


def module_name(entry: str) -> str:
    """A tool module's name in the sandbox (and its allow-list namespace): its file's stem."""
    return Path(entry).stem


def read_tool_modules(
    runbook: Runbook, base_dir: Path | None, stored: Mapping[str, bytes] | None = None
) -> tuple[list[ToolModule], list[ReportAt]]:
    """The runbook's tool modules, and a problem per entry that cannot be one. `stored`: a version's own bytes."""
    modules: list[ToolModule] = []
    problems: list[ReportAt] = []
    for index, entry in enumerate(runbook.tools.python):
        where = ("tools", "python", index)
        module, problem = _read(entry, base_dir, stored)
        if problem:
            problems.append((where, problem))
        elif module is not None and any(known.name == module.name for known in modules):
            problems.append((where, f"two tool modules are named {module.name!r}: rename one file"))
        elif module is not None and module.name in runbook.tools.mcp:
            problems.append((where, f"tool module {module.name!r} has the name of an MCP server: rename one"))
        elif module is not None:
            modules.append(module)
    return modules, problems


def _read(entry: str, base_dir: Path | None, stored: Mapping[str, bytes] | None) -> tuple[ToolModule | None, str]:
    relative = Path(entry)
    if relative.is_absolute() or ".." in relative.parts:
        return None, f"{entry}: give a path inside the runbook's folder (no absolute path, no '..')"
    name = module_name(entry)
    if (
        relative.suffix != ".py"
        or not name.isidentifier()
        or keyword.iskeyword(name)
        or name.startswith(RESERVED_NAMES)
    ):
        return None, f"{entry}: a tool module is a .py file whose name is a Python identifier (e.g. repo_tools.py)"
    if name in sys.stdlib_module_names:
        return None, f"{entry}: {name!r} is the name of a standard library module: rename the file"
    if stored is not None and entry in stored:
        source = stored[entry]
    elif base_dir is None:
        return None, f"{entry}: the runbook's folder is not known, so its tool modules cannot be read"
    else:
        try:
            source = (base_dir / relative).read_bytes()
        except OSError as exc:
            return None, f"{entry}: cannot read it ({exc.strerror or exc}) relative to {base_dir}"
    if len(source) > MODULE_BYTES:
        return None, f"{entry}: {len(source)} bytes, over the {MODULE_BYTES}-byte limit for a tool module"
    try:
        tree = ast.parse(source, filename=entry)
    except (SyntaxError, ValueError) as exc:
        line = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return None, f"{entry}: not valid Python{line}: {exc.msg if isinstance(exc, SyntaxError) else exc}"
    functions = tuple(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_")
    )
    return ToolModule(name, entry, source, functions), ""


def allow_list_problems(runbook: Runbook, modules: list[ToolModule]) -> Iterator[ReportAt]:
    """Allow-list entries naming a namespace that is not there, or a module function that is not defined."""
    by_name = {module.name: module for module in modules}
    namespaces = sorted([*by_name, *runbook.tools.mcp])
    for member, spec in runbook.crew.members.items():
        for index, entry in enumerate(spec.tools or []):
            namespace, _, function = entry.partition(".")
            where = ("crew", "members", member, "tools", index)
            if namespace not in by_name and namespace not in runbook.tools.mcp:
                known = ", ".join(namespaces) or "none: add `tools.python` or `tools.mcp`"
                yield where, f"{entry}: no tool module or MCP server is named {namespace!r} (known: {known})"
            elif namespace in by_name and function != "*" and function not in by_name[namespace].functions:
                defined = ", ".join(by_name[namespace].functions) or "no public function"
                yield where, f"{entry}: tool module {namespace!r} defines no function {function!r} ({defined})"
