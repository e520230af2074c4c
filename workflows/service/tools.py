"""`crewgate tools list`: what each member of a runbook may call, with signatures.

Python tool modules are read from their source (no sandbox is started); MCP servers
are started, listed and stopped, exactly as a run's start does, so a server that
would not start, or an allow-list naming a tool it lacks, is found here first.
"""

from dataclasses import dataclass

from agents.tools import ToolSpec, source_specs

from ..errors import BadInput
from ..runs.tools import allowed_patterns, check_servers_start, is_allowed
from ..store.runbooks import resolve_runbook
from .database import open_store


@dataclass(frozen=True)
class ToolView:
    """One tool a member may call."""

    name: str  # namespace.function, as code calls it
    kind: str  # python or mcp
    signature: str
    doc: str
    mcp_name: str = ""  # the server's own name for it, when it is not a Python identifier


@dataclass(frozen=True)
class MemberToolsView:
    member: str
    allow_list: tuple[str, ...]
    tools: tuple[ToolView, ...]


def list_tools(database: str | None, reference: str, member: str | None = None) -> list[MemberToolsView]:
    """Each member's callable tools (only `member`'s when given). BadInput for an unknown member or a server failing."""
    with open_store(database) as store:
        loaded = resolve_runbook(reference, store, register=False)
    book = loaded.runbook
    if member is not None and member not in book.crew.members:
        raise BadInput(f"runbook {loaded.ref} has no member {member!r} (members: {', '.join(book.crew.members)})")
    specs: list[ToolSpec] = [
        spec for module in loaded.tool_modules for spec in source_specs(module.name, module.source)
    ]
    specs += check_servers_start(loaded)
    views = []
    for name in [member] if member else list(book.crew.members):
        patterns = allowed_patterns(book, name)
        allowed = [
            ToolView(
                spec.name, spec.kind, spec.signature, spec.doc, spec.original if spec.original != spec.function else ""
            )
            for spec in specs
            if is_allowed(spec.name, patterns)
        ]
        views.append(MemberToolsView(name, tuple(patterns), tuple(allowed)))
    return views
