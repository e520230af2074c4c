"""The ASGI app of `crewgate serve`: the pages, the API router, refusals, security headers, OpenAPI.

An API refusal is a JSON body `{"status_code", "detail", "error"}` naming the
problem in the CLI's words; a page's is an HTML page saying the same (and a
missing login is a redirect to /login). Every form post must carry the CSRF
token its page was rendered with (`_csrf_token`); the API, which takes only
bearer tokens, needs none. Responses are never cached and never framed, and the
Content-Security-Policy allows this server's own scripts and styles only.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from executors._version import VERSION

from ..errors import CrewgateError
from ..service.views import cost_text
from .api import api
from .clusters import cluster_pages
from .headers import HEADERS
from .json_depth import limit_json_depth
from .operations import operation_api, operation_pages
from .pages import pages
from .refusals import STATUS
from .session import cookie_names, server_secret

if TYPE_CHECKING:
    from ..service.run_services import RunServices

HERE = Path(__file__).resolve().parent

API_PATHS = "^/api/v1(/|$)"  # the API takes bearer tokens, not cookies: no CSRF token (anchored: nowhere else)


def create_app(services: "RunServices", secure_cookies: bool = False) -> Litestar:
    """The app over this process's run services (database, blobs); it hosts no runs itself.

    `secure_cookies` marks the session and CSRF cookies Secure and names them `__Host-...`:
    for a server behind an HTTPS proxy.
    """
    secret = server_secret()
    session_cookie, csrf_cookie = cookie_names(secure_cookies)
    app = Litestar(
        route_handlers=[
            api,
            operation_api,
            pages,
            cluster_pages,
            operation_pages,
            create_static_files_router(path="/static", directories=[HERE / "static"]),
        ],
        exception_handlers={
            **{kind: _refusal(status) for kind, status in STATUS.items()},
            CrewgateError: _refusal(500),
            HTTPException: _refusal(None),  # Litestar's own (401, 403 by role, 404 route, 405): its status
        },
        openapi_config=OpenAPIConfig(
            title="crewgate", version=VERSION, path="/api/v1", render_plugins=[JsonRenderPlugin()]
        ),
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_add_filters
        ),
        csrf_config=CSRFConfig(
            secret=secret,
            cookie_name=csrf_cookie,
            cookie_httponly=True,
            cookie_samesite="strict",
            cookie_secure=secure_cookies,
            exclude=[API_PATHS],
        ),
        before_request=_same_origin,
        after_request=_secure,
        middleware=[limit_json_depth],
        debug=False,
    )
    app.state.services = services
    app.state.secret = secret
    app.state.secure_cookies = secure_cookies
    app.state.session_cookie, app.state.csrf_cookie = session_cookie, csrf_cookie
    return app


def _add_filters(engine: JinjaTemplateEngine) -> None:
    """`shown` and `one_line`: text from a run or a person, hidden characters escaped and named; `cost`: dollars."""
    engine.engine.filters["shown"] = lambda text: _shown(str(text), multiline=True)
    engine.engine.filters["one_line"] = lambda text: _shown(str(text), multiline=False)
    engine.engine.filters["cost"] = cost_text
    engine.engine.filters["when"] = _when


def _when(utc: str | None) -> Markup:
    """A recorded time as a <time> element: UTC in the page, the viewer's zone once localtime.js runs, UTC on
    hover. The text is a timestamp crewgate wrote (escaped all the same)."""
    if not utc:
        return Markup("")
    return Markup('<time datetime="{0}" title="{0} UTC">{0}</time>').format(utc)


def _shown(text: str, multiline: bool) -> str:
    from ..visible import visible

    shown = visible(text, multiline)
    if not shown.flagged:
        return shown.text
    return f"[⚠ {', '.join(shown.flags)}: shown escaped] {shown.text}"


def _refusal(status: int | None) -> Any:
    """A handler answering with `status` (None: the HTTPException's own) and a JSON body naming the problem."""

    def handler(request: Request, exc: Exception) -> Response[Any]:
        code: int = status or getattr(exc, "status_code", None) or 500
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        if not request.url.path.startswith("/api/"):
            return _page_refusal(request, code, detail)
        body: dict[str, object] = {"status_code": code, "detail": detail, "error": type(exc).__name__}
        if isinstance(exc, ValidationException) and exc.extra:
            body["extra"] = exc.extra
        headers = {**(getattr(exc, "headers", None) or {}), **HEADERS}
        return Response(body, status_code=code, headers=headers)

    return handler


def _page_refusal(request: Request, code: int, detail: str) -> Response[Any]:
    """A page's refusal: a redirect to /login when nobody is logged in, else a page naming the problem."""
    if code == 401:
        return Redirect(f"/login?next={quote(request.url.path)}", status_code=303, headers=HEADERS)
    context: dict[str, object] = {"user": None, "can": set(), "status": code, "detail": detail}
    return Template("error.html", context=context, status_code=code, headers=HEADERS)


def _same_origin(request: Request) -> None:
    """Refuse a form post whose browser says it comes from another site (the CSRF token is checked too)."""
    if request.method != "POST" or request.url.path.startswith("/api/v1/"):
        return
    origin = request.headers.get("origin")
    if origin is None:
        return  # not sent by this browser (or not a browser): the CSRF token alone decides
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise PermissionDeniedException(f"a form post from {origin[:200]!r} is refused: post from this server's pages")


def _secure(response: Response[Any]) -> Response[Any]:
    response.headers.update(HEADERS)
    return response
