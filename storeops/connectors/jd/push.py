"""Pushing to JD: a shipment (``jingdong.pop.order.shipment``) and a SKU's stock to publish
(``jingdong.stock.write.updateSkuStock``, the full quantity).

Both take the caller's session (they read the store's connection, write nothing) and raise
:class:`~storeops.connectors.jd.client.JosError` carrying JD's message when JD refuses or
cannot be reached after the client's retries. A store without a JD connection has nothing to
push to: both return None without a call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storeops.connectors.jd.client import JosAuthError, JosClient, JosError, RetryPolicy
from storeops.connectors.jd.models import JdConnection

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SHIPMENT = "jingdong.pop.order.shipment"
STOCK_WRITE = "jingdong.stock.write.updateSkuStock"
STOCK_READ = "jingdong.stock.read.findSkuStock"
GET = "jingdong.pop.order.get"
# A person or a queued job waits on a push: a few quick retries, not a sync's patience.
PUSH_RETRY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=4.0)
PUSH_TIMEOUT = 15.0
SHIPPED_STATES = ("WAIT_GOODS_RECEIVE_CONFIRM", "FINISHED_L")


def _client(session: Session, store_id: int) -> JosClient | None:
    from storeops.catalog.models import Store
    from storeops.connectors.jd.sync import client_for, session_db_url

    conn = session.get(JdConnection, store_id)
    if conn is None:
        return None
    from storeops.connectors.jd.secrets import SecretKeyError

    store = session.get(Store, store_id)
    try:
        return client_for(session_db_url(session), conn,
                          store.name if store else str(store_id),
                          retry=PUSH_RETRY, timeout=PUSH_TIMEOUT)
    except SecretKeyError as exc:  # callers handle JosError: the store must connect again
        raise JosAuthError("credentials", str(exc)) from None


def push_shipment(session: Session, store_id: int, platform_order_id: str, carrier_id: str,
                  waybill: str) -> None:
    """Tell JD the order left with ``carrier_id`` (JD's logiCoprId, e.g. 467) under
    ``waybill``; returns only when JD confirmed it."""
    client = _client(session, store_id)
    if client is None:
        return None
    with client:
        try:
            client.call(SHIPMENT, {"orderId": str(platform_order_id),
                                   "logiCoprId": str(carrier_id), "logiNo": str(waybill)})
        except JosError:
            # A retried call may have been taken the first time (its answer lost): then JD
            # refuses the retry as already shipped. The order itself tells.
            if not client.retries or not _shipped_as(client, platform_order_id, waybill):
                raise
    return None


def _shipped_as(client: JosClient, platform_order_id: str, waybill: str) -> bool:
    try:
        body = client.call(GET, {"order_id": str(platform_order_id),
                                 "optional_fields": "orderId,orderState,waybill"})
    except JosError:
        return False
    info = (body.get("orderDetailInfo") or {}).get("orderInfo") or {}
    return info.get("orderState") in SHIPPED_STATES and str(info.get("waybill")) == str(waybill)


def push_stock(session: Session, store_id: int, sku: str, quantity: int) -> None:
    """Publish ``quantity`` (the full quantity, never a delta) as the stock of JD SKU
    ``sku``."""
    if quantity < 0:
        raise JosError("stock", f"a stock quantity cannot be negative: {quantity}",
                       method=STOCK_WRITE)
    client = _client(session, store_id)
    if client is None:
        return None
    with client:
        client.call(STOCK_WRITE, {"skuId": str(sku), "stockNum": str(int(quantity))})
    return None


def read_stock(session: Session, store_id: int, skus: list[str]) -> dict[str, int] | None:
    """What JD publishes now for ``skus`` (None for a store without a connection)."""
    client = _client(session, store_id)
    if client is None:
        return None
    with client:
        body = client.call(STOCK_READ, {"skuId": ",".join(skus)})
    return {str(row.get("skuId")): int(row.get("stockNum") or 0)
            for row in body.get("skuStocks") or [] if isinstance(row, dict)}
