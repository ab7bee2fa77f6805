"""Error pages are pages of the cockpit: a logged-in user keeps the navigation bar."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login  # noqa: F401

from storeops.api.auth import SESSION_COOKIE

pytestmark = pytest.mark.usefixtures("fast_hashing")

NAV = '<nav class="nav">'


def _has_nav(html: str) -> bool:
    return NAV in html and "经营概览" in html and 'href="/skus' in html and "退出登录" in html


@pytest.mark.parametrize(("path", "status"), [
    ("/no-such-page", 404),  # no route: nothing looked the user up before the error
    ("/?store=没有的店", 404),  # an unknown store
    ("/?from=2026-10-31&to=2026-10-01", 422),  # a period that ends before it starts
    ("/skus?from=2026-13-40&to=2026-10-31", 422),  # not a date
])
def test_a_logged_in_users_error_page_keeps_the_nav(
    client: TestClient, path: str, status: int,
) -> None:
    login(client, "owner")
    r = client.get(path)
    assert r.status_code == status, r.text
    # The error itself is still said (a bad period beside the period form's marked dates).
    assert 'role="alert"' in r.text
    assert _has_nav(r.text), r.text
    assert 'href="/import' in r.text  # the owner's nav, as on every other page
    assert "owner" in r.text  # who is logged in


def test_a_forbidden_page_keeps_the_nav_of_the_user(client: TestClient) -> None:
    login(client, "analyst")
    r = client.get("/import")
    assert r.status_code == 403
    assert _has_nav(r.text)
    assert 'href="/import"' not in r.text  # an analyst's nav has no import link


def test_a_rejected_form_keeps_the_nav_and_a_working_logout(client: TestClient) -> None:
    login(client, "owner")
    # A form sent without its CSRF token (a stale page): 403, still inside the cockpit.
    r = client.post("/targets", data={"metric": "gmv", "value": "1"},
                    headers={"X-CSRF-Token": "stale"})
    assert r.status_code == 403
    assert _has_nav(r.text)
    logout = client.post("/logout", data={"csrf_token": _logout_token(r.text)},
                         follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303  # logged out


def _logout_token(html: str) -> str:
    start = html.index('action="/logout"')
    marker = 'name="csrf_token" value="'
    at = html.index(marker, start) + len(marker)
    return html[at:html.index('"', at)]


def test_without_a_session_the_error_page_has_no_nav(client: TestClient) -> None:
    r = client.get("/no-such-page")
    assert r.status_code == 404 and NAV not in r.text
    client.cookies.set(SESSION_COOKIE, "not-a-session")
    r = client.get("/no-such-page")
    assert r.status_code == 404 and NAV not in r.text
