"""``storeops alert rules|check|list|ack|resolve``: the issue's keys in JSON, a second check
for the same time raises nothing new, the rule file's round trip through the terminal, and
errors as ``error:`` lines naming the file, the rule and the field (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import _migrated_sqlite
from test_alert_check_support import build_store
from web_seed import run_cli

from storeops.alerts.defaults import DEFAULT_CODES

AT = "2026-11-20T09:00"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _migrated_sqlite(tmp_path_factory, tmp_path_factory.mktemp("alert_cli"))
    build_store(url, "hot", hot=True)
    build_store(url, "calm")
    return url


@pytest.fixture(autouse=True)
def no_sending(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from storeops.alerts import delivery

    sent: list[Any] = []
    monkeypatch.setattr(delivery, "enqueue_alert",
                        lambda session, alert, *, event="alert": sent.append(alert.id) or 1)
    return sent


def cli(monkeypatch: Any, capsys: Any, *argv: str, lang: str | None = None
        ) -> tuple[int, str, str]:
    return run_cli(list(argv), monkeypatch, capsys, lang=lang)


def cli_json(monkeypatch: Any, capsys: Any, *argv: str) -> Any:
    code, out, err = cli(monkeypatch, capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_check_prints_the_issue_keys_and_runs_once_per_time(db: str, monkeypatch: Any,
                                                            capsys: Any,
                                                            no_sending: list[Any]) -> None:
    dry = cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "hot",
                   "--at", AT, "--dry-run")
    assert dry["dry_run"] and dry["raised"] and no_sending == []
    assert cli_json(monkeypatch, capsys, "alert", "list", "--db", db, "--store", "hot")[
        "alerts"] == []
    first = cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "hot",
                     "--at", AT)
    assert len(first["raised"]) == len(dry["raised"]) >= len(DEFAULT_CODES)
    for alert in first["raised"]:
        assert {"rule", "scope", "value", "baseline", "severity"} <= set(alert)
        assert isinstance(alert["value"], str) and alert["id"]
    uv = next(a for a in first["raised"] if a["rule"] == "uv_drop")
    assert (uv["scope"], uv["value"], uv["baseline"], uv["severity"]) == (
        "store", "200", "400", "warning")
    assert sorted(no_sending) == sorted(a["id"] for a in first["raised"])
    second = cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "hot",
                      "--at", AT)
    assert second["raised"] == [] and len(second["still_open"]) == len(first["raised"])
    assert len(no_sending) == len(first["raised"])
    listed = cli_json(monkeypatch, capsys, "alert", "list", "--db", db, "--store", "hot",
                      "--status", "open")["alerts"]
    assert sorted(a["id"] for a in listed) == sorted(a["id"] for a in first["raised"])
    assert all(a["title"] and a["path"] == f"/alerts/{a['id']}" for a in listed)
    # the calm store: nothing
    calm = cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "calm",
                    "--at", AT)
    assert calm["raised"] == [] and calm["errors"] == []

    # a person acknowledges, then resolves; the list follows
    code, out, err = cli(monkeypatch, capsys, "alert", "ack", "--db", db, "--store", "hot",
                         "--id", str(uv["id"]), "--note", "在查")
    assert code == 0 and "已确认" in out, err
    code, out, _ = cli(monkeypatch, capsys, "alert", "resolve", "--db", db, "--store", "hot",
                       "--id", str(uv["id"]), lang="en")
    assert code == 0 and "Resolved" in out
    resolved = cli_json(monkeypatch, capsys, "alert", "list", "--db", db, "--store", "hot",
                        "--status", "resolved")["alerts"]
    assert [a["id"] for a in resolved] == [uv["id"]]
    code, _, err = cli(monkeypatch, capsys, "alert", "resolve", "--db", db, "--store", "hot",
                       "--id", str(uv["id"]))
    assert code == 2 and err.startswith("error: ")
    code, _, err = cli(monkeypatch, capsys, "alert", "ack", "--db", db, "--store", "calm",
                       "--id", str(uv["id"]), lang="en")
    assert code == 2 and f"the store has no alert {uv['id']}" in err


def test_check_and_list_tables_in_the_terminal_language(db: str, monkeypatch: Any,
                                                       capsys: Any) -> None:
    code, out, err = cli(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "calm",
                         "--at", AT, "--dry-run")
    assert code == 0, err
    assert "calm 预警检查" in out and "新预警 0 条" in out and "试运行" in out
    code, out, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm")
    assert code == 0, err
    assert "低于 2.50%" in out and "每日" in out
    zh = cli_json(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm")
    texts = {r["code"]: r["condition_text"] for r in zh["rules"]}
    assert texts["uv_drop"] == "较上周同日下降超过 15.0%（基准不低于 100）"
    assert texts["campaign_cpc_high"] == "高于 ¥15.00（¥25.00 警告，¥35.00 严重）"
    code, out, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                         lang="en")
    assert code == 0 and "Alert rules of calm (15)" in out
    code, out, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                         "--json", lang="en")
    texts = {r["code"]: r["condition_text"] for r in json.loads(out)["rules"]}
    assert texts["uv_drop"] == ("down more than 15.0% vs the same weekday last week"
                                " (baseline at least 100)")
    assert texts["refund_rate_high"] == "above 1.50%, 3 days running"


def test_bad_options_are_errors(db: str, monkeypatch: Any, capsys: Any) -> None:
    code, _, err = cli(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "calm",
                       "--at", "yesterday")
    assert code == 2 and "--at yesterday" in err and "ISO 8601" in err
    code, _, err = cli(monkeypatch, capsys, "alert", "list", "--db", db, "--store", "calm",
                       "--status", "closed", lang="en")
    assert code == 2 and "unknown status closed" in err
    code, _, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "nope")
    assert code == 2 and err.startswith("error: ")


def test_rule_file_round_trip_and_errors(db: str, monkeypatch: Any, capsys: Any,
                                         tmp_path: Path) -> None:
    out_file = tmp_path / "rules.yaml"
    data = cli_json(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                    "--export", str(out_file))
    assert data["rules"] == len(DEFAULT_CODES)
    rules = yaml.safe_load(out_file.read_text(encoding="utf-8"))["rules"]
    assert [r["code"] for r in rules] == list(DEFAULT_CODES)
    # re-import as exported: nothing changes
    same = cli_json(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                    "--import", str(out_file))
    assert same["created"] == [] and same["updated"] == []
    # edit one rule, add one, import into the other store
    rules[1]["condition"]["threshold"] = "3%"
    rules.append({"code": "uv_floor", "metric": "uv", "condition": {"kind": "below",
                                                                    "threshold": 10}})
    out_file.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    code, out, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                         "--import", str(out_file))
    assert code == 0, err
    assert "新增 1 条，更新 1 条" in out
    listed = cli_json(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm")
    by = {r["code"]: r for r in listed["rules"]}
    assert by["conversion_low"]["condition"]["threshold"] == "0.03"
    assert by["uv_floor"]["enabled"] and by["conversion_low"]["version"] == 2
    # a bad file: nothing imported, the file, rule and field named
    rules[0]["severity"] = "loud"
    rules[1]["condition"]["threshold"] = "4%"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                       "--import", str(bad))
    assert code == 2
    assert err.startswith("error: bad.yaml：规则 uv_drop，字段 severity：必须是 info, warning, "
                          "critical 之一")
    code, _, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                       "--import", str(bad), lang="en")
    assert code == 2 and "bad.yaml: rule uv_drop, field severity: must be one of" in err
    after = cli_json(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm")
    assert {r["code"]: r["condition"] for r in after["rules"]}["conversion_low"][
        "threshold"] == "0.03"
    code, _, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                       "--import", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err
    code, _, err = cli(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "calm",
                       "--import", str(bad), "--export", str(out_file), lang="en")
    assert code == 2 and "not both" in err


def test_check_puts_each_new_alert_in_the_inbox_once(db: str, monkeypatch: Any,
                                                     capsys: Any) -> None:
    """With the real outbox (no stand-in): every alert raised reaches the store's inbox, a dry
    run and a second check add nothing."""
    from sqlalchemy import func, select

    from storeops.alerts.models import InboxMessage
    from storeops.db.engine import unit_of_work

    monkeypatch.undo()
    store_id = build_store(db, "hot2", hot=True)

    def inbox() -> int:
        with unit_of_work(db) as s:
            return s.scalar(select(func.count()).select_from(InboxMessage)
                            .where(InboxMessage.store_id == store_id))

    cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "hot2", "--at", AT,
             "--dry-run")
    assert inbox() == 0
    first = cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "hot2",
                     "--at", AT)
    assert inbox() == len(first["raised"]) > 0
    cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "hot2", "--at", AT)
    assert inbox() == len(first["raised"])


def test_check_sends_to_the_stores_robot(db: str, monkeypatch: Any, capsys: Any) -> None:
    """`alert check` without --dry-run sends what it raised to the store's channels: a WeCom
    robot on a local HTTP server gets the alerts' words (markdown)."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got: list[dict[str, Any]] = []

    class Robot(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    monkeypatch.undo()
    build_store(db, "hot3", hot=True)
    server = HTTPServer(("127.0.0.1", 0), Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=k"
        code, _, err = cli(monkeypatch, capsys, "notify", "add", "--db", db, "--store", "hot3",
                           "--kind", "wecom", "--target", url)
        assert code == 0, err
        first = cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "hot3",
                         "--at", AT)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert first["sent"] > 0 and got  # (many alerts at once may go as one summary)
    texts = [m["markdown"]["content"] for m in got]
    names = {a["rule_name"] for a in first["raised"]}
    for text in texts:  # the alerts' words, the store, the links to their pages
        assert any(name in text for name in names), text
        assert "hot3" in text and "/alerts" in text


def test_enable_disable_and_backtest(db: str, monkeypatch: Any, capsys: Any) -> None:
    build_store(db, "bt", hot=True)
    code, out, err = cli(monkeypatch, capsys, "alert", "disable", "--db", db, "--store", "bt",
                         "--rule", "roas_low")
    assert code == 0 and "roas_low 已停用" in out, err
    rules = cli_json(monkeypatch, capsys, "alert", "rules", "--db", db, "--store", "bt")["rules"]
    assert {r["code"]: r["enabled"] for r in rules}["roas_low"] is False
    checked = cli_json(monkeypatch, capsys, "alert", "check", "--db", db, "--store", "bt",
                       "--at", AT, "--dry-run")
    assert "roas_low" not in {a["rule"] for a in checked["raised"]}
    code, out, _ = cli(monkeypatch, capsys, "alert", "enable", "--db", db, "--store", "bt",
                       "--rule", "roas_low", lang="en")
    assert code == 0 and "Rule roas_low is on" in out
    code, _, err = cli(monkeypatch, capsys, "alert", "enable", "--db", db, "--store", "bt",
                       "--rule", "nope", lang="en")
    assert code == 2 and "rule nope, field code: no such rule" in err

    data = cli_json(monkeypatch, capsys, "alert", "backtest", "--db", db, "--store", "bt",
                    "--rule", "refund_rate_high", "--from", "2026-11-01", "--to", "2026-11-19")
    assert [(f["day"], f["scope"], f["value"]) for f in data["firings"]] == [
        ("2026-11-19", "store", "0.200000")]  # over 1.5% on the 17th, 18th and 19th
    data = cli_json(monkeypatch, capsys, "alert", "backtest", "--db", db, "--store", "bt",
                    "--rule", "uv_drop", "--from", "2026-10-01", "--to", "2026-11-19")
    assert [f["day"] for f in data["firings"]] == ["2026-11-19"]
    code, out, err = cli(monkeypatch, capsys, "alert", "backtest", "--db", db, "--store", "bt",
                         "--rule", "uv_drop", "--from", "2026-11-01", "--to", "2026-11-19")
    assert code == 0 and "会触发 1 次" in out, err
    code, _, err = cli(monkeypatch, capsys, "alert", "backtest", "--db", db, "--store", "bt",
                       "--rule", "uv_drop", "--from", "2026-11-31", "--to", "2026-11-19")
    assert code == 2 and "--from 2026-11-31" in err
    code, _, err = cli(monkeypatch, capsys, "alert", "backtest", "--db", db, "--store", "bt",
                       "--rule", "uv_drop", "--from", "2026-11-19", "--to", "2026-11-01",
                       lang="en")
    assert code == 2 and "2026-11-19 is after 2026-11-01" in err
