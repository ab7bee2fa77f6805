"""Flash sales (秒杀): the quota taken atomically in Redis (or by the database's conditional
update without it), orders at the flash price, per-buyer limits, quota given back by failed and
unpaid orders, reconciliation, and `storeops flash` on the command line."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from channel_seed import STORE, auth, order_body, seed_channel_store, stock_of
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_seed import fast_hashing, run_cli  # noqa: F401

from storeops.accounts.models import User
from storeops.api.app import create_app
from storeops.catalog.models import Store
from storeops.common.timeutil import utcnow
from storeops.db.engine import unit_of_work
from storeops.inventory import flash
from storeops.inventory.models import FlashClaim, FlashSale
from storeops.orders import channel
from storeops.orders.models import Order

pytestmark = pytest.mark.usefixtures("fast_hashing")
REDIS_URL = "redis://127.0.0.1:6379/13"  # a database number of these tests' own


def _redis_client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)


@contextmanager
def own_redis(monkeypatch: pytest.MonkeyPatch, name: str) -> Iterator[None]:
    """STOREOPS_REDIS_URL with a key prefix of this test's own (its keys removed
    afterwards); skips the test when no Redis answers."""
    try:
        client = _redis_client()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - no server: say why
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"test-{name}-{uuid.uuid4().hex[:10]}:"
    monkeypatch.setenv(flash.ENV_REDIS_URL, REDIS_URL)
    monkeypatch.setenv(flash.ENV_REDIS_PREFIX, prefix)
    try:
        yield
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        flash.clear_cache()


@pytest.fixture(params=["redis", "db"])
def quota_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
               ) -> Iterator[str]:
    """The quota taken in Redis (a key prefix of this test's own, removed afterwards), or by
    the database's conditional update (no STOREOPS_REDIS_URL)."""
    flash.clear_cache()
    if request.param == "db":
        monkeypatch.delenv(flash.ENV_REDIS_URL, raising=False)
        yield "db"
        return
    with own_redis(monkeypatch, "flash"):
        yield "redis"


@pytest.fixture
def shop(db_url: str, quota_path: str) -> dict[str, Any]:
    info = seed_channel_store(db_url, stock={"A1": 40, "B2": 1})
    return {"url": db_url, "path": quota_path, **info}


def _sale(shop: dict[str, Any], sku: str = "A1", qty: int = 5, price: str = "99",
          per_buyer: int | None = 1) -> int:
    now = datetime.now(UTC)
    with unit_of_work(shop["url"]) as s:
        store = s.scalar(select(Store).where(Store.name == STORE))
        sale = flash.create_flash_sale(s, store, sku, qty, Decimal(price),
                                       now - timedelta(minutes=1), now + timedelta(hours=1),
                                       per_buyer)
        return sale.id


def _body(buyer: str, sku: str = "A1", qty: int = 1, **kw: Any) -> dict[str, Any]:
    body = order_body(lines=[{"sku": sku, "qty": qty, "price": "199"}], **kw)
    body["buyer"]["account"] = buyer
    return body


def _sold(url: str, sale_id: int) -> tuple[int, int]:
    """(the sale's sold, the units of its standing claims)."""
    with unit_of_work(url) as s:
        sold = s.scalar(select(FlashSale.sold).where(FlashSale.id == sale_id))
        claimed = s.scalar(select(func.coalesce(func.sum(FlashClaim.quantity), 0)).where(
            FlashClaim.flash_sale_id == sale_id, FlashClaim.state.in_(("held", "sold"))))
        return int(sold), int(claimed)


def _redis_left(shop: dict[str, Any], sale_id: int) -> int | None:
    if shop["path"] != "redis":
        return None
    with unit_of_work(shop["url"]) as s:
        sale = s.get(FlashSale, sale_id)
        value = _redis_client().get(flash.redis_keys(s, sale)[0])
    return None if value is None else int(value)


@pytest.fixture
def api(shop: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(shop["url"], secret_key="test-secret")) as c:
        yield c


def test_flash_price_per_buyer_limit_and_sold_out(api: TestClient, shop: dict[str, Any]) -> None:
    sale_id = _sale(shop, qty=2, per_buyer=1)
    token = shop["tokens"]["integration"]
    first = _body("alice")
    r = api.post("/api/v1/orders", json=first, headers=auth(token, "a1"))
    assert r.status_code == 201, r.text
    line = r.json()["lines"][0]
    assert (line["price"], line["amount"], line["flash_sale_id"]) == ("99.00", "99.00", sale_id)
    r = api.post("/api/v1/orders", json=_body("alice"), headers=auth(token, "a2"))
    assert r.status_code == 409 and r.json()["error"] == "flash_buyer_limit"
    assert r.json()["per_buyer"] == 1
    assert api.post("/api/v1/orders", json=_body("bob"), headers=auth(token, "b1")
                    ).status_code == 201
    r = api.post("/api/v1/orders", json=_body("carol"), headers=auth(token, "c1"))
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "flash_sold_out"
    assert r.json()["skus"] == [{"sku": "A1", "requested": 1, "available": 0}]
    assert _sold(shop["url"], sale_id) == (2, 2)
    assert _redis_left(shop, sale_id) in (0, None)
    # the replay of a flash order still answers its first answer, sold out or not
    again = api.post("/api/v1/orders", json=first, headers=auth(token, "a1"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    # a SKU outside any sale keeps the price sent
    r = api.post("/api/v1/orders", json=_body("dave", sku="B2"), headers=auth(token, "d1"))
    assert r.status_code == 201 and r.json()["lines"][0]["price"] == "199.00"


def test_a_failed_order_gives_its_quota_back(api: TestClient, shop: dict[str, Any]) -> None:
    """Quota 3 of a SKU with 1 unit in stock: the second buyer is out of stock (409), and the
    unit of quota it took comes back."""
    sale_id = _sale(shop, sku="B2", qty=3, per_buyer=None)
    token = shop["tokens"]["integration"]
    assert api.post("/api/v1/orders", json=_body("x", sku="B2"),
                    headers=auth(token, "x")).status_code == 201
    r = api.post("/api/v1/orders", json=_body("y", sku="B2"), headers=auth(token, "y"))
    assert r.status_code == 409 and r.json()["error"] == "out_of_stock"
    assert _sold(shop["url"], sale_id) == (1, 1)
    if shop["path"] == "redis":
        assert _redis_left(shop, sale_id) == 2
    with unit_of_work(shop["url"]) as s:
        assert flash.reconcile(s, sale_id).sold == 1


def test_unpaid_flash_order_returns_its_quota_when_it_expires(
        api: TestClient, shop: dict[str, Any]) -> None:
    from storeops.orders.expiry import expire_unpaid

    sale_id = _sale(shop, qty=1, per_buyer=1)
    token = shop["tokens"]["integration"]
    r = api.post("/api/v1/orders", json=_body("slow", paid=False), headers=auth(token, "s"))
    assert r.status_code == 201
    assert api.post("/api/v1/orders", json=_body("fast"),
                    headers=auth(token, "f")).json()["error"] == "flash_sold_out"
    with unit_of_work(shop["url"]) as s:
        claim = s.scalar(select(FlashClaim).where(FlashClaim.flash_sale_id == sale_id))
        assert claim.state == "held"
        assert expire_unpaid(s, utcnow() + timedelta(hours=1)) == 1
    assert _sold(shop["url"], sale_id) == (0, 0)
    flash.clear_cache()  # this process remembered "sold out" for a moment
    r = api.post("/api/v1/orders", json=_body("fast"), headers=auth(token, "f2"))
    assert r.status_code == 201, r.text
    # the buyer whose order expired may buy again
    r = api.post("/api/v1/orders", json=_body("slow"), headers=auth(token, "s2"))
    assert r.status_code == 409 and r.json()["error"] == "flash_sold_out"


def test_paid_later_flash_order_keeps_its_units(api: TestClient, shop: dict[str, Any]) -> None:
    sale_id = _sale(shop, qty=2)
    token = shop["tokens"]["integration"]
    order_id = api.post("/api/v1/orders", json=_body("p", paid=False),
                        headers=auth(token, "p")).json()["id"]
    assert api.post(f"/api/v1/orders/{order_id}/pay", headers=auth(token)).status_code == 200
    with unit_of_work(shop["url"]) as s:
        assert s.scalar(select(FlashClaim.state).where(FlashClaim.order_id == order_id)) == "sold"
        assert flash.reconcile(s, sale_id).sold == 1


def test_reconcile_makes_the_figures_what_the_orders_explain(
        api: TestClient, shop: dict[str, Any]) -> None:
    from storeops.orders.service import cancel

    sale_id = _sale(shop, qty=5, per_buyer=None)
    token = shop["tokens"]["integration"]
    ids = [api.post("/api/v1/orders", json=_body(f"r{i}"), headers=auth(token, f"r{i}")
                    ).json()["id"] for i in range(3)]
    with unit_of_work(shop["url"]) as s:
        # drift: a cancellation that forgot the quota, a counter off by hand
        cancel(s, s.get(Order, ids[0]), "test", actor="test")
        s.get(FlashSale, sale_id).sold = 5
    if shop["path"] == "redis":
        with unit_of_work(shop["url"]) as s:
            _redis_client().set(flash.redis_keys(s, s.get(FlashSale, sale_id))[0], 0)
    with unit_of_work(shop["url"]) as s:
        result = flash.reconcile(s, sale_id)
    assert (result.sold_before, result.sold, result.returned) == (5, 2, 1)
    assert _sold(shop["url"], sale_id) == (2, 2)
    if shop["path"] == "redis":
        assert result.redis_left == 3 == _redis_left(shop, sale_id)
    flash.clear_cache()
    for i in range(3):
        assert api.post("/api/v1/orders", json=_body(f"n{i}"),
                        headers=auth(token, f"n{i}")).status_code == 201
    assert api.post("/api/v1/orders", json=_body("n9"),
                    headers=auth(token, "n9")).json()["error"] == "flash_sold_out"


def test_threads_hammering_one_sale_sell_exactly_the_quota(shop: dict[str, Any]) -> None:
    """Real threads, real Redis or the database's conditional update, PostgreSQL or SQLite:
    12 threads × 6 buyers race for 15 units (one each); then a second round where every buyer
    tries again (per-buyer limit 1)."""
    quota, threads_n, per_thread = 15, 12, 6
    sale_id = _sale(shop, qty=quota, per_buyer=1)
    with unit_of_work(shop["url"]) as s:
        user_id = s.scalar(select(User.id).where(User.username == "integration-u"))
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads_n)

    def buyer_thread(n: int) -> None:
        barrier.wait()
        for round_ in range(2):
            for i in range(per_thread):
                buyer = f"t{n}-{i}"
                request = channel.ChannelOrder(
                    store=STORE, channel_order_id=f"H-{n}-{i}-{round_}",
                    buyer=channel.ChannelBuyer(buyer, address="北京市北京市朝阳区建国路1号"),
                    lines=(channel.ChannelLine("A1", 1, Decimal("199")),))
                try:
                    channel.submit(shop["url"], user_id=user_id, actor="api:test",
                                   key=f"h-{n}-{i}-{round_}", request=request)
                    result = "sold"
                except channel.ChannelRefused as exc:
                    result = exc.error
                with lock:
                    outcomes.append(result)

    workers = [threading.Thread(target=buyer_thread, args=(n,)) for n in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(outcomes) == 2 * threads_n * per_thread
    assert outcomes.count("sold") == quota, outcomes
    assert set(outcomes) <= {"sold", "flash_sold_out", "flash_buyer_limit"}
    assert _sold(shop["url"], sale_id) == (quota, quota)
    with unit_of_work(shop["url"]) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == quota
        buyers = s.scalars(select(FlashClaim.buyer).where(FlashClaim.flash_sale_id == sale_id))
        assert len(set(buyers)) == quota  # one each
        result = flash.reconcile(s, sale_id)
    assert (result.sold_before, result.sold, result.returned) == (quota, quota, 0)
    assert result.redis_left in (0, None)
    stock = stock_of(shop["url"], shop["store_id"], "A1")
    assert stock == {"on_hand": 40, "reserved": quota, "available": 40 - quota}


# --- the command line ----------------------------------------------------------------------------

@pytest.fixture
def cli_shop(sqlite_db_url: str) -> dict[str, Any]:
    """The command line is the same on every backend and with or without Redis."""
    return {"url": sqlite_db_url, **seed_channel_store(sqlite_db_url)}


def _cli(shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any, *args: str,
         lang: str = "en") -> tuple[int, str, str]:
    return run_cli(["flash", *args, "--db", shop["url"]], monkeypatch, capsys, lang=lang)


def test_cli_create_list_reconcile(cli_shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                   capsys: Any) -> None:
    shop = cli_shop
    code, out, err = _cli(shop, monkeypatch, capsys, "create", "--store", STORE, "--sku", "A1",
                          "--qty", "100", "--price", "88.8", "--start", "2026-12-12T10:00",
                          "--end", "2026-12-12T12:00+08:00", "--per-buyer", "2", "--json")
    assert code == 0, err
    sale = json.loads(out)
    assert (sale["sku"], sale["quota"], sale["price"], sale["per_buyer"]) == ("A1", 100,
                                                                                "88.80", 2)
    assert sale["start"] == "2026-12-12T10:00:00+08:00"  # the store's wall clock
    code, out, _ = _cli(shop, monkeypatch, capsys, "list", "--store", STORE, "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [sale["id"]]
    code, out, _ = _cli(shop, monkeypatch, capsys, "list", "--store", STORE, lang="zh-CN")
    assert code == 0 and "秒杀价" in out
    code, out, _ = _cli(shop, monkeypatch, capsys, "reconcile", "--store", STORE, "--json")
    assert code == 0 and json.loads(out)[0]["sold"] == 0
    code, _, err = _cli(shop, monkeypatch, capsys, "reconcile", "--store", STORE, "--id", "999")
    assert code == 2 and "999" in err
    # an overlapping window is refused; back to back is fine
    base = ["create", "--store", STORE, "--sku", "A1", "--qty", "5", "--price", "1"]
    code, _, err = _cli(shop, monkeypatch, capsys, *base, "--start", "2026-12-12T11:00",
                        "--end", "2026-12-12T13:00", lang="zh-CN")
    assert code == 2 and "重叠" in err
    assert _cli(shop, monkeypatch, capsys, *base, "--start", "2026-12-12T12:00",
                "--end", "2026-12-12T13:00")[0] == 0


CREATE_ERRORS = [
    (["--start", "tomorrow", "--end", "2026-12-12T12:00"], ["--start", "tomorrow"]),
    (["--start", "2026-12-12T12:00", "--end", "2026-12-12T10:00"], ["--end", "after --start"]),
    (["--start", "2026-12-12T10:00", "--end", "2026-12-12T10:00"], ["--end", "after --start"]),
    (["--sku", "NOPE"], ["NOPE", STORE]),
    (["--price", "abc"], ["--price", "abc"]),
    (["--price", "9.999"], ["--price"]),
    (["--qty", "0"], ["--qty"]),
    (["--per-buyer", "0"], ["--per-buyer"]),
    (["--store", "别的店"], ["别的店"]),
]


def test_cli_create_errors_name_the_value(cli_shop: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    for args, words in CREATE_ERRORS:
        given = {"--store": STORE, "--sku": "A1", "--qty": "10", "--price": "9.9",
                 "--start": "2026-12-12T10:00", "--end": "2026-12-12T12:00"}
        for i in range(0, len(args), 2):
            given[args[i]] = args[i + 1]
        argv = ["create", *[x for kv in given.items() for x in kv]]
        code, _, err = _cli(cli_shop, monkeypatch, capsys, *argv)
        assert code == 2, (args, err)
        assert err.startswith("error:"), err
        for word in words:
            assert word in err, (args, err)
        code, _, err = _cli(cli_shop, monkeypatch, capsys, *argv, lang="zh-CN")
        assert code == 2 and err.startswith("error:") and "Traceback" not in err
    with unit_of_work(cli_shop["url"]) as s:
        assert s.scalar(select(func.count()).select_from(FlashSale)) == 0
