"""The ASGI app of `crewgate serve`: the API router, error bodies, security headers, OpenAPI.

Every refusal is a JSON body `{"status_code", "detail", "error"}` naming the
problem in the CLI's words. Responses are never cached and never framed.
"""

from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from executors._version import VERSION
from executors.errors import SandboxUnavailable

from ..accounts import Accounts
from ..errors import BadInput, CrewgateError, GateError, GateForbidden, NotFound
from .api import api

STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    GateForbidden: 403,
    GateError: 409,
    BadInput: 422,
    ValidationException: 422,
    SandboxUnavailable: 503,
}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def create_app(services: Any) -> Litestar:
    """The app over this process's run services (database, blobs); it hosts no runs itself."""
    app = Litestar(
        route_handlers=[api],
        exception_handlers={
            **{kind: _refusal(status) for kind, status in STATUS.items()},
            CrewgateError: _refusal(500),
            HTTPException: _refusal(None),  # Litestar's own (401, 403 by role, 404 route, 405): its status
        },
        openapi_config=OpenAPIConfig(
            title="crewgate", version=VERSION, path="/api/v1", render_plugins=[JsonRenderPlugin()]
        ),
        after_request=_secure,
        debug=False,
    )
    app.state.services = services
    app.state.accounts = Accounts(services.store.engine)
    return app


def _refusal(status: int | None) -> Any:
    """A handler answering with `status` (None: the HTTPException's own) and a JSON body naming the problem."""

    def handler(_: Request, exc: Exception) -> Response[dict[str, Any]]:
        code = status or getattr(exc, "status_code", 500)
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        body: dict[str, Any] = {"status_code": code, "detail": detail, "error": type(exc).__name__}
        if isinstance(exc, ValidationException) and exc.extra:
            body["extra"] = exc.extra
        headers = {**(getattr(exc, "headers", None) or {}), **HEADERS}
        return Response(body, status_code=code, headers=headers)

    return handler


def _secure(response: Response[Any]) -> Response[Any]:
    response.headers.update(HEADERS)
    return response
