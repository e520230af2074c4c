"""Reviewer accounts and API tokens: who is deciding, proven, not typed.

The web review queue and the HTTP API take the reviewer from the logged-in user
or the token's user, never from a field of the request. Passwords are stored as
Argon2id hashes (argon2-cffi, its recommended parameters); a token is
`cgt_<id>_<secret>` with 32 random bytes of secret, shown once, stored as the
secret's sha256 (a random secret needs no slow hash) and compared in constant
time. A disabled user can neither log in nor use a token; a revoked or expired
token is refused.
"""

import datetime
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

from ..clock import Clock, stamp, wall_clock
from ..durations import parse_duration
from ..errors import BadInput, NotFound
from ..identity import person_key
from .tables import tokens, users

ROLES = ("admin", "reviewer", "viewer")  # viewers read; reviewers also decide; admins also start, cancel, manage
MIN_PASSWORD = 12
SESSION_KIND = "session"  # a web login's token (workflows/web/session.py); API tokens are of kind "api"
TOKEN_PREFIX = "cgt_"  # noqa: S105 - the public prefix of every token, not a secret


@dataclass(frozen=True)
class UserView:
    name: str
    role: str
    disabled: bool
    created_at: str


@dataclass(frozen=True)
class TokenView:
    """A token's public record: never its secret."""

    id: str
    user: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class Accounts:
    """Users and tokens in the crewgate database."""

    def __init__(self, engine: Engine, clock: Clock = wall_clock) -> None:
        self.engine = engine
        self.clock = clock  # creation, expiry, revocation and last use are all by this clock

    # -- users --------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> UserView:
        if role not in ROLES:
            raise BadInput(f"role {role!r} is not one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise BadInput(f"the password has {len(password)} characters; use at least {MIN_PASSWORD}")
        key = person_key(name, "user")
        row = {"name": key, "role": role, "password_hash": _hasher().hash(password), "disabled": 0}
        try:
            with self.engine.begin() as db:
                db.execute(insert(users).values(**row, created_at=stamp(self.clock())))
        except IntegrityError as exc:
            raise BadInput(f"user {key} already exists: see `crewgate users list`") from exc
        return self.user(key)

    def user(self, name: str) -> UserView:
        with self.engine.connect() as db:
            row = db.execute(select(users).where(users.c.name == person_key(name, "user"))).mappings().first()
        if row is None:
            raise NotFound(f"no user {name!r}: see `crewgate users list`")
        return _user_view(row)

    def users(self) -> list[UserView]:
        with self.engine.connect() as db:
            return [_user_view(row) for row in db.execute(select(users).order_by(users.c.name)).mappings()]

    def disable(self, name: str) -> UserView:
        key = self.user(name).name
        with self.engine.begin() as db:
            db.execute(update(users).where(users.c.name == key).values(disabled=1))
        return self.user(key)

    def check_password(self, name: str, password: str) -> UserView | None:
        """The user, if `password` is theirs and they are enabled; None otherwise (same work either way)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        with self.engine.connect() as db:
            row = db.execute(select(users).where(users.c.name == _key_or_blank(name))).mappings().first()
        stored = row["password_hash"] if row is not None else _dummy_hash()
        try:
            _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        return _user_view(row)

    # -- tokens -------------------------------------------------------------
    def create_token(self, user: str, expires: str | None = None, kind: str = "api") -> tuple[TokenView, str]:
        """A new token for an enabled user; returns its record and the token text, which is shown once.

        A `session` token is a web login: it lives in a cookie, is refused as a bearer
        token, is not listed by `tokens list`, and is revoked at logout.
        """
        owner = self.user(user)
        if owner.disabled:
            raise BadInput(f"user {owner.name} is disabled: tokens are for enabled users")
        expires_at = None
        if expires is not None:
            lifetime = parse_duration(expires)
            if lifetime is None or lifetime.total_seconds() <= 0:
                raise BadInput(f"--expires {expires!r} is not a duration like 90m, 12h or 30d")
            expires_at = (self.clock() + lifetime).isoformat(timespec="seconds")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        with self.engine.begin() as db:
            db.execute(
                insert(tokens).values(
                    id=token_id,
                    user=owner.name,
                    secret_sha256=_sha256(secret),
                    created_at=stamp(self.clock()),
                    expires_at=expires_at,
                    kind=kind,
                )
            )
        return self._token(token_id), f"{TOKEN_PREFIX}{token_id}_{secret}"

    def tokens(self) -> list[TokenView]:
        with self.engine.connect() as db:
            rows = db.execute(select(tokens).where(tokens.c.kind == "api").order_by(tokens.c.created_at)).mappings()
            return [_token_view(row) for row in rows]

    def revoke(self, token_id: str) -> TokenView:
        self._token(token_id)
        with self.engine.begin() as db:
            db.execute(
                update(tokens)
                .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=stamp(self.clock()))
            )
        return self._token(token_id)

    def authenticate(self, text: str, kind: str = "api") -> UserView | None:
        """The enabled user a valid, unrevoked, unexpired token of `kind` belongs to; None for anything else."""
        token_id, _, secret = text.removeprefix(TOKEN_PREFIX).partition("_")
        if not text.startswith(TOKEN_PREFIX) or not token_id or not secret:
            return None
        with self.engine.connect() as db:
            row = db.execute(select(tokens).where(tokens.c.id == token_id)).mappings().first()
            owner = db.execute(select(users).where(users.c.name == row["user"])).mappings().first() if row else None
        if row is None or owner is None or not hmac.compare_digest(row["secret_sha256"], _sha256(secret)):
            return None
        if row["kind"] != kind:
            return None
        expired = row["expires_at"] and datetime.datetime.fromisoformat(row["expires_at"]) <= self.clock()
        if row["revoked_at"] or expired or owner["disabled"]:
            return None
        with self.engine.begin() as db:
            db.execute(update(tokens).where(tokens.c.id == token_id).values(last_used_at=stamp(self.clock())))
        return _user_view(owner)

    def end_session(self, text: str) -> None:
        """Revoke a web session's token (logout); anything else is ignored."""
        token_id = text.removeprefix(TOKEN_PREFIX).partition("_")[0]
        if self.authenticate(text, kind=SESSION_KIND) is not None:
            self.revoke(token_id)

    def _token(self, token_id: str) -> TokenView:
        with self.engine.connect() as db:
            row = db.execute(select(tokens).where(tokens.c.id == token_id)).mappings().first()
        if row is None:
            raise NotFound(f"no token {token_id!r}: see `crewgate tokens list`")
        return _token_view(row)


def _hasher() -> "PasswordHasher":
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for an unknown name, so its answer takes as long as a wrong password's."""
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def _key_or_blank(name: str) -> str:
    try:
        return person_key(name, "user")
    except BadInput:
        return ""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _user_view(row: RowMapping) -> UserView:
    return UserView(row["name"], row["role"], bool(row["disabled"]), row["created_at"])


def _token_view(row: RowMapping) -> TokenView:
    return TokenView(
        row["id"], row["user"], row["created_at"], row["expires_at"], row["revoked_at"], row["last_used_at"]
    )
