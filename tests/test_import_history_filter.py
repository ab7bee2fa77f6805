"""The import page's history of past imports, for every store or for the one chosen."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_seed import STORE, fast_hashing, login  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")

PRODUCTS = "SKU,商品名称\n9001,测试商品\n".encode()
OTHER = "二号店"


def _import_products(client: TestClient, store: str, name: str) -> None:
    r = client.post("/import", data={"kind": "products", "store": store},
                    files={"file": (name, PRODUCTS, "text/csv")})
    assert r.status_code == 200, r.text


def _history(html: str) -> list[tuple[str, str]]:
    """(store, file) of each row of the history table."""
    return re.findall(r'<tr data-batch="\d+"><td>[^<]*</td><td>([^<]*)</td><td>.*?</td>'
                      r'<td>([^<]*)</td>', html)


def _select(html: str) -> str:
    found = re.search(r'<select name="history_store".*?</select>', html, re.S)
    assert found, "no store filter"
    return found.group(0)


def test_the_history_shows_every_store_or_the_one_chosen(client: TestClient) -> None:
    login(client, "operator")
    _import_products(client, STORE, "flagship.csv")
    _import_products(client, OTHER, "second.csv")
    everything = client.get("/import")
    assert everything.status_code == 200
    assert _history(everything.text) == [(OTHER, "second.csv"), (STORE, "flagship.csv")]
    select = _select(everything.text)
    assert '<option value="">全部店铺</option>' in select
    assert f'<option value="{OTHER}" >' in select and "selected" not in select

    one = client.get(f"/import?history_store={OTHER}")
    assert one.status_code == 200
    assert _history(one.text) == [(OTHER, "second.csv")]
    assert f'<option value="{OTHER}" selected>' in _select(one.text)
    assert _history(client.get(f"/import?history_store={STORE}").text) == [
        (STORE, "flagship.csv")]


def test_a_store_without_imports_says_so(client: TestClient) -> None:
    login(client, "operator")
    _import_products(client, OTHER, "second.csv")
    r = client.get(f"/import?history_store={STORE}&lang=en")
    assert r.status_code == 200
    assert _history(r.text) == [] and "No imports for this store yet." in r.text


def test_an_unknown_store_is_a_clear_message_beside_the_filter(client: TestClient) -> None:
    login(client, "operator")
    _import_products(client, STORE, "flagship.csv")
    r = client.get("/import?history_store=没有的店")
    assert r.status_code == 422
    html = r.text
    assert '<nav class="nav">' in html  # the page, not a bare error
    select = _select(html)
    assert 'aria-invalid="true"' in select and 'aria-describedby="history-history_store-error"' \
        in select
    assert '<option value="没有的店" selected>' in select  # what was asked for stays chosen
    message = re.search(r'id="history-history_store-error">([^<]*)<', html)
    assert message and "没有名为“没有的店”的店铺" in message.group(1)
    assert _history(html) == []
