"""Cross-site requests cannot change anything: forms carry a CSRF token tied to the session,
checked on POST; unsafe methods from another origin get a 403; Bearer requests are exempt."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from web_seed import PASSWORD, STORE, fast_hashing, form_csrf_token, login  # noqa: F401

from storeops.accounts import csrf
from storeops.accounts.origin import same_origin
from storeops.api.app import create_app
from storeops.db.engine import unit_of_work
from storeops.metrics.targets import get_targets

pytestmark = pytest.mark.usefixtures("fast_hashing")
PERIOD = f"store={STORE}&from=2026-10-02&to=2026-10-31"
EVIL = "https://evil.example"


@pytest.fixture
def browser(seeded: tuple[str, int]) -> Iterator[TestClient]:
    """A client that sends only what a test gives it (no automatic CSRF header)."""
    with TestClient(create_app(seeded[0], secret_key="test-secret")) as c:
        yield c


def logged_in(browser: TestClient, username: str = "owner") -> str:
    """Log in; returns the session's CSRF token (read from a page), header not kept."""
    login(browser, username)
    token = browser.headers.pop(csrf.HEADER)
    page = browser.get(f"/import?{PERIOD}")
    assert f'name="csrf_token" value="{token}"' in page.text  # forms carry it
    assert f'"X-CSRF-Token": "{token}"' in page.text  # and HTMX sends it (hx-headers)
    return token


def stored_gmv(db: str, sid: int) -> object:
    with unit_of_work(db) as s:
        return get_targets(s, sid, "2026-10").get("gmv")


def _altered(token: str) -> str:
    """The token with its last character changed (never to the same character)."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


def test_login_needs_the_forms_token(browser: TestClient) -> None:
    r = browser.post("/login", data={"username": "owner", "password": PASSWORD},
                     follow_redirects=False)
    assert r.status_code == 403 and "登录表单已过期" in r.text
    assert browser.get("/api/v1/me").status_code == 401
    token = form_csrf_token(browser)
    wrong = browser.post("/login", data={"username": "owner", "password": PASSWORD,
                                         "csrf_token": _altered(token)})
    assert wrong.status_code == 403
    ok = browser.post("/login", data={"username": "owner", "password": PASSWORD,
                                      "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_target_form_needs_the_sessions_token(
    browser: TestClient, seeded: tuple[str, int]
) -> None:
    token = logged_in(browser)
    form = {"month": "2026-10", "gmv": "1000"}
    r = browser.post(f"/targets?{PERIOD}", data=form, follow_redirects=False)
    assert r.status_code == 403 and "安全校验" in r.text
    assert stored_gmv(*seeded) is None
    # The pre-login token is not the session's.
    anon = csrf.csrf_token("test-secret", "anon", browser.cookies[csrf.ANON_COOKIE])
    r = browser.post(f"/targets?{PERIOD}", data={**form, "csrf_token": anon})
    assert r.status_code == 403 and stored_gmv(*seeded) is None
    r = browser.post(f"/targets?{PERIOD}", data={**form, "csrf_token": token},
                     follow_redirects=False)
    assert r.status_code == 303 and stored_gmv(*seeded) is not None


def test_a_token_dies_with_its_session(browser: TestClient) -> None:
    old = logged_in(browser)
    browser.post("/logout", data={"csrf_token": old})
    new = logged_in(browser)
    assert new != old
    r = browser.put("/api/v1/targets", params={"store": STORE},
                    json={"month": "2026-10", "targets": {"gmv": "1"}},
                    headers={csrf.HEADER: old})
    assert r.status_code == 403


def test_api_changes_with_the_cookie_need_the_header(browser: TestClient) -> None:
    token = logged_in(browser)
    body = {"month": "2026-10", "targets": {"gmv": "30000"}}
    r = browser.put("/api/v1/targets", params={"store": STORE}, json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = browser.put("/api/v1/targets", params={"store": STORE}, json=body,
                    headers={csrf.HEADER: token})
    assert r.status_code == 200, r.text
    files = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
    r = browser.post("/api/v1/imports", data={"kind": "orders"}, files=files)
    assert r.status_code == 403
    page = browser.post("/import", data={"kind": "orders", "format": "jd"}, files=files)
    assert page.status_code == 403
    # The import form sends the token as a field of its multipart body: checked, let through
    # (this file is then refused for its content, not for CSRF).
    page = browser.post("/import", data={"kind": "orders", "format": "jd", "csrf_token": token},
                        files=files)
    assert page.status_code == 422 and "导入失败" in page.text


def test_logout_needs_the_token(browser: TestClient) -> None:
    token = logged_in(browser)
    assert browser.post("/logout").status_code == 403
    assert browser.get("/api/v1/me").status_code == 200  # still logged in
    r = browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert browser.get("/api/v1/me").status_code == 401
    # Logging out a session that is already gone needs nothing.
    assert browser.post("/logout", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("header", [{"Origin": EVIL}, {"Referer": EVIL + "/page"},
                                    {"Origin": "null"}, {"Origin": "http://testserver.evil"}])
def test_unsafe_requests_from_another_origin_get_403(
    browser: TestClient, seeded: tuple[str, int], header: dict[str, str]
) -> None:
    token = logged_in(browser)
    r = browser.post(f"/targets?{PERIOD}", data={"month": "2026-10", "gmv": "5",
                                                 "csrf_token": token},
                     headers=header, follow_redirects=False)
    assert r.status_code == 403 and "cross-site" in r.text
    assert stored_gmv(*seeded) is None
    api = browser.put("/api/v1/targets", params={"store": STORE}, headers={
        **header, csrf.HEADER: token}, json={"month": "2026-10", "targets": {"gmv": "5"}})
    assert api.status_code == 403 and "cross-site" in api.json()["detail"]
    login_form = form_csrf_token(browser)
    r = browser.post("/login", headers=header, data={
        "username": "owner", "password": PASSWORD, "csrf_token": login_form})
    assert r.status_code == 403
    assert browser.get("/api/v1/me").status_code == 200  # safe methods are not checked


def test_same_origin_requests_pass(browser: TestClient, seeded: tuple[str, int]) -> None:
    token = logged_in(browser)
    r = browser.post(f"/targets?{PERIOD}", data={"month": "2026-10", "gmv": "5",
                                                 "csrf_token": token},
                     headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303 and stored_gmv(*seeded) is not None


def test_origin_matching() -> None:
    none: frozenset[str] = frozenset()
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000", none)
    assert same_origin("https://ops.example.com", "ops.example.com", none)
    assert same_origin("https://ops.example.com", "ops.example.com:443", none)
    assert not same_origin("http://127.0.0.1:8001", "127.0.0.1:8000", none)
    assert not same_origin("https://ops.example.com.evil.io", "ops.example.com", none)
    assert not same_origin("null", "ops.example.com", none)
    assert not same_origin("ftp://ops.example.com", "ops.example.com", none)
    assert same_origin("https://ops.example.com", "127.0.0.1:8000",
                       frozenset({"https://ops.example.com"}))
