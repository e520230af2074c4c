"""Who is calling: the user of the request's bearer token, and what their role lets them do."""

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from ..store.accounts import Accounts, UserView

CAN = {"read": {"viewer", "reviewer", "admin"}, "decide": {"reviewer", "admin"}, "manage": {"admin"}}


def bearer_user(request: Request, accounts: Accounts) -> UserView:
    """The enabled user whose valid token is in `Authorization: Bearer TOKEN`, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = accounts.authenticate(token.strip()) if scheme.lower() == "bearer" else None
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
