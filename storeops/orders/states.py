"""Order states, and how JD's status text maps onto them (domain reference §4)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storeops.common.errors import StoreopsError


class OrderStatus(StrEnum):
    WAIT_PAY = "wait_pay"  # 等待付款
    WAIT_STOCK_OUT = "wait_stock_out"  # 等待出库: paid, to ship
    WAIT_DELIVERY = "wait_delivery"  # 等待发货 (cross-border)
    SHIPPED = "shipped"  # 等待确认收货
    FINISHED = "finished"  # 完成
    CANCELLED = "cancelled"  # 取消
    LOCKED = "locked"  # 已锁定, e.g. after-sales pending
    PAUSED = "paused"  # 暂停


# JD text (and the Open Platform codes) → our state.
JD_STATUS = {
    "等待付款": OrderStatus.WAIT_PAY,
    "WAIT_PAY": OrderStatus.WAIT_PAY,
    "等待出库": OrderStatus.WAIT_STOCK_OUT,
    "WAIT_SELLER_STOCK_OUT": OrderStatus.WAIT_STOCK_OUT,
    "等待发货": OrderStatus.WAIT_DELIVERY,
    "WAIT_SELLER_DELIVERY": OrderStatus.WAIT_DELIVERY,
    "等待确认收货": OrderStatus.SHIPPED,
    "WAIT_GOODS_RECEIVE_CONFIRM": OrderStatus.SHIPPED,
    "完成": OrderStatus.FINISHED,
    "已完成": OrderStatus.FINISHED,
    "FINISHED_L": OrderStatus.FINISHED,
    "取消": OrderStatus.CANCELLED,
    "已取消": OrderStatus.CANCELLED,
    "TRADE_CANCELED": OrderStatus.CANCELLED,
    "已锁定": OrderStatus.LOCKED,
    "锁定": OrderStatus.LOCKED,
    "LOCKED": OrderStatus.LOCKED,
    "暂停": OrderStatus.PAUSED,
    "PAUSE": OrderStatus.PAUSED,
    "POP_ORDER_PAUSE": OrderStatus.PAUSED,
}

DELETED_PREFIXES = ("(删除)", "（删除）")


@dataclass(frozen=True)
class ParsedStatus:
    status: OrderStatus
    deleted: bool


class UnknownStatus(StoreopsError, ValueError):
    pass


def parse_jd_status(text: str) -> ParsedStatus:
    """``(删除)等待出库`` → (WAIT_STOCK_OUT, deleted=True); unknown text raises UnknownStatus."""
    raw = (text or "").strip()
    deleted = False
    for prefix in DELETED_PREFIXES:
        if raw.startswith(prefix):
            raw, deleted = raw[len(prefix):].strip(), True
    try:
        return ParsedStatus(JD_STATUS[raw], deleted)
    except KeyError:
        raise UnknownStatus(f"unknown order status: {text!r}", key="order.unknown_status",
                            status=text) from None


def is_sale(status: OrderStatus | str) -> bool:
    """A sale order counts in GMV: every order that is not cancelled (JD 取消)."""
    return OrderStatus(status) is not OrderStatus.CANCELLED
