"""Web logins: a session token in a signed, HttpOnly, SameSite=Strict cookie, and login throttling.

A session is an account token of kind `session` (workflows/accounts.py): random,
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
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from ..durations import parse_duration
from ..store import crewgate_home

COOKIE = "crewgate_session"
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
    """Refuses logins for a name, or from an address, after MAX_FAILURES failures in FAILURE_WINDOW_S.

    Kept in this server process: it slows guessing through one server; the Argon2
    hash makes each guess cost the same whether the name exists or not.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, name: str, address: str) -> int:
        """Seconds until this name may try again from this address; 0 when it may now."""
        now = self._clock()
        with self._lock:
            return max(self._wait(key, now) for key in _keys(name, address))

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            for key in _keys(name, address):
                limit = MAX_FAILURES[key[0]]
                self._failures.setdefault(key, deque(maxlen=limit)).append(self._clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name.casefold()), None)

    def _wait(self, key: tuple[str, str], now: float) -> int:
        failures = self._failures.get(key)
        if not failures or len(failures) < MAX_FAILURES[key[0]]:
            return 0
        return max(0, int(failures[0] + FAILURE_WINDOW_S - now) + 1)


def _keys(name: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("name", name.casefold()), ("address", address)
