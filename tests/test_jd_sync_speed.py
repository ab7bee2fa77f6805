"""The JD sync's fast paths read exactly what the general ones read (issue 7, speed)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from storeops.connectors.jd.mapping import parse_jd_time, parse_money
from storeops.connectors.jd.signing import CHINA


@pytest.mark.parametrize("text", [
    "2026-12-04 08:01:30", "2026-01-01 00:00:00", "2024-02-29 23:59:59", "1992-01-01 00:00:00",
])
def test_a_plain_china_time_is_read_as_the_time_zone_reads_it(text: str) -> None:
    expected = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    got = parse_jd_time(text)
    assert got == expected and got.tzinfo is UTC
    # 2026-12-04 08:01:30 in Beijing is 00:01:30 UTC (8 hours ahead)
    if text == "2026-12-04 08:01:30":
        assert got == datetime(2026, 12, 4, 0, 1, 30, tzinfo=UTC)


def test_a_time_from_chinas_daylight_saving_years_keeps_its_offset() -> None:
    # 1991-07-01 12:00 was daylight saving time in China (UTC+9): 03:00 UTC, not 04:00
    assert parse_jd_time("1991-07-01 12:00:00") == datetime(1991, 7, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-02-30 00:00:00", "2026-13-01 08:00:00",
                                  "2026-12-04 24:00:00", "2026-12-04 08:01:3x"])
def test_an_impossible_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_jd_time(text)


@pytest.mark.parametrize(("text", "amount"), [
    ("199.00", Decimal("199.00")), ("0", Decimal("0")), ("12.5", Decimal("12.5")),
    ("99999999.99", Decimal("99999999.99")), ("1,299.00", Decimal("1299.00")),
    (" 3.10 ", Decimal("3.10")), ("100000000.00", Decimal("100000000")),
])
def test_plain_amounts_read_as_before(text: str, amount: Decimal) -> None:
    assert parse_money(text) == amount


@pytest.mark.parametrize("text", ["-1.00", "1.005", "100000000.01", "abc", "NaN", "1.2.3"])
def test_amounts_that_are_not_money_are_still_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text)


# --- ids given before the INSERT (SQLite, under the write lock) --------------------------------

def _statements(db_url: str) -> list[tuple[str, int]]:
    """(statement's first words, rows) of every statement the engine sends from now on."""
    from sqlalchemy import event

    from storeops.db.engine import get_engine

    sent: list[tuple[str, int]] = []

    def listen(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # noqa: ANN001
        sent.append((" ".join(statement.split()[:3]), len(parameters) if executemany else 1))

    event.listen(get_engine(db_url), "before_cursor_execute", listen)
    return sent


def _store(db_url: str) -> int:
    from storeops.catalog.stores import get_or_create_store
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        store, _ = get_or_create_store(session, "s1", timezone="Asia/Shanghai", currency="CNY")
        return store.id


def test_new_rows_get_the_next_ids_and_go_as_one_batch(sqlite_db_url: str) -> None:
    from sqlalchemy import insert, select

    from storeops.db.engine import unit_of_work
    from storeops.db.preassigned_ids import preassign_sqlite_ids
    from storeops.inventory.locking import lock_for_stock_write
    from storeops.members.models import Customer

    store_id = _store(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as session:
        session.add(Customer(store_id=store_id, platform_account="old"))  # id 1, by SQLite
    sent = _statements(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as session:
        lock_for_stock_write(session)
        preassign_sqlite_ids(session)
        first = [Customer(store_id=store_id, platform_account=f"a{n}") for n in range(5)]
        session.add_all(first)
        session.flush()
        # a Core insert between two flushes takes id 7; the next ORM rows start after it
        session.execute(insert(Customer.__table__).values(store_id=store_id,
                                                          platform_account="core"))
        second = [Customer(store_id=store_id, platform_account=f"b{n}") for n in range(3)]
        session.add_all(second)
        session.flush()
    assert [c.id for c in first] == [2, 3, 4, 5, 6]  # after "old" (1), in the order added
    assert [c.id for c in second] == [8, 9, 10]
    inserts = [(words, rows) for words, rows in sent if words.startswith("INSERT INTO customers")]
    assert inserts == [("INSERT INTO customers", 5), ("INSERT INTO customers", 1),
                       ("INSERT INTO customers", 3)]  # a batch per flush, not a row each
    with unit_of_work(sqlite_db_url) as session:
        stored = dict(session.execute(select(Customer.platform_account, Customer.id)).all())
    assert stored == {"old": 1, "a0": 2, "a1": 3, "a2": 4, "a3": 5, "a4": 6, "core": 7,
                      "b0": 8, "b1": 9, "b2": 10}


def test_without_the_write_lock_sqlite_chooses_the_ids(sqlite_db_url: str) -> None:
    from storeops.db.engine import unit_of_work
    from storeops.db.preassigned_ids import preassign_sqlite_ids
    from storeops.members.models import Customer

    store_id = _store(sqlite_db_url)
    sent = _statements(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as session:
        preassign_sqlite_ids(session)  # no lock_for_stock_write: another writer could race
        rows = [Customer(store_id=store_id, platform_account=f"a{n}") for n in range(3)]
        session.add_all(rows)
        session.flush()
    assert sorted(c.id for c in rows) == [1, 2, 3]
    inserts = [words for words, _rows in sent if words.startswith("INSERT INTO customers")]
    assert len(inserts) == 3  # the ORM's own way: one INSERT … RETURNING per row


# --- the prefetch thread ----------------------------------------------------------------------

def test_a_failure_in_the_prefetch_thread_stops_the_sync_after_the_committed_pages(
        sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from datetime import timedelta

    from sqlalchemy import func, select

    from storeops.common.timeutil import utcnow
    from storeops.connectors.jd import sync as jd_sync
    from storeops.connectors.jd.client import RetryPolicy
    from storeops.connectors.jd.models import JdConnection
    from storeops.connectors.jd.simulator import (
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_APP_KEY,
        DEFAULT_APP_SECRET,
        JosSimulator,
    )
    from storeops.db.engine import unit_of_work
    from storeops.orders.models import Order, OrderLine

    monkeypatch.setattr(jd_sync, "SYNC_RETRY", RetryPolicy(3, 0.001, 0.01))
    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    now = utcnow()
    with JosSimulator(seed=5) as sim:
        sim.generate(250, now - timedelta(hours=5), now - timedelta(hours=1))  # 3 pages
        search = sim._search

        def token_expires_once_page_2_is_served(params):  # noqa: ANN001, ANN202
            answer = search(params)
            if str(params.get("page")) == "2":
                sim.expire_token()  # page 3, fetched while page 2 is written, is refused
            return answer

        sim._search = token_expires_once_page_2_is_served
        jd_sync.connect_store(sqlite_db_url, "s1", app_key=DEFAULT_APP_KEY,
                              app_secret=DEFAULT_APP_SECRET, access_token=DEFAULT_ACCESS_TOKEN,
                              gateway=sim.url)
        with pytest.raises(jd_sync.SyncError, match="refused the credentials of store 's1'"):
            jd_sync.sync_store(sqlite_db_url, "s1", since=now - timedelta(hours=6))
    assert not [t for t in threading.enumerate() if t.name.startswith("jd-prefetch")]
    with unit_of_work(sqlite_db_url) as session:
        orders = session.scalar(select(func.count()).select_from(Order))
        lines = session.scalar(select(func.count(func.distinct(OrderLine.order_id))))
        conn = session.scalars(select(JdConnection)).one()
    # pages 1 and 2 (100 orders each) were committed; nothing of page 3; the window was not
    # finished, so the resume point did not move
    assert orders == 200 and lines == 200
    assert conn.synced_until is None and "Invalid access_token" in conn.last_error


# --- the simulator's pre-rendered pages -------------------------------------------------------

def test_a_search_page_sent_from_rendered_orders_is_the_answer_itself() -> None:
    import json
    from datetime import timedelta

    from storeops.common.timeutil import utcnow
    from storeops.connectors.jd.signing import jd_timestamp, param_json, signed_params
    from storeops.connectors.jd.simulator import (
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_APP_KEY,
        DEFAULT_APP_SECRET,
        JosSimulator,
        encode_answer,
    )

    now = utcnow()
    sim = JosSimulator(seed=3)
    keys = sim.generate(30, now - timedelta(hours=3), now - timedelta(hours=1))

    def search(fields: str) -> tuple[dict, dict]:
        business = param_json({"start_date": jd_timestamp(now - timedelta(hours=4)),
                               "end_date": jd_timestamp(now), "page": "1", "page_size": "20",
                               "optional_fields": fields})
        status, answer = sim.handle(signed_params(
            "jingdong.pop.order.search", DEFAULT_APP_KEY, DEFAULT_ACCESS_TOKEN, business,
            DEFAULT_APP_SECRET, jd_timestamp(utcnow())))
        assert status == 200
        return answer, json.loads(encode_answer(answer))

    answer, sent = search("orderId,orderState,modified,consigneeInfo")
    assert sent == answer  # the same JSON as the answer encoded whole
    result = sent["jingdong_pop_order_search_responce"]["searchorderinfo_result"]
    assert result["orderTotal"] == 30 and len(result["orderInfoList"]) == 20
    assert set(result["orderInfoList"][0]) == {"orderId", "orderState", "modified",
                                               "consigneeInfo"}
    # other fields asked for: rendered again; a changed order: sent as it is now
    first = result["orderInfoList"][0]["orderId"]
    assert first == keys[0]
    sim.update_order(first, orderState="TRADE_CANCELED", modified=now - timedelta(hours=2))
    answer, sent = search("orderId,orderState")
    assert sent == answer
    infos = sent["jingdong_pop_order_search_responce"]["searchorderinfo_result"][
        "orderInfoList"]
    assert {"orderId": first, "orderState": "TRADE_CANCELED"} in infos
    assert all(set(info) == {"orderId", "orderState"} for info in infos)
