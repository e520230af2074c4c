"""Registered webhooks and what became of their deliveries (`crewgate webhooks add|list|remove`).

A hook is a URL, the events it wants and, optionally, the key its bodies are
signed with. The key is kept (it is needed to sign) but never shown: a view
says only whether one is set. `list` counts each hook's deliveries by state
and names the last failure, so a receiver that stopped answering is visible
without reading a log.
"""

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from ..clock import Clock, stamp, wall_clock
from ..errors import BadInput, NotFound
from ..store.tables import webhook_deliveries, webhooks
from ..visible import visible

EVENTS = ("review.created", "review.decided", "run.finished")
RECENT = 5  # deliveries shown per hook in `webhooks list --json`


@dataclass(frozen=True)
class DeliveryView:
    """One event posted (or being posted) to one hook."""

    id: str
    event: str
    status: str  # pending, delivered, failed
    attempts: int
    last_status: int | None  # the receiver's last HTTP status, None if it never answered
    last_error: str | None
    created_at: str
    delivered_at: str | None


@dataclass(frozen=True)
class WebhookView:
    """A hook as `webhooks list` shows it: never its secret, only whether one is set."""

    id: str
    url: str
    events: tuple[str, ...]
    secret_set: bool
    disabled: bool
    created_at: str
    delivered: int
    pending: int
    failed: int
    last_failure: DeliveryView | None
    recent: tuple[DeliveryView, ...]


class Webhooks:
    """The webhooks of the crewgate database."""

    def __init__(self, engine: Engine, clock: Clock = wall_clock) -> None:
        self.engine = engine
        self.clock = clock

    def add(self, url: str, events: str | list[str], secret: str | None = None) -> WebhookView:
        """Register a hook for `events` (a list, or names separated by commas); BadInput says what to fix."""
        checked_url, names = check_url(url), parse_events(events)
        if secret is not None and not secret.strip():
            raise BadInput("the webhook secret is empty: give a key to sign with, or leave --secret out")
        hook_id = secrets.token_hex(6)
        with self.engine.begin() as db:
            db.execute(
                insert(webhooks).values(
                    id=hook_id,
                    url=checked_url,
                    events=json.dumps(names),
                    secret=secret,
                    created_at=stamp(self.clock()),
                    disabled=0,
                )
            )
        return self.get(hook_id)

    def get(self, hook_id: str) -> WebhookView:
        views = self._views(hook_id)
        if not views:
            raise NotFound(f"no webhook {hook_id!r}: see `crewgate webhooks list`")
        return views[0]

    def hooks(self) -> list[WebhookView]:
        """Every hook, oldest first, with its delivery counts, last failure and most recent deliveries."""
        return self._views(None)

    def remove(self, hook_id: str) -> WebhookView:
        """Forget a hook and its deliveries; one still retrying stops at its next attempt."""
        view = self.get(hook_id)
        with self.engine.begin() as db:
            db.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == hook_id))
            db.execute(delete(webhooks).where(webhooks.c.id == hook_id))
        return view

    def _views(self, hook_id: str | None) -> list[WebhookView]:
        hooks_query = select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
        counts_query = select(webhook_deliveries.c.webhook_id, webhook_deliveries.c.status, func.count()).group_by(
            webhook_deliveries.c.webhook_id, webhook_deliveries.c.status
        )
        if hook_id is not None:
            hooks_query = hooks_query.where(webhooks.c.id == hook_id)
            counts_query = counts_query.where(webhook_deliveries.c.webhook_id == hook_id)
        with self.engine.connect() as db:
            rows = db.execute(hooks_query).mappings().all()
            counts: dict[tuple[str, str], int] = {(h, s): n for h, s, n in db.execute(counts_query).all()}
            return [_view(db, row, counts) for row in rows]


def check_url(url: str) -> str:
    """The URL if crewgate can post to it: http or https, a host, no credentials, nothing hidden."""
    text = url.strip()
    shown = visible(url, multiline=False).text
    if visible(text, multiline=False).flagged or any(char.isspace() for char in text):
        raise BadInput(f"the webhook URL {shown!r} holds spaces, control or invisible characters: give a plain URL")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise BadInput(f"the webhook URL {shown!r} cannot be read ({exc}): give e.g. https://example.com/hook") from exc
    if parts.scheme not in ("http", "https"):
        scheme = f"uses {parts.scheme}://" if parts.scheme else "has no scheme"
        raise BadInput(
            f"the webhook URL {shown!r} {scheme}; crewgate posts over http:// or https:// only: "
            "give e.g. https://hooks.slack.com/services/..."
        )
    if not parts.hostname:
        raise BadInput(f"the webhook URL {shown!r} names no host: give e.g. https://example.com/hook")
    if parts.username is not None or parts.password is not None:
        raise BadInput(
            f"the webhook URL for {parts.hostname} carries a user name or password, which `webhooks list` would show: "
            "use --secret to let the receiver check the sender instead"
        )
    return text


def parse_events(events: str | list[str]) -> list[str]:
    """Event names in the order given, each once; BadInput for an unknown or missing one."""
    given = events.split(",") if isinstance(events, str) else events
    names = list(dict.fromkeys(name.strip() for name in given if name.strip()))
    if not names:
        raise BadInput(f"no events given: choose from {', '.join(EVENTS)} (comma-separated)")
    unknown = [name for name in names if name not in EVENTS]
    if unknown:
        listed = ", ".join(repr(visible(name, multiline=False).text) for name in unknown)
        raise BadInput(f"unknown webhook event {listed}: choose from {', '.join(EVENTS)} (comma-separated)")
    return names


def _view(db: Any, row: Any, counts: dict[tuple[str, str], int]) -> WebhookView:
    hook_id = row["id"]
    deliveries = webhook_deliveries.c
    recent = db.execute(
        select(webhook_deliveries)
        .where(deliveries.webhook_id == hook_id)
        .order_by(deliveries.created_at.desc(), deliveries.id)
        .limit(RECENT)
    ).mappings()
    last_failure = (
        db.execute(
            select(webhook_deliveries)
            .where(deliveries.webhook_id == hook_id, deliveries.status == "failed")
            .order_by(deliveries.created_at.desc(), deliveries.id)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return WebhookView(
        id=hook_id,
        url=row["url"],
        events=tuple(json.loads(row["events"])),
        secret_set=row["secret"] is not None,
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        delivered=counts.get((hook_id, "delivered"), 0),
        pending=counts.get((hook_id, "pending"), 0),
        failed=counts.get((hook_id, "failed"), 0),
        last_failure=_delivery_view(last_failure) if last_failure else None,
        recent=tuple(_delivery_view(item) for item in recent),
    )


def _delivery_view(row: Any) -> DeliveryView:
    return DeliveryView(
        row["id"],
        row["event"],
        row["status"],
        row["attempts"],
        row["last_status"],
        row["last_error"],
        row["created_at"],
        row["delivered_at"],
    )
