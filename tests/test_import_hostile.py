"""Hostile files: compression bombs, YAML bombs, over-long text, formulas in rejects."""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

import storeops.importers.reading as reading
from storeops.catalog.models import Product, Store
from storeops.config import max_upload_bytes
from storeops.db.engine import unit_of_work
from storeops.importers.mapping import MappingError, load_mapping
from storeops.importers.reading import ImportFileError
from storeops.importers.service import import_file
from storeops.orders.models import Order

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def _gzip_bomb(path: Path, header: bytes, megabytes: int, block: bytes | None = None) -> Path:
    """A valid gzip of a CSV header and ``megabytes`` MB of ``block`` (default: one repeated
    row), written block by block (the test never holds the inflated content either)."""
    row = b"1,A,x,1,2011-01-05 10:00:00,1.0,1,UK\n"
    block = block or row * ((1 << 20) // len(row))
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    with path.open("wb") as fh:
        fh.write(comp.compress(header))
        for _ in range(megabytes):
            fh.write(comp.compress(block))
        fh.write(comp.flush())
    return path


def test_a_gzip_bomb_is_refused_while_it_is_read(
    sqlite_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = sqlite_db_url  # nothing reaches the database: one backend is enough
    # 100 MB of one quoted cell in ~100 KB: the reader stops at 16 MB (the size below which
    # any ratio is fine), long before the 64 MB a record may take
    bomb = _gzip_bomb(tmp_path / "bomb.csv.gz", HEADER.encode() + b'1,"', 100,
                      b"x" * (1 << 20))
    assert bomb.stat().st_size < 160 << 10
    inflated = []
    real = reading._Limited.check

    def spy(self) -> None:  # noqa: ANN001
        inflated.append(self.total)
        real(self)

    monkeypatch.setattr(reading._Limited, "check", spy)
    with pytest.raises(ImportFileError, match=r"more than 100× its compressed size"):
        import_file(db_url, "orders", bomb, mapping=MAPPING)
    # refused a block after passing 100x (past the 16 MB floor), never inflated whole
    limit = max(100 * bomb.stat().st_size, reading.RATIO_FLOOR_BYTES)
    assert max(inflated) <= limit + reading.BLOCK
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Store)) == 0


def test_a_record_without_end_is_refused(sqlite_db_url: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "MAX_RECORD_BYTES", 1 << 20)
    monkeypatch.setattr(reading, "CHUNK_BYTES", 64 << 10)
    monkeypatch.setattr(reading, "BLOCK", 64 << 10)
    path = tmp_path / "open.csv"
    path.write_bytes(HEADER.encode() + b'1,"' + b"x\n" * (1 << 20))
    with pytest.raises(ImportFileError, match="a record longer than 1 MB"):
        import_file(sqlite_db_url, "orders", path, mapping=MAPPING)


def test_an_upload_may_not_expand_past_the_upload_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_db_url: str
) -> None:
    # 3 MB of rows: over a 1 MB limit
    rows = io.BytesIO()
    rows.write(HEADER.encode())
    n = 0
    while rows.tell() < 3 << 20:
        rows.write(f"{n},{n % 9973},item {n},1,2011-01-05 10:00:00,1.0,{n % 97},UK\n".encode())
        n += 1
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(rows.getvalue(), compresslevel=1))
    monkeypatch.setenv("STOREOPS_MAX_UPLOAD_MB", "1")
    assert max_upload_bytes() == 1 << 20
    with pytest.raises(ImportFileError, match="more than 1 MB"):
        import_file(sqlite_db_url, "orders", path, mapping=MAPPING, max_bytes=max_upload_bytes())
    # the command line has no upload limit: the same file imports
    summary = import_file(sqlite_db_url, "orders", path, mapping=MAPPING)
    assert summary.read == n


def test_upload_limit_setting() -> None:
    import os

    assert max_upload_bytes() == int(os.environ.get("STOREOPS_MAX_UPLOAD_MB", 200)) << 20


