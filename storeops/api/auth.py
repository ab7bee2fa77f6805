"""The one authorization dependency of every page and API route.

``require(permission)`` resolves the current user (the session cookie, or HTTP Basic for
scripts), then checks the permission. Failures raise :class:`NotAuthenticated` or
:class:`Forbidden`; the app turns them into 401 JSON / a redirect to the login page / 403.
Later roles, approvals or audit logging hook in here, not in the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from storeops.accounts.permissions import ROLE_PERMISSIONS, Permission, Role, has_permission
from storeops.accounts.users import authenticate
from storeops.db.engine import session_factory
from storeops.db.models import User

SESSION_USER_KEY = "uid"
REQUIRE_MARK = "__storeops_permission__"

_basic = HTTPBasic(auto_error=False, description="The cockpit's user name and password.")


class NotAuthenticated(Exception):
    """No logged-in user."""


class Forbidden(Exception):
    def __init__(self, user: CurrentUser, permission: Permission) -> None:
        super().__init__(f"the role {user.role!r} may not do {permission.value}")
        self.user = user
        self.permission = permission


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str | None
    role: str

    @property
    def permissions(self) -> frozenset[Permission]:
        try:
            return ROLE_PERMISSIONS[Role(self.role)]
        except ValueError:
            return frozenset()

    def can(self, permission: Permission | str) -> bool:
        return has_permission(self.role, Permission(permission))

    @classmethod
    def of(cls, user: User) -> CurrentUser:
        return cls(user.id, user.username, user.display_name, user.role)


def db_url_of(request: Request) -> str:
    return request.app.state.db_url


def _session_user(request: Request) -> CurrentUser | None:
    uid = request.session.get(SESSION_USER_KEY)
    if not isinstance(uid, int):
        return None
    with session_factory(db_url_of(request))() as session:
        user = session.get(User, uid)
        # Checked on every request so that deactivating a user ends their sessions at once.
        if user is None or not user.is_active:
            request.session.pop(SESSION_USER_KEY, None)
            return None
        return CurrentUser.of(user)


def _basic_user(request: Request, credentials: HTTPBasicCredentials) -> CurrentUser | None:
    with session_factory(db_url_of(request))() as session:
        user = authenticate(session, credentials.username, credentials.password)
        return CurrentUser.of(user) if user else None


def current_user(
    request: Request, credentials: HTTPBasicCredentials | None = Depends(_basic)
) -> CurrentUser:
    user = _session_user(request)
    if user is None and credentials is not None:
        user = _basic_user(request, credentials)
    if user is None:
        raise NotAuthenticated()
    return user


def require(permission: Permission) -> Any:
    """A FastAPI dependency: the current user, who must hold ``permission``."""

    def check(user: CurrentUser = Depends(current_user)) -> CurrentUser:
        if not user.can(permission):
            raise Forbidden(user, permission)
        return user

    setattr(check, REQUIRE_MARK, permission)
    check.__name__ = f"require_{permission.value.replace('.', '_')}"
    return Depends(check)


def required_permission(call: Callable[..., Any]) -> Permission | None:
    """The permission a dependency made by :func:`require` checks, else None."""
    return getattr(call, REQUIRE_MARK, None)
