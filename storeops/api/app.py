"""The web application: JSON API under /api/v1, the cockpit pages, static files."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles

from storeops.accounts.origin import OriginCheckMiddleware
from storeops.api.docs import install_docs
from storeops.api.errors import install_error_handlers
from storeops.api.fast_lane import OrderFastLane
from storeops.api.headers import SecurityHeaders
from storeops.api.limits import BodyLimit, check_query
from storeops.api.orders_api import router as orders_api_router
from storeops.api.pricing_api import router as pricing_api_router
from storeops.api.realtime_json import router as realtime_api_router
from storeops.api.routes import router as api_router
from storeops.api.secret import load_secret_key
from storeops.config import normalize_db_url, served_over_https, trusted_origins
from storeops.db.migrate import ensure_schema
from storeops.web.alerts_pages import router as alerts_pages_router
from storeops.web.connector_page import router as connector_router
from storeops.web.exports_page import router as exports_router
from storeops.web.notify_pages import router as notify_pages_router
from storeops.web.orders_pages import router as orders_pages_router
from storeops.web.pages import STATIC_DIR
from storeops.web.pages import router as pages_router
from storeops.web.price_protection_page import router as price_protection_router
from storeops.web.promo_audit_page import router as promo_audit_router
from storeops.web.promo_eligibility_page import router as promo_eligibility_router
from storeops.web.promo_results_page import router as promo_results_router
from storeops.web.promotions_pages import router as promotions_pages_router
from storeops.web.realtime_page import router as realtime_router
from storeops.web.reports_pages import router as reports_pages_router
from storeops.web.sku_page import router as sku_page_router
from storeops.web.sla_page import router as sla_router
from storeops.web.stock_pages import router as stock_pages_router
from storeops.web.targets_page import router as targets_page_router


def create_app(db_url: str, *, secret_key: str | None = None) -> FastAPI:
    """The cockpit and its API over the database at ``db_url`` (upgraded to head first)."""
    db_url = normalize_db_url(db_url)
    ensure_schema(db_url)
    app = FastAPI(
        title="storeops API",
        version="1",
        description="KPIs, funnel, traffic, targets and imports of the stores in one database. "
        "Authenticate with an API token (`Authorization: Bearer …`, made by `storeops token "
        "create`) or the cockpit's session cookie; HTTP Basic still works for old scripts.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by install_docs from the package, not a CDN
        redoc_url=None,
        dependencies=[Depends(check_query)],
    )
    app.state.db_url = db_url
    # Sessions live in the database (storeops.accounts.sessions); the key signs CSRF tokens.
    app.state.secret_key = secret_key or load_secret_key(db_url)
    app.state.https = served_over_https()  # session cookies are Secure
    # Innermost: a flash sale's sold-out answers skip the routing (headers, limits and the
    # origin check around it still apply).
    app.add_middleware(OrderFastLane, db_url=db_url)
    app.add_middleware(OriginCheckMiddleware, trusted_origins=trusted_origins())
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)  # added last: outermost, on every response
    install_error_handlers(app)
    install_docs(app)
    # The own channel's order and price routes first: a request walks the routes in order,
    # and these take the highest request rates (a flash sale's sold-out answers).
    app.include_router(orders_api_router)
    app.include_router(pricing_api_router)
    app.include_router(api_router)
    app.include_router(realtime_api_router)
    app.include_router(pages_router)
    app.include_router(sku_page_router)
    app.include_router(realtime_router)
    app.include_router(exports_router)
    app.include_router(orders_pages_router)
    app.include_router(stock_pages_router)
    app.include_router(sla_router)
    app.include_router(connector_router)
    # Fixed /promotions/… paths before the promotion pages' /promotions/{id}.
    app.include_router(promo_audit_router)
    app.include_router(price_protection_router)
    app.include_router(promo_eligibility_router)
    app.include_router(promo_results_router)
    app.include_router(promotions_pages_router)
    # Fixed /alerts/… paths (rules, channels, inbox) before the alert pages' /alerts/{id}.
    app.include_router(notify_pages_router)
    app.include_router(alerts_pages_router)
    app.include_router(reports_pages_router)
    app.include_router(targets_page_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_route("/healthz", healthz, include_in_schema=False)
    return app


async def healthz(request: Request) -> PlainTextResponse:
    """Liveness for a load balancer (no login, no database): the process answers. Also the
    trivial baseline of bench/load_bench.py."""
    return PlainTextResponse("ok")
