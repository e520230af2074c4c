"""Refusing web logins for an account, or from an address, after MAX_FAILURES failures in FAILURE_WINDOW_S.

Failures are rows in the database (on its clock), so every `crewgate serve` behind a
balancer shares them and a restart forgets none. An account is throttled by its key
(identity.fold: NFKC and case-folded, as logins match it), so `ｖictim` and `Victim`
spend the same five guesses as `victim`. The Argon2 hash makes each guess cost the
same whether the name exists or not.
"""

import zlib
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Connection

from ..clock import database_time
from ..identity import fold
from ..store.tables import login_failures

if TYPE_CHECKING:
    from ..runs.services import RunServices

# Failed logins allowed within FAILURE_WINDOW_S, per name and per client address. An address
# gets more: behind a proxy every reviewer has the proxy's address.
MAX_FAILURES = {"name": 5, "address": 20}
FAILURE_WINDOW_S = 15 * 60.0


def count_login_attempt(services: "RunServices", name: str, address: str) -> int:
    """Count a login attempt as failed before its password is checked; seconds to wait instead (none counted).

    Counting first, in one transaction under a lock per account and address, means a burst
    of simultaneous guesses cannot all pass the check before any failure is recorded:
    each is counted (and the sixth refused) however many arrive at once, on any server.
    `login_succeeded` takes the count back.
    """
    subjects = _subjects(name, address)
    with services.store.engine.begin() as db:
        _lock(db, subjects)
        now = database_time(db)
        wait = max(_wait(db, scope, subject, now) for scope, subject in subjects)
        if wait:
            return wait
        db.execute(delete(login_failures).where(login_failures.c.failed_at < now - FAILURE_WINDOW_S))
        for scope, subject in subjects:
            db.execute(insert(login_failures).values(scope=scope, subject=subject, failed_at=now))
    return 0


def login_succeeded(services: "RunServices", name: str, address: str) -> None:
    """The password was right: the account's failures are forgotten, and this attempt's at the address."""
    (name_scope, account), (address_scope, client) = _subjects(name, address)
    with services.store.engine.begin() as db:
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


def _wait(db: Connection, scope: str, subject: str, now: float) -> int:
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
