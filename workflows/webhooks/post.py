"""One HTTP POST of a delivery, with crewgate's error for anything but a 2xx answer.

The standard library is enough for one POST. Redirects are not followed: a
hook's URL is where its deliveries go, and a redirect would send a signed body
somewhere nobody registered. Proxies from the environment (HTTPS_PROXY...) are
honoured, as for any other client on the machine.
"""

import urllib.error
import urllib.request

from executors._version import VERSION

from ..errors import CrewgateError

TIMEOUT_S = 10.0
ANSWER_LIMIT = 200  # characters of a refusing receiver's answer kept in last_error


class DeliveryFailed(CrewgateError):
    """A receiver did not accept a delivery: it answered other than 2xx, or could not be reached in time."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_S) -> int:
    """POST `body` to `url`; the 2xx status, or DeliveryFailed saying what the receiver did."""
    request = urllib.request.Request(  # noqa: S310 - hooks are http(s) only (checked when added)
        url, data=body, headers={**headers, "User-Agent": f"crewgate-webhooks/{VERSION}"}, method="POST"
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        said = exc.read(ANSWER_LIMIT).decode("utf-8", "replace").strip()
        raise DeliveryFailed(f"HTTP {exc.code}" + (f": {said}" if said else ""), exc.code) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DeliveryFailed(f"could not reach the receiver: {reason}") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status}", status)
    return status
