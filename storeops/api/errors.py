"""How failures reach the user: JSON for the API, a page or a redirect for the cockpit."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from storeops.accounts.sessions import session_user
from storeops.accounts.throttle import TooManyAttempts
from storeops.api.auth import (
    SESSION_COOKIE,
    CsrfRejected,
    CurrentUser,
    Forbidden,
    NotAuthenticated,
    db_url_of,
)
from storeops.api.limits import upload_limit_params
from storeops.catalog.stores import StoreError
from storeops.common.errors import FieldName, StoreopsError, localise

API_PREFIX = "/api/"


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def status_of(exc: StoreopsError) -> int:
    # A store that does not exist is a missing resource; an error may carry its own status
    # (413 for an upload too large); every other user error is bad input.
    if isinstance(exc, StoreError):
        return 404
    return int(getattr(exc, "http_status", 422))


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "body", "header", "cookie"):
        kind, rest = parts[0], parts[1:]
        name = ".".join(rest) or kind
        return name if kind == "body" else f"{kind} parameter {name!r}"
    return ".".join(parts)


def validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """One readable sentence and the per-field list (loc, msg, type) of a validation error.

    The API answers every error as ``{"detail": "<sentence>"}`` (validation errors add
    ``errors``), so that a script reads the same shape whatever went wrong."""
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
         "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    sentence = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
    return sentence, errors


def validation_text(exc: RequestValidationError, lang: str) -> str:
    """The validation error as the pages say it: each field in the form's own words (开始日期,
    not ``query parameter 'from'``) and what is wrong with it, in ``lang``."""
    from storeops.web.i18n import catalog, translate

    words = catalog(lang)
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        name = loc[-1] if len(loc) > 1 else (loc[0] if loc else "")
        field = FieldName(name, name).localised(lang)
        kind = str(error.get("type", ""))
        problem = words.get(f"errors.validation.{kind}") or words["errors.validation.invalid"]
        try:
            problem = problem.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError, ValueError):
            problem = words["errors.validation.invalid"]
        parts.append(translate(lang, "errors.validation.sentence", field=field, problem=problem))
    separator = "；" if lang != "en" else "; "
    return separator.join(parts) or translate(lang, "errors.validation.request")


def _http_text(exc: StarletteHTTPException, lang: str) -> str:
    """A page's words for an HTTP error (Starlette's own are English phrases): its own under
    ``errors.http``, else the page's "something went wrong"."""
    from storeops.web.i18n import catalog, translate

    key = f"errors.http.{exc.status_code}"
    if key in catalog(lang):
        return translate(lang, key, **upload_limit_params())
    return translate(lang, "error.title")


def page_user(request: Request) -> CurrentUser | None:
    """The user logged in with the session cookie, else None, for an error page: it keeps the
    navigation bar of the cockpit's other pages, whether or not the route looked the user up
    before failing (an unknown path never reaches one). Never raises: the error being shown
    may be the database's own."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        row = session_user(db_url_of(request), token)
    except SQLAlchemyError:
        return None
    if row is None:
        return None
    request.state.session_token = token  # the nav's logout form carries this session's token
    return CurrentUser(*row)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _allowed_methods(request: Request) -> str:
    """Every method of every route on this path: Starlette names only the first route's, so
    GET /api/v1/targets would hide PUT from a 405's ``Allow``."""
    methods: set[str] = set()
    routes = list(request.app.router.routes)
    while routes:
        route = routes.pop()
        nested = getattr(route, "original_router", None)  # FastAPI keeps included routers
        if nested is not None:
            routes.extend(nested.routes)
            continue
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    # the page layer renders its own errors, in the page's language
    from storeops.web.pages import page_lang, render_error

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
            # English for scripts, with the error's stable name when it has one
            body = {"detail": str(exc), **({"code": exc.code} if exc.code else {})}
            return JSONResponse(body, status_code=status)
        return render_error(request, status, None, detail=localise(exc, page_lang(request)))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        sentence, errors = validation_detail(exc)
        if is_api(request):
            return JSONResponse({"detail": sentence, "errors": errors}, status_code=422)
        return render_error(request, 422, None,
                            detail=validation_text(exc, page_lang(request)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # An unknown path, a wrong method, an upload too large: the same shape as every other
        # error (JSON for the API, the error page for the cockpit).
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        if is_api(request):
            return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code,
                                headers=headers)
        key = "error.not_found" if exc.status_code == 404 else None
        response = render_error(request, exc.status_code, key,
                                detail=None if key else _http_text(exc, page_lang(request)))
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response
