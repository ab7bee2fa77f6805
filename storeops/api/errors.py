"""How failures reach the user: JSON for the API, a page or a redirect for the cockpit."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from storeops.accounts.throttle import TooManyAttempts
from storeops.api.auth import CsrfRejected, Forbidden, NotAuthenticated
from storeops.catalog.stores import StoreError
from storeops.common.errors import StoreopsError

API_PREFIX = "/api/"


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def status_of(exc: StoreopsError) -> int:
    # A store that does not exist is a missing resource; every other user error is bad input.
    return 404 if isinstance(exc, StoreError) else 422


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def install_error_handlers(app: FastAPI) -> None:
    from storeops.web.pages import render_error  # the page layer renders its own errors

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=401,
                                headers={"WWW-Authenticate": exc.www_authenticate})
        return login_redirect(request)

    @app.exception_handler(CsrfRejected)
    async def _csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return render_error(request, 403, "error.csrf")

    @app.exception_handler(TooManyAttempts)
    async def _too_many_attempts(request: Request, exc: TooManyAttempts) -> Response:
        # Only HTTP Basic gets here; the login page renders its own 429.
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return render_error(request, 403, "error.forbidden")

    @app.exception_handler(StoreopsError)
    async def _user_error(request: Request, exc: StoreopsError) -> Response:
        status = status_of(exc)
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return render_error(request, status, None, detail=str(exc))
