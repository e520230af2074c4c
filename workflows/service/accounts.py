"""Accounts as an admin or a login asks for them: users, API tokens, web sessions.

`crewgate users|tokens` have no run services: they name the database (None: this
crewgate home's) and keep records by this machine's clock, as before. The web server
passes its run services, so its logins and tokens are checked by the database's clock.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..store.accounts import SESSION_KIND, Accounts, TokenView
from ..store.accounts import UserView as UserView  # who the web's pages and API act for
from .database import open_store

if TYPE_CHECKING:
    from ..runs.services import RunServices


@contextmanager
def _accounts(database: str | None) -> Iterator[Accounts]:
    with open_store(database) as store:
        yield Accounts(store.engine)


def add_user(database: str | None, name: str, role: str, password: str) -> UserView:
    """Add a user (admin, reviewer or viewer); the password (12 characters or more) is kept as an Argon2id hash."""
    with _accounts(database) as accounts:
        return accounts.add_user(name, role, password)


def list_users(database: str | None) -> list[UserView]:
    with _accounts(database) as accounts:
        return accounts.users()


def disable_user(database: str | None, name: str) -> UserView:
    """Disable a user: they can no longer log in, and their tokens stop working."""
    with _accounts(database) as accounts:
        return accounts.disable(name)


def create_token(database: str | None, user: str, expires: str | None) -> tuple[TokenView, str]:
    """A new API token for an enabled user: its record, and its text, which is shown once (only its hash is kept)."""
    with _accounts(database) as accounts:
        return accounts.create_token(user, expires)


def list_tokens(database: str | None) -> list[TokenView]:
    """Every API token's record (never a secret); web sessions are not listed."""
    with _accounts(database) as accounts:
        return accounts.tokens()


def revoke_token(database: str | None, token_id: str) -> TokenView:
    with _accounts(database) as accounts:
        return accounts.revoke(token_id)


def _of(services: "RunServices") -> Accounts:
    return Accounts(services.store.engine, services.clock)


def api_token_user(services: "RunServices", token: str) -> UserView | None:
    """The enabled user of a valid API token (`Authorization: Bearer TOKEN`); None for anything else."""
    return _of(services).authenticate(token)


def session_token_user(services: "RunServices", token: str) -> UserView | None:
    """The enabled user of a valid web session token (from a login's cookie); None for anything else."""
    return _of(services).authenticate(token, kind=SESSION_KIND)


def check_password(services: "RunServices", name: str, password: str) -> UserView | None:
    """The user, if `password` is theirs and they are enabled; None otherwise (the same work either way)."""
    return _of(services).check_password(name, password)


def start_session(services: "RunServices", user: str, lifetime: str) -> str:
    """A web session for `user` lasting `lifetime` (e.g. 12h): the token for its cookie, kept only as a hash."""
    _, token = _of(services).create_token(user, lifetime, kind=SESSION_KIND)
    return token


def end_session(services: "RunServices", token: str) -> None:
    """Log out: revoke the web session's token (anything else is ignored)."""
    _of(services).end_session(token)
