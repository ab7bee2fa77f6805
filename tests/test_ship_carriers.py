"""Carriers by JD id or name, and waybill numbers (storeops.orders.carriers)."""

from __future__ import annotations

import pytest

from storeops.common.errors import localise
from storeops.orders.carriers import (
    CarrierError,
    carrier_name,
    parse_carrier,
    parse_waybill,
)


@pytest.mark.parametrize("text", ["467", " 467 ", "顺丰", "顺丰快递", "顺丰速运", "SF",
                                  "sf express", "ShunFeng", "ＳＦ", 467])
def test_sf_by_id_or_any_name(text: str | int) -> None:
    carrier = parse_carrier(text)
    assert (carrier.id, carrier.name) == ("467", "顺丰快递")


@pytest.mark.parametrize(("text", "cid"), [
    ("465", "465"), ("EMS", "465"), ("邮政", "465"), ("邮政EMS", "465"),
    ("京东", "2087"), ("京东物流", "2087"), ("JD Logistics", "2087"),
    ("中通", "1499"), ("zto", "1499"), ("圆通", "463"), ("申通", "470"), ("韵达", "1327"),
    ("德邦", "3046"), ("厂家自送", "1274"),
])
def test_common_carriers(text: str, cid: str) -> None:
    assert parse_carrier(text).id == cid


def test_another_jd_carrier_id_is_taken_as_a_number() -> None:
    carrier = parse_carrier("2130")
    assert (carrier.id, carrier.name) == ("2130", "2130")
    assert carrier_name("2130") == "2130"
    assert carrier_name("467") == "顺丰快递" and carrier_name("467", "en") == "SF Express"


@pytest.mark.parametrize("text", ["顺风快递x", "UPS", "0", "-3", "123456789012"])
def test_unknown_carrier_lists_the_choices(text: str) -> None:
    with pytest.raises(CarrierError) as err:
        parse_carrier(text)
    zh, en = localise(err.value, "zh-CN"), localise(err.value, "en")
    assert "无法识别快递公司" in zh and "467 顺丰快递" in zh and "465 邮政EMS" in zh
    assert "Unknown carrier" in en and "467 SF Express" in en


def test_missing_carrier() -> None:
    with pytest.raises(CarrierError) as err:
        parse_carrier("  ")
    assert "未填写快递公司" in localise(err.value, "zh-CN")


@pytest.mark.parametrize(("text", "expected"), [
    ("SF1234567890123", "SF1234567890123"), (" jdva01234567890 ", "JDVA01234567890"),
    ("7312345678901", "7312345678901"), ("ＳＦ１２３４５６７", "SF1234567"),
    ("YT-2024-0001", "YT-2024-0001"),
])
def test_good_waybills(text: str, expected: str) -> None:
    assert parse_waybill(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("", "未填写运单号"), (None, "未填写运单号"), ("12345", "应为 6 至 40 个字符"),
    ("A" * 41, "应为 6 至 40 个字符"), ("SF 1234 5678", "只能包含字母、数字和连字符"),
    ("SF123;DROP", "只能包含字母、数字和连字符"), ("-1234567", "只能包含字母、数字和连字符"),
    ("7.31234E+12", "Excel"), ("7312345678901.0", "Excel"),
])
def test_bad_waybills_say_why(text: str | None, words: str) -> None:
    with pytest.raises(CarrierError) as err:
        parse_waybill(text)
    assert words in localise(err.value, "zh-CN")
    assert localise(err.value, "en")[0].isupper()
