"""Monthly targets and their progress."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from test_metric_facts import Facts

from storeops.common.errors import StoreopsError
from storeops.db.engine import unit_of_work
from storeops.metrics.targets import TARGET_METRICS, get_targets, set_target, target_progress


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))


def test_set_replace_and_get(db_url: str) -> None:
    f = Facts(db_url)
    with unit_of_work(db_url) as s:
        set_target(s, f.store_id, "2024-04", "gmv", Decimal("3000"))
        set_target(s, f.store_id, "2024-04", "conversion_rate", Decimal("0.03"))
        set_target(s, f.store_id, "2024-04", "gmv", Decimal("4500.50"))  # replaces
        set_target(s, f.store_id, "2024-05", "uv", Decimal("10"))
    with unit_of_work(db_url) as s:
        assert get_targets(s, f.store_id, "2024-04") == {
            "gmv": Decimal("4500.50"), "conversion_rate": Decimal("0.03"),
        }
        assert get_targets(s, f.store_id, "2024-06") == {}


@pytest.mark.parametrize(
    ("month", "metric", "value"),
    [("2024-4", "gmv", 1), ("April", "gmv", 1), ("2024-04", "roas", 1),
     ("2024-04", "gmv", -1), ("2024-04", "conversion_rate", 3), ("2024-04", "uv", "1.5"),
     ("2024-04", "aov", "abc")],
)
def test_invalid_targets_are_refused(db_url: str, month: str, metric: str, value) -> None:  # noqa: ANN001
    f = Facts(db_url)
    with pytest.raises(StoreopsError), unit_of_work(db_url) as s:
        set_target(s, f.store_id, month, metric, value)


def test_progress_month_to_date(db_url: str) -> None:
    f = Facts(db_url)
    p = f.product("P")
    f.order("2024-04-01 10:00", [(p, 1, 10000)])
    f.order("2024-04-10 10:00", [(p, 1, 20000)])
    f.order("2024-04-20 10:00", [(p, 1, 99900)])  # after as_of: not counted
    f.traffic("2024-04-02", p, uv=1000)
    with unit_of_work(db_url) as s:
        set_target(s, f.store_id, "2024-04", "gmv", Decimal("600"))
        set_target(s, f.store_id, "2024-04", "uv", Decimal("3000"))
        set_target(s, f.store_id, "2024-04", "aov", Decimal("100"))
    r = target_progress(db_url, f.store_id, "2024-04", date(2024, 4, 10))
    assert r["days_elapsed"] == 10 and r["days_in_month"] == 30
    gmv = r["metrics"]["gmv"]
    assert gmv["actual"] == Decimal("300.00") and gmv["achievement"] == 0.5
    assert gmv["expected_to_date"] == Decimal("200.00") and gmv["pace"] == 1.5
    uv = r["metrics"]["uv"]
    assert uv["actual"] == 1000 and uv["expected_to_date"] == 1000 and uv["pace"] == 1.0
    aov = r["metrics"]["aov"]
    assert aov["actual"] == Decimal("150.00") and aov["achievement"] == 1.5
    conv = r["metrics"]["conversion_rate"]
    assert conv["target"] is None and conv["achievement"] is None
    assert conv["actual"] == 0.002
    assert set(r["metrics"]) == set(TARGET_METRICS)


def test_progress_before_the_month_starts(db_url: str) -> None:
    f = Facts(db_url)
    with unit_of_work(db_url) as s:
        set_target(s, f.store_id, "2024-04", "gmv", Decimal("600"))
    r = target_progress(db_url, f.store_id, "2024-04", date(2024, 3, 20))
    assert r["days_elapsed"] == 0
    assert r["metrics"]["gmv"]["actual"] == Decimal("0.00")
    assert r["metrics"]["gmv"]["achievement"] == 0.0
    assert r["metrics"]["gmv"]["pace"] is None
