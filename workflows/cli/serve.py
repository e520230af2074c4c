"""`crewgate serve`: the HTTP API (and, next, the web review queue) on this machine."""

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8321, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Serve the JSON API under /api/v1 (OpenAPI at /api/v1/openapi.json), with bearer tokens.

    It listens on loopback by default and speaks plain HTTP: for other machines, put it
    behind a TLS proxy (nginx, Caddy) on the same host instead of listening elsewhere.
    It hosts no runs: a `crewgate worker` continues the runs its decisions wake.
    """
    import uvicorn

    from ..runs.services import open_services
    from ..web.app import create_app

    app = create_app(open_services())
    click.echo(f"crewgate serve: http://{host}:{port}/api/v1 (OpenAPI: /api/v1/openapi.json)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
