"""The JSON API under /api/v1: thin adapters over the KPI, target and import services."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile

from storeops.accounts.permissions import Permission
from storeops.api import schemas
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope, scope
from storeops.api.kpi_json import kpi_json
from storeops.api.limits import STORE_NAME_CHARS
from storeops.api.targets_io import month_of_scope, read_targets, write_targets
from storeops.api.uploads import KINDS, import_upload
from storeops.catalog.stores import list_stores
from storeops.db.engine import session_factory
from storeops.metrics import service
from storeops.metrics.comparison_periods import COMPARE_CHOICES, DEFAULT_COMPARE, check_compare
from storeops.metrics.definitions import DIMENSIONS, METRIC_KEYS
from storeops.metrics.periods import BY_CHOICES, MAX_DAYS_BY, check_range

router = APIRouter(prefix="/api/v1", tags=["storeops"], responses=schemas.ERROR_RESPONSES)
# A dimension cut answers at most this many rows (the biggest first).
MAX_BY_ROWS = 10_000


def _enum(values: tuple[str, ...]) -> dict[str, Any]:
    # Declared in the OpenAPI document; checked by the services, whose messages say the
    # choices in the same words as the CLI's.
    return {"enum": list(values)}

_KPI = require(Permission.KPI_VIEW)
_SKU = require(Permission.SKU_VIEW)
_SCOPE = Depends(scope)


def _scope_out(sc: Scope) -> dict[str, Any]:
    return {"store": sc.store.name, "from": sc.first, "to": sc.last}


@router.get("/me", response_model=schemas.MeOut)
def me(user: CurrentUser = _KPI) -> dict[str, Any]:
    """The logged-in user and what their role allows."""
    return {
        "username": user.username, "display_name": user.display_name, "role": user.role,
        "permissions": sorted(p.value for p in user.permissions),
    }


@router.get("/stores", response_model=list[schemas.StoreOut], dependencies=[_KPI])
def stores(request: Request) -> list[Any]:
    with session_factory(db_url_of(request))() as session:
        return [schemas.StoreOut.model_validate(s, from_attributes=True)
                for s in list_stores(session)]


@router.get("/kpi/summary", response_model=schemas.SummaryOut, dependencies=[_KPI])
def kpi_summary(request: Request, sc: Scope = _SCOPE) -> Response:
    """Every metric of the store over the period."""
    return kpi_json(request, sc, schemas.SummaryOut, lambda: {
        **_scope_out(sc),
        "metrics": service.kpi_summary(db_url_of(request), sc.store.id, sc.first, sc.last)})


@router.get("/kpi/series", response_model=schemas.SeriesOut, dependencies=[_KPI])
def kpi_series(
    request: Request,
    sc: Scope = _SCOPE,
    by: str = Query("day", json_schema_extra=_enum(BY_CHOICES), description=(
        f"The cut; a period may span at most {MAX_DAYS_BY['day']} days by day and "
        f"{MAX_DAYS_BY['week']} days by week or month")),
) -> Response:
    """The metrics per day, ISO week or month of the period."""
    check_range(sc.first, sc.last, by)  # before any work: a row per period
    return kpi_json(request, sc, schemas.SeriesOut, lambda: {
        **_scope_out(sc), "by": by,
        "rows": service.kpi_series(db_url_of(request), sc.store.id, sc.first, sc.last, by=by),
    }, by=by)


@router.get("/kpi/compare", response_model=schemas.CompareOut, dependencies=[_KPI])
def kpi_compare(
    request: Request,
    sc: Scope = _SCOPE,
    compare: str = Query(DEFAULT_COMPARE, json_schema_extra=_enum(COMPARE_CHOICES),
                         description="The baseline: prev (the previous period of the same "
                         "length), wow (the same dates a week earlier), yoy (the same "
                         "calendar dates a year earlier, 29 Feb as 28 Feb); its dates are "
                         "`previous_period`"),
) -> Response:
    """The period against its baseline (by default the previous period of the same length)."""
    compare = check_compare(compare, empty_is_default=False)  # 422 before any work
    return kpi_json(request, sc, schemas.CompareOut, lambda: {
        **_scope_out(sc),
        **service.compare(db_url_of(request), sc.store.id, sc.first, sc.last, compare)},
        compare=compare)


@router.get("/kpi/by/{dimension}", response_model=schemas.ByOut, dependencies=[_KPI, _SKU])
def kpi_by(
    request: Request,
    dimension: str = Path(description="The cut", json_schema_extra=_enum(DIMENSIONS)),
    sc: Scope = _SCOPE,
    order_by: str = Query("gmv", description="Metric to sort by",
                          json_schema_extra=_enum(METRIC_KEYS)),
    order: Literal["asc", "desc"] = Query("desc"),
    limit: int = Query(MAX_BY_ROWS, ge=1, le=MAX_BY_ROWS,
                       description="The first N rows in sort order"),
) -> Response:
    """Metrics per SKU, category or traffic source."""
    return kpi_json(request, sc, schemas.ByOut, lambda: {
        **_scope_out(sc), "dimension": dimension,
        "rows": service.kpi_by(
            db_url_of(request), sc.store.id, sc.first, sc.last, dimension=dimension,
            limit=limit, order_by=order_by, descending=order == "desc"),
    }, dimension=dimension, order_by=order_by, order=order, limit=limit)


@router.get("/funnel", response_model=schemas.FunnelOut, dependencies=[_KPI])
def funnel(request: Request, sc: Scope = _SCOPE) -> Response:
    """Exposure → click → cart → order → pay, with the weakest step."""
    return kpi_json(request, sc, schemas.FunnelOut, lambda: {
        **_scope_out(sc),
        **service.funnel(db_url_of(request), sc.store.id, sc.first, sc.last)})


@router.get("/traffic/sources", response_model=schemas.TrafficOut, dependencies=[_KPI])
def traffic_sources(request: Request, sc: Scope = _SCOPE) -> Response:
    """UV, PV and share of UV per traffic source."""
    return kpi_json(request, sc, schemas.TrafficOut, lambda: {
        **_scope_out(sc),
        "sources": service.traffic_by_source(db_url_of(request), sc.store.id, sc.first,
                                             sc.last)})


@router.get("/targets", response_model=schemas.TargetsOut, dependencies=[_KPI])
def get_targets(
    request: Request,
    sc: Scope = _SCOPE,
    month: str | None = Query(None, description="YYYY-MM; default (or empty): the month of "
                              "`to`", json_schema_extra=schemas.OPTIONAL_MONTH_SCHEMA),
) -> dict[str, Any]:
    """The month's targets and how far the store has come."""
    return read_targets(db_url_of(request), sc, month or month_of_scope(sc))


