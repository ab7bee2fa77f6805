"""The one authorization dependency of every page and API route.

``require(permission)`` resolves the current user, then checks the permission. Who the user is
comes from, in order: an API token (``Authorization: Bearer …``), the session cookie (a
server-side session, one indexed query), or HTTP Basic (kept for old scripts: an Argon2 check
per call, behind the login throttle). A request that changes something with the session
cookie must also carry the session's CSRF token (form field or ``X-CSRF-Token`` header).

Failures raise :class:`NotAuthenticated`, :class:`Forbidden`, :class:`CsrfRejected` or
:class:`~storeops.accounts.throttle.TooManyAttempts`; the app turns them into JSON 401/403/429
for the API, the login page or an error page for the cockpit. Later roles, approvals or audit
logging hook in here, not in the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from storeops.accounts import csrf
from storeops.accounts.credentials import new_secret
from storeops.accounts.models import User
from storeops.accounts.permissions import ROLE_PERMISSIONS, Permission, Role, has_permission
from storeops.accounts.sessions import SESSION_LIFETIME, end_session, session_user, start_session
from storeops.accounts.tokens import TokenStatus, check_token, remembered
from storeops.accounts.users import login_with_password, record_login
from storeops.db.engine import unit_of_work

SESSION_COOKIE = "storeops_session"
REQUIRE_MARK = "__storeops_permission__"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Declared so that the OpenAPI document and its docs page offer a token; read by _bearer below.
_bearer_scheme = HTTPBearer(auto_error=False, description="An API token from `storeops token "
                            "create`: `Authorization: Bearer sop_…`.")
_basic = HTTPBasic(auto_error=False, description="Old scripts only: the cockpit's user name "
                   "and password (an Argon2 check per call). Prefer an API token.")

TOKEN_MESSAGES = {
    TokenStatus.UNKNOWN: "invalid API token: no such token (create one with "
                         "`storeops token create`)",
    TokenStatus.REVOKED: "API token revoked: create a new one with `storeops token create`",
    TokenStatus.INACTIVE_USER: "API token of a deactivated user",
}
LOGIN_REQUIRED = ("login required: send `Authorization: Bearer <token>` (see `storeops token "
                  "create`) or log in to the cockpit")


class NotAuthenticated(Exception):
    """No valid credentials. ``token_error``: a token was sent but does not count."""

    def __init__(self, detail: str = LOGIN_REQUIRED, *, token_error: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.token_error = token_error

    @property
    def www_authenticate(self) -> str:
        # Bearer, never Basic: a Basic challenge makes browsers ask for and remember a password
        # that they then send to this server from any site.
        if self.token_error:
            return 'Bearer realm="storeops", error="invalid_token"'
        return 'Bearer realm="storeops"'


class Forbidden(Exception):
    def __init__(self, user: CurrentUser, permission: Permission) -> None:
        super().__init__(f"the role {user.role!r} may not do {permission.value}")
        self.user = user
        self.permission = permission


class CsrfRejected(Exception):
    """A state-changing request with the session cookie but without its CSRF token."""

    def __init__(self) -> None:
        super().__init__("missing or wrong CSRF token: reload the page and try again "
                         f"(scripts: use an API token, or send the {csrf.HEADER} header)")


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


def secret_key_of(request: Request) -> str:
    return request.app.state.secret_key


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _token_user(request: Request, token: str) -> CurrentUser:
    check = check_token(db_url_of(request), token)
    if check.status is not TokenStatus.OK:
        raise NotAuthenticated(TOKEN_MESSAGES[check.status], token_error=True)
    request.state.auth = "token"
    return CurrentUser(check.user_id, check.username, check.display_name, check.role)


def _session_user(request: Request) -> CurrentUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = session_user(db_url_of(request), token)
    if row is None:
        return None
    request.state.auth = "session"
    request.state.session_token = token
    return CurrentUser(*row)


def _basic_user(request: Request, credentials: HTTPBasicCredentials) -> CurrentUser | None:
    with unit_of_work(db_url_of(request)) as session:
        user = login_with_password(session, credentials.username, credentials.password,
                                   client_address(request))
        found = CurrentUser.of(user) if user else None
    if found:
        request.state.auth = "basic"
    return found


async def current_user(
    request: Request,
    credentials: HTTPBasicCredentials | None = Depends(_basic),
    _declared: HTTPAuthorizationCredentials | None = Depends(_bearer_scheme),
) -> CurrentUser:
    token = _bearer(request)
    if token is not None:
        # a token found good a moment ago costs no thread and no query (tokens.TOKEN_CACHE_S)
        known = remembered(db_url_of(request), token)
        if known is not None:
            request.state.auth = "token"
            return CurrentUser(known.user_id, known.username,  # type: ignore[arg-type]
                               known.display_name, known.role)  # type: ignore[arg-type]
        # a token that fails never falls back to a cookie
        return await run_in_threadpool(_token_user, request, token)
    return await run_in_threadpool(_cookie_or_basic_user, request, credentials)


def _cookie_or_basic_user(request: Request,
                          credentials: HTTPBasicCredentials | None) -> CurrentUser:
    user = _session_user(request)
    if user is None and credentials is not None:
        user = _basic_user(request, credentials)
    if user is None:
        raise NotAuthenticated()
    return user


async def check_csrf(request: Request) -> None:
    """Raise CsrfRejected unless an unsafe request made with the session cookie carries the
    session's CSRF token. Tokens and Basic credentials are not sent by a browser on its own,
    so requests authenticated by them need none."""
    if request.method in SAFE_METHODS or getattr(request.state, "auth", None) != "session":
        return
    sent = request.headers.get(csrf.HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(csrf.FIELD)  # parsed once, shared with the route
        sent = value if isinstance(value, str) else None
    if not csrf.is_valid(secret_key_of(request), "session", request.state.session_token, sent):
        raise CsrfRejected()


def require(permission: Permission) -> Any:
    """A FastAPI dependency: the current user, who must hold ``permission`` (and, for a change
    made with the session cookie, send the CSRF token)."""

    async def check(request: Request, user: CurrentUser = Depends(current_user)) -> CurrentUser:
        if not user.can(permission):
            raise Forbidden(user, permission)
        await check_csrf(request)
        return user

    setattr(check, REQUIRE_MARK, permission)
    check.__name__ = f"require_{permission.value.replace('.', '_')}"
    return Depends(check)


def required_permission(call: Callable[..., Any]) -> Permission | None:
    """The permission a dependency made by :func:`require` checks, else None."""
    return getattr(call, REQUIRE_MARK, None)


# --- the cookie side of logging in and out -----------------------------------------------------

def page_csrf_token(request: Request) -> str:
    """The CSRF token for forms on this page: the session's once logged in, else one tied to
    the pre-login cookie (made here when missing; :func:`set_pending_cookies` sends it)."""
    key = secret_key_of(request)
    session_token = getattr(request.state, "session_token", None)
    if session_token:
        return csrf.csrf_token(key, "session", session_token)
    anon = request.cookies.get(csrf.ANON_COOKIE) or getattr(request.state, "new_anon", None)
    if not anon:
        anon = request.state.new_anon = new_secret()
    return csrf.csrf_token(key, "anon", anon)


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=request.app.state.https)


def set_pending_cookies(request: Request, response: Response) -> None:
    anon = getattr(request.state, "new_anon", None)
    if anon:
        _cookie(response, request, csrf.ANON_COOKIE, anon, int(SESSION_LIFETIME.total_seconds()))


def login_csrf_ok(request: Request, sent: str | None) -> bool:
    """The login form's token (form field, else header) matches the pre-login cookie."""
    sent = sent or request.headers.get(csrf.HEADER)
    return csrf.is_valid(secret_key_of(request), "anon", request.cookies.get(csrf.ANON_COOKIE),
                         sent)


def log_in(request: Request, response: Response, username: str, password: str) -> bool:
    """Check the password (behind the throttle: may raise TooManyAttempts); on success start a
    server-side session, set its cookie on ``response`` and end the browser's previous one."""
    address = client_address(request)
    with unit_of_work(db_url_of(request)) as session:
        user = login_with_password(session, username, password, address)
        if user is None:
            return False
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            end_session(session, old)
        token = start_session(session, user.id, address)
        record_login(session, user.id, address)
    _cookie(response, request, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))
    return True


def log_out(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with unit_of_work(db_url_of(request)) as session:
            end_session(session, token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.app.state.https)


def logout_csrf_ok(request: Request, sent: str | None) -> bool:
    """Logout's form carries the session's token; a browser whose session is already gone may
    log out freely (there is nothing left to end)."""
    sent = sent or request.headers.get(csrf.HEADER)
    token = request.cookies.get(SESSION_COOKIE)
    if not token or session_user(db_url_of(request), token) is None:
        return True
    return csrf.is_valid(secret_key_of(request), "session", token, sent)
