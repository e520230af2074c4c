"""`crewgate sandbox ...`: build the image, check the machine, clean up."""

import json
import sys
import time
from typing import Any

import click

from executors.errors import Exit

from ..plain import JsonObject
from ._display import terminal_safe
from ._output import emit_json
from .environments import envs


@click.group()
def sandbox() -> None:
    """Build, check and clean up the code sandbox."""


sandbox.add_command(envs)


@sandbox.command()
@click.option(
    "--method",
    type=click.Choice(["auto", "rootfs", "dockerfile"]),
    default="auto",
    show_default=True,
    help="rootfs: debootstrap + docker import (no registry needed, root); dockerfile: needs a registry.",
)
@click.option("--tag", default=None, help="Image tag to build [default: crewgate-sandbox:<version>].")
@click.option("--if-missing", is_flag=True, help="Do nothing when the image is already present.")
def build(method: str, tag: str | None, if_missing: bool) -> None:
    """Build the sandbox image (python3, pytest, bandit, git, user 10001, /workspace)."""
    from executors.engine import engine
    from executors.image import build_image, default_image, image_id

    tag = tag or default_image()
    with engine() as client:
        existing = image_id(client, tag)
        if existing and if_missing:
            click.echo(f"{tag} is present ({existing[:19]}); nothing to do")
            return
        started = time.monotonic()
        built = build_image(client, tag, method, say=lambda line: click.echo(f"  {line}"))
    click.echo(f"built {tag} ({built[:19]}) in {time.monotonic() - started:.0f} s")


RUNTIME = click.option(
    "--runtime",
    type=click.Choice(["runc", "runsc"]),
    default=None,
    help="Sandbox runtime: runc, or runsc (gVisor) [default: CREWGATE_SANDBOX_RUNTIME, else runc].",
)


@sandbox.command()
@click.option("--image", default=None, help="Image to check [default: crewgate-sandbox:<version>].")
@RUNTIME
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(image: str | None, runtime: str | None, as_json: bool) -> None:
    """Check the engine, the runtimes it offers, the image, and run one smoke cell under the chosen runtime."""
    checks = _doctor_checks(image, runtime)
    if as_json:
        emit_json(checks)
    else:
        for check in checks:
            mark = "ok  " if check["ok"] else "FAIL"
            click.echo(f"{mark} {check['name']:<7} {check['detail']}")
            if not check["ok"] and check.get("fix"):
                click.echo(f"     fix: {check['fix']}")
    if not all(check["ok"] for check in checks):
        raise SystemExit(Exit.ENVIRONMENT)


def _doctor_checks(image: str | None, asked: str | None) -> list[JsonObject]:
    from executors import DockerSandbox, SandboxUnavailable
    from executors.engine import FIX, engine, engine_address
    from executors.image import default_image, image_id
    from executors.runtimes import REGISTER, chosen_runtime

    tag = image or default_image()
    try:
        runtime = chosen_runtime(asked)
    except SandboxUnavailable as exc:
        return [{"name": "runtime", "ok": False, "detail": str(exc), "fix": "use runc or runsc"}]
    try:
        with engine() as client:
            info = client.info()
            found = image_id(client, tag)
    except SandboxUnavailable as exc:
        return [{"name": "engine", "ok": False, "detail": str(exc).split(". ")[0], "fix": FIX}]
    security = ", ".join(info.get("SecurityOptions") or []) or "none"
    checks: list[JsonObject] = [
        {"name": "engine", "ok": True, "detail": f"{engine_address()} (Docker {info.get('ServerVersion')}, {security})"}
    ]
    offered = sorted(info.get("Runtimes") or {})
    tiers = ", ".join(
        f"{name}{' (gVisor)' if name == 'runsc' else ''}" for name in offered if name in ("runc", "runsc")
    )
    if runtime not in offered:
        detail = f"{runtime} is asked for; the engine offers {', '.join(offered) or 'none'}"
        fix = REGISTER if runtime == "runsc" else "use an engine that offers it"
        checks.append({"name": "runtime", "ok": False, "detail": detail, "fix": fix})
        return checks
    checks.append({"name": "runtime", "ok": True, "detail": f"{runtime} (offered: {tiers})"})
    if found is None:
        checks.append(
            {"name": "image", "ok": False, "detail": f"{tag} is missing", "fix": "run `crewgate sandbox build`"}
        )
        return checks
    checks.append({"name": "image", "ok": True, "detail": f"{tag} ({found[:19]})"})
    started = time.monotonic()
    try:
        with DockerSandbox(image=tag, runtime=runtime) as box:
            result = box.execute("import sys; sys.version_info[:2]")
    except SandboxUnavailable as exc:
        checks.append({"name": "smoke", "ok": False, "detail": str(exc), "fix": "see the message above"})
        return checks
    ok = result.ok and result.value is not None
    channel = "a direct socket" if box.channel == "socket" else "the engine's attach stream"
    detail = f"python {result.value} answered over {channel} in {time.monotonic() - started:.2f} s from a cold start"
    checks.append({"name": "smoke", "ok": ok, "detail": detail if ok else f"smoke cell failed: {result.traceback}"})
    return checks


