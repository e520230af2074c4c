"""Which HTTP status each refusal is: the one map the API's error bodies and the pages' forms share."""

from litestar.exceptions import HTTPException, ValidationException

from agents.errors import CredentialsError
from executors.environment import SetupFailed
from executors.errors import SandboxUnavailable

from ..errors import BadInput, GateError, GateForbidden, NotFound

STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    GateForbidden: 403,
    GateError: 409,
    BadInput: 422,
    ValidationException: 422,
    SandboxUnavailable: 503,
    SetupFailed: 422,  # the runbook's sandbox.setup failed: the run is recorded failed, with the log's tail
    CredentialsError: 503,  # a model's key is not set where the run is recorded
}


def status_of(exc: Exception) -> int | None:
    """The HTTP status a refusal maps to; None for an error that is a crewgate fault (a 500)."""
    if isinstance(exc, HTTPException):
        return int(exc.status_code)
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), None)
