"""The JOS client against the simulator over real HTTP: the gateway's checks and codes, back-off,
both levels of failure; pushes of shipments and stock; the ``storeops jd simulate`` command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from storeops.connectors.jd.client import (
    JosAuthError,
    JosClient,
    JosError,
    JosRateLimited,
    JosUnavailable,
    RetryPolicy,
    parse_response,
)
from storeops.connectors.jd.signing import jd_timestamp
from storeops.connectors.jd.simulator import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    JosSimulator,
)

SEARCH = "jingdong.pop.order.search"
FAST = RetryPolicy(attempts=6, base_delay=0.001, max_delay=0.01)
CONNECTOR_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="


@pytest.fixture
def sim() -> JosSimulator:
    with JosSimulator(seed=5) as gateway:
        yield gateway


def client(sim: JosSimulator, **changes: object) -> JosClient:
    options = {"app_key": DEFAULT_APP_KEY, "app_secret": DEFAULT_APP_SECRET,
               "access_token": DEFAULT_ACCESS_TOKEN, "retry": FAST, "timeout": 2.0}
    options.update(changes)
    return JosClient(sim.url, options.pop("app_key"), options.pop("app_secret"),
                     options.pop("access_token"), **options)


def window(hours: int = 2) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"start_date": jd_timestamp(now - timedelta(hours=hours)),
            "end_date": jd_timestamp(now), "page": "1", "page_size": "100"}


def test_a_search_answers_jds_shape_page_by_page(sim: JosSimulator) -> None:
    now = datetime.now(UTC)
    sim.generate(130, now - timedelta(hours=1), now)
    with client(sim) as jos:
        first = jos.call(SEARCH, window())["searchorderinfo_result"]
        second = jos.call(SEARCH, {**window(), "page": "2"})["searchorderinfo_result"]
        fields = jos.call(SEARCH, {**window(), "optional_fields": "orderId,modified"})
    assert first["apiResult"]["success"] is True and first["orderTotal"] == 130
    assert len(first["orderInfoList"]) == 100 and len(second["orderInfoList"]) == 30
    ids = {o["orderId"] for o in first["orderInfoList"] + second["orderInfoList"]}
    assert len(ids) == 130
    info = fields["searchorderinfo_result"]["orderInfoList"][0]
    assert set(info) == {"orderId", "modified"}  # only the optional fields asked for


def test_bad_signature_and_unknown_app_key_are_auth_errors(sim: JosSimulator) -> None:
    for jos in (client(sim, app_secret="wrong"), client(sim, app_key="someone-else")):
        with jos, pytest.raises(JosAuthError) as caught:
            jos.call(SEARCH, window())
        assert caught.value.jd_code == "12" and "无效签名" in caught.value.jd_message
        assert jos.calls == 1  # never retried
        assert "wrong" not in repr(jos) and "wrong" not in str(caught.value)


def test_expired_token_and_skewed_clock_are_auth_errors(sim: JosSimulator) -> None:
    sim.expire_token()
    with client(sim) as jos, pytest.raises(JosAuthError) as caught:
        jos.call(SEARCH, window())
    assert caught.value.jd_code == "19" and jos.calls == 1
    late = lambda: datetime.now(UTC) - timedelta(minutes=7)  # noqa: E731
    with client(sim, access_token="demo-access-token", clock=late) as jos, \
            pytest.raises(JosAuthError) as caught:
        jos.call(SEARCH, window())
    assert caught.value.jd_code in ("8", "19")


def test_rate_limits_and_server_errors_back_off_then_succeed(sim: JosSimulator) -> None:
    sim.rate_limit_next(3)
    sim.fail_next(1)
    pauses: list[float] = []
    with client(sim, sleep=pauses.append) as jos:
        body = jos.call(SEARCH, window())
    assert body["searchorderinfo_result"]["apiResult"]["success"] is True
    assert jos.calls == 5 and jos.retries == 4 and len(pauses) == 4
    assert all(0 <= p <= 0.01 for p in pauses)
    sim.rate_limit_next(10)
    with client(sim) as jos, pytest.raises(JosRateLimited):
        jos.call(SEARCH, window())
    assert jos.calls == FAST.attempts  # bounded


def test_a_slow_gateway_times_out_and_is_retried(sim: JosSimulator) -> None:
    sim.slow_next(1, 0.6)
    with client(sim, timeout=0.3) as jos:
        jos.call(SEARCH, window())
    assert jos.retries >= 1  # (more on a loaded machine, where a normal answer may be late)
    sim.slow_next(3, 0.6)
    with client(sim, timeout=0.2, retry=RetryPolicy(2, 0.001, 0.01)) as jos, \
            pytest.raises(JosUnavailable) as caught:
        jos.call(SEARCH, window())
    assert caught.value.jd_code == "timeout"


def test_the_simulator_enforces_search_limits(sim: JosSimulator) -> None:
    with client(sim) as jos:
        with pytest.raises(JosError) as caught:
            jos.call(SEARCH, {**window(), "page_size": "101"})
        assert "100" in caught.value.jd_message
        with pytest.raises(JosError) as caught:
            jos.call(SEARCH, window(hours=24 * 40))
        assert "一个月" in caught.value.jd_message
        with pytest.raises(JosError) as caught:
            jos.call("jingdong.no.such.method", {})
        assert caught.value.jd_code == "15"


def test_both_levels_of_failure_and_both_spellings_are_read() -> None:
    ok = {"jingdong_pop_order_get_response": {"code": "0", "orderDetailInfo": {
        "apiResult": {"success": True}, "orderInfo": {"orderId": "1"}}}}
    assert parse_response("jingdong.pop.order.get", ok)["orderDetailInfo"]["orderInfo"]
    refused = {"jingdong_pop_order_shipment_responce": {"code": "0", "sopjosshipment_result": {
        "success": False, "chineseErrCode": "订单已出库", "englishErrCode": "shipped"}}}
    with pytest.raises(JosError, match="shipped"):
        parse_response("jingdong.pop.order.shipment", refused)
    api = {"jingdong_pop_order_search_responce": {"code": "0", "searchorderinfo_result": {
        "apiResult": {"success": "false", "chineseErrCode": "参数错误", "numberCode": 10100001}}}}
    with pytest.raises(JosError) as caught:
        parse_response(SEARCH, api)
    assert caught.value.jd_code == "10100001"
    gateway = {"error_response": {"code": "2", "zh_desc": "限流", "en_desc": "limited"}}
    with pytest.raises(JosRateLimited):
        parse_response(SEARCH, gateway)


# --- pushes -----------------------------------------------------------------------------------

@pytest.fixture
def connected(sqlite_db_url: str, sim: JosSimulator, monkeypatch: pytest.MonkeyPatch
              ) -> tuple[str, int]:
    from storeops.connectors.jd import push
    from storeops.connectors.jd.sync import connect_store

    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", CONNECTOR_KEY)
    monkeypatch.setattr(push, "PUSH_RETRY", FAST)
    store, _ = connect_store(sqlite_db_url, "京东店", app_key=DEFAULT_APP_KEY,
                             app_secret=DEFAULT_APP_SECRET, access_token=DEFAULT_ACCESS_TOKEN,
                             gateway=sim.url)
    return sqlite_db_url, store.id


def test_push_shipment_is_confirmed_once(connected: tuple[str, int], sim: JosSimulator) -> None:
    from storeops.connectors.jd.push import push_shipment
    from storeops.db.engine import unit_of_work

    url, store_id = connected
    now = datetime.now(UTC)
    order_id = sim.generate(1, now - timedelta(minutes=5), now, unpaid_share=0,
                            cancelled_share=0)[0]
    with unit_of_work(url) as session:
        assert push_shipment(session, store_id, order_id, "467", "SF1234567890") is None
        assert sim.order(order_id)["orderState"] == "WAIT_GOODS_RECEIVE_CONFIRM"
        assert [(s.order_id, s.carrier_id, s.waybill) for s in sim.shipments] == \
            [(order_id, "467", "SF1234567890")]
        with pytest.raises(JosError, match="已出库|already"):
            push_shipment(session, store_id, order_id, "467", "SF1234567890")
        with pytest.raises(JosError, match="不存在|not found"):
            push_shipment(session, store_id, "999", "467", "SF1")
        # a store that is not connected has nothing to push to
        assert push_shipment(session, store_id + 1, order_id, "467", "SF1") is None
    assert len(sim.shipments) == 1


def test_a_shipment_whose_answer_was_lost_is_not_an_error(connected: tuple[str, int],
                                                          sim: JosSimulator) -> None:
    from storeops.connectors.jd.push import push_shipment
    from storeops.db.engine import unit_of_work

    url, store_id = connected
    now = datetime.now(UTC)
    order_id = sim.generate(1, now - timedelta(minutes=5), now, unpaid_share=0,
                            cancelled_share=0)[0]
    original = sim.handle

    def lose_first_answer(params: dict, _state: dict = {"lost": False}):  # noqa: B006
        status, body = original(params)
        if params.get("method") == "jingdong.pop.order.shipment" and not _state["lost"]:
            _state["lost"] = True
            return 503, "gateway timeout"
        return status, body

    sim.handle = lose_first_answer  # type: ignore[method-assign]
    with unit_of_work(url) as session:
        push_shipment(session, store_id, order_id, "467", "SF42")
    assert len(sim.shipments) == 1


def test_push_stock_publishes_the_full_quantity(connected: tuple[str, int],
                                                sim: JosSimulator) -> None:
    from storeops.connectors.jd.push import push_stock, read_stock
    from storeops.db.engine import unit_of_work

    url, store_id = connected
    with unit_of_work(url) as session:
        push_stock(session, store_id, "100012345678", 42)
        push_stock(session, store_id, "100012345678", 40)
        assert sim.stock == {"100012345678": 40}
        assert read_stock(session, store_id, ["100012345678", "1"]) == \
            {"100012345678": 40, "1": 0}
        with pytest.raises(JosError):
            push_stock(session, store_id, "100012345678", -1)
    sim.expire_token()
    with unit_of_work(url) as session, pytest.raises(JosAuthError):
        push_stock(session, store_id, "100012345678", 1)


# --- storeops jd simulate ---------------------------------------------------------------------

def test_storeops_jd_simulate_serves_the_gateway(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).with_name("storeops")
    proc = subprocess.Popen(
        [str(exe), "jd", "simulate", "--port", str(port), "--history", "25",
         "--rate-limit", "100/s", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "STOREOPS_LANG": "en"},
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/routerjson" in line and "25 orders" in line
        hint = proc.stdout.readline()
        assert "storeops jd connect" in hint
        jos = JosClient(f"http://127.0.0.1:{port}/routerjson", DEFAULT_APP_KEY,
                        DEFAULT_APP_SECRET, DEFAULT_ACCESS_TOKEN, retry=FAST)
        with jos:
            found = jos.call(SEARCH, window(hours=24 * 4))["searchorderinfo_result"]
        assert found["orderTotal"] >= 25
        reply = httpx.post(f"http://127.0.0.1:{port}/routerjson", data={"method": SEARCH})
        assert reply.json()["error_response"]["code"] == "4"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 130, -signal.SIGINT)
    time.sleep(0)
