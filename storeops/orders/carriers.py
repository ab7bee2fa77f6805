"""Carriers (快递公司) by JD's carrier id (``logiCoprId`` of ``jingdong.pop.order.shipment``),
and waybill numbers (运单号). Pure: no I/O.

JD gives each store its own list (``360buy.get.vender.all.delivery.company``); the common ones
are below. Any other id JD gave the store is accepted as a number (``parse_carrier("2130")``).

Where the ids come from: 467 顺丰 and 465 邮政EMS are in the domain reference (§5) and in
public JOS client code; 2087 京东 and 1274 厂家自送 appear in JOS client code and JD's own
parameter documentation. 中通 1499, 韵达 1327, 申通 470, 圆通 463, 德邦 3046 come from one
public JOS integration's table only: NOT confirmed by a second source; check them against
the store's ``360buy.get.vender.all.delivery.company`` before relying on them. 极兔 (J&T) is
not listed: no id for it could be confirmed; give the number JD shows the store.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from storeops.common.errors import StoreopsError, Term


class CarrierError(StoreopsError, ValueError):
    """A carrier or waybill that cannot be used."""


@dataclass(frozen=True)
class Carrier:
    id: str  # JD's logiCoprId, as text ("467")
    name: str  # the name JD shows (Chinese)
    english: str
    aliases: tuple[str, ...] = ()
    confirmed: bool = True  # id seen in two independent sources


CARRIERS: tuple[Carrier, ...] = (
    Carrier("467", "顺丰快递", "SF Express", ("顺丰", "顺丰速运", "sf", "sf express", "shunfeng")),
    Carrier("465", "邮政EMS", "China Post EMS",
            ("ems", "邮政", "中国邮政", "邮政快递", "china post", "youzheng")),
    Carrier("2087", "京东快递", "JD Logistics",
            ("京东", "京东物流", "jd", "jd logistics", "jingdong")),
    Carrier("1499", "中通快递", "ZTO Express", ("中通", "zto", "zhongtong"), confirmed=False),
    Carrier("463", "圆通速递", "YTO Express", ("圆通", "圆通快递", "yto", "yuantong"),
            confirmed=False),
    Carrier("470", "申通快递", "STO Express", ("申通", "sto", "shentong"), confirmed=False),
    Carrier("1327", "韵达快递", "Yunda Express", ("韵达", "yunda", "yd"), confirmed=False),
    Carrier("3046", "德邦快递", "Deppon Express",
            ("德邦", "德邦物流", "deppon", "debang", "dbl"), confirmed=False),
    Carrier("1274", "厂家自送", "Delivered by the maker", ("自送", "self delivery")),
)

_BY_ID = {c.id: c for c in CARRIERS}


def _key(text: str) -> str:
    """Compare names without case, width or spaces: ＳＦ, "s f", "SF Express" alike."""
    return re.sub(r"[\s_\-·.]+", "", unicodedata.normalize("NFKC", text)).casefold()


_BY_NAME: dict[str, Carrier] = {}
for _c in CARRIERS:
    for _n in (_c.name, _c.english, *_c.aliases):
        _BY_NAME.setdefault(_key(_n), _c)

MAX_CARRIER_ID = 99_999_999


def carrier_choices(lang: str = "zh-CN") -> str:
    """The known carriers as "467 顺丰快递, 465 邮政EMS, …" (English names for ``en``)."""
    return ", ".join(f"{c.id} {c.english if lang == 'en' else c.name}" for c in CARRIERS)


class _Choices(Term):
    """The list of carriers inside an error message, in the reader's language."""

    def localised(self, lang: str) -> str:
        return carrier_choices(lang)


def parse_carrier(text: str | int | None) -> Carrier:
    """A carrier from its JD id ("467") or a name: Chinese (顺丰, 顺丰快递), English or
    pinyin (SF, sf express, shunfeng), in any case and width. An id not in the table is taken
    as one JD gave the store (named by its number). Anything else raises
    :class:`CarrierError` listing the choices."""
    raw = "" if text is None else str(text)
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        raise CarrierError("no carrier given; choose one of: " + carrier_choices("en"),
                           key="ship.carrier_missing", choices=_Choices(carrier_choices("en")))
    if value.isdigit():
        if value in _BY_ID:
            return _BY_ID[value]
        number = int(value)
        if 0 < number <= MAX_CARRIER_ID:
            return Carrier(str(number), str(number), str(number))
    found = _BY_NAME.get(_key(value))
    if found is None:
        raise CarrierError(
            f"unknown carrier {raw!r}; choose one of: {carrier_choices('en')} "
            "(or the number JD gives the carrier)",
            key="ship.carrier_unknown", carrier=raw, choices=_Choices(carrier_choices("en")))
    return found


def carrier_name(carrier_id: str | None, lang: str = "zh-CN") -> str:
    """The name of a stored carrier id ("467" → 顺丰快递); the id itself when unknown."""
    if not carrier_id:
        return ""
    found = _BY_ID.get(str(carrier_id))
    if found is None:
        return str(carrier_id)
    return found.english if lang == "en" else found.name


WAYBILL_MIN = 6
WAYBILL_MAX = 40  # the column holds 64; real numbers are 10–20 characters
_WAYBILL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")


def parse_waybill(text: str | int | None) -> str:
    """A waybill number (运单号): letters, digits and hyphens (SF1234567890123, JDVA01234567890,
    7312345678901), 6 to 40 characters, spaces around it dropped and full-width characters
    made half-width. Anything else raises :class:`CarrierError` saying why."""
    raw = "" if text is None else str(text)
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        raise CarrierError("no waybill number given", key="ship.waybill_missing")
    if re.fullmatch(r"\d+(\.\d+)?[eE][+-]?\d+|\d+\.0", value):
        raise CarrierError(
            f"waybill {raw!r} looks like a number Excel converted; export it as text",
            key="ship.waybill_excel", waybill=raw)
    if not WAYBILL_MIN <= len(value) <= WAYBILL_MAX:
        raise CarrierError(
            f"waybill {raw!r} is {len(value)} characters long; a waybill number has "
            f"{WAYBILL_MIN} to {WAYBILL_MAX}",
            key="ship.waybill_length", waybill=raw, length=len(value),
            min=WAYBILL_MIN, max=WAYBILL_MAX)
    if not _WAYBILL.match(value):
        raise CarrierError(
            f"waybill {raw!r} may hold only letters, digits and hyphens",
            key="ship.waybill_characters", waybill=raw)
    return value.upper()
