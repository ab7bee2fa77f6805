"""JD's ``orderInfo`` (domain reference §5) → :class:`storeops.orders.incoming.IncomingOrder`.

Pure: no I/O, no clock. JD sends money and counts as strings ("199.00", "2"), times as
``yyyy-MM-dd HH:mm:ss`` China time, and only the optional fields asked for; absent or empty
fields are common and tolerated. An order that cannot be taken in (no ``orderId``, money
that is not money, an unknown state, no items, an item without SKU or quantity) raises
:class:`MalformedOrder` naming the order and the field, so that the sync can report it and
skip it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from storeops.common.errors import StoreopsError
from storeops.connectors.jd.signing import CHINA
from storeops.orders.incoming import IncomingLine, IncomingOrder
from storeops.orders.states import OrderStatus, UnknownStatus, parse_jd_status

CHANNEL = "jd"
COD_PAY_TYPE = "1"  # 货到付款; 4 = 在线支付
UNSET_TIMES = ("0001-01-01 00:00:00", "0000-00-00 00:00:00", "1970-01-01 08:00:00")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M")
MAX_MONEY = Decimal("100000000")  # ¥100,000,000: anything above is not a shop order
# The shapes nearly every JD value has, read without the general parsers (a sync reads
# hundreds of thousands of them): "2026-12-04 08:01:30" and "199.00" (below ¥100,000,000).
_PLAIN_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_PLAIN_MONEY = re.compile(r"\d{1,8}(?:\.\d{0,2})?")
# China has kept UTC+8 without daylight saving since 1992: a later time is 8 hours ahead.
_CHINA_OFFSET = timedelta(hours=8)
_FIXED_OFFSET_FROM = 1992

# The optional fields a sync asks ``jingdong.pop.order.search`` for (JD sends only those).
ORDER_FIELDS = (
    "orderId", "venderId", "orderType", "payType", "orderTotalPrice", "sellerDiscount",
    "orderSellerPrice", "freightPrice", "orderPayment", "orderState", "orderStateRemark",
    "orderRemark", "venderRemark", "orderStartTime", "orderEndTime", "paymentConfirmTime",
    "modified", "pin", "consigneeInfo", "itemInfoList", "orderSource", "waybill",
    "logisticsId",
)


class MalformedOrder(StoreopsError, ValueError):
    """An ``orderInfo`` storeops cannot take in; ``order_id`` and ``field`` say where."""

    def __init__(self, order_id: str, field: str, reason: str) -> None:
        self.order_id = order_id
        self.field = field
        self.reason = reason
        super().__init__(f"JD order {order_id or '?'}: {field}: {reason}",
                         key="jd.malformed_order", order=order_id or "?", field=field,
                         reason=reason)


def to_incoming(info: Mapping[str, Any]) -> IncomingOrder:
    """The order as storeops takes it in; MalformedOrder when it cannot be."""
    if not isinstance(info, Mapping):
        raise MalformedOrder("", "orderInfo", "not an object")
    order_id = _text(info.get("orderId"))
    if not order_id:
        raise MalformedOrder("", "orderId", "missing")
    reader = _Reader(order_id)
    state = _text(info.get("orderState"))
    if not state:
        raise MalformedOrder(order_id, "orderState", "missing")
    try:
        status = parse_jd_status(state).status
    except UnknownStatus:
        raise MalformedOrder(order_id, "orderState", f"unknown state {state!r}") from None
    placed_at = reader.time(info, "orderStartTime")
    if placed_at is None:
        raise MalformedOrder(order_id, "orderStartTime", "missing")
    items = info.get("itemInfoList")
    if not isinstance(items, list) or not items:
        raise MalformedOrder(order_id, "itemInfoList", "no items")
    lines = [reader.line(item, n) for n, item in enumerate(items, start=1)]
    consignee = info.get("consigneeInfo")
    consignee = consignee if isinstance(consignee, Mapping) else {}
    end_time = reader.time(info, "orderEndTime")
    return IncomingOrder(
        platform_order_id=order_id,
        channel=CHANNEL,
        status=status,
        placed_at=placed_at,
        paid_at=reader.time(info, "paymentConfirmTime"),
        lines=lines,
        freight=reader.money(info, "freightPrice") or Decimal(0),
        seller_discount=reader.money(info, "sellerDiscount") or Decimal(0),
        paid_amount=reader.money(info, "orderPayment"),
        buyer_account=_text(info.get("pin")) or None,
        buyer_name=_text(consignee.get("fullname")) or None,
        buyer_phone=_text(consignee.get("mobile")) or _text(consignee.get("telephone")) or None,
        address=_text(consignee.get("fullAddress")) or None,
        province=_text(consignee.get("province")) or None,
        city=_text(consignee.get("city")) or None,
        county=_text(consignee.get("county")) or None,
        buyer_remark=_text(info.get("orderRemark")) or None,
        seller_remark=_text(info.get("venderRemark")) or None,
        source=_text(info.get("orderSource")) or None,
        cod=_pay_type(info.get("payType")) == COD_PAY_TYPE,
        cancelled_at=end_time if status is OrderStatus.CANCELLED else None,
        modified_at=reader.time(info, "modified"),
    )


def parse_jd_time(text: str) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` China time → aware UTC; None for an empty or unset time;
    ValueError for text that is no time."""
    raw = text.strip()
    if not raw or raw in UNSET_TIMES:
        return None
    plain = _PLAIN_TIME.fullmatch(raw)
    if plain is not None:
        year = int(plain[1])
        if year >= _FIXED_OFFSET_FROM:
            try:
                moment = datetime(year, int(plain[2]), int(plain[3]), int(plain[4]),
                                  int(plain[5]), int(plain[6]), tzinfo=UTC)
            except ValueError:
                raise ValueError(f"not a time: {text!r}") from None
            return moment - _CHINA_OFFSET
    for fmt in TIME_FORMATS:
        try:
            moment = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if moment.year < 1971:
            return None
        return moment.replace(tzinfo=CHINA).astimezone(UTC)
    raise ValueError(f"not a time: {text!r}")


