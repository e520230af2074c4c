"""Webhooks: review and run events posted to HTTP receivers, signed, durable, retried.

`hooks` registers receivers and reports on their deliveries; `events` records
an event as one delivery row per subscribed hook; `signing` is the timestamped
signature header and the receiver's check of it; `outbox` posts a row once;
`delivery` (imported only where DBOS runs) is the durable workflow that retries it.
"""

from .events import record_event, review_created, review_decided, run_finished
from .hooks import EVENTS, DeliveryView, Webhooks, WebhookView
from .signing import SIGNATURE_HEADER, TOLERANCE_S, SignatureRefused, check_signature, sign, verify

__all__ = [
    "EVENTS",
    "SIGNATURE_HEADER",
    "TOLERANCE_S",
    "DeliveryView",
    "SignatureRefused",
    "WebhookView",
    "Webhooks",
    "check_signature",
    "record_event",
    "review_created",
    "review_decided",
    "run_finished",
    "sign",
    "verify",
]
