"""`crewgate webhooks ...`: tell a chat channel or a service when a review waits, is decided, or a run ends."""

import sys

import click

from ._display import one_line
from ._output import HOME_DATABASE, emit_json
from ._table import echo_table

EVENT_NAMES = "review.created, review.decided, run.finished"


@click.group()
def webhooks() -> None:
    """POST review and run events as JSON (with a Slack-compatible `text`), signed, retried until delivered.

    A `crewgate worker` posts them (and `crewgate run` posts its own before it exits).
    """


@webhooks.command(name="add")
@click.argument("url")
@click.option("--events", required=True, help=f"Comma-separated events to send: {EVENT_NAMES}.")
@click.option("--secret", default=None, help="Sign bodies with HMAC-SHA256 under this key (X-Crewgate-Signature).")
@click.option("--secret-stdin", is_flag=True, help="Read the key from standard input (its first line), not argv.")
@click.option("--json", "as_json", is_flag=True, help="Print the new hook as JSON.")
def add(url: str, events: str, secret: str | None, secret_stdin: bool, as_json: bool) -> None:
    """Send EVENTS to URL (http or https). The secret is stored to sign with and never shown again."""
    from ..errors import BadInput
    from ..service.views import as_json as json_of
    from ..service.webhooks import add_webhook

    if secret_stdin:
        if secret is not None:
            raise BadInput("give the secret once: --secret or --secret-stdin, not both")
        secret = sys.stdin.readline().rstrip("\r\n")
    view = add_webhook(HOME_DATABASE, url, events, secret)
    if as_json:
        emit_json(json_of(view))
        return
    signed = "signed (X-Crewgate-Signature)" if view.secret_set else "unsigned: add --secret to let it check the sender"
    click.echo(f"webhook {view.id} added: {', '.join(view.events)} to {one_line(view.url)}, {signed}")


@webhooks.command(name="list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON array (id, url, events, secret_set, delivered, pending, failed, last_failure, recent).",
)
def list_hooks(as_json: bool) -> None:
    """Every hook with its events, whether it signs, its delivery counts and its last failure (never the secret)."""
    from ..service.views import as_json as json_of
    from ..service.webhooks import list_webhooks

    found = list_webhooks(HOME_DATABASE)
    if as_json:
        emit_json(json_of(found))
        return
    if not found:
        click.echo(f"no webhooks yet: add one with `crewgate webhooks add URL --events {EVENT_NAMES.replace(' ', '')}`")
    rows = [
        (
            view.id,
            view.url,
            ",".join(view.events),
            "secret set" if view.secret_set else "no secret",
            f"delivered {view.delivered}, pending {view.pending}, failed {view.failed}",
        )
        for view in found
    ]
    if rows:
        echo_table(("WEBHOOK", "URL", "EVENTS", "SIGNED", "DELIVERIES"), rows)
    for view in found:
        retrying = [item for item in view.recent if item.status == "pending" and item.last_error]
        for item in retrying[:1]:
            error = one_line(item.last_error or "")  # never empty: `retrying` holds items with an error
            click.echo(f"{view.id} retrying {item.id} ({item.event}, {item.attempts} attempts): {error}")
        if view.last_failure is not None:
            item = view.last_failure
            click.echo(
                f"{view.id} last failure {item.id} ({item.event}, {item.attempts} attempts, {item.created_at}): "
                f"{one_line(item.last_error or 'no answer')}"
            )


@webhooks.command(name="remove")
@click.argument("hook_id")
def remove(hook_id: str) -> None:
    """Stop sending to a hook and forget its deliveries (one still being retried stops at its next attempt)."""
    from ..service.webhooks import remove_webhook

    view = remove_webhook(HOME_DATABASE, hook_id)
    click.echo(f"webhook {view.id} removed ({one_line(view.url)})")
