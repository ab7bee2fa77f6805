"""The OpenAPI document tells the truth: error responses with their real shape, allowed values
and formats; and a short schemathesis run over the whole API with every check finds nothing
(bench/schemathesis_bench.py does a long one against the real server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login, seed_store, serving  # noqa: F401

from storeops.accounts import throttle
from storeops.accounts.tokens import create_token
from storeops.api.app import create_app
from storeops.db.engine import unit_of_work

CONFIG = Path(__file__).resolve().parents[1] / "bench" / "schemathesis.toml"
ERRORS = ("400", "401", "403", "404", "422", "429")
FUZZ_SECONDS = 20

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def api(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, str]]:
    """(the app, the Bearer header of an owner) over the seeded store on SQLite."""
    # schemathesis sends wrong credentials on purpose, hundreds of times from one address:
    # the throttle would rightly answer 429 where the ignored_auth check looks for 401.
    monkeypatch.setattr(throttle, "ACCOUNT_LIMIT", 10**9)
    monkeypatch.setattr(throttle, "ADDRESS_LIMIT", 10**9)
    seed_store(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as s:
        _, token = create_token(s, "owner", "schemathesis")
    return create_app(sqlite_db_url, secret_key="test-secret"), {
        "Authorization": f"Bearer {token}"}


def _doc(api: tuple[Any, dict[str, str]]) -> dict[str, Any]:
    with TestClient(api[0]) as c:
        return c.get("/api/v1/openapi.json").json()


def test_every_operation_documents_its_errors_with_their_real_shape(
    api: tuple[Any, dict[str, str]],
) -> None:
    doc = _doc(api)
    error = doc["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["detail"] and error["properties"]["detail"]["type"] == "string"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status in ERRORS:
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, method)
    assert "413" in doc["paths"]["/api/v1/imports"]["post"]["responses"]
    # FastAPI's own list-shaped validation error is not what the app answers.
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_allowed_values_and_formats_are_declared(api: tuple[Any, dict[str, str]]) -> None:
    doc = _doc(api)

    def param(path: str, name: str, method: str = "get") -> dict[str, Any]:
        return next(p for p in doc["paths"][path][method]["parameters"] if p["name"] == name)

    assert param("/api/v1/kpi/series", "by")["schema"]["enum"] == ["day", "week", "month"]
    assert param("/api/v1/kpi/by/{dimension}", "dimension")["schema"]["enum"] == [
        "sku", "category", "source"]
    assert "gmv" in param("/api/v1/kpi/by/{dimension}", "order_by")["schema"]["enum"]
    assert param("/api/v1/kpi/by/{dimension}", "limit")["schema"]["maximum"] == 10_000
    date_schema = param("/api/v1/kpi/summary", "from")["schema"]
    assert {"format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"} in date_schema["anyOf"]
    assert param("/api/v1/kpi/summary", "store")["schema"]["anyOf"][0]["maxLength"] == 120
    targets = doc["components"]["schemas"]["TargetValues"]
    assert targets["additionalProperties"] is False
    rate = targets["properties"]["conversion_rate"]["anyOf"][0]
    assert rate == {"type": "number", "minimum": 0, "maximum": 1}
    form = doc["components"]["schemas"]["Body_post_import_api_v1_imports_post"]["properties"]
    assert form["kind"]["enum"] == ["orders", "products", "traffic", "ads"]


def test_real_errors_have_the_documented_shape(api: tuple[Any, dict[str, str]]) -> None:
    app, auth = api
    with TestClient(app) as c:
        cases = [
            (c.get("/api/v1/me"), 401),
            (c.get("/api/v1/kpi/summary", params={"store": "nope"}, headers=auth), 404),
            (c.get("/api/v1/kpi/by/sku", params={"limit": "x"}, headers=auth), 422),
            (c.get("/api/v1/kpi/series", params={"by": "year"}, headers=auth), 422),
            (c.put("/api/v1/targets", content=b"{", headers={**auth,
                                                              "content-type": "application/json"}),
             422),
            (c.get("/api/v1/nothing-here", headers=auth), 404),
            (c.delete("/api/v1/targets", headers=auth), 405),
        ]
        for r, status in cases:
            assert r.status_code == status, r.text
            body = r.json()
            assert isinstance(body["detail"], str) and body["detail"], body
            assert set(body) <= {"detail", "errors", "code"}  # code: an error's stable name
        invalid = c.get("/api/v1/kpi/by/sku", params={"limit": "x"}, headers=auth).json()
        assert invalid["detail"].startswith("query parameter 'limit'")
        assert invalid["errors"][0]["loc"] == ["query", "limit"]
        assert c.delete("/api/v1/targets", headers=auth).headers["allow"] == "GET, PUT"


@pytest.fixture
def server(api: tuple[Any, dict[str, str]]) -> Iterator[str]:
    """Uvicorn serving the app on a free localhost port, in a thread of this process (so that
    the throttle stays lifted)."""
    with serving(api[0]) as url:
        yield url


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    server: str, api: tuple[Any, dict[str, str]], tmp_path: Path,
) -> None:
    """Every check of schemathesis, every phase, authenticated with a Bearer token: a short
    run (bench/schemathesis_bench.py runs the long one)."""
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG),
        "run", f"{server}/api/v1/openapi.json", "--checks", "all", "--max-time", str(FUZZ_SECONDS),
        "--workers", "1", "--seed", "20261031", "--header",
        f"Authorization: {api[1]['Authorization']}", "--suppress-health-check", "all",
        "--warnings", "off",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          check=False)
    summary = done.stdout[-6000:]
    assert done.returncode == 0, summary
    operations = sum(len(ops) for ops in _doc(api)["paths"].values())
    assert f"Tested: {operations}" in done.stdout, summary  # every operation of the API
    assert "No issues found" in done.stdout, summary
