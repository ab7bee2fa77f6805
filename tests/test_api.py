"""The JSON API: authentication and permissions, values from the KPI services, validation,
targets, imports and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from web_seed import LAST_DAY, PASSWORD, STORE, fast_hashing, login, seed_store  # noqa: F401

from storeops.accounts.permissions import Permission
from storeops.api.app import create_app
from storeops.api.auth import require, required_permission
from storeops.metrics import service
from storeops.metrics.definitions import METRIC_KEYS
from storeops.metrics.render import jsonable

MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "online_retail.yaml"
PUBLIC = {("/login", "GET"), ("/login", "POST"), ("/logout", "POST")}
API_GETS = [
    "/api/v1/me", "/api/v1/stores", "/api/v1/kpi/summary", "/api/v1/kpi/series",
    "/api/v1/kpi/compare", "/api/v1/kpi/by/sku", "/api/v1/funnel", "/api/v1/traffic/sources",
    "/api/v1/targets",
]
PERIOD = {"from": "2026-10-02", "to": "2026-10-31"}


pytestmark = pytest.mark.usefixtures("fast_hashing")


def iter_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI may keep them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from iter_routes(nested.routes)


def unprotected(app: FastAPI) -> list[tuple[str, str]]:
    """(path, method) of every non-public route that does not go through require()."""

    def guarded(dependant: Any) -> bool:
        return any(
            required_permission(d.call) is not None or guarded(d) for d in dependant.dependencies
        )

    missing = []
    for route in iter_routes(app.routes):
        for method in route.methods:
            if (route.path, method) not in PUBLIC and not guarded(route.dependant):
                missing.append((route.path, method))
    return missing


def test_every_route_goes_through_require(sqlite_db_url: str) -> None:
    app = create_app(sqlite_db_url, secret_key="x")
    paths = {r.path for r in iter_routes(app.routes)}
    assert {"/", "/skus", "/import", "/targets", "/api/v1/kpi/summary"} <= paths
    assert unprotected(app) == []
    # The check does catch an unguarded route.
    extra = APIRouter()
    extra.add_api_route("/leak", lambda: {}, methods=["GET"])
    extra.add_api_route("/ok", lambda: {}, methods=["GET"],
                        dependencies=[require(Permission.KPI_VIEW)])
    app.include_router(extra)
    assert unprotected(app) == [("/leak", "GET")]


def test_unauthenticated_api_gets_401_and_pages_redirect(client: TestClient) -> None:
    for path in API_GETS:
        r = client.get(path)
        assert r.status_code == 401, path
        assert "login required" in r.json()["detail"]
    for path in ("/", "/skus?q=abc", "/import"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=%2F")
    assert client.post("/api/v1/imports").status_code == 401
    assert client.put("/api/v1/targets", json={}).status_code == 401


def test_basic_auth_for_scripts(client: TestClient) -> None:
    r = client.get("/api/v1/me", auth=("analyst", PASSWORD))
    assert r.status_code == 200
    assert r.json()["role"] == "analyst"
    assert "import.run" not in r.json()["permissions"]
    assert client.get("/api/v1/me", auth=("analyst", "wrong-password")).status_code == 401
    assert client.get("/api/v1/me", auth=("nobody", PASSWORD)).status_code == 401


def test_analyst_may_view_but_not_import_or_set_targets(client: TestClient) -> None:
    login(client, "analyst")
    assert client.get("/api/v1/kpi/summary").status_code == 200
    r = client.put("/api/v1/targets", json={"month": "2026-10", "targets": {"gmv": "1000"}})
    assert r.status_code == 403
    assert "target.edit" in r.json()["detail"]
    files = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
    assert client.post("/api/v1/imports", data={"kind": "orders"}, files=files).status_code == 403
    page = client.get("/import")
    assert page.status_code == 403
    assert "没有执行此操作的权限" in page.text
    r = client.post("/targets", data={"month": "2026-10", "gmv": "1000"},
                    follow_redirects=False)
    assert r.status_code == 403


def test_logout_ends_the_session(client: TestClient) -> None:
    login(client, "owner")
    assert client.get("/api/v1/me").status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401


def test_kpi_endpoints_match_the_services(client: TestClient, seeded: tuple[str, int]) -> None:
    db, sid = seeded
    first, last = date(2026, 10, 2), date(2026, 10, 31)
    login(client, "analyst")

    body = client.get("/api/v1/kpi/summary", params={"store": STORE, **PERIOD}).json()
    assert body["store"] == STORE and body["from"] == "2026-10-02" and body["to"] == "2026-10-31"
    expected = jsonable(service.kpi_summary(db, sid, first, last))
    assert {k: body["metrics"][k] for k in METRIC_KEYS} == {k: expected[k] for k in METRIC_KEYS}
    assert isinstance(body["metrics"]["gmv"], str) and body["metrics"]["gmv"] != "0.00"
    assert isinstance(body["metrics"]["conversion_rate"], float)
    assert body["metrics"]["repurchase_rate"] is None  # no identified customers: unknown

    # Without a period: the 30 days ending on the last day with data.
    assert client.get("/api/v1/kpi/summary").json()["to"] == LAST_DAY.isoformat()

    series = client.get("/api/v1/kpi/series", params={**PERIOD, "by": "week"}).json()
    rows = jsonable(service.kpi_series(db, sid, first, last, by="week"))
    assert [r["period"] for r in series["rows"]] == [r["period"] for r in rows]
    assert [r["gmv"] for r in series["rows"]] == [r["gmv"] for r in rows]

    cmp = client.get("/api/v1/kpi/compare", params=PERIOD).json()
    svc = jsonable(service.compare(db, sid, first, last))
    assert cmp["previous_period"] == {"from": "2026-09-02", "to": "2026-10-01"}
    assert cmp["change"]["gmv"] == svc["change"]["gmv"]
    assert cmp["previous"]["orders"] == svc["previous"]["orders"]

    by = client.get("/api/v1/kpi/by/sku", params={**PERIOD, "limit": 2}).json()
    top = jsonable(service.kpi_by(db, sid, first, last, dimension="sku", limit=2))
    assert [r["platform_sku_id"] for r in by["rows"]] == [r["platform_sku_id"] for r in top]
    assert by["rows"][0]["gmv"] == top[0]["gmv"] and by["rows"][0]["title"]
    cats = client.get("/api/v1/kpi/by/category", params=PERIOD).json()["rows"]
    assert {r["category"] for r in cats} == {"数码", "家居"}

    funnel = client.get("/api/v1/funnel", params=PERIOD).json()
    svc_funnel = service.funnel(db, sid, first, last)
    assert [s["key"] for s in funnel["steps"]] == ["exposure", "click", "cart", "order", "pay"]
    assert [s["value"] for s in funnel["steps"]] == [s["value"] for s in svc_funnel["steps"]]
    assert funnel["weakest"] == svc_funnel["weakest"]

    sources = client.get("/api/v1/traffic/sources", params=PERIOD).json()["sources"]
    assert [s["source"] for s in sources] == ["search", "campaign", "recommend", "category"]
    assert sources[0]["share"] == pytest.approx(0.53)

    stores = client.get("/api/v1/stores").json()
    assert [s["name"] for s in stores] == [STORE]


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/api/v1/kpi/summary", {"from": "2026-13-01"}, 422, "bad from date"),
        ("/api/v1/kpi/summary", {"from": "2026-10-31", "to": "2026-10-01"}, 422, "starts after"),
        ("/api/v1/kpi/summary", {"store": "没有这个店"}, 404, "no store named"),
        ("/api/v1/kpi/by/brand", {}, 422, "unknown dimension"),
        ("/api/v1/kpi/series", {"by": "year"}, 422, "unknown period cut"),
        ("/api/v1/targets", {"month": "2026-1"}, 422, "bad month"),
    ],
)
def test_bad_requests_say_why(
    client: TestClient, path: str, params: dict[str, str], status: int, message: str
) -> None:
    login(client, "analyst")
    r = client.get(path, params=params)
    assert r.status_code == status
    assert message in r.json()["detail"]


def test_targets_round_trip(client: TestClient) -> None:
    login(client, "operator")
    body = {"month": "2026-10",
            "targets": {"gmv": "30000", "uv": "20000", "conversion_rate": "0.005", "aov": "250"}}
    r = client.put("/api/v1/targets", json=body)
    assert r.status_code == 200, r.text
    got = client.get("/api/v1/targets", params={"month": "2026-10"}).json()
    assert got["targets"] == {"gmv": "30000", "uv": "20000", "conversion_rate": "0.005",
                              "aov": "250"}
    gmv = got["progress"]["metrics"]["gmv"]
    assert gmv["achievement"] == pytest.approx(float(gmv["actual"]) / 30000, abs=1e-6)
    bad = client.put("/api/v1/targets", json={"month": "2026-10",
                                              "targets": {"conversion_rate": "3"}})
    assert bad.status_code == 422 and "fraction" in bad.json()["detail"]
    unknown = client.put("/api/v1/targets", json={"month": "2026-10",
                                                  "targets": {"roas": "3"}})
    assert unknown.status_code == 422 and "roas" in unknown.json()["detail"]


def _retail_csv() -> bytes:
    return (
        b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        b"536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        b"536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
        b"536366,22633,HAND WARMER,abc,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
        b"536367,84879,BIRD ORNAMENT,32,not a date,1.69,13047,United Kingdom\n"
    )


def test_import_upload_returns_the_summary(client: TestClient, tmp_path: Path) -> None:
    login(client, "operator")
    files = {
        "file": ("retail.csv", _retail_csv(), "text/csv"),
        "mapping": ("online_retail.yaml", MAPPING.read_bytes(), "application/x-yaml"),
    }
    r = client.post("/api/v1/imports", params={"store": "uk"}, data={"kind": "orders"},
                    files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["read"] == 4
    assert body["summary"]["imported"] == 2
    assert body["summary"]["rejected"] == 2
    assert body["summary"]["by_reason"] == {"bad quantity": 1, "bad time": 1}
    # Rows are numbered as in the file (the header is line 1).
    rejected = {(row["row"], row["field"]) for row in body["rejected_rows"]}
    assert rejected == {(4, "Quantity"), (5, "InvoiceDate")}
    assert body["rejected_rows"][0]["values"]["Quantity"] == "abc"
    assert body["store"] == "uk"
    names = [s["name"] for s in client.get("/api/v1/stores").json()]
    assert "uk" in names
    bad = client.post("/api/v1/imports", data={"kind": "customers"},
                      files={"file": ("x.csv", b"a\n1\n", "text/csv")})
    assert bad.status_code == 422 and "unknown import kind" in bad.json()["detail"]


def test_openapi_lists_the_routes(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    paths = set(doc["paths"])
    for path in ["/api/v1/me", "/api/v1/stores", "/api/v1/kpi/summary", "/api/v1/kpi/series",
                 "/api/v1/kpi/compare", "/api/v1/kpi/by/{dimension}", "/api/v1/funnel",
                 "/api/v1/traffic/sources", "/api/v1/targets", "/api/v1/imports"]:
        assert path in paths
    assert "/" not in paths and "/login" not in paths  # pages are not API
    assert "put" in doc["paths"]["/api/v1/targets"]
    gmv = doc["components"]["schemas"]["MetricValues"]["properties"]["gmv"]
    assert "成交金额" in gmv["description"]
    assert client.get("/api/v1/docs").status_code == 200
