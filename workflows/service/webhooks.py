"""Webhooks as an operator asks for them (`crewgate webhooks add|list|remove`).

The command has no run services: each function names the database (None: this
crewgate home's) and opens it for its one change or listing.
"""

from ..webhooks import Webhooks, WebhookView
from .database import open_store


def add_webhook(database: str | None, url: str, events: str, secret: str | None) -> WebhookView:
    """Send `events` (names separated by commas) to `url`, signed with `secret` if given; BadInput says what to fix."""
    with open_store(database) as store:
        return Webhooks(store.engine).add(url, events, secret)


def list_webhooks(database: str | None) -> list[WebhookView]:
    """Every hook, oldest first, with its delivery counts, last failure and most recent deliveries."""
    with open_store(database) as store:
        return Webhooks(store.engine).hooks()


def remove_webhook(database: str | None, hook_id: str) -> WebhookView:
    """Forget a hook and its deliveries; one still retrying stops at its next attempt."""
    with open_store(database) as store:
        return Webhooks(store.engine).remove(hook_id)
