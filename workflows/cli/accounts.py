"""`crewgate users ...` and `crewgate tokens ...`: who may use the web review queue and the HTTP API."""

import sys

import click

from ..plain import json_object
from ._output import HOME_DATABASE, emit_json
from ._table import echo_table


@click.group()
def users() -> None:
    """Accounts for the web review queue and HTTP API (roles: admin, reviewer, viewer)."""


@users.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reviewer", "viewer"]), required=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@click.option("--json", "as_json", is_flag=True, help="Print the new user as JSON.")
def add_user(name: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Add a user. Viewers read; reviewers also decide; admins also start and cancel runs and manage accounts.

    The password (12 characters or more) is asked for twice, or read from stdin with
    --password-stdin (its first line); it is stored as an Argon2id hash.
    """
    from ..service.accounts import add_user as add
    from ..service.views import as_json as json_of

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    view = add(HOME_DATABASE, name, role, password)
    if as_json:
        emit_json(json_of(view))
    else:
        click.echo(f"user {view.name} added ({view.role})")


@users.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (name, role, disabled, created_at).")
def list_users(as_json: bool) -> None:
    """Every user, with role and whether they are disabled."""
    from ..service.accounts import list_users as listed
    from ..service.views import as_json as json_of

    found = listed(HOME_DATABASE)
    if as_json:
        emit_json(json_of(found))
        return
    if not found:
        click.echo("no users yet: add one with `crewgate users add NAME --role reviewer`")
    else:
        rows = [(view.name, view.role, "disabled" if view.disabled else "enabled", view.created_at) for view in found]
        echo_table(("NAME", "ROLE", "STATE", "CREATED"), rows)


@users.command(name="disable")
@click.argument("name")
def disable_user(name: str) -> None:
    """Disable a user: they can no longer log in, and their tokens stop working."""
    from ..service.accounts import disable_user as disable

    view = disable(HOME_DATABASE, name)
    click.echo(f"user {view.name} disabled")


@click.group()
def tokens() -> None:
    """API tokens (`Authorization: Bearer TOKEN`), each acting as its user."""


@tokens.command(name="create")
@click.option("--user", "user", required=True, help="The user the token acts as.")
@click.option("--expires", help="Lifetime, e.g. 12h or 30d (default: until revoked).")
@click.option("--json", "as_json", is_flag=True, help="Print the token and its record as JSON.")
def create_token(user: str, expires: str | None, as_json: bool) -> None:
    """Create a token. It is shown once: only its hash is stored."""
    from ..service.accounts import create_token as create
    from ..service.views import as_json as json_of

    view, text = create(HOME_DATABASE, user, expires)
    if as_json:
        emit_json({**json_object(json_of(view)), "token": text})
        return
    click.echo(text)
    click.echo(f"token {view.id} for {view.user}, expires {view.expires_at or 'never'}: store it now", err=True)


@tokens.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (id, user, expires_at, revoked_at, ...).")
def list_tokens(as_json: bool) -> None:
    """Every token's id, user, expiry, revocation and last use (never the secret)."""
    from ..service.accounts import list_tokens as listed
    from ..service.views import as_json as json_of

    found = listed(HOME_DATABASE)
    if as_json:
        emit_json(json_of(found))
        return
    if not found:
        click.echo("no tokens yet: create one with `crewgate tokens create --user NAME`")
    rows = [
        (
            view.id,
            view.user,
            f"revoked {view.revoked_at}" if view.revoked_at else f"expires {view.expires_at or 'never'}",
            view.last_used_at or "never",
        )
        for view in found
    ]
    if rows:
        echo_table(("TOKEN", "USER", "STATE", "LAST USED"), rows)


@tokens.command(name="revoke")
@click.argument("token_id")
def revoke_token(token_id: str) -> None:
    """Revoke a token by its id (see `tokens list`); it stops working at once."""
    from ..service.accounts import revoke_token as revoke

    view = revoke(HOME_DATABASE, token_id)
    click.echo(f"token {view.id} of {view.user} revoked")
