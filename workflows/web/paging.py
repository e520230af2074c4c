"""A page of a long list over HTTP: the items as the body, the next page's address in a `Link` header.

The body stays a JSON array (what clients of the unpaged lists read), and the next
page is `Link: <URL>; rel="next"` (RFC 8288, as GitHub's API does) with the cursor
alone in `X-Next-Cursor`; the last page has neither. Pages link with `?after=CURSOR`.
"""

from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import ResponseHeader

from ..service.views import Page

Item = TypeVar("Item")

PAGE_HEADERS = [
    ResponseHeader(
        name="Link",
        description='`<URL>; rel="next"`: the next page (the same query with `after`); absent on the last page',
        documentation_only=True,
        required=False,
    ),
    ResponseHeader(name="X-Next-Cursor", description="The next page's cursor (`after`)", documentation_only=True),
]


def paged(request: Request, page: Page[Item]) -> Response[list[Item]]:
    """The page's items, with the address of the next page when there is one."""
    if page.next_cursor is None:
        return Response(page.items)
    address = next_address(request, page.next_cursor)
    return Response(page.items, headers={"Link": f'<{address}>; rel="next"', "X-Next-Cursor": page.next_cursor})


def next_address(request: Request, cursor: str, keep: Sequence[str] | None = None) -> str:
    """This request's path and query with `after=cursor` (only the `keep` parameters, if named)."""
    query = [(name, value) for name, value in request.query_params.multi_items() if name != "after"]
    if keep is not None:
        query = [(name, value) for name, value in query if name in keep]
    return f"{request.url.path}?{urlencode([*query, ('after', cursor)])}"
