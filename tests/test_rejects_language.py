"""The rejects file speaks the importer's language (issue 10): the command line's in
STOREOPS_LANG's (zh-CN by default), an upload's in the import page's; its columns keep their
machine names (row, field, reason) and never show the internal row number."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner
from web_seed import fast_hashing, login  # noqa: F401

from storeops.cli import app

MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "online_retail.yaml"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
GOOD = "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
NOT_POSITIVE = "536380,22961,JAM JAR,-3,2010-12-01 09:41:00,1.45,,United Kingdom\n"
NOT_A_NUMBER = "536366,22633,HAND WARMER,abc,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
COLUMNS = HEADER.strip().split(",")

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _cli_rejects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str | None
                 ) -> list[list[str]]:
    if lang is None:
        monkeypatch.delenv("STOREOPS_LANG", raising=False)
    else:
        monkeypatch.setenv("STOREOPS_LANG", lang)
    folder = tmp_path / (lang or "default")
    folder.mkdir()
    data = folder / "sales.csv"
    # the same line twice: the strict mapping rejects the copy, naming the row it repeats
    data.write_text(HEADER + GOOD + GOOD + NOT_POSITIVE, encoding="utf-8")
    strict = folder / "strict.yaml"
    strict.write_text(MAPPING.read_text(encoding="utf-8").replace(
        "duplicate_rows: keep", "duplicate_rows: reject"), encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(strict),
                                      "--db", str(folder / "s.db"), "--store", "uk",
                                      "--rejects", str(folder)])
    assert result.exit_code == 0, result.output
    text = (folder / "sales.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert "__row" not in text
    return _rows(text)


def test_cli_rejects_file_speaks_the_terminal_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chinese = _cli_rejects(tmp_path, monkeypatch, None)
    assert chinese[0] == ["row", "field", "reason", *COLUMNS]  # machine names, unchanged
    assert [r[:3] for r in chinese[1:]] == [
        ["3", "", "重复行（与第 2 行相同）"],
        ["4", "Quantity", "数量不为正"],
    ]
    assert chinese[2][3:] == NOT_POSITIVE.strip().split(",")  # the original cells follow
    english = _cli_rejects(tmp_path, monkeypatch, "en")
    assert english[0] == chinese[0]
    assert [r[:3] for r in english[1:]] == [
        ["3", "", "duplicate of row 2"],
        ["4", "Quantity", "quantity of a sale must be positive"],
    ]


def _upload(client: TestClient, lang: str) -> str:
    """Upload a file with a bad row from the import page in ``lang``; the rejects link."""
    body = (HEADER + GOOD + NOT_A_NUMBER).encode()
    r = client.post("/import" + (f"?lang={lang}" if lang else ""),
                    data={"kind": "orders", "format": "mapping", "store": "uk"},
                    files={"file": ("retail.csv", body, "text/csv"),
                           "mapping": ("online_retail.yaml", MAPPING.read_bytes(),
                                       "application/x-yaml")})
    assert r.status_code == 200, r.text
    link = re.search(r'href="(/import/batches/\d+/rejects)\.csv"', r.text)
    assert link, r.text
    return link.group(1)


def _xlsx_rows(content: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_upload_rejects_speak_the_page_language(client: TestClient) -> None:
    login(client, "operator")
    for lang, reason, header in (
        ("", "数量无效", ["行号", "字段", "原因"]),  # the default: zh-CN
        ("en", "quantity is missing or not a whole number", ["Row", "Field", "Reason"]),
    ):
        link = _upload(client, lang)
        params = {"lang": lang} if lang else {}
        got = client.get(link + ".csv", params=params)
        assert got.status_code == 200
        text = got.content.decode("utf-8-sig")
        assert "__row" not in text
        rows = _rows(text)
        assert rows[0] == ["row", "field", "reason", *COLUMNS]  # machine names in any language
        assert rows[1][:3] == ["3", "Quantity", reason], lang
        sheet = _xlsx_rows(client.get(link + ".xlsx", params=params).content)
        assert sheet[0] == [*header, *COLUMNS]
        assert sheet[1][:3] == [3, "Quantity", reason], lang
        assert "__row" not in str(sheet)
