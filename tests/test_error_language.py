"""Errors speak the reader's language (issue 10): the pages in the page's language, the
command line in STOREOPS_LANG's (zh-CN by default); the JSON API keeps its English ``detail``
for scripts; internal column names such as ``__row`` never reach a user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_seed import STORE, fast_hashing, login, run_cli, seed_store  # noqa: F401

from storeops.common.errors import StoreopsError, Term, localise
from storeops.metrics.periods import PeriodError, parse_day

pytestmark = pytest.mark.usefixtures("fast_hashing")

NAV = '<nav class="nav">'
MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "online_retail.yaml"
RETAIL = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
          "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
          "536366,22633,HAND WARMER,abc,2010-12-01 08:28:00,1.85,17850,United Kingdom\n")


# --- the messages ----------------------------------------------------------------------------

def test_an_error_with_a_key_reads_in_either_language_and_stays_english_as_text() -> None:
    with pytest.raises(PeriodError) as caught:
        parse_day("2026-13-01", "from date")
    exc = caught.value
    assert str(exc) == "bad from date '2026-13-01': expected YYYY-MM-DD"  # the API's detail
    assert localise(exc, "zh-CN") == ("开始日期“2026-13-01”无效：请按 YYYY-MM-DD 填写有效日期"
                                      "（如 2026-11-01）")
    assert localise(exc, "en") == str(exc)
    # an error without words of its own in the catalogs is said as it is
    plain = StoreopsError("something odd", key="no.such.key", what=Term("from date"))
    assert localise(plain, "zh-CN") == "something odd"
    assert localise(ValueError("not ours"), "zh-CN") == "not ours"


# --- pages -----------------------------------------------------------------------------------

def test_a_bad_date_on_a_page_is_said_in_the_pages_language_and_keeps_the_nav(
    client: TestClient,
) -> None:
    login(client, "owner")
    r = client.get("/?from=2026-13-01&to=2026-10-31")
    assert r.status_code == 422
    assert "开始日期“2026-13-01”无效" in r.text and "YYYY-MM-DD" in r.text
    assert NAV in r.text and "经营概览" in r.text
    assert "bad from date" not in r.text and "query parameter" not in r.text
    en = client.get("/?from=2026-13-01&to=2026-10-31&lang=en")
    assert en.status_code == 422
    assert "bad from date" in en.text and "开始日期" not in en.text
    assert NAV in en.text
    # the JSON API keeps its English detail, for scripts
    api = client.get("/api/v1/kpi/summary?from=2026-13-01&to=2026-10-31")
    assert api.status_code == 422
    assert api.json() == {"detail": "bad from date '2026-13-01': expected YYYY-MM-DD",
                          "code": "period.bad_day"}


@pytest.mark.parametrize(("query", "words"), [
    ("from=2026-10-31&to=2026-10-01", "开始日期 2026-10-31 晚于结束日期 2026-10-01"),
    ("from=1900-01-01&to=1900-01-02", "超出了可查询的日期范围"),
    ("from=2000-01-01&to=2026-10-01", "共 9771 天"),
])
def test_period_errors_on_a_page_are_chinese(client: TestClient, query: str,
                                             words: str) -> None:
    login(client, "owner")
    r = client.get(f"/skus?{query}")
    assert r.status_code == 422
    assert words in r.text, r.text
    assert NAV in r.text


@pytest.mark.parametrize(("compare", "words"), [
    ("yoy", "的去年同期早于 1970-01-01"), ("wow", "的上周同期早于 1970-01-01")])
def test_a_baseline_before_the_calendar_is_said_in_chinese(client: TestClient, compare: str,
                                                          words: str) -> None:
    # The overview compares its cards with the baseline: one it cannot have is a 422 in the
    # comparison's own words, never the English sentence.
    login(client, "owner")
    r = client.get(f"/?from=1970-01-01&to=1970-01-10&compare={compare}")
    assert r.status_code == 422
    assert words in r.text and "starts before" not in r.text
    assert NAV in r.text


def test_an_unknown_store_on_a_page_is_chinese(client: TestClient) -> None:
    login(client, "owner")
    r = client.get("/?store=nosuch")
    assert r.status_code == 404
    assert f"没有名为“nosuch”的店铺（现有店铺：{STORE}）" in r.text
    assert "no store named" not in r.text and NAV in r.text
    en = client.get("/?store=nosuch&lang=en")
    assert "no store named &#39;nosuch&#39;" in en.text


def test_a_refused_form_value_names_the_field_in_the_users_words(client: TestClient) -> None:
    login(client, "owner")
    # a value longer than a page's query parameter may be: the field's name, not its key
    r = client.get("/?store=" + "x" * 300)
    assert r.status_code == 422
    assert "店铺长 300 个字符" in r.text
    assert "query parameter" not in r.text and NAV in r.text
    # the overview's and import page's own parameters are named as the page names them too
    for query, word in (("/?metric=", "指标长 300 个字符"),
                        ("/import?history_store=", "导入记录的店铺长 300 个字符")):
        r = client.get(query + "x" * 300)
        assert r.status_code == 422 and word in r.text, r.text
        assert "metric长" not in r.text and "history_store长" not in r.text
    # a form field FastAPI itself refuses (the target form's month, far too long)
    r = client.post("/targets", data={"month": "2026-10" * 10, "gmv": "1"})
    assert r.status_code == 422
    assert "月份：最多 20 个字符" in r.text
    assert "String should have" not in r.text and "string_too_long" not in r.text
    en = client.post("/targets?lang=en", data={"month": "2026-10" * 10, "gmv": "1"})
    assert "Month: at most 20 characters" in en.text


def test_a_target_form_error_is_chinese(client: TestClient) -> None:
    login(client, "owner")
    r = client.post("/targets", data={"month": "2026-10", "conversion_rate": "150"})
    assert r.status_code == 422
    assert "目标不能超过 100%，填写的是 150%" in r.text
    assert "is a fraction" not in r.text
    r = client.post("/targets", data={"month": "2026-10", "gmv": "12.345"})
    assert r.status_code == 422
    assert "最多保留 2 位小数" in r.text and "decimal places" not in r.text
    r = client.post("/targets", data={"month": "2026-13", "gmv": "1"})
    assert r.status_code == 422
    assert "月份“2026-13”无效" in r.text
    en = client.post("/targets?lang=en", data={"month": "2026-10", "conversion_rate": "150"})
    assert "target is at most 100%, not 150%" in en.text


def _visible(html: str) -> str:
    """The words of a page a reader sees (no tags, no attributes)."""
    return re.sub(r"<[^>]+>", " ", html)


def _upload(client: TestClient, body: bytes, name: str = "orders.csv", lang: str = "",
            mapping: bool = False, status: int | None = None) -> str:
    files = {"file": (name, body, "text/csv")}
    if mapping:
        files["mapping"] = ("online_retail.yaml", MAPPING.read_bytes(), "application/x-yaml")
    r = client.post("/import" + (f"?lang={lang}" if lang else ""),
                    data={"kind": "orders", "format": "mapping" if mapping else "jd",
                          "store": STORE}, files=files)
    assert r.status_code in ((status,) if status else (200, 422)), r.text
    return r.text


def test_import_page_errors_are_chinese_and_name_no_internal_column(client: TestClient) -> None:
    login(client, "owner")
    html = _upload(client, "订单号,商品ID\n1,2\n".encode())
    assert "orders.csv：缺少列" in html and "订购数量" in html
    assert "文件中的列：订单号, 商品ID）" in html  # the file's own columns, and only those
    assert "__row" not in html and "missing column" not in html
    empty = _upload(client, b"", name="empty.csv")
    assert "上传的文件“empty.csv”是空的" in empty
    binary = _upload(client, b"\x00\x01\x02\xff\xfe" * 50, name="odd.csv")
    assert "odd.csv：无法按" in binary and "编码读取" in binary
    broken = _upload(client, b"PK\x03\x04 not a workbook", name="broken.xlsx")
    assert "broken.xlsx：不是可读取的 XLSX 文件（文件可能已损坏，或不是 Excel 工作簿）" in broken
    assert "not a readable" not in broken and "zip file" not in broken.lower()  # no English
    bad_mapping = client.post(
        "/import", data={"kind": "orders", "format": "mapping", "store": STORE},
        files={"file": ("o.csv", b"a,b\n1,2\n", "text/csv"),
               "mapping": ("bad.yaml", b"columns: [1\n", "application/x-yaml")}).text
    # the mapping by the name it was uploaded under (no server path), and where it is broken
    assert "bad.yaml：不是有效的 YAML（第 2 行第 1 列附近）" in bad_mapping
    assert "/tmp" not in bad_mapping and "while parsing" not in bad_mapping
    en = _upload(client, "订单号,商品ID\n1,2\n".encode(), lang="en")
    assert "missing column(s)" in en and "__row" not in en


def test_an_upload_over_the_limit_is_said_in_the_pages_language(
    client: TestClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(client, "owner")
    monkeypatch.setenv("STOREOPS_MAX_UPLOAD_MB", "0.01")
    big = RETAIL.encode() * 200  # ~40 KB: within the form's overhead, over the file's limit
    html = _upload(client, big, name="big.csv", status=413)
    assert "文件“big.csv”超过了上传上限 0.01 MB（设置项 STOREOPS_MAX_UPLOAD_MB）" in html
    assert "larger than" not in html and NAV in html
    huge = _upload(client, b"x" * (3 << 20), name="huge.csv", status=413)  # refused unread
    assert "上传的内容超过了上限 0.01 MB" in huge and "larger than" not in huge


def test_a_rejected_import_shows_no_internal_column_on_the_page_or_in_its_file(
    client: TestClient,
) -> None:
    login(client, "owner")
    html = _upload(client, RETAIL.encode(), mapping=True)
    assert "数量无效" in html and "__row" not in html
    assert "not a whole number" not in html  # the importer's English words stay off the page
    link = re.search(r'href="(/import/batches/\d+/rejects\.csv)"', html)
    assert link, html
    assert "__row" not in client.get(link.group(1)).text


# --- the command line ------------------------------------------------------------------------

def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         lang: str | None = None) -> tuple[int, str, str]:
    return run_cli(argv, monkeypatch, capsys, lang)


@pytest.fixture
def store_db(sqlite_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    seed_store(sqlite_db_url, users=False)
    return sqlite_db_url


def test_cli_errors_are_chinese_by_default_and_english_on_request(
    store_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["kpi", "--db", store_db, "--from", "2026-10-01", "--to", "2026-10-31",
            "--store", "nosuch"]
    code, out, err = _cli(argv, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and f"没有名为“nosuch”的店铺（现有店铺：{STORE}）" in err
    code, out, err = _cli(argv, monkeypatch, capsys, lang="en")
    assert code == 2
    assert err.startswith("error: no store named 'nosuch'") and "店铺" not in err.split(STORE)[0]
    code, _, err = _cli(["kpi", "--db", store_db, "--from", "2026-10-31", "--to", "2026-10-01"],
                        monkeypatch, capsys)
    assert code == 2 and "开始日期 2026-10-31 晚于结束日期 2026-10-01" in err
    code, _, err = _cli(["target", "set", "--db", store_db, "--month", "2026-10", "--metric",
                         "uv", "--value", "1.5"], monkeypatch, capsys)
    assert code == 2 and "目标必须是整数，不能是“1.5”" in err


def test_cli_database_path_errors_are_chinese_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "no" / "s.db"
    argv = ["kpi", "--db", str(missing), "--from", "2026-10-01", "--to", "2026-10-31"]
    code, _, err = _cli(argv, monkeypatch, capsys)
    assert code == 2 and f"无法使用数据库 {missing}：文件夹 {missing.parent} 不存在" in err
    code, _, err = _cli(argv, monkeypatch, capsys, lang="en")
    assert code == 2 and "does not exist" in err and "不存在" not in err
    code, _, err = _cli(["kpi", "--db", str(tmp_path / "none.db"), "--from", "2026-10-01",
                         "--to", "2026-10-31"], monkeypatch, capsys)
    assert code == 2 and "没有 storeops 数据库" in err and "storeops init" in err


def test_cli_import_errors_name_file_and_columns_without_internal_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "orders.csv"
    data.write_text("订单号,商品ID\n1,2\n", encoding="utf-8")
    argv = ["import", "orders", str(data), "--db", str(tmp_path / "s.db")]
    code, _, err = _cli(argv, monkeypatch, capsys)
    assert code == 2 and "orders.csv：缺少列" in err and "文件中的列：订单号, 商品ID）" in err
    assert "__row" not in err
    code, _, err = _cli(argv, monkeypatch, capsys, lang="en")
    assert code == 2 and "missing column(s)" in err and "__row" not in err
    code, _, err = _cli(["import", "orders", str(tmp_path), "--db", str(tmp_path / "s.db")],
                        monkeypatch, capsys)  # a folder where a file was meant
    assert code == 2 and "无法读取文件：这是一个文件夹，不是文件" in err
    # a rejected row: the summary and the rejects file say it without internal names
    data.write_text(RETAIL, encoding="utf-8")
    code, out, err = _cli([*argv, "--mapping", str(MAPPING)], monkeypatch, capsys)
    assert code == 0, err
    assert "数量无效" in out and "__row" not in out + err
    rejects = tmp_path / "orders.csv.rejects.csv"
    assert rejects.is_file() and "__row" not in rejects.read_text(encoding="utf-8-sig")


def test_rejected_rows_are_said_in_the_pages_words(client: TestClient) -> None:
    login(client, "owner")
    traffic = ("日期,商品ID,访客数\n2026-10-01,1001,5\n,1002,3\n2026-10-01,1001,5\n").encode()
    r = client.post("/import", data={"kind": "traffic", "store": STORE},
                    files={"file": ("traffic.csv", traffic, "text/csv")})
    assert r.status_code == 200, r.text
    text = _visible(r.text)
    assert "缺少日期" in text and "missing day" not in text  # a field in the user's words
    assert "与第 2 行相同" in text and "of row" not in text  # the row it repeats
    en = client.post("/import?lang=en", data={"kind": "traffic", "store": STORE},
                     files={"file": ("traffic.csv", traffic.replace(b",5", b",6"), "text/csv")})
    assert "missing day" in en.text and "duplicate of row 2" in en.text


def test_cli_account_errors_are_chinese_by_default(
    sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["user", "add", "alice", "--role", "boss", "--password", "a-long-pass-phrase",
            "--db", sqlite_db_url]
    code, _, err = _cli(argv, monkeypatch, capsys)
    assert code == 2 and "未知的角色“boss”" in err
    code, _, err = _cli(argv, monkeypatch, capsys, lang="en")
    assert code == 2 and "unknown role 'boss'" in err
    code, _, err = _cli(["user", "add", "alice", "--role", "analyst", "--password", "short",
                         "--db", sqlite_db_url], monkeypatch, capsys)
    assert code == 2 and "密码至少要有" in err


def test_cli_usage_errors_are_error_lines_in_the_terminals_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(["kpi", "--to", "2026-10-31"], monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: 缺少选项 --from") and "kpi --help 查看用法" in err
    code, _, err = _cli(["kpi", "--from", "2026-10-01", "--to", "2026-10-31", "--by", "sku",
                         "--top", "x"], monkeypatch, capsys)
    assert code == 2 and "--top 的值无效：应为整数" in err
    code, _, err = _cli(["kpi", "--frm", "2026-10-01"], monkeypatch, capsys)
    assert code == 2 and "没有选项 --frm（是不是 --from？）" in err
    code, _, err = _cli(["kpi", "--to", "2026-10-31"], monkeypatch, capsys, lang="en")
    assert code == 2 and err.startswith("error: Missing option '--from'.")
    assert "kpi --help' for help." in err