@pytest.mark.parametrize("value", ["abc", "-5", "0", "inf"])
def test_a_bad_upload_limit_setting_keeps_the_default(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREOPS_MAX_UPLOAD_MB", value)
    assert max_upload_bytes() == 200 << 20


def test_an_xlsx_whose_zip_expands_too_much_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as fh:
            zeros = b"\0" * (1 << 20)
            for _ in range(64):
                fh.write(zeros)
    with pytest.raises(ImportFileError, match="expands to 64 MB"):
        import_file(f"sqlite:///{tmp_path / 'x.db'}", "orders", path, fmt="jd")


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
columns: {order_id: *i}
"""


def test_a_billion_laughs_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(MappingError, match="line 1: YAML anchors and aliases"):
        load_mapping(path)
    data = tmp_path / "x.csv"
    data.write_text(HEADER, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "storeops.cli", "import", "orders", str(data), "--mapping",
         str(path), "--db", str(tmp_path / "s.db")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "锚点和别名" in proc.stderr  # zh-CN by default
    assert "Traceback" not in proc.stderr
    # the products/traffic/ads mapping reads YAML the same way
    traffic = tmp_path / "t.csv"
    traffic.write_text("日期,商品ID\n2026-11-11,A\n", encoding="utf-8")
    with pytest.raises(MappingError, match="anchors and aliases"):
        import_file(f"sqlite:///{tmp_path / 's.db'}", "traffic", traffic, mapping=path)


def test_an_alias_alone_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("columns: &c {order_id: a, sku: b, quantity: c, unit_price: d, time: e}\n"
                    "copy: *c\n", encoding="utf-8")
    with pytest.raises(MappingError, match="anchors and aliases"):
        load_mapping(path)


def test_a_huge_mapping_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("# " + "x" * (2 << 20) + "\ncolumns: {}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="at most"):
        load_mapping(path)


def test_over_long_text_is_rejected_or_cut(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        HEADER
        + f"{'9' * 65},A,ok,1,2011-01-05 10:00:00,1.0,1,UK\n"  # order id: 65 characters
        + f"1,{'S' * 65},ok,1,2011-01-05 10:00:00,1.0,1,UK\n"  # SKU: 65 characters
        + f"2,A,{'t' * 600},1,2011-01-05 10:00:00,1.0,{'c' * 121},UK\n"  # customer: 121
        + f"3,LONGTITLE,{'t' * 600},1,2011-01-05 10:00:00,1.0,1,UK\n",
        encoding="utf-8",
    )
    summary = import_file(db_url, "orders", path, mapping=MAPPING)
    assert summary.by_reason == {"text too long": 3}
    with open(summary.rejects_file, encoding="utf-8-sig", newline="") as fh:
        by_row = {r["row"]: r for r in csv.DictReader(fh)}
    assert by_row["2"]["field"] == "InvoiceNo"
    assert by_row["2"]["reason"] == "order_id is 65 characters long, at most 64 allowed"
    assert by_row["3"]["field"] == "StockCode"
    assert by_row["4"]["field"] == "CustomerID"
    with unit_of_work(db_url) as s:
        title = s.scalar(select(Product.title).where(Product.platform_sku_id == "LONGTITLE"))
        assert title == "t" * 500  # a title is cut, not rejected
        assert s.scalar(select(func.count()).select_from(Order)) == 1


def test_rejects_file_neutralises_formulas_but_not_numbers(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "evil.csv"
    rows = [
        ["=HYPERLINK(\"http://x\",\"click\")", "A", "ok", "-3", "2011-01-05 10:00:00",
         "1.0", "1", "UK"],
        ["7", "A", "@SUM(1+1)", "-10", "2011-01-05 10:00:00", "-2.5", "+44 20", "UK"],
    ]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER.strip().split(","))
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    summary = import_file(db_url, "orders", path, mapping=MAPPING)
    assert summary.rejected == 2
    with open(summary.rejects_file, encoding="utf-8-sig", newline="") as fh:
        out = list(csv.DictReader(fh))
    assert out[0]["InvoiceNo"] == "'=HYPERLINK(\"http://x\",\"click\")"
    assert out[0]["Quantity"] == "-3"  # a number stays a number
    assert out[1]["Description"] == "'@SUM(1+1)"
    assert out[1]["UnitPrice"] == "-2.5"
    assert out[1]["CustomerID"] == "'+44 20"


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
