"""The KPI routes' JSON, validated and serialised once per store and data version.

The figures are cached already (:mod:`storeops.metrics.cache`); checking them against the
response model and writing them as JSON cost more than that on every call (a SKU cut is
hundreds of rows), so the finished bytes are cached too, under the same key rule: the store's
data_version (read first, one primary-key read), the route, the resolved period and the
arguments that shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from storeops.api.auth import db_url_of
from storeops.api.context import Scope
from storeops.metrics.cache import data_version, results


def kpi_json(
    request: Request, sc: Scope, model: type[BaseModel], compute: Callable[[], Any],
    **arguments: Hashable,
) -> Response:
    """``compute()`` as ``model`` JSON (by alias, as FastAPI writes a response model),
    computed only when the store's data changed since the same question was last asked."""
    db, store_id = db_url_of(request), sc.store.id
    key = ("json", request.url.path, model.__name__, sc.store.name, sc.first, sc.last,
           tuple(sorted(arguments.items())))

    def render() -> bytes:
        return model.model_validate(compute()).model_dump_json(by_alias=True).encode()

    body = results.get_or_compute(db, store_id, data_version(db, store_id), key, render)
    return Response(body, media_type="application/json")