@sandbox.command()
@click.option("--all", "everything", is_flag=True, help="Remove every crewgate sandbox, not only orphans.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def prune(everything: bool, as_json: bool) -> None:
    """Remove sandbox containers whose owning process is gone."""
    from executors.engine import engine
    from executors.prune import prune as prune_containers

    with engine() as client:
        removed = prune_containers(client, everything)
    if as_json:
        emit_json([{"id": c.id, "session": c.session, "run": c.run, "status": c.status} for c in removed])
    else:
        click.echo(f"removed {len(removed)} sandbox container(s)")


@sandbox.command(name="exec")
@click.argument("cells", nargs=-1, required=True)
@click.option("--local", is_flag=True, help="Use LocalSandbox: runs on THIS host, NOT isolated. Development only.")
@RUNTIME
@click.option("--repo", type=click.Path(exists=True, file_okay=False), help="Copy this folder into /workspace first.")
@click.option("--timeout", type=float, default=None, help="Seconds per cell [default: the sandbox limit, 30].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result per cell.")
def exec_cells(
    cells: tuple[str, ...], local: bool, runtime: str | None, repo: str | None, timeout: float | None, as_json: bool
) -> None:
    """Run CELLS (Python; `-` reads one from stdin) in one fresh sandbox session.

    Cells share one namespace, as a crew's members do. Exits 1 if a cell failed.
    """
    from executors import DockerSandbox, LocalSandbox, Sandbox

    if local:
        click.echo("warning: LocalSandbox runs this code on this host WITHOUT isolation", err=True)
    sources = [sys.stdin.read() if cell == "-" else cell for cell in cells]
    failed = False
    from executors.runtimes import chosen_runtime

    chosen: Sandbox = LocalSandbox() if local else DockerSandbox(runtime=chosen_runtime(runtime))
    with chosen as box:
        if repo:
            box.put_directory(repo)
        for number, code in enumerate(sources, 1):
            result = box.execute(code, timeout=timeout)
            failed = failed or not result.ok
            if as_json:
                click.echo(json.dumps({"cell": number, **result.to_dict()}))
                continue
            _show(number, code, result)
    raise SystemExit(1 if failed else 0)


def _show(number: int, code: str, result: Any) -> None:
    click.secho(f"[{number}] " + code.strip().replace("\n", "\n    "), bold=True)
    for text, colour in ((result.stdout, None), (result.stderr, "yellow")):
        if text:
            click.secho(terminal_safe(text).rstrip("\n"), fg=colour)
    if result.value is not None:
        click.secho(f"=> {terminal_safe(result.value)}", fg="green")
    if result.error:
        click.secho(terminal_safe(result.traceback).rstrip("\n"), fg="red")
    flags = [name for name in ("timed_out", "truncated", "kernel_restarted") if getattr(result, name)]
    click.secho(f"   ({result.duration_s * 1000:.1f} ms{', ' + ', '.join(flags) if flags else ''})", dim=True)
