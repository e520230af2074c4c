"""The receiver's check of a delivery's Crewgate-Signature, in this process: what passes and why the rest do not.

A signature covers the signed time and the exact body under the hook's secret;
the check refuses a changed body or time, another secret, a time further than
the tolerance from the receiver's clock either way, and a header that is not
`t=<digits>,v1=<64 hex>`; one matching `v1` among several is enough.
"""

import hashlib
import hmac

import pytest

from workflows.errors import BadInput
from workflows.webhooks import TOLERANCE_S, SignatureRefused, check_signature, sign, verify
from workflows.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, delivery_headers

SECRET = "whsec-the-hooks-key"  # noqa: S105 - a test key
BODY = b'{"data": {"message": "caf\xc3\xa9 <!channel>"}, "event": "run.finished", "id": "d1"}'
SENT = 1_700_000_000  # when the delivery was signed, unix seconds


def refused(header: str | None, words: str, body: bytes = BODY, now: float = SENT, **kwargs: float) -> None:
    with pytest.raises(SignatureRefused, match=words):
        check_signature(SECRET, header, body, now, **kwargs)
    assert not verify(SECRET, header, body, now, **kwargs)


def test_a_signature_is_the_hmac_of_the_time_a_dot_and_the_body_as_a_receiver_computes_it_with_hmac() -> None:
    header = sign(SECRET, BODY, SENT)
    expected = hmac.new(SECRET.encode(), f"{SENT}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={SENT},v1={expected}"
    check_signature(SECRET, header, BODY, SENT)
    assert verify(SECRET, header, BODY, SENT)


def test_a_good_signature_passes_anywhere_within_the_tolerance_either_way() -> None:
    header = sign(SECRET, BODY, SENT)
    for now in (SENT - TOLERANCE_S, SENT - 1, SENT + 0.5, SENT + TOLERANCE_S):
        assert verify(SECRET, header, BODY, now), now
    assert verify(SECRET, header, BODY, SENT + 30, tolerance_s=30)
    assert verify(SECRET, header, BODY, SENT, tolerance_s=0)


def test_a_changed_body_or_time_or_another_secret_is_refused() -> None:
    header = sign(SECRET, BODY, SENT)
    refused(header, "matches this body", body=BODY.replace(b"d1", b"d2"))
    refused(header, "matches this body", body=BODY + b" ")
    refused(header.replace(f"t={SENT}", f"t={SENT + 600}"), "matches this body", now=SENT + 600)  # a replay re-dated
    with pytest.raises(SignatureRefused, match="secret is not this hook's"):
        check_signature("another-hooks-key", header, BODY, SENT)
    assert not verify("another-hooks-key", header, BODY, SENT)


def test_a_delivery_older_than_the_tolerance_is_a_replay_and_refused() -> None:
    header = sign(SECRET, BODY, SENT)
    refused(header, r"signed at t=1700000000, 301 s ago, more than the 300 s allowed: a replay", now=SENT + 301)
    refused(header, "a replay", now=SENT + 86_400 * 30)
    refused(header, "31 s ago, more than the 30 s", now=SENT + 31, tolerance_s=30)


def test_a_delivery_from_the_future_beyond_the_tolerance_is_refused() -> None:
    header = sign(SECRET, BODY, SENT)
    refused(header, r"301 s in the future, more than the 300 s allowed: .*clock", now=SENT - 301)
    refused(header, "in the future", now=SENT - 1, tolerance_s=0)


def test_a_missing_or_malformed_header_is_refused_saying_what_is_expected() -> None:
    mac = sign(SECRET, BODY, SENT).split("v1=")[1]
    refused(None, "no Crewgate-Signature header")
    old_style = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    for header in [
        old_style,  # the former X-Crewgate-Signature: no time, so refused
        "",
        f"v1={mac}",  # no time
        f"t={SENT}",  # no signature
        f"t={SENT},t={SENT + 1},v1={mac}",  # which time was signed?
        f"t=-{SENT},v1={mac}",
        f"t={SENT}.5,v1={mac}",
        f"t=١٧٠٠٠٠٠٠٠٠,v1={mac}",  # digits int() would read
        f"t=1_700_000_000,v1={mac}",
        f"t={SENT},v1={mac.upper()}",
        f"t={SENT},v1={mac[:-1]}",
        f"t={SENT},v1={mac}é",  # compare_digest would raise TypeError on a non-ASCII str
        f"t={SENT},v1={mac},",
        f"t={SENT};v1={mac}",
        f"t={SENT},V1={mac}",
        f"t={SENT},v1={mac},v1=not-hex",
    ]:
        refused(header, r"malformed: expected t=<unix seconds>,v1=<64 lowercase hex digits>")


def test_one_matching_v1_among_several_is_enough_and_other_schemes_are_ignored() -> None:
    good = sign(SECRET, BODY, SENT).split("v1=")[1]
    other = sign("the-previous-key", BODY, SENT).split("v1=")[1]
    assert verify(SECRET, f"t={SENT},v1={other},v1={good}", BODY, SENT)  # as while a secret is replaced
    assert verify(SECRET, f" t={SENT} , v2={'0' * 64}, v1={good} ", BODY, SENT)  # a later scheme, and spaces
    refused(f"t={SENT},v1={other},v2={good}", "matches this body")  # only v1 is checked
    refused(f"t={SENT},v1={other},v1={other}", "matches this body")


def test_a_negative_tolerance_is_a_mistake_of_the_caller() -> None:
    with pytest.raises(BadInput, match="tolerance_s must be 0 seconds or more"):
        check_signature(SECRET, sign(SECRET, BODY, SENT), BODY, SENT, tolerance_s=-1)


def test_each_attempts_headers_are_signed_at_its_own_time_and_a_hook_without_secret_sends_no_signature() -> None:
    first = delivery_headers("run.finished", "d1", BODY, SECRET, SENT)
    retry = delivery_headers("run.finished", "d1", BODY, SECRET, SENT + 8)
    assert first[EVENT_HEADER] == "run.finished" and first[DELIVERY_HEADER] == "d1"
    assert first[SIGNATURE_HEADER].startswith(f"t={SENT},v1=") and retry[SIGNATURE_HEADER].startswith(f"t={SENT + 8},")
    assert verify(SECRET, retry[SIGNATURE_HEADER], BODY, SENT + 8)
    assert "X-Crewgate-Signature" not in first  # the untimed signature is no longer sent
    unsigned = delivery_headers("run.finished", "d1", BODY, None, SENT)
    assert SIGNATURE_HEADER not in unsigned and unsigned["Content-Type"] == "application/json"
