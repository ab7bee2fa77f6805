"""How the columns of an order file map onto orders: the JD export preset and YAML mappings.

A mapping file (see ``examples/mappings/online_retail.yaml`` for the documented format) names
the column of each field; the JD order export is the same thing written in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from storeops.common.errors import StoreopsError
from storeops.common.timeutil import zone
from storeops.orders.states import OrderStatus

# Fields an order file can map; the first five are required.
REQUIRED_FIELDS = ("order_id", "sku", "quantity", "unit_price", "time")
OPTIONAL_FIELDS = (
    "title", "seller_code", "customer", "contact", "source", "status", "paid_time",
    "finished_time", "goods_amount", "settlement_amount", "paid_amount", "freight",
)
ALL_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS


class MappingError(StoreopsError):
    """A mapping file that cannot be used."""


@dataclass(frozen=True)
class OrderSpec:
    """Everything the order importer needs to know about one file layout."""

    columns: dict[str, str]  # field → column header in the file
    timezone: str = "Asia/Shanghai"  # of the wall-clock times in the file
    currency: str = "CNY"
    time_format: str = "%Y-%m-%d %H:%M:%S"
    status: str = OrderStatus.FINISHED.value  # used when no status column is mapped
    jd_status: bool = False  # the status column holds JD text such as (删除)等待出库
    refund_order_prefix: str | None = None  # order ids starting with it are refunds
    refund_negative_quantity: bool = False  # or: negative quantities are refunds
    source: str | None = None  # used when no source column is mapped
    file_format: str | None = None  # csv | xlsx | None (detect)
    encoding: str | None = None  # None/auto: UTF-8, else GB18030
    # An exact copy of an earlier row: ``keep`` it as one more order line (a till that scans
    # an item twice), or ``reject`` it (a layout with one row per order x SKU, where a copy
    # can only be an export pasted twice).
    duplicate_rows: str = "keep"
    name: str = "mapping"
    extra: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> str | None:
        return self.columns.get(name)


DUPLICATE_CHOICES = ("keep", "reject")

JD_COLUMNS = {
    "order_id": "订单号",
    "sku": "商品ID",
    "title": "商品名称",
    "quantity": "订购数量",
    "time": "下单时间",
    "unit_price": "京东价",
    "goods_amount": "订单金额",
    "settlement_amount": "结算金额",
    "paid_amount": "应付金额",
    "status": "订单状态",
    "customer": "下单帐号",
    "contact": "联系电话",
    "freight": "运费金额",
    "paid_time": "付款确认时间",
    "seller_code": "货号",
    "finished_time": "订单完成时间",
    "source": "订单来源",
}

JD_SPEC = OrderSpec(
    columns=JD_COLUMNS, timezone="Asia/Shanghai", currency="CNY", jd_status=True, name="jd",
    duplicate_rows="reject",
)


def load_mapping(path: Path) -> OrderSpec:
    """Read and check a YAML mapping file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise MappingError(f"{path}: a mapping needs a 'columns:' section")
    columns = {str(k): str(v) for k, v in raw["columns"].items() if v not in (None, "")}
    unknown = sorted(set(columns) - set(ALL_FIELDS))
    if unknown:
        raise MappingError(f"{path}: unknown field(s) under columns: {', '.join(unknown)}")
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        raise MappingError(f"{path}: columns must map {', '.join(missing)}")
    refunds = raw.get("refunds") or {}
    tz = str(raw.get("timezone") or "Asia/Shanghai")
    try:
        zone(tz)
    except StoreopsError as exc:
        raise MappingError(f"{path}: {exc}") from exc
    status = str(raw.get("status") or OrderStatus.FINISHED.value)
    if status not in {s.value for s in OrderStatus}:
        raise MappingError(f"{path}: unknown status {status!r}")
    duplicates = str(raw.get("duplicate_rows") or "keep")
    if duplicates not in DUPLICATE_CHOICES:
        raise MappingError(f"{path}: duplicate_rows must be one of {', '.join(DUPLICATE_CHOICES)},"
                           f" not {duplicates!r}")
    return OrderSpec(
        columns=columns,
        duplicate_rows=duplicates,
        timezone=tz,
        currency=str(raw.get("currency") or "CNY").upper(),
        time_format=str(raw.get("time_format") or "%Y-%m-%d %H:%M:%S"),
        status=status,
        jd_status=bool(raw.get("jd_status", False)),
        refund_order_prefix=refunds.get("order_id_prefix") or None,
        refund_negative_quantity=bool(refunds.get("negative_quantity", False)),
        source=raw.get("source"),
        file_format=raw.get("format"),
        encoding=raw.get("encoding"),
        name=path.name,
    )
