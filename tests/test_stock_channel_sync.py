"""Channel sync on the database: which listings to push, delisting at 0, relisting on
restock, and what a push records."""

from __future__ import annotations

import pytest
from stock_support import make_order, make_store

from storeops.db.engine import unit_of_work
from storeops.inventory import channel_sync as sync
from storeops.inventory import service as stock


def _plan(session, sid, channel="jd"):
    return {lst.product_id: (lst.wanted_qty, lst.listed)
            for lst in sync.plan_channel_sync(session, sid, channel)}


def test_plan_push_delist_relist(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.receive(s, sid, "A", 10, actor="u")
        stock.receive(s, sid, "B", 1, actor="u")
        sync.set_channel_share(s, sid, "jd", 80, buffer=1)
        plan = sync.plan_channel_sync(s, sid, "jd")
        assert [(lst.wanted_qty, lst.listed) for lst in plan] == [(7, True), (0, False)]
        for lst in plan:
            sync.mark_pushed(s, lst, lst.wanted_qty)
        assert sync.plan_channel_sync(s, sid, "jd") == []  # nothing changed since
        order = make_order(s, sid, {"A": 5})
        stock.reserve_order(s, order, actor="api")
        [a] = sync.plan_channel_sync(s, sid, "jd")
        assert (a.wanted_qty, a.listed, a.published_qty) == (3, True, 7)
        sync.mark_pushed(s, a, 3, error="gateway timeout")
        assert (a.published_qty, a.error) == (7, "gateway timeout")
        assert [x.id for x in sync.plan_channel_sync(s, sid, "jd")] == [a.id]  # still due
        sync.mark_pushed(s, a, 3)
        assert (a.published_qty, a.error) == (3, None) and a.pushed_at is not None
        stock.receive(s, sid, "B", 4, actor="u")  # restocked: relisted
        [b] = sync.plan_channel_sync(s, sid, "jd")
        assert (b.wanted_qty, b.listed) == (3, True)  # 5 × 80% − 1


def test_listings_to_push_defaults_to_jd_and_bad_share_is_refused(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.receive(s, sid, "A", 3, actor="u")
        [lst] = sync.listings_to_push(s, sid)
        assert (lst.channel, lst.wanted_qty, lst.published_qty) == ("jd", 3, None)
        with pytest.raises(stock.StockError, match="share"):
            sync.set_channel_share(s, sid, "jd", 120)
