"""Web logins: a session token in a signed, HttpOnly, SameSite=Strict cookie.

A session is an account token of kind `session` (workflows/store/accounts.py): random,
stored as its sha256, expiring after SESSION_LIFETIME, revoked at logout and
refused once its user is disabled. The cookie holds the token and an HMAC-SHA256
of it under the server's secret, so a cookie that was not issued by a server
with this secret is refused before the database is asked.

The secret is CREWGATE_WEB_SECRET when set (give several servers behind one proxy
the same value), else `$CREWGATE_HOME/web-secret`, made once with mode 0600.
It also keys the CSRF tokens of every form. Failed logins are throttled by
workflows/service/login_throttle.py.
"""

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..durations import parse_duration
from ..service.database import crewgate_home

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
