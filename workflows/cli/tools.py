"""`crewgate tools list`: what each member of a runbook may call (README: Tools)."""

import click

from ._display import quoted, terminal_safe
from ._output import HOME_DATABASE, emit_json


@click.group()
def tools() -> None:
    """Tools the crew's code can call: Python tool modules and MCP servers (README: Tools)."""


@tools.command(name="list")
@click.argument("runbook")
@click.option("--member", default=None, help="Only this member's tools.")
@click.option("--json", "as_json", is_flag=True, help="One object per member: allow_list and tools with signatures.")
def list_command(runbook: str, member: str | None, as_json: bool) -> None:
    """What each member of RUNBOOK (a file, NAME@VERSION or NAME) may call, with signatures.

    Starts the runbook's MCP servers to list their tools, then stops them.
    """
    from ..service.tools import list_tools
    from ..service.views import as_json as json_of

    views = list_tools(HOME_DATABASE, runbook, member)
    if as_json:
        emit_json(json_of(views))
        return
    for view in views:
        allowed = ", ".join(view.allow_list) or "nothing"
        click.secho(f"{view.member} (allow-list: {terminal_safe(allowed)})", bold=True)
        if not view.tools:
            click.echo("  (no tools)")
        for tool in view.tools:
            named = f"  [MCP name: {tool.mcp_name}]" if tool.mcp_name else ""
            click.echo(f"  {terminal_safe(tool.name + tool.signature)}  ({tool.kind}){terminal_safe(named)}")
            if tool.doc:
                lines, _ = quoted(tool.doc.strip().splitlines()[0])
                click.echo("\n".join("  " + line for line in lines))
