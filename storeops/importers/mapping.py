"""How the columns of an order file map onto orders: the JD export preset and YAML mappings.

A mapping file (see ``examples/mappings/online_retail.yaml`` for the documented format) names
the column of each field; the JD order export is the same thing written in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from storeops.common.errors import StoreopsError, os_reason
from storeops.common.timeutil import zone
from storeops.orders.states import OrderStatus

# Fields an order file can map; the first five are required.
REQUIRED_FIELDS = ("order_id", "sku", "quantity", "unit_price", "time")
OPTIONAL_FIELDS = (
    "title", "seller_code", "customer", "contact", "source", "status", "paid_time",
    "finished_time", "goods_amount", "settlement_amount", "paid_amount", "freight",
    "payment_method",
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
    # Lines whose SKU is the order's freight (postage): added to orders.freight_cents.
    freight_skus: frozenset[str] = frozenset()
    # Lines that are neither sales nor refunds (fees, manual adjustments): counted, not stored.
    exclude_skus: frozenset[str] = frozenset()
    sku_case: str = "keep"  # keep | upper: SKU ids compared without case (85123a = 85123A)
    # Mapped columns a file may lack (the JD export's 支付方式 is missing from older exports).
    optional_columns: frozenset[str] = frozenset()
    sheet: str | int | None = None  # of a workbook: name or 1-based number; None: the first

    def column(self, name: str) -> str | None:
        return self.columns.get(name)

    def normalise_sku(self, sku: str) -> str:
        return sku.upper() if self.sku_case == "upper" else sku


DUPLICATE_CHOICES = ("keep", "reject")
SKU_CASES = ("keep", "upper")
MAX_MAPPING_BYTES = 1 << 20  # a column mapping is a few hundred bytes
# 支付方式 values meaning cash on delivery (the JD export writes 货到付款).
COD_TEXTS = ("货到付款", "cod", "cash on delivery")

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
    "payment_method": "支付方式",
}

JD_SPEC = OrderSpec(
    columns=JD_COLUMNS, timezone="Asia/Shanghai", currency="CNY", jd_status=True, name="jd",
    duplicate_rows="reject", optional_columns=frozenset({"payment_method"}),
)


def read_yaml(path: Path) -> object:
    """A small YAML file, refusing anchors and aliases: a 577-byte "billion laughs" mapping
    would otherwise expand to gigabytes. A mapping never needs them."""
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_MAPPING_BYTES + 1)
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping: {exc.strerror or exc}",
                           key="mapping.cannot_read", file=path,
                           reason=os_reason(exc)) from exc
    if len(data) > MAX_MAPPING_BYTES:
        raise MappingError(f"{path}: a mapping file is at most {MAX_MAPPING_BYTES} bytes",
                           key="mapping.too_large", file=path, limit=MAX_MAPPING_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path}: a mapping file must be UTF-8 text",
                           key="mapping.not_utf8", file=path) from exc
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise MappingError(
                    f"{path}: line {mark.line + 1}: YAML anchors and aliases (&, *) are not"
                    " allowed in a mapping", key="mapping.anchors", file=path,
                    line=mark.line + 1,
                )
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)  # where: what the reader can act on
        raise MappingError(f"{path}: not valid YAML: {exc}", key="mapping.bad_yaml",
                           file=path, reason=exc, line=mark.line + 1 if mark else "?",
                           column=mark.column + 1 if mark else "?") from exc


def _sku_list(raw: dict, key: str, path: Path) -> list[str]:
    value = raw.get(key) or []
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise MappingError(f"{path}: {key} must be a list of SKU ids",
                           key="mapping.sku_list", file=path, name=key)
    return [str(v).strip() for v in value if str(v).strip()]


def load_mapping(path: Path) -> OrderSpec:
    """Read and check a YAML mapping file."""
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise MappingError(f"{path}: a mapping needs a 'columns:' section",
                           key="mapping.no_columns", file=path)
    columns = {str(k): str(v) for k, v in raw["columns"].items() if v not in (None, "")}
    unknown = sorted(set(columns) - set(ALL_FIELDS))
    if unknown:
        raise MappingError(f"{path}: unknown field(s) under columns: {', '.join(unknown)}",
                           key="mapping.unknown_fields", file=path, fields=", ".join(unknown),
                           choices=", ".join(ALL_FIELDS))
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        raise MappingError(f"{path}: columns must map {', '.join(missing)}",
                           key="mapping.missing_fields", file=path, fields=", ".join(missing))
    refunds = raw.get("refunds") or {}
    if not isinstance(refunds, dict):
        raise MappingError(f"{path}: 'refunds:' must be a section (order_id_prefix, ...)",
                           key="mapping.refunds_section", file=path)
    tz = str(raw.get("timezone") or "Asia/Shanghai")
    try:
        zone(tz)
    except StoreopsError as exc:
        raise MappingError(f"{path}: {exc}", key="mapping.in_file", file=path,
                           reason=exc) from exc
    status = str(raw.get("status") or OrderStatus.FINISHED.value)
    if status not in {s.value for s in OrderStatus}:
        raise MappingError(f"{path}: unknown status {status!r}", key="mapping.unknown_status",
                           file=path, status=status)
    duplicates = str(raw.get("duplicate_rows") or "keep")
    if duplicates not in DUPLICATE_CHOICES:
        raise MappingError(f"{path}: duplicate_rows must be one of {', '.join(DUPLICATE_CHOICES)},"
                           f" not {duplicates!r}", key="mapping.bad_choice", file=path,
                           name="duplicate_rows", value=duplicates,
                           choices=", ".join(DUPLICATE_CHOICES))
    sku_case = str(raw.get("sku_case") or "keep")
    if sku_case not in SKU_CASES:
        raise MappingError(f"{path}: sku_case must be one of {', '.join(SKU_CASES)},"
                           f" not {sku_case!r}", key="mapping.bad_choice", file=path,
                           name="sku_case", value=sku_case, choices=", ".join(SKU_CASES))
    sheet = raw.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise MappingError(f"{path}: sheet must be a sheet name or a number (1 = the first)",
                           key="mapping.bad_sheet", file=path)
    norm = str.upper if sku_case == "upper" else str
    freight = {norm(v) for v in _sku_list(raw, "freight_skus", path)}
    exclude = {norm(v) for v in _sku_list(raw, "exclude_skus", path)}
    if freight & exclude:
        both = ", ".join(sorted(freight & exclude))
        raise MappingError(f"{path}: SKU(s) both freight and excluded: {both}",
                           key="mapping.freight_and_excluded", file=path, skus=both)
    return OrderSpec(
        freight_skus=frozenset(freight),
        exclude_skus=frozenset(exclude),
        sku_case=sku_case,
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
        sheet=sheet,
    )
