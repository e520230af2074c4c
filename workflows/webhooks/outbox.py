"""The delivery rows as the delivery workflow reads and settles them.

Each attempt is counted in its row before the POST and leaves the receiver's
last answer there (HTTP status, error), so `webhooks list` shows a receiver
that keeps failing while its delivery is still being retried. Each attempt is
signed when it is made (signing.py), by this machine's clock: the receiver
compares the signed time with its own clock, not with the database's.
"""

import datetime
import time
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ..clock import stamp
from ..store.tables import webhook_deliveries, webhooks
from .post import DeliveryFailed, post
from .signing import delivery_headers

ERROR_LIMIT = 500  # characters of an error kept in last_error


def pending_ids(engine: Engine) -> list[str]:
    """Deliveries not yet delivered nor given up on, oldest first."""
    query = (
        select(webhook_deliveries.c.id)
        .where(webhook_deliveries.c.status == "pending")
        .order_by(webhook_deliveries.c.created_at, webhook_deliveries.c.id)
    )
    with engine.connect() as db:
        return [str(found) for found in db.execute(query).scalars()]


def attempt(engine: Engine, delivery_id: str, clock: Callable[[], float] = time.time) -> str:
    """Post the delivery once: "delivered", DeliveryFailed for the caller to retry, or its state if settled.

    A delivery whose hook was removed meanwhile is "gone": nothing is posted. The
    signature's time is `clock()` (unix seconds) just before the POST.
    """
    deliveries = webhook_deliveries.c
    query = (
        select(deliveries.event, deliveries.body, deliveries.status, webhooks.c.url, webhooks.c.secret)
        .join(webhooks, webhooks.c.id == deliveries.webhook_id)
        .where(deliveries.id == delivery_id)
    )
    with engine.begin() as db:
        row = db.execute(query).mappings().first()
        if row is None:
            return "gone"
        if row["status"] != "pending":
            return str(row["status"])  # settled by an earlier run of this step (replayed after a crash)
        db.execute(
            update(webhook_deliveries).where(deliveries.id == delivery_id).values(attempts=deliveries.attempts + 1)
        )
    body = row["body"].encode()
    headers = delivery_headers(row["event"], delivery_id, body, row["secret"], int(clock()))
    try:
        status = post(row["url"], body, headers)
    except DeliveryFailed as exc:
        _settle(engine, delivery_id, last_status=exc.status, last_error=str(exc)[:ERROR_LIMIT])
        raise
    _settle(
        engine,
        delivery_id,
        status="delivered",
        last_status=status,
        last_error=None,
        delivered_at=stamp(datetime.datetime.fromtimestamp(clock(), datetime.UTC)),
    )
    return "delivered"


def give_up(engine: Engine, delivery_id: str) -> str:
    """Mark a delivery failed once its attempts ran out (its last error stays); its state."""
    _settle(engine, delivery_id, status="failed")
    with engine.connect() as db:
        found = db.execute(select(webhook_deliveries.c.status).where(webhook_deliveries.c.id == delivery_id)).first()
    return str(found[0]) if found else "gone"


def _settle(engine: Engine, delivery_id: str, **values: object) -> None:
    with engine.begin() as db:
        db.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.status == "pending")
            .values(**values)
        )
