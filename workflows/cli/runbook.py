"""`crewgate runbook ...`: validate, export the schema, list and show registered versions."""

import json
from dataclasses import asdict

import click

from executors.errors import Exit

from ._output import HOME_DATABASE, emit_json
from ._table import echo_table


@click.group()
def runbook() -> None:
    """Validate runbooks and inspect their registered versions."""


@runbook.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one object per file: path, ok, problems.")
def validate(paths: tuple[str, ...], as_json: bool) -> None:
    """Check runbook files; print each problem as file:line:col. Exit 2 if any is invalid."""
    from ..service.runbooks import validate_files

    reports = validate_files(paths)
    if as_json:
        emit_json([asdict(report) for report in reports])
    else:
        for report in reports:
            if report.ok:
                click.echo(f"{report.path}: ok ({report.runbook}, sha256 {(report.sha256 or '')[:12]})")
            for problem in report.problems:
                click.echo(problem.text, err=True)
    if not all(report.ok for report in reports):
        raise SystemExit(Exit.BAD_INPUT)


@runbook.command()
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the runbook JSON Schema (generated from the validating models)."""
    from ..service.runbooks import json_schema_text

    text = json_schema_text()
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


@runbook.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_command(as_json: bool) -> None:
    """Registered runbook versions: name, version, content hash, first registration."""
    from ..service.runbooks import list_runbooks

    versions = list_runbooks(HOME_DATABASE)
    if as_json:
        fields = ("name", "version", "sha256", "registered_at", "source_file")
        emit_json([{key: getattr(version, key) for key in fields} for version in versions])
        return
    if not versions:
        click.echo("no runbook versions registered yet (a version is registered the first time it runs)")
    rows = [(found.name, found.version, found.sha256[:12], found.registered_at) for found in versions]
    if rows:
        echo_table(("NAME", "VERSION", "SHA256", "REGISTERED"), rows)


@runbook.command()
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print the record and the parsed runbook as JSON.")
def show(reference: str, as_json: bool) -> None:
    """Show a registered version's stored content: NAME@VERSION, or NAME for the latest; secrets show as ***."""
    from ..service.runbooks import show_runbook

    record = show_runbook(HOME_DATABASE, reference)
    if as_json:
        fields = ("name", "version", "sha256", "registered_at", "content")
        click.echo(json.dumps({key: getattr(record, key) for key in fields}, indent=2))
    else:
        click.echo(f"# {record.ref} sha256 {record.sha256} registered {record.registered_at}")
        click.echo(record.content, nl=False)


@runbook.command()
@click.argument("path", type=click.Path(dir_okay=False))
def register(path: str) -> None:
    """Validate a runbook file and register its version (refused if the version's content changed)."""
    from ..service.runbooks import register_runbook

    record, new = register_runbook(HOME_DATABASE, path)
    click.echo(f"{'registered' if new else 'already registered'}: {record.ref} sha256 {record.sha256[:12]}")