def parse_money(text: str) -> Decimal | None:
    """"199.00" → Decimal("199.00"); None for empty; ValueError for anything that is not an
    amount of at most two decimals between 0 and ¥100,000,000."""
    raw = text.strip()
    if _PLAIN_MONEY.fullmatch(raw) is not None:
        return Decimal(raw)
    raw = raw.replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0 or value > MAX_MONEY:
        raise ValueError(f"not an amount: {text!r}")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"more than two decimals: {text!r}")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _pay_type(value: Any) -> str:
    """``payType`` "1", 1 or "1-货到付款" → "1"."""
    raw = _text(value)
    digits = ""
    for ch in raw:
        if not ch.isdigit():
            break
        digits += ch
    return digits


class _Reader:
    """Field readers that name the order and field in what they raise."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id

    def money(self, where: Mapping[str, Any], field: str) -> Decimal | None:
        try:
            return parse_money(_text(where.get(field)))
        except ValueError as exc:
            raise MalformedOrder(self.order_id, field, str(exc)) from None

    def time(self, where: Mapping[str, Any], field: str) -> datetime | None:
        try:
            return parse_jd_time(_text(where.get(field)))
        except ValueError as exc:
            raise MalformedOrder(self.order_id, field, str(exc)) from None

    def line(self, item: Any, n: int) -> IncomingLine:
        where = f"itemInfoList[{n}]"
        if not isinstance(item, Mapping):
            raise MalformedOrder(self.order_id, where, "not an object")
        sku = _text(item.get("skuId"))
        if not sku:
            raise MalformedOrder(self.order_id, f"{where}.skuId", "missing")
        raw_qty = _text(item.get("itemTotal"))
        try:
            qty = int(raw_qty)
        except ValueError:
            raise MalformedOrder(self.order_id, f"{where}.itemTotal",
                                 f"not a quantity: {raw_qty!r}") from None
        if qty <= 0:
            raise MalformedOrder(self.order_id, f"{where}.itemTotal",
                                 f"not a quantity: {raw_qty!r}")
        try:
            price = parse_money(_text(item.get("jdPrice")))
        except ValueError as exc:
            raise MalformedOrder(self.order_id, f"{where}.jdPrice", str(exc)) from None
        if price is None:
            raise MalformedOrder(self.order_id, f"{where}.jdPrice", "missing")
        return IncomingLine(
            sku=sku, qty=qty, unit_price=price,
            title=_text(item.get("skuName")) or None,
            seller_code=_text(item.get("outerSkuId")) or None,
        )
