"""A small store with known numbers for the API, page and browser tests."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from storeops.accounts import csrf, passwords
from storeops.accounts import users as accounts_users
from storeops.accounts.users import create_user
from storeops.ads.models import AdSpendDaily
from storeops.aftersales.models import Refund
from storeops.api.auth import SESSION_COOKIE
from storeops.catalog.models import Product, Store
from storeops.catalog.stores import bump_data_version
from storeops.db.bulk import bulk_insert
from storeops.db.engine import unit_of_work
from storeops.metrics.models import TrafficDaily
from storeops.orders.models import Order, OrderLine

STORE = "旗舰店"
LAST_DAY = date(2026, 10, 31)
DAYS = 60
PASSWORD = "pass-word-1"
SOURCES = {"search": 53, "campaign": 22, "recommend": 15, "category": 10}
PRODUCTS = [
    # sku, title, category, status, unit price in cents
    ("1001", "无线蓝牙耳机 降噪版", "数码", "on_sale", 19900),
    ("1002", "智能手环 运动版", "数码", "on_sale", 12900),
    ("2001", "不锈钢保温杯 500ml", "家居", "on_sale", 5900),
    ("2002", "纯棉四件套 1.8m", "家居", "on_sale", 29900),
    ("3001", "旧款数据线", "数码", "off_shelf", 1900),
]


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2 parameters: the default costs ~0.2 s per hash on a busy CI machine."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(passwords, "_dummy", {})


UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_csrf_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of a page's forms, read from the page as a browser has it."""
    found = CSRF_FIELD.search(client.get(path).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def session_csrf_token(client: TestClient) -> str:
    """The CSRF token of the client's current session (what every page of it carries)."""
    return csrf.csrf_token(client.app.state.secret_key, "session",
                           client.cookies[SESSION_COOKIE])


class PageClient(TestClient):
    """A test client that, like a page of the cockpit, sends the CSRF token of its session
    (or of its login form) with every unsafe request; tests of CSRF itself use TestClient."""

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        headers = dict(kwargs.get("headers") or {})
        if method.upper() in UNSAFE and csrf.HEADER not in headers:
            # The login form carries the pre-login token even in a logged-in browser.
            logged_in = self.cookies.get(SESSION_COOKIE) and urlsplit(str(url)).path != "/login"
            headers[csrf.HEADER] = session_csrf_token(self) if logged_in else form_csrf_token(self)
            kwargs["headers"] = headers
        return super().request(method, url, **kwargs)


def login(client: TestClient, username: str, next_url: str = "/") -> None:
    """Log in through the login form (its CSRF token included); later unsafe requests of the
    client carry the session's CSRF token in the X-CSRF-Token header, as HTMX does."""
    client.headers.pop(csrf.HEADER, None)
    token = form_csrf_token(client)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": next_url,
                                    "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == next_url
    client.headers[csrf.HEADER] = session_csrf_token(client)


# PASSWORD hashed once per process and set of Argon2 parameters: hashing costs ~0.2 s of CPU
# with the default parameters, three users per seeded store. A hash made once verifies like
# one made per user (each carries its own parameters and salt).
_password_hashes: dict[tuple[Any, ...], str] = {}


def _seed_password_hash(password: str) -> str:
    hasher = passwords._hasher
    key = (password, hasher.time_cost, hasher.memory_cost, hasher.parallelism,
           hasher.hash_len, hasher.salt_len, hasher.type)
    if key not in _password_hashes:
        _password_hashes[key] = passwords.hash_password(password)
    return _password_hashes[key]


def seed_store(db_url: str, *, users: bool = True) -> int:
    """Insert the store, its SKUs, 60 days of orders, refunds, traffic and ads, and one user
    per role (password PASSWORD); returns the store id."""
    with unit_of_work(db_url) as s:
        store = Store(name=STORE, timezone="Asia/Shanghai", currency="CNY", data_version=0)
        s.add(store)
        s.flush()
        ids = []
        for sku, title, cat, status, price in PRODUCTS:
            p = Product(store_id=store.id, platform_sku_id=sku, title=title, category=cat,
                        status=status, list_price_cents=price)
            s.add(p)
            s.flush()
            ids.append(p.id)
        orders, lines, refunds, traffic, ads = [], [], [], [], []
        n = 0
        for d in range(DAYS):
            day = LAST_DAY - timedelta(days=d)
            placed = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
            for i, pid in enumerate(ids[:4]):
                if (d + i) % 3 == 0:
                    continue
                n += 1
                qty, price = 1 + (d + i) % 2, PRODUCTS[i][4]
                cancelled = n % 17 == 0
                orders.append((store.id, f"O{n:05d}", "cancelled" if cancelled else "finished",
                               False, placed, day, None if cancelled else placed, price * qty, 0,
                               0, None if cancelled else price * qty, "app", f"h{n}", placed))
                lines.append((f"O{n:05d}", store.id, 1, pid, qty, price * 100, price * qty))
                if n % 11 == 0 and not cancelled:
                    refunds.append((store.id, f"R{n}", 1, f"O{n:05d}", f"O{n:05d}", pid, 1, price,
                                    placed + timedelta(hours=5), day))
            for pid in ids[:4]:
                for src, share in SOURCES.items():
                    uv = share * 2
                    traffic.append((store.id, day, pid, src, uv, uv * 3, uv * 20, uv, uv // 5,
                                    uv // 3))
            ads.append((store.id, day, "京准通-快车", 10000, 5000, 100, 2, 40000))
        conn = s.connection()
        # Ids come from the database (sequences on PostgreSQL), then key the lines and refunds.
        bulk_insert(conn, Order.__table__, (
            "store_id", "platform_order_id", "status", "deleted", "placed_at",
            "placed_date", "paid_at", "goods_cents", "seller_discount_cents", "freight_cents",
            "paid_cents", "source", "content_hash", "updated_at"), orders)
        order_ids = dict(s.execute(select(Order.platform_order_id, Order.id)).all())
        lines = [(order_ids[r[0]], *r[1:]) for r in lines]
        refunds = [(*r[:3], order_ids[r[3]], *r[4:]) for r in refunds]
        bulk_insert(conn, OrderLine.__table__, (
            "order_id", "store_id", "line_no", "product_id", "quantity", "unit_price_e4",
            "amount_cents"), lines)
        bulk_insert(conn, Refund.__table__, (
            "store_id", "platform_refund_id", "line_no", "order_id", "platform_order_id",
            "product_id", "quantity", "amount_cents", "refunded_at", "refund_date"), refunds)
        bulk_insert(conn, TrafficDaily.__table__, (
            "store_id", "day", "product_id", "source", "uv", "pv", "exposure", "clicks",
            "cart_users", "bounce_visits"), traffic)
        bulk_insert(conn, AdSpendDaily.__table__, (
            "store_id", "day", "campaign", "spend_cents", "impressions", "clicks",
            "attributed_orders", "attributed_gmv_cents"), ads)
        bump_data_version(s, store.id)
        if users:
            with mock.patch.object(accounts_users, "hash_password", _seed_password_hash):
                for name in ("owner", "operator", "analyst"):
                    create_user(s, name, PASSWORD, name, display_name=f"{name} 用户")
        return store.id


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Uvicorn serving ``app`` on a free localhost port, in a thread of this process; yields
    its base URL and stops it afterwards."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def run_cli(argv: list[str], monkeypatch: Any, capsys: Any,
            lang: str | None = None) -> tuple[int, str, str]:
    """``storeops ARGV`` in this process: (exit code, stdout, stderr), with the terminal's
    language ``lang`` (None: the default, Chinese)."""
    import sys

    from storeops.cli import main

    if lang is None:
        monkeypatch.delenv("STOREOPS_LANG", raising=False)
    else:
        monkeypatch.setenv("STOREOPS_LANG", lang)
    monkeypatch.setattr(sys, "argv", ["storeops", *argv])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
