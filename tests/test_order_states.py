import pytest

from storeops.orders.states import OrderStatus, UnknownStatus, is_sale, parse_jd_status


@pytest.mark.parametrize(
    "text,status,deleted",
    [
        ("等待出库", OrderStatus.WAIT_STOCK_OUT, False),
        ("(删除)等待出库", OrderStatus.WAIT_STOCK_OUT, True),
        ("（删除）完成", OrderStatus.FINISHED, True),
        ("等待确认收货", OrderStatus.SHIPPED, False),
        ("取消", OrderStatus.CANCELLED, False),
        (" 已锁定 ", OrderStatus.LOCKED, False),
        ("暂停", OrderStatus.PAUSED, False),
        ("POP_ORDER_PAUSE", OrderStatus.PAUSED, False),
    ],
)
def test_jd_status_text(text, status, deleted):
    parsed = parse_jd_status(text)
    assert (parsed.status, parsed.deleted) == (status, deleted)


def test_unknown_status_is_an_error_not_a_guess():
    with pytest.raises(UnknownStatus, match="未知状态"):
        parse_jd_status("未知状态")


def test_only_cancelled_orders_are_not_sales():
    assert not is_sale(OrderStatus.CANCELLED)
    assert all(is_sale(s) for s in OrderStatus if s is not OrderStatus.CANCELLED)
