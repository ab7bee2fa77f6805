"""A form with a bad value keeps what was typed and marks the field at fault.

Marked: ``aria-invalid="true"``, class ``invalid``, and ``aria-describedby`` naming the message
right beside the field; the page answers 422 (a failed login 401) and keeps the nav.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_seed import PASSWORD, STORE, fast_hashing, login  # noqa: F401

from storeops.db.engine import session_factory
from storeops.metrics.targets import get_targets

pytestmark = pytest.mark.usefixtures("fast_hashing")

PERIOD = f"store={STORE}&from=2026-10-02&to=2026-10-31"
NAV = '<nav class="nav">'


def _tag(html: str, name: str, form_class: str | None = None) -> str:
    """The <input>/<select> named ``name`` (inside ``<form class="form_class">`` if given)."""
    if form_class:
        start = html.index(f'class="{form_class}')
        html = html[html.rindex("<form", 0, start):html.index("</form>", start)]
    found = re.search(rf'<(?:input|select)\b[^>]*\bname="{name}"[^>]*>', html)
    assert found, f"no field {name!r}"
    return found.group(0)


def _attr(tag: str, attr: str) -> str | None:
    found = re.search(rf'\b{attr}="([^"]*)"', tag)
    return found.group(1) if found else None


def _is_marked(html: str, name: str, form_class: str | None = None) -> str:
    """Assert the field is marked and return the text of the message it points to."""
    tag = _tag(html, name, form_class)
    assert _attr(tag, "aria-invalid") == "true", tag
    assert "invalid" in (_attr(tag, "class") or "").split(), tag
    described = _attr(tag, "aria-describedby")
    assert described, tag
    messages = []
    for ident in described.split():
        message = re.search(rf'<[^>]*\bid="{ident}"[^>]*>(.*?)</', html, re.S)
        assert message, f"no element #{ident}"
        messages.append(message.group(1).strip())
    return " ".join(messages)


def _not_marked(html: str, name: str, form_class: str | None = None) -> None:
    tag = _tag(html, name, form_class)
    assert "aria-invalid" not in tag and "invalid" not in (_attr(tag, "class") or ""), tag


# --- the period form ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/skus"])
def test_a_date_that_is_no_date_keeps_the_typed_text_and_marks_from(
    client: TestClient, path: str,
) -> None:
    login(client, "owner")
    r = client.get(f"{path}?store={STORE}&from=2026-13-01&to=2026-10-31")
    assert r.status_code == 422, r.text
    html = r.text
    assert NAV in html and "owner" in html  # the page itself, not a bare error page
    # What was typed stays in the form (as text: a date input would drop it).
    from_tag = _tag(html, "from", "period")
    assert _attr(from_tag, "value") == "2026-13-01" and _attr(from_tag, "type") == "text"
    assert _attr(_tag(html, "to", "period"), "value") == "2026-10-31"
    message = _is_marked(html, "from", "period")
    assert "2026-13-01" in message
    _not_marked(html, "to", "period")


def test_a_period_that_ends_before_it_starts_marks_both_dates_and_shows_default_figures(
    client: TestClient,
) -> None:
    login(client, "owner")
    r = client.get(f"/?store={STORE}&from=2026-10-31&to=2026-10-01&lang=en")
    assert r.status_code == 422
    html = r.text
    assert _attr(_tag(html, "from", "period"), "value") == "2026-10-31"
    assert _attr(_tag(html, "to", "period"), "value") == "2026-10-01"
    assert "starts after it ends" in _is_marked(html, "from", "period")
    assert "starts after it ends" in _is_marked(html, "to", "period")
    # The page still works: the default period's figures (cards, charts) are there.
    assert 'class="kpi card"' in html and 'id="chart-options"' in html


def test_a_period_too_long_is_marked_on_the_sku_page(client: TestClient) -> None:
    login(client, "analyst")
    r = client.get(f"/skus?store={STORE}&from=1990-01-01&to=2026-10-31")
    assert r.status_code == 422
    assert "3660" in _is_marked(r.text, "to", "period")
    assert _attr(_tag(r.text, "from", "period"), "value") == "1990-01-01"


def test_a_download_with_a_bad_period_is_still_an_error(client: TestClient) -> None:
    login(client, "analyst")
    r = client.get(f"/skus.csv?store={STORE}&from=2026-13-01&to=2026-10-31")
    assert r.status_code == 422 and not r.headers["content-type"].startswith("text/csv")


# --- the targets form -------------------------------------------------------------------------

def test_a_bad_target_marks_its_field_and_keeps_every_typed_value(
    client: TestClient, seeded: tuple[str, int],
) -> None:
    login(client, "operator")
    typed = {"month": "2026-10", "gmv": "lots", "uv": "1000", "conversion_rate": "2.5",
             "aov": "199.999"}
    r = client.post(f"/targets?{PERIOD}", data=typed)
    assert r.status_code == 422
    html = r.text
    assert NAV in html
    for name, value in typed.items():
        assert _attr(_tag(html, name, "targets"), "value") == value, name
    assert "lots" in _is_marked(html, "gmv", "targets")
    assert "199.999" in _is_marked(html, "aov", "targets")
    _not_marked(html, "uv", "targets")
    _not_marked(html, "conversion_rate", "targets")
    _not_marked(html, "month", "targets")
    with session_factory(seeded[0])() as s:
        assert get_targets(s, seeded[1], "2026-10") == {}  # nothing saved


def test_a_bad_month_marks_the_month(client: TestClient) -> None:
    login(client, "operator")
    r = client.post(f"/targets?{PERIOD}&lang=en", data={"month": "2026-13", "gmv": "5000"})
    assert r.status_code == 422
    assert "2026-13" in _is_marked(r.text, "month", "targets")
    assert _attr(_tag(r.text, "gmv", "targets"), "value") == "5000"
    _not_marked(r.text, "gmv", "targets")


# --- the login form ---------------------------------------------------------------------------

def test_a_failed_login_keeps_the_user_name_never_the_password_and_marks_both(
    client: TestClient,
) -> None:
    r = client.post("/login", data={"username": "owner", "password": "wrong-password-9"})
    assert r.status_code == 401
    html = r.text
    assert _attr(_tag(html, "username"), "value") == "owner"
    assert _attr(_tag(html, "password"), "value") in (None, "")
    assert "wrong-password-9" not in html
    assert "用户名或密码错误" in _is_marked(html, "username")
    assert "用户名或密码错误" in _is_marked(html, "password")
    _not_marked(client.get("/login").text, "username")


# --- the import form --------------------------------------------------------------------------

CSV = b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def _checked(tag: str) -> bool:
    return re.search(r"\bchecked\b", tag) is not None


def _selected_kind(html: str) -> str | None:
    found = re.search(r'<option value="(\w+)" selected', html)
    return found.group(1) if found else None


def test_mapping_chosen_without_a_mapping_file_keeps_every_choice_and_marks_the_mapping(
    client: TestClient,
) -> None:
    login(client, "operator")
    r = client.post("/import", data={"kind": "orders", "format": "mapping", "store": "新店",
                                     "complete": "true", "sheet": "2"},
                    files={"file": ("retail.csv", CSV, "text/csv")})
    assert r.status_code == 422
    html = r.text
    assert NAV in html
    assert _selected_kind(html) == "orders"
    assert _attr(_tag(html, "store", "import-form"), "value") == "新店"
    assert _attr(_tag(html, "sheet", "import-form"), "value") == "2"
    assert _checked(_tag(html, "complete", "import-form"))
    mapping_radio = re.search(r'<input type="radio" name="format" value="mapping"[^>]*>', html)
    assert mapping_radio and _checked(mapping_radio.group(0))
    assert _is_marked(html, "mapping", "import-form")  # its reason beside it
    _not_marked(html, "store", "import-form")
    # The chosen file cannot come back: the page says to choose it again, beside it.
    file_tag = _tag(html, "file", "import-form")
    again = re.search(r'id="import-file-again"[^>]*>([^<]+)<', html)
    assert again and "重新选择文件" in again.group(1)
    assert "import-file-again" in (_attr(file_tag, "aria-describedby") or "")


def test_no_file_marks_the_file_and_keeps_the_kind(client: TestClient) -> None:
    login(client, "operator")
    # Before anything is typed, the store field holds the page's store.
    assert _attr(_tag(client.get("/import").text, "store", "import-form"), "value") == STORE
    r = client.post("/import", data={"kind": "products", "format": "jd", "store": STORE})
    assert r.status_code == 422, r.text
    assert NAV in r.text and _selected_kind(r.text) == "products"
    assert _is_marked(r.text, "file", "import-form")
    assert _attr(_tag(r.text, "store", "import-form"), "value") == STORE


def test_a_bad_file_marks_the_file(client: TestClient) -> None:
    login(client, "operator")
    r = client.post("/import", data={"kind": "traffic", "store": STORE},
                    files={"file": ("traffic.csv", b"", "text/csv")})
    assert r.status_code == 422
    assert "traffic.csv" in _is_marked(r.text, "file", "import-form")
    assert _selected_kind(r.text) == "traffic"


def test_a_missing_sheet_marks_the_sheet(client: TestClient) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "商品"
    book.active.append(["SKU", "商品名称"])
    data = io.BytesIO()
    book.save(data)
    login(client, "operator")
    r = client.post("/import", data={"kind": "products", "store": STORE, "sheet": "第二页"},
                    files={"file": ("products.xlsx", data.getvalue(), "application/vnd.ms-excel")})
    assert r.status_code == 422
    assert "商品" in _is_marked(r.text, "sheet", "import-form")  # names the sheets there are
    assert _attr(_tag(r.text, "sheet", "import-form"), "value") == "第二页"
    _not_marked(r.text, "file", "import-form")


def test_a_store_name_too_long_and_an_unknown_kind_are_marked(client: TestClient) -> None:
    login(client, "operator")
    long_name = "店" * 121
    r = client.post("/import", data={"kind": "orders", "store": long_name},
                    files={"file": ("o.csv", CSV, "text/csv")})
    assert r.status_code == 422
    assert "120" in _is_marked(r.text, "store", "import-form")
    assert _attr(_tag(r.text, "store", "import-form"), "value") == long_name
    r = client.post("/import", data={"kind": "stock", "store": STORE},
                    files={"file": ("o.csv", CSV, "text/csv")})
    assert r.status_code == 422
    assert "stock" in _is_marked(r.text, "kind", "import-form")
