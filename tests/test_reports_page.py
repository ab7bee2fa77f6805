"""The reports page (/reports): the built reports with their downloads, building one now (a
bad period comes back marked, as typed), the schedule (ALERT_MANAGE), both languages, and who
may do what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, unquote

import openpyxl
import pytest
from web_seed import PASSWORD, STORE, PageClient, fast_hashing, login, seed_store  # noqa: F401

from storeops.accounts.users import create_user
from storeops.db.engine import unit_of_work
from storeops.reports.models import ReportSchedule
from storeops.reports.service import build_report

pytestmark = pytest.mark.usefixtures("fast_hashing")
STORE_Q = quote_plus(STORE)


@pytest.fixture
def site(sqlite_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[dict[str, Any]]:
    from storeops.api.app import create_app

    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    store_id = seed_store(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as s:
        create_user(s, "bot", PASSWORD, "integration")
    report = build_report(sqlite_db_url, store_id, "monthly", "2026-10", "zh-CN", pdf=False)
    with PageClient(create_app(sqlite_db_url, secret_key="test-secret")) as client:
        yield {"url": sqlite_db_url, "id": store_id, "client": client, "report": report}


def test_list_and_download(site: dict[str, Any]) -> None:
    c = site["client"]
    login(c, "analyst")
    r = c.get(f"/reports?store={STORE_Q}")
    assert r.status_code == 200
    row = re.search(r'<tr data-report="(\d+)"[^>]*>(.*?)</tr>', r.text, re.S)
    assert row and int(row.group(1)) == site["report"].id
    assert "2026-10" in row.group(2) and "月报" in row.group(2) and "¥20,053.00" in row.group(2)
    assert 'data-download="xlsx"' in row.group(2) and 'data-download="pdf"' not in row.group(2)
    # An analyst sees the schedule (the default) but may not change it.
    assert 'id="schedule-readonly"' in r.text and "09:00" in r.text
    assert 'action="/reports/schedule' not in r.text
    got = c.get(f"/reports/{site['report'].id}.xlsx")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    name = unquote(got.headers["content-disposition"].split("filename*=UTF-8''")[1])
    assert name == f"{STORE}_monthly_2026-10_zh-CN.xlsx"
    path = Path(site["report"].xlsx_path)
    assert got.content == path.read_bytes()
    assert c.get(f"/reports/{site['report'].id}.pdf").status_code == 404  # none built
    assert c.get("/reports/999999.xlsx").status_code == 404
    # A report's own address (the link the channels send): its store's list, its row marked.
    link = c.get(f"/reports/{site['report'].id}", follow_redirects=False)
    assert link.status_code == 303
    assert link.headers["location"].endswith(f"report={site['report'].id}"
                                             f"#report-{site['report'].id}")
    marked = c.get(link.headers["location"]).text
    assert re.search(rf'<tr data-report="{site["report"].id}"[^>]*aria-current="true"', marked)
    assert c.get("/reports/999999").status_code == 404
    assert c.post(f"/reports/schedule?store={STORE_Q}", data={"at": "08:00"}).status_code == 403


def test_build_now_and_bad_period(site: dict[str, Any]) -> None:
    c = site["client"]
    login(c, "operator")
    r = c.post(f"/reports/build?store={STORE_Q}&lang=en",
               data={"kind": "weekly", "period": "2026-W99", "lang": "en"})
    assert r.status_code == 422
    field = re.search(r'<input type="text" name="period"[^>]*>', r.text).group(0)
    assert 'value="2026-W99"' in field and 'aria-invalid="true"' in field
    assert "2026-W99" in r.text and "expected YYYY-Www" in r.text
    r = c.post(f"/reports/build?store={STORE_Q}&lang=zh-CN",  # the page's language
               data={"kind": "monthly", "period": "2026/10", "lang": "zh-CN"})
    assert r.status_code == 422 and "月份“2026/10”无效" in r.text
    r = c.post(f"/reports/build?store={STORE_Q}",
               data={"kind": "weekly", "period": "2026-W43", "lang": "en"},
               follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "已生成 周报 2026-W43" in page.text
    row = re.search(r'<tr data-report="(\d+)"[^>]*>(?:(?!</tr>).)*2026-W43(?:(?!</tr>).)*</tr>',
                    page.text, re.S)
    assert row and "English" in row.group(0) and "user:operator" in row.group(0)
    pdf = c.get(f"/reports/{row.group(1)}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = c.get(f"/reports/{row.group(1)}.xlsx")
    tmp = Path(site["report"].xlsx_path).with_name("check.xlsx")
    tmp.write_bytes(xlsx.content)
    assert openpyxl.load_workbook(tmp).sheetnames[0] == "KPIs"


def test_schedule_settings(site: dict[str, Any]) -> None:
    c = site["client"]
    login(c, "operator")
    r = c.post(f"/reports/schedule?store={STORE_Q}",
               data={"monthly": "1", "at": "25:00", "lang": "en"})
    assert r.status_code == 422
    field = re.search(r'<input type="text" name="at"[^>]*>', r.text).group(0)
    assert 'value="25:00"' in field and 'aria-invalid="true"' in field
    assert "时间“25:00”无效" in r.text
    r = c.post(f"/reports/schedule?store={STORE_Q}&lang=en",
               data={"monthly": "1", "at": "9h", "lang": "en"})
    assert r.status_code == 422 and "bad time &#39;9h&#39;: expected HH:MM" in r.text
    c.get("/reports?lang=zh-CN")
    r = c.post(f"/reports/schedule?store={STORE_Q}",
               data={"monthly": "1", "at": "07:30", "lang": "en"}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"] + "&lang=en")
    assert "Schedule saved" in page.text
    assert re.search(r'name="weekly" value="1"\s*>', page.text)  # unticked
    assert re.search(r'name="monthly" value="1" checked', page.text)
    with unit_of_work(site["url"]) as s:
        row = s.get(ReportSchedule, site["id"])
        assert (row.weekly, row.monthly, row.hour, row.minute, row.lang, row.pdf) == (
            False, True, 7, 30, "en", False)
        assert row.updated_by == "user:operator"


def test_who_may_see(site: dict[str, Any]) -> None:
    c = site["client"]
    r = c.get("/reports", follow_redirects=False)
    assert r.status_code in (302, 303, 401)
    login(c, "bot")
    assert c.get("/reports").status_code == 403
    assert c.get(f"/reports/{site['report'].id}.xlsx").status_code == 403
