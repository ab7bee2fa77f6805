"""What the demo store's team would find on its first morning: the default alert rules checked
as of 09:00 the day after the simulation ends, or now for a demo that reaches today (the
overview's open alerts, the alert pages and the inbox have something to show), and next year's
GMV plan (the targets page), 20% over the last 365 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from storeops.common.timeutil import utcnow

GROWTH = Decimal("1.2")
TEN_THOUSAND = Decimal(10000)  # plans are round numbers of 万


@dataclass(frozen=True)
class DemoWatch:
    alerts: int
    plan_year: int
    plan_gmv: Decimal


def seed_demo_watch(db_url: str, store_id: int, last_day: date,
                    timezone: str = "Asia/Shanghai") -> DemoWatch:
    from storeops.alerts.service import check_store
    from storeops.metrics.service import kpi_summary
    from storeops.metrics.target_plan_store import make_plan

    # A demo that reaches today holds only its hours gone by: check as of now, whose last closed
    # day is yesterday, not as of tomorrow morning (today's few hours would look like a crash).
    as_of = min(datetime.combine(last_day + timedelta(days=1), time(9), ZoneInfo(timezone)),
                utcnow())
    raised = check_store(db_url, store_id, as_of, actor="demo")
    year_gmv = Decimal(str(kpi_summary(db_url, store_id, last_day - timedelta(days=364),
                                       last_day)["gmv"] or 0))
    gmv = max(TEN_THOUSAND, (year_gmv * GROWTH / TEN_THOUSAND).quantize(
        Decimal(1), ROUND_HALF_UP) * TEN_THOUSAND)
    today = as_of.astimezone(ZoneInfo(timezone)).date()
    make_plan(db_url, store_id, last_day.year + 1, gmv, today=today, by_category=True,
              actor="demo")
    return DemoWatch(alerts=len(raised.raised), plan_year=last_day.year + 1, plan_gmv=gmv)
