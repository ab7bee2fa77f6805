"""JD's orderInfo → IncomingOrder (pure): money, China times, COD, states, what is malformed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from storeops.connectors.jd.mapping import MalformedOrder, to_incoming
from storeops.orders.states import OrderStatus


def info(**changes: object) -> dict:
    base = {
        "orderId": "300000000123", "orderState": "WAIT_SELLER_STOCK_OUT", "payType": "4-在线支付",
        "orderTotalPrice": "398.00", "sellerDiscount": "30.00", "orderSellerPrice": "368.00",
        "freightPrice": "0.00", "orderPayment": "368.00", "orderRemark": "请尽快发货",
        "venderRemark": "", "orderStartTime": "2026-12-04 08:00:00",
        "paymentConfirmTime": "2026-12-04 08:01:30", "modified": "2026-12-04 08:01:30",
        "orderEndTime": "", "pin": "jd_buyer01",
        "consigneeInfo": {"fullname": "王伟", "mobile": "13812345678", "province": "北京",
                          "city": "北京市", "county": "朝阳区",
                          "fullAddress": "北京北京市朝阳区建国路1号"},
        "itemInfoList": [
            {"skuId": "100012345678", "outerSkuId": "SJ-0001", "skuName": "数据线 1米",
             "jdPrice": "199.00", "itemTotal": "2"},
        ],
    }
    base.update(changes)
    return base


def test_a_paid_order_maps_to_an_incoming_order() -> None:
    order = to_incoming(info())
    assert order.platform_order_id == "300000000123" and order.channel == "jd"
    assert order.status is OrderStatus.WAIT_STOCK_OUT
    assert order.placed_at == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)  # China time → UTC
    assert order.paid_at == datetime(2026, 12, 4, 0, 1, 30, tzinfo=UTC)
    assert order.modified_at == order.paid_at
    assert order.seller_discount == Decimal("30.00") and order.freight == Decimal("0.00")
    assert order.paid_amount == Decimal("368.00") and not order.cod
    line = order.lines[0]
    assert (line.sku, line.qty, line.unit_price, line.seller_code) == \
        ("100012345678", 2, Decimal("199.00"), "SJ-0001")
    assert (order.buyer_account, order.buyer_name, order.buyer_phone) == \
        ("jd_buyer01", "王伟", "13812345678")
    assert (order.province, order.city, order.county) == ("北京", "北京市", "朝阳区")
    assert order.buyer_remark == "请尽快发货" and order.seller_remark is None


def test_cod_unpaid_cancelled_and_absent_fields_are_tolerated() -> None:
    order = to_incoming(info(payType="1", paymentConfirmTime="0001-01-01 00:00:00"))
    assert order.cod and order.paid_at is None
    cancelled = to_incoming(info(orderState="TRADE_CANCELED",
                                 orderEndTime="2026-12-04 09:00:00"))
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.cancelled_at == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    bare = {"orderId": "1", "orderState": "WAIT_PAY", "orderStartTime": "2026-12-04 08:00:00",
            "itemInfoList": [{"skuId": "9", "jdPrice": "9.90", "itemTotal": "1"}]}
    order = to_incoming(bare)
    assert order.status is OrderStatus.WAIT_PAY and order.paid_amount is None
    assert order.freight == 0 and order.buyer_account is None and order.modified_at is None


@pytest.mark.parametrize(("changes", "field"), [
    ({"orderId": ""}, "orderId"),
    ({"orderPayment": "12.3.4"}, "orderPayment"),
    ({"freightPrice": "-5.00"}, "freightPrice"),
    ({"sellerDiscount": "1.005"}, "sellerDiscount"),
    ({"orderState": "SOMETHING_NEW"}, "orderState"),
    ({"itemInfoList": []}, "itemInfoList"),
    ({"orderStartTime": "yesterday"}, "orderStartTime"),
    ({"itemInfoList": [{"skuId": "1", "jdPrice": "abc", "itemTotal": "1"}]},
     "itemInfoList[1].jdPrice"),
    ({"itemInfoList": [{"skuId": "1", "jdPrice": "1.00", "itemTotal": "0"}]},
     "itemInfoList[1].itemTotal"),
    ({"itemInfoList": [{"jdPrice": "1.00", "itemTotal": "1"}]}, "itemInfoList[1].skuId"),
])
def test_a_malformed_order_names_the_order_and_the_field(changes: dict, field: str) -> None:
    with pytest.raises(MalformedOrder) as caught:
        to_incoming(info(**changes))
    assert caught.value.field == field
    if field != "orderId":
        assert caught.value.order_id == "300000000123"
        assert "300000000123" in str(caught.value) and field in str(caught.value)
