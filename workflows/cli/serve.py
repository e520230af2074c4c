"""`crewgate serve`: the web review queue and the HTTP API on this machine."""

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8321, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--https-proxy",
    is_flag=True,
    help="Served to browsers through an HTTPS proxy: mark the session and CSRF cookies Secure (and `__Host-`).",
)
@click.option(
    "--forwarded-allow-ips",
    default="",
    metavar="IPS",
    help="The proxy addresses whose X-Forwarded-For names the client (comma-separated, e.g. 127.0.0.1) "
    "[default: none: the header is ignored, the client is whoever connects].",
)
def serve(host: str, port: int, https_proxy: bool, forwarded_allow_ips: str) -> None:
    """Serve the review queue's pages (log in at /login) and the JSON API under /api/v1 (bearer tokens).

    It listens on loopback by default and speaks plain HTTP: for other machines, put it
    behind a TLS proxy (nginx, Caddy) on the same host instead of listening elsewhere, and
    name the proxy with --forwarded-allow-ips so failed logins are counted per real client.
    It hosts no runs: a `crewgate worker` continues the runs its decisions wake.
    """
    import uvicorn

    from ..web.app import create_app
    from ._output import open_services  # its spans (decisions) are sent when the server stops

    app = create_app(open_services(), secure_cookies=https_proxy)
    click.echo(
        f"crewgate serve: review queue http://{host}:{port}/reviews, API http://{host}:{port}/api/v1 "
        "(OpenAPI: /api/v1/openapi.json)",
        err=True,
    )
    trusted = forwarded_allow_ips.strip()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=bool(trusted),  # a header anyone can send is trusted only from the named proxies
        forwarded_allow_ips=trusted or None,
    )
