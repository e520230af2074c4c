"""How a receiver knows a delivery came from this crewgate, just now: a timestamped HMAC-SHA256 of the body.

Like Stripe's webhook signatures: every attempt of a delivery carries

    Crewgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

where `t` is when that attempt was made (a retry is signed afresh) and the MAC
covers the ASCII digits of `t`, a dot and the body's bytes as sent. A receiver
recomputes it over the raw body (before parsing the JSON), compares in constant
time, and refuses a `t` further than a few minutes from its own clock: a
captured delivery replayed later no longer passes, and `t` cannot be changed
without breaking the MAC. `verify` (or `check_signature`, which says why) is
that check; it uses only hmac, hashlib and re, so a receiver may import it or
copy it (raising its own exception). A hook without a secret sends no
signature header.

The old `X-Crewgate-Signature: sha256=<HMAC of the body>` header is no longer
sent. It covered no time, so while it was sent a receiver still checking it
would accept a replay forever; without it, such a receiver refuses every
delivery at once and its owner moves to the header above, rather than staying
open without noticing.

crewgate sends one `v1=` (a hook has one secret). The check still takes a
header listing several, one matching being enough, and ignores schemes it does
not know (a later `v2=`): a sender that signs with an old and a new key while a
secret is replaced, or adds a scheme, does not break receivers using it.
"""

import hashlib
import hmac
import re

from ..errors import BadInput, CrewgateError

SIGNATURE_HEADER = "Crewgate-Signature"
EVENT_HEADER = "X-Crewgate-Event"
DELIVERY_HEADER = "X-Crewgate-Delivery"
TOLERANCE_S = 300  # how far a delivery's `t` may be from the receiver's clock, either way
SCHEME = "v1"

_TIMESTAMP = re.compile(r"[0-9]{1,15}")  # ASCII digits only: int() would also take "١٢", "1_0" and " 1"
_MAC = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"[a-z][a-z0-9]{0,15}")
_FORMAT = f"t=<unix seconds>,{SCHEME}=<64 lowercase hex digits>"


class SignatureRefused(CrewgateError):
    """A delivery's Crewgate-Signature does not prove it came from the hook's crewgate just now."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The Crewgate-Signature value for `body` sent at `timestamp` (unix seconds) under `secret`."""
    return f"t={timestamp},{SCHEME}={_mac(secret, str(timestamp), body)}"


def check_signature(secret: str, header: str | None, body: bytes, now: float, tolerance_s: float = TOLERANCE_S) -> None:
    """Accept a delivery or raise SignatureRefused saying why, as a receiver should.

    Args:
        secret: the hook's secret, as given to `crewgate webhooks add`.
        header: the Crewgate-Signature header's value, None when the request has none.
        body: the request body's raw bytes, before any JSON parsing.
        now: the receiver's clock, in unix seconds (`time.time()`).
        tolerance_s: how far the signed time may be from `now`, either way.
    """
    if tolerance_s < 0:
        raise BadInput(f"tolerance_s must be 0 seconds or more (got {tolerance_s})")
    if header is None:
        raise SignatureRefused(
            f"no {SIGNATURE_HEADER} header: this delivery is unsigned (a hook added without --secret) "
            "or was not sent by crewgate"
        )
    timestamp, macs = _parse(header)
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise SignatureRefused(
            f"no {SCHEME} signature in {SIGNATURE_HEADER} matches this body under this secret: the body or its "
            "timestamp was changed on the way, or the secret is not this hook's"
        )
    age = now - int(timestamp)
    if age > tolerance_s:
        raise SignatureRefused(
            f"the delivery was signed at t={timestamp}, {age:.0f} s ago, more than the {tolerance_s:g} s "
            "allowed: a replay of an old delivery (or a clock far behind); refuse it"
        )
    if -age > tolerance_s:
        raise SignatureRefused(
            f"the delivery was signed at t={timestamp}, {-age:.0f} s in the future, more than the "
            f"{tolerance_s:g} s allowed: the sender's or this receiver's clock is wrong (check NTP)"
        )


def verify(secret: str, header: str | None, body: bytes, now: float, tolerance_s: float = TOLERANCE_S) -> bool:
    """True when `check_signature` accepts the delivery (signed with `secret`, within `tolerance_s` of `now`)."""
    try:
        check_signature(secret, header, body, now, tolerance_s)
    except SignatureRefused:
        return False
    return True


def delivery_headers(event: str, delivery_id: str, body: bytes, secret: str | None, timestamp: int) -> dict[str, str]:
    """One attempt's headers: its event, its id (a receiver drops a repeat by it) and, with a secret, its signature.

    `timestamp` is the attempt's time in unix seconds, so a retry is signed with a fresh one.
    """
    headers = {"Content-Type": "application/json", EVENT_HEADER: event, DELIVERY_HEADER: delivery_id}
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, body, timestamp)
    return headers


def _mac(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _parse(header: str) -> tuple[str, list[str]]:
    """The timestamp's digits and every v1 signature of a header value; SignatureRefused if it is not one."""
    malformed = SignatureRefused(f"the {SIGNATURE_HEADER} header is malformed: expected {_FORMAT}[,{SCHEME}=...]")
    timestamps: list[str] = []
    macs: list[str] = []
    for part in header.split(","):
        key, equals, value = (piece.strip() for piece in part.partition("="))
        if not equals or not _KEY.fullmatch(key):
            raise malformed
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME:
            macs.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not macs:
        raise malformed  # two `t`s would leave open which one was signed
    if not all(_MAC.fullmatch(mac) for mac in macs):
        raise malformed
    return timestamps[0], macs
