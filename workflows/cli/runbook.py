"""`crewgate runbook ...`: validate, export the schema, list and show registered versions."""

import json
from typing import Any

import click

from executors.errors import BadInput, Exit

from ._output import emit_json


@click.group()
def runbook() -> None:
    """Validate runbooks and inspect their registered versions."""


@runbook.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one object per file: path, ok, problems.")
def validate(paths: tuple[str, ...], as_json: bool) -> None:
    """Check runbook files; print each problem as file:line:col. Exit 2 if any is invalid."""
    from ..errors import RunbookError
    from ..runbook import load_runbook

    reports: list[dict[str, Any]] = []
    for path in paths:
        try:
            loaded = load_runbook(path)
            reports.append({"path": path, "ok": True, "runbook": loaded.ref, "sha256": loaded.sha256, "problems": []})
        except RunbookError as exc:
            problems = [
                {"line": p.line, "col": p.col, "message": p.message, "field": p.path, "text": str(p)}
                for p in exc.problems
            ]
            reports.append({"path": path, "ok": False, "problems": problems})
    if as_json:
        emit_json(reports)
    else:
        for report in reports:
            if report["ok"]:
                click.echo(f"{report['path']}: ok ({report['runbook']}, sha256 {report['sha256'][:12]})")
            for problem in report["problems"]:
                click.echo(problem["text"], err=True)
    if not all(report["ok"] for report in reports):
        raise SystemExit(Exit.BAD_INPUT)


@runbook.command()
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the runbook JSON Schema (generated from the validating models)."""
    from ..runbook.resolve import json_schema_text

    text = json_schema_text()
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


@runbook.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_versions(as_json: bool) -> None:
    """Registered runbook versions: name, version, content hash, first registration."""
    from ..store import Store

    store = Store()
    records = store.list_runbooks()
    store.close()
    rows = [
        {
            "name": r.name,
            "version": r.version,
            "sha256": r.sha256,
            "registered_at": r.registered_at,
            "source_file": r.source_file,
        }
        for r in records
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no runbook versions registered yet (a version is registered the first time it runs)")
    for row in rows:
        click.echo(f"{row['name']:<24} {row['version']:<12} {row['sha256'][:12]}  {row['registered_at']}")


@runbook.command()
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print the record and the parsed runbook as JSON.")
def show(reference: str, as_json: bool) -> None:
    """Show a registered version's stored content: NAME@VERSION, or NAME for the latest."""
    from ..runbook.resolve import REF
    from ..store import Store

    match = REF.match(reference)
    if not match:
        raise BadInput(f"{reference!r} is not NAME or NAME@VERSION (e.g. add-feature@1.0.0)")
    store = Store()
    try:
        record = store.get_runbook(match["name"], match["version"])
    finally:
        store.close()
    if as_json:
        data = {
            "name": record.name,
            "version": record.version,
            "sha256": record.sha256,
            "registered_at": record.registered_at,
            "content": record.content,
        }
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"# {record.ref} sha256 {record.sha256} registered {record.registered_at}")
        click.echo(record.content, nl=False)


@runbook.command()
@click.argument("path", type=click.Path(dir_okay=False))
def register(path: str) -> None:
    """Validate a runbook file and register its version (refused if the version's content changed)."""
    from ..runbook import load_runbook
    from ..store import Store

    store = Store()
    try:
        record, new = store.register_runbook(load_runbook(path))
    finally:
        store.close()
    click.echo(f"{'registered' if new else 'already registered'}: {record.ref} sha256 {record.sha256[:12]}")
