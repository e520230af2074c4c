"""`crewgate runs replay`: a reviewer's reproducibility check of a run's recorded code."""

import click

from ._display import one_line, quoted
from ._output import emit_json


@click.command()
@click.argument("run_id")
@click.option("--step", "only_step", default=None, help="Report only this step's differences (all steps still run).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def replay(run_id: str, only_step: str | None, as_json: bool) -> None:
    """Run a run's recorded code cells and checks again in a fresh sandbox; report what differs.

    The sandbox starts from the run's base snapshot; each turn's cells run in the
    recorded order (the model is not asked again). Differences are cells whose
    result (output, value, error) is not the recorded one and checks whose exit
    status changed; the workspace it ends with is built into an artifact and its
    sha256 compared with the run's reviewed one. Exit code 0: no differences and
    the same artifact; 1: something differs.
    """
    from ..service.replay import replay_run
    from ..service.run_services import open_services
    from ..service.views import as_json as json_of

    say = (lambda _: None) if as_json else (lambda text: click.echo(f"  replaying {text}", err=True))
    report = replay_run(open_services(), run_id, only_step, say)
    same = report.same_artifact is not False and not report.differences
    if as_json:
        emit_json(json_of(report))
        raise SystemExit(0 if same else 1)
    scope = f" (differences of step {only_step} only)" if only_step else ""
    click.echo(
        f"run {run_id}: replayed {report.steps} step tr{'y' if report.steps == 1 else 'ies'}, {report.cells} cell(s), "
        f"{report.checks} check(s): {len(report.differences)} difference(s){scope}"
    )
    for found in report.differences:
        where = f"{found.step} #{found.attempt} {found.member}"
        where += f" turn {found.turn} block {found.block}" if found.block else ""
        click.echo(f"  differs at {one_line(where)}:")
        click.echo("    recorded:")
        click.echo("\n".join("    " + line for line in quoted(found.recorded)[0]))
        click.echo("    replayed:")
        click.echo("\n".join("    " + line for line in quoted(found.replayed)[0]))
    if report.same_artifact is None:
        click.echo(f"  artifact: the run reached no gate; the replayed workspace is {report.replayed_artifact_sha256}")
    elif report.same_artifact:
        click.echo(f"  artifact: the same sha256 as reviewed, {report.artifact_sha256}")
    else:
        click.echo(
            f"  artifact: DIFFERS: reviewed {report.artifact_sha256}, replayed {report.replayed_artifact_sha256}"
        )
    for note in report.notes:
        click.echo(f"  note: {note}")
    raise SystemExit(0 if same else 1)
