"""Web logins: a session token in a signed, HttpOnly, SameSite=Strict cookie, and login throttling.

A session is an account token of kind `session` (workflows/store/accounts.py): random,
stored as its sha256, expiring after SESSION_LIFETIME, revoked at logout and
refused once its user is disabled. The cookie holds the token and an HMAC-SHA256
of it under the server's secret, so a cookie that was not issued by a server
with this secret is refused before the database is asked.

The secret is CREWGATE_WEB_SECRET when set (give several servers behind one proxy
the same value), else `$CREWGATE_HOME/web-secret`, made once with mode 0600.
It also keys the CSRF tokens of every form.
"""

import base64
import hashlib
import hmac
import os
import secrets
import zlib
from pathlib import Path

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Connection, Engine

from ..clock import database_time
from ..durations import parse_duration
from ..identity import fold
from ..store.database import crewgate_home
from ..store.tables import login_failures

COOKIE = "crewgate_session"
CSRF_COOKIE = "crewgate_csrf"
HOST_PREFIX = "__Host-"  # behind an HTTPS proxy: the browser keeps such a cookie to this exact host, Secure, path /


def cookie_names(secure: bool) -> tuple[str, str]:
    """(session cookie, CSRF cookie) names: `__Host-` prefixed when the cookies are Secure."""
    prefix = HOST_PREFIX if secure else ""
    return prefix + COOKIE, prefix + CSRF_COOKIE


SESSION_LIFETIME = "12h"
SESSION_SECONDS = int(parse_duration(SESSION_LIFETIME).total_seconds())  # type: ignore[union-attr]  # cookie max-age
SECRET_FILE = "web-secret"  # noqa: S105 - the file name, not the secret
# Failed logins allowed within FAILURE_WINDOW_S, per name and per client address. An address
# gets more: behind a proxy every reviewer has the proxy's address.
MAX_FAILURES = {"name": 5, "address": 20}
FAILURE_WINDOW_S = 15 * 60.0


def server_secret() -> str:
    """The secret that signs session cookies and CSRF tokens (see the module docstring)."""
    configured = os.environ.get("CREWGATE_WEB_SECRET", "")
    if configured:
        return configured
    path = crewgate_home() / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return _create_secret(path)


def _create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    return value


def signed(token: str, secret: str) -> str:
    """The cookie value for `token`: the token, a dot, and its HMAC-SHA256 (base64url)."""
    return f"{token}.{_mac(token, secret)}"


def unsigned(cookie: str, secret: str) -> str | None:
    """The token in a cookie this server signed, or None for anything else."""
    token, _, mac = cookie.rpartition(".")
    if not token or not hmac.compare_digest(mac, _mac(token, secret)):
        return None
    return token


def _mac(token: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class LoginThrottle:
    """Refuses logins for an account, or from an address, after MAX_FAILURES failures in FAILURE_WINDOW_S.

    Failures are rows in the database (on its clock), so every `crewgate serve` behind a
    balancer shares them and a restart forgets none. An account is throttled by its key
    (identity.fold: NFKC and case-folded, as logins match it), so `ｖictim` and `Victim`
    spend the same five guesses as `victim`. The Argon2 hash makes each guess cost the
    same whether the name exists or not.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def attempt(self, name: str, address: str) -> int:
        """Count a login attempt as failed before its password is checked; seconds to wait instead (none counted).

        Counting first, in one transaction under a lock per account and address, means a burst
        of simultaneous guesses cannot all pass the check before any failure is recorded:
        each is counted (and the sixth refused) however many arrive at once, on any server.
        `succeeded` takes the count back.
        """
        subjects = _subjects(name, address)
        with self.engine.begin() as db:
            _lock(db, subjects)
            now = database_time(db)
            wait = max(self._wait(db, scope, subject, now) for scope, subject in subjects)
            if wait:
                return wait
            db.execute(delete(login_failures).where(login_failures.c.failed_at < now - FAILURE_WINDOW_S))
            for scope, subject in subjects:
                db.execute(insert(login_failures).values(scope=scope, subject=subject, failed_at=now))
        return 0

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: the account's failures are forgotten, and this attempt's at the address."""
        (name_scope, account), (address_scope, client) = _subjects(name, address)
        with self.engine.begin() as db:
            db.execute(
                delete(login_failures).where(login_failures.c.scope == name_scope, login_failures.c.subject == account)
            )
            newest = (
                select(login_failures.c.id)
                .where(login_failures.c.scope == address_scope, login_failures.c.subject == client)
                .order_by(login_failures.c.id.desc())
                .limit(1)
            )
            found = db.execute(newest).scalar()
            if found is not None:
                db.execute(delete(login_failures).where(login_failures.c.id == found))

    def _wait(self, db: Connection, scope: str, subject: str, now: float) -> int:
        limit = MAX_FAILURES[scope]
        recent = (
            select(login_failures.c.failed_at)
            .where(
                login_failures.c.scope == scope,
                login_failures.c.subject == subject,
                login_failures.c.failed_at >= now - FAILURE_WINDOW_S,
            )
            .order_by(login_failures.c.failed_at.desc())
            .limit(limit)
        )
        times = [row.failed_at for row in db.execute(recent)]
        if len(times) < limit:
            return 0
        return max(0, int(times[-1] + FAILURE_WINDOW_S - now) + 1)


def _lock(db: Connection, subjects: list[tuple[str, str]]) -> None:
    """On PostgreSQL, one transaction at a time per account and address (SQLite's BEGIN IMMEDIATE already is)."""
    if db.dialect.name == "postgresql":
        for scope, subject in sorted(subjects):
            key = zlib.crc32(f"login:{scope}:{subject}".encode())
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _subjects(name: str, address: str) -> list[tuple[str, str]]:
    return [("name", fold(name)[:255]), ("address", address[:255])]
