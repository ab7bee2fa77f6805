"""The robust anomaly check (storeops.alerts.anomaly): pure cases, and on a small simulated
demo store no alert on a normal week and alerts through a week with a 40% drop of GMV and
visitors."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from storeops.alerts.anomaly import DEFAULT_SENSITIVITY, Anomaly, detect
from storeops.alerts.figures import Point

START = date(2026, 1, 5)  # a Monday


def _days(values: list[float | None], start: date = START) -> list[Point]:
    return [Point((start + timedelta(days=i)).isoformat(),
                  None if v is None else Decimal(str(v))) for i, v in enumerate(values)]


def _weeks(week: list[float], n: int, last: float | None) -> list[Point]:
    """``n`` weeks of the same seven values, then one more day (a Monday) worth ``last``."""
    return _days(week * n + [last])


WEEK = [100, 96, 104, 100, 110, 180, 170]  # weekends busier


def test_a_value_in_line_with_its_weekday_is_not_an_anomaly() -> None:
    found = detect(_weeks(WEEK, 8, 98), DEFAULT_SENSITIVITY)
    # Every past week the same: no spread but the floor (5% of the baseline).
    assert found == Anomaly(False, Decimal(100), found.score, "down", Decimal("5.00"), 8)
    assert found.score == pytest.approx(-0.4)


def test_the_baseline_is_the_same_weekday_not_the_day_before() -> None:
    # A Saturday at Saturday level (180) is normal, though it is far above Friday (110).
    saturday = _days(WEEK * 8 + WEEK[:5] + [180])
    assert detect(saturday).is_anomaly is False
    assert detect(saturday).baseline == Decimal(180)
    # A Saturday at a weekday's level is a drop.
    quiet = _days(WEEK * 8 + WEEK[:5] + [100])
    found = detect(quiet)
    assert found.is_anomaly and found.direction == "down" and found.baseline == Decimal(180)


def test_a_flat_series_does_not_fire_on_noise_but_fires_on_a_real_drop() -> None:
    # Every past Monday exactly 100: the MAD is 0, the floor (5% of the baseline) holds.
    assert detect(_weeks(WEEK, 6, 97)).is_anomaly is False
    assert detect(_weeks(WEEK, 6, 86)).is_anomaly is False  # z = -2.8 < 3.0
    dropped = detect(_weeks(WEEK, 6, 60))  # a 40% drop: z = -8.0
    assert dropped.is_anomaly and dropped.score == pytest.approx(-8.0)
    assert dropped.direction == "down"


def _scaled_weeks(factors: list[float], last: float | None) -> list[Point]:
    """Weeks of WEEK, each scaled by its factor, then a Monday worth ``last``."""
    values: list[float | None] = [round(v * f, 6) for f in factors for v in WEEK]
    return _days(values + [last])


FACTORS = [1.0, 0.8, 1.2, 1.0, 0.9, 1.1, 1.0, 1.0]  # every weekday's median: its WEEK value


def test_the_spread_is_the_scaled_mad_of_every_day_against_its_weekday() -> None:
    # Each day's residual is its week's factor less 1: [0, -.2, .2, 0, -.1, .1, 0, 0] for
    # every weekday; their median is 0 and the median absolute deviation 0.05.
    found = detect(_scaled_weeks(FACTORS, 70))
    assert found.baseline == Decimal(100)
    assert found.spread == Decimal("0.05") * Decimal("1.4826") * 100
    assert found.score == pytest.approx(-30 / 7.413, abs=1e-4)
    assert found.is_anomaly
    assert detect(_scaled_weeks(FACTORS, 80)).is_anomaly is False  # z = -2.7
    # Saturdays (180) are judged on the same relative scale: 7.413% of 180.
    saturday = _days([round(v * f, 6) for f in FACTORS for v in WEEK] + WEEK[:5] + [130])
    sat = detect(saturday)
    assert sat.baseline == Decimal(180) and sat.is_anomaly
    assert sat.score == pytest.approx(-50 / (0.074130 * 180), abs=1e-3)


def test_one_past_outlier_does_not_move_the_baseline() -> None:
    history = WEEK * 3 + [400] + WEEK[1:] + WEEK * 4  # a campaign Monday three weeks in
    assert detect(_days(history + [100])).baseline == Decimal(100)
    assert detect(_days(history + [100])).is_anomaly is False


def test_sensitivity_is_the_threshold_in_robust_z() -> None:
    points = _weeks(WEEK, 8, 87.5)  # z = -2.5
    assert detect(points, 2.5).is_anomaly
    assert not detect(points, 2.6).is_anomaly
    assert not detect(points).is_anomaly  # the default, 3.0
    assert detect(_weeks(WEEK, 8, 85)).is_anomaly  # z = -3.0
    assert DEFAULT_SENSITIVITY == 3.0
    with pytest.raises(ValueError, match="sensitivity"):
        detect(points, 0)


def test_watch_one_direction() -> None:
    up = _weeks(WEEK, 8, 160)
    assert detect(up).is_anomaly and detect(up).direction == "up"
    assert not detect(up, watch="down").is_anomaly
    assert detect(up, watch="up").is_anomaly
    down = _weeks(WEEK, 8, 40)
    assert detect(down, watch="down").is_anomaly and not detect(down, watch="up").is_anomaly


def test_too_little_history_or_no_value_is_never_an_anomaly() -> None:
    short = _weeks(WEEK, 3, 0)
    found = detect(short)
    assert found == Anomaly(False, None, None, None, None, 3)
    missing = detect(_weeks(WEEK, 8, None))
    assert not missing.is_anomaly and missing.baseline == Decimal(100) and missing.score is None
    assert detect([]) == Anomaly(False, None, None, None)
    # Mondays without a value do not count as history.
    holes = _days(([None] + WEEK[1:]) * 5 + WEEK * 3 + [10])
    assert detect(holes).history == 3 and not detect(holes).is_anomaly
    # Everything zero: nothing to judge a change against.
    zeros = detect(_days([0] * 56 + [5]))
    assert not zeros.is_anomaly and zeros.direction == "up"


def test_days_are_read_by_their_dates_and_bare_values_as_consecutive_days() -> None:
    points = _weeks(WEEK, 8, 50)
    assert detect(points).is_anomaly
    gappy = [p for i, p in enumerate(points) if i % 7 == 0]  # only the Mondays
    assert detect(gappy).baseline == Decimal(100) and detect(gappy).is_anomaly
    bare = [p.value for p in points]
    assert detect(bare) == detect(points)
    pairs = [(p.period, p.value) for p in points]
    assert detect(pairs) == detect(points)


# --- on a simulated store -----------------------------------------------------------------

END = date(2026, 3, 22)  # a Sunday: the checked week is 03-16 .. 03-22
WEEK_FIRST = END - timedelta(days=6)


@pytest.fixture(scope="module")
def demo_days() -> dict[str, list[Point]]:
    """The demo store's daily GMV and UV as storeops counts them (the simulator's
    ``daily_figures``, which tests/test_sim_writer.py holds equal to the written store's KPI
    figures): 9 weeks of a normal store whose 店庆 event lies weeks before the checked week.
    Generated in memory: no database, a couple of seconds."""
    from storeops.sim.model import SimConfig, daily_figures, generate_store

    store = generate_store(SimConfig(end=END, days=63, seed=11, skus=12))
    assert store.event.last < WEEK_FIRST - timedelta(days=14)
    found = daily_figures(store)
    days = sorted(found)
    assert days[-1] == END and len(days) == 63
    return {
        "gmv": [Point(d.isoformat(), Decimal(found[d].gmv_cents) / 100) for d in days],
        "uv": [Point(d.isoformat(), Decimal(found[d].uv)) for d in days],
    }


def _flagged_days(points: list[Point]) -> list[str]:
    """The days of the last week a daily check (drops watched, default sensitivity) flags."""
    return [points[i].period for i in range(len(points) - 7, len(points))
            if detect(points[:i + 1], watch="down").is_anomaly]


def _dropped(points: list[Point], share: str) -> list[Point]:
    return [Point(p.period, p.value * (1 - Decimal(share)))
            if p.period >= WEEK_FIRST.isoformat() else p for p in points]


def test_no_alert_on_a_normal_week(demo_days: dict[str, list[Point]]) -> None:
    assert _flagged_days(demo_days["gmv"]) == []
    assert _flagged_days(demo_days["uv"]) == []


def test_alerts_through_a_week_with_a_40_percent_drop(
    demo_days: dict[str, list[Point]],
) -> None:
    week = [(WEEK_FIRST + timedelta(days=i)).isoformat() for i in range(7)]
    # Visitors are steady, so a 40% fall is flagged on every day of the week. Sales are
    # noisier (a few big orders move a day's GMV by 10-15%): most days are, the first one too.
    assert _flagged_days(_dropped(demo_days["uv"], "0.4")) == week
    gmv = _flagged_days(_dropped(demo_days["gmv"], "0.4"))
    assert gmv[0] == week[0] and set(gmv) <= set(week) and len(gmv) >= 5, gmv
    # A 10% dip of sales is within their normal noise: no alert.
    assert _flagged_days(_dropped(demo_days["gmv"], "0.1")) == []
