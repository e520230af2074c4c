"""Who is calling: the user of the request's bearer token, and what their role lets them do."""

from typing import TYPE_CHECKING

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from ..service.accounts import UserView, api_token_user

if TYPE_CHECKING:  # the services are built at the edge (crewgate serve) and handed in
    from ..service.run_services import RunServices

CAN = {"read": {"viewer", "reviewer", "admin"}, "decide": {"reviewer", "admin"}, "manage": {"admin"}}


def bearer_user(request: Request, services: "RunServices") -> UserView:
    """The enabled user whose valid token is in `Authorization: Bearer TOKEN`, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = api_token_user(services, token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise NotAuthorizedException(
            "a valid API token is required: `Authorization: Bearer TOKEN` (crewgate tokens create --user NAME)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require(user: UserView, action: str) -> None:
    """403 unless the user's role allows `action` (read, decide, manage)."""
    if user.role not in CAN[action]:
        raise PermissionDeniedException(f"{user.name} is a {user.role}: {action} needs one of {sorted(CAN[action])}")