@router.put("/targets", response_model=schemas.TargetsOut,
            dependencies=[require(Permission.TARGET_EDIT)])
def put_targets(
    request: Request, body: schemas.TargetsIn, sc: Scope = _SCOPE
) -> dict[str, Any]:
    """Set some or all of the month's targets (gmv, uv, conversion_rate, aov)."""
    write_targets(db_url_of(request), sc.store.id, body.month,
                  body.targets.model_dump(exclude_none=True))
    return read_targets(db_url_of(request), sc, body.month)


@router.post("/imports", response_model=schemas.ImportOut,
             dependencies=[require(Permission.IMPORT_RUN)], responses=schemas.UPLOAD_RESPONSES)
async def post_import(
    request: Request,
    kind: str = Form(description="The kind of data", json_schema_extra=_enum(KINDS)),
    file: UploadFile = File(description="CSV or XLSX, plain or gzip, within the upload limit "
                                        "(STOREOPS_MAX_UPLOAD_MB, default 200)"),
    format: str | None = Form(None, description="jd for a JD export; mapping (or none) to "
                              "read the file through the mapping",
                              json_schema_extra=_enum(("jd", "mapping"))),
    mapping: UploadFile | None = File(None, description="A column mapping (YAML)"),
    store: str | None = Query(None, description="Store to import into (created when new)",
                              min_length=1, max_length=STORE_NAME_CHARS),
    complete: bool = Form(False, description="Orders: the file holds every line of each order "
                          "in it, so a changed order is replaced whole (otherwise lines are "
                          "matched and stored lines the file omits are kept)"),
) -> dict[str, Any]:
    """Import an uploaded file; returns the summary and the rejected rows."""
    result = await import_upload(
        db_url_of(request), kind, file, fmt=format, mapping=mapping, store=store,
        complete=complete,
    )
    return {"store": result.summary.get("store") or store, "summary": result.summary,
            "rejected_rows": result.rejected_rows}
