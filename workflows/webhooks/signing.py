"""How a receiver knows a delivery came from this crewgate: HMAC-SHA256 over the exact body.

Like GitHub's X-Hub-Signature-256: `X-Crewgate-Signature: sha256=<hex>` where
the hex is HMAC-SHA256 keyed with the hook's secret over the body's bytes as
sent. A receiver recomputes it over the raw body (before parsing the JSON) and
compares in constant time; `verify` is that check. A hook without a secret
sends no signature header.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Crewgate-Signature"
EVENT_HEADER = "X-Crewgate-Event"
DELIVERY_HEADER = "X-Crewgate-Delivery"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret` (what a receiver checks)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def delivery_headers(event: str, delivery_id: str, body: bytes, secret: str | None) -> dict[str, str]:
    """A delivery's headers: its event, its id (a receiver drops a repeat by it) and, with a secret, its signature."""
    headers = {"Content-Type": "application/json", EVENT_HEADER: event, DELIVERY_HEADER: delivery_id}
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return headers
