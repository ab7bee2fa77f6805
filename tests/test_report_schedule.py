"""The reports' schedule: Monday 09:00 store time builds last week's report once, the 1st
09:00 last month's once, a second run builds nothing, and each built report is handed to the
store's channels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from web_seed import seed_store

from storeops.db.engine import unit_of_work
from storeops.reports import jobs
from storeops.reports.jobs import DEFAULT_SCHEDULE, Schedule, due_periods, run_due_reports
from storeops.reports.models import Report, ReportSchedule

SHANGHAI = "Asia/Shanghai"


def local(*args: int) -> datetime:
    from storeops.common.timeutil import zone

    return datetime(*args, tzinfo=zone(SHANGHAI))


def test_default_schedule_periods() -> None:
    # Monday 2 November 2026, 08:59: the Monday 09:00 has not come, the 1st 09:00 has.
    assert due_periods(DEFAULT_SCHEDULE, local(2026, 11, 2, 8, 59)) == [
        ("weekly", "2026-W43"), ("monthly", "2026-10")]
    assert due_periods(DEFAULT_SCHEDULE, local(2026, 11, 2, 9, 0)) == [
        ("weekly", "2026-W44"), ("monthly", "2026-10")]
    # Sunday 1 November 08:00: October's report is not due before 09:00.
    assert due_periods(DEFAULT_SCHEDULE, local(2026, 11, 1, 8, 0)) == [
        ("weekly", "2026-W43"), ("monthly", "2026-09")]
    # New Year: the Monday of 2026-W01 is 29 December 2025.
    assert due_periods(DEFAULT_SCHEDULE, local(2025, 12, 29, 9, 30))[0] == ("weekly",
                                                                           "2025-W52")
    later = Schedule(weekly=False, hour=18, minute=30)
    assert due_periods(later, local(2026, 12, 1, 18, 29)) == [("monthly", "2026-10")]
    assert due_periods(later, local(2026, 12, 1, 18, 30)) == [("monthly", "2026-11")]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """The reports handed to the channels: (kind, period, lang)."""
    from storeops.alerts import delivery

    calls: list[tuple[str, str, str]] = []

    def enqueue_report(session: Any, report: Report) -> int:
        assert report.id is not None and Path(report.xlsx_path).is_file()
        calls.append((report.kind, report.period, report.lang))
        return 1

    monkeypatch.setattr(delivery, "enqueue_report", enqueue_report)
    return calls


def built(db_url: str) -> list[tuple[str, str, str, str | None]]:
    with unit_of_work(db_url) as s:
        return sorted((r.kind, r.period, r.status, r.built_by)
                      for r in s.scalars(select(Report)))


def test_monday_and_first_build_once(sqlite_db_url: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     sent: list[tuple[str, str, str]]) -> None:
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    store_id = seed_store(sqlite_db_url, users=False)
    with unit_of_work(sqlite_db_url) as s:  # the default times, without the (slow) PDF
        s.add(ReportSchedule(store_id=store_id, pdf=False))
    # Sunday 1 November 2026 09:00 Shanghai (01:00 UTC): October's report.
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 1, 0, 59, tzinfo=UTC)) == 2
    assert sent == [("weekly", "2026-W43", "zh-CN"), ("monthly", "2026-09", "zh-CN")]
    sent.clear()
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 1, 1, 0, tzinfo=UTC)) == 1
    assert sent == [("monthly", "2026-10", "zh-CN")]
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 1, 1, 5, tzinfo=UTC)) == 0
    # Monday 2 November 09:00 Shanghai: last week's (26 October to 1 November).
    sent.clear()
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 2, 0, 59, tzinfo=UTC)) == 0
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 2, 1, 0, tzinfo=UTC)) == 1
    assert sent == [("weekly", "2026-W44", "zh-CN")]
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 2, 1, 1, tzinfo=UTC)) == 0
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 2, 8, 0, tzinfo=UTC)) == 0
    assert sent == [("weekly", "2026-W44", "zh-CN")]
    rows = built(sqlite_db_url)
    assert [(k, p) for k, p, _, _ in rows] == [
        ("monthly", "2026-09"), ("monthly", "2026-10"), ("weekly", "2026-W43"),
        ("weekly", "2026-W44")]
    assert {(st, by) for _, _, st, by in rows} == {("built", "schedule")}
    with unit_of_work(sqlite_db_url) as s:
        report = s.scalars(select(Report).where(Report.period == "2026-W44")).one()
        assert Path(report.xlsx_path).is_file() and report.pdf_path is None
        assert report.built_at.date() == date(2026, 11, 2)


def test_schedule_settings_and_store_time(sqlite_db_url: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          sent: list[tuple[str, str, str]]) -> None:
    from storeops.catalog.models import Store

    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    store_id = seed_store(sqlite_db_url, users=False)
    with unit_of_work(sqlite_db_url) as s:
        s.get(Store, store_id).timezone = "Europe/London"
        s.add(ReportSchedule(store_id=store_id, weekly=True, monthly=False, hour=7,
                             minute=30, lang="en", pdf=False))
    # 07:29 in London on Monday 2 November (GMT): the week before the previous Monday.
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 2, 7, 29, tzinfo=UTC)) == 1
    assert sent == [("weekly", "2026-W43", "en")]
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 2, 7, 30, tzinfo=UTC)) == 1
    assert sent[-1] == ("weekly", "2026-W44", "en")
    assert run_due_reports(sqlite_db_url, datetime(2026, 11, 2, 7, 31, tzinfo=UTC)) == 0


def test_a_failed_build_is_recorded_and_retried_later(
        sqlite_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        sent: list[tuple[str, str, str]]) -> None:
    import storeops.reports.service as service

    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    store_id = seed_store(sqlite_db_url, users=False)
    with unit_of_work(sqlite_db_url) as s:
        s.add(ReportSchedule(store_id=store_id, monthly=False, pdf=False))
    real = service.build_report

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(service, "build_report", broken)
    moment = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert run_due_reports(sqlite_db_url, moment) == 0
    assert built(sqlite_db_url) == [("weekly", "2026-W44", "failed", "schedule")]
    assert sent == []
    monkeypatch.setattr(service, "build_report", real)
    assert run_due_reports(sqlite_db_url, moment.replace(minute=30)) == 0  # not yet
    assert run_due_reports(sqlite_db_url, moment.replace(hour=2)) == 1
    assert built(sqlite_db_url) == [("weekly", "2026-W44", "built", "schedule")]
    assert jobs.RETRY_AFTER.total_seconds() == 3600
