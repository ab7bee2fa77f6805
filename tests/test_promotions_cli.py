"""``storeops promo …`` (storeops.pricing.promo_cli): import, export, list, show, the
lifecycle commands, approve with its checks, check (exit 1 on conflicts), advance, price-set,
settings, commission; errors are ``error:`` lines naming the promotion and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from promotions_support import FILE, STORE, fake_audit, promotions_file, seed_promo_store
from sqlalchemy import select
from web_seed import PASSWORD, fast_hashing, run_cli  # noqa: F401

from storeops.accounts.users import create_user
from storeops.catalog.models import Product
from storeops.db.engine import unit_of_work
from storeops.pricing import service
from storeops.pricing.models import CategoryCommission, PriceChange, PricingSettings

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def db(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    seed_promo_store(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as s:
        for name, role in (("writer", "operator"), ("boss", "owner"), ("chief", "owner"),
                           ("reader", "analyst")):
            create_user(s, name, PASSWORD, role)
    monkeypatch.setattr(service, "run_audit", fake_audit)
    return sqlite_db_url


def promo(db: str, monkeypatch: Any, capsys: Any, *args: str,
          lang: str | None = "en") -> tuple[int, str, str]:
    return run_cli(["promo", *args, "--db", db], monkeypatch, capsys, lang=lang)


def write(tmp_path: Path, data: dict[str, Any], name: str = "promos.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_import_list_show_export(db: str, tmp_path: Path, monkeypatch: Any,
                                 capsys: Any) -> None:
    src = write(tmp_path, FILE)
    code, out, err = promo(db, monkeypatch, capsys, "import", src, "--user", "writer")
    assert code == 0, err
    assert "3 created, 0 changed, 0 unchanged" in out
    code, out, _ = promo(db, monkeypatch, capsys, "import", src, lang=None)
    assert "新建 0，修改 0，未变 3" in out
    code, out, _ = promo(db, monkeypatch, capsys, "list", "--json")
    rows = json.loads(out)
    assert [(r["code"], r["status"], r["skus"]) for r in rows] == [
        ("CUT-A100", "draft", 1), ("MJ-199", "draft", None), ("Q-10", "draft", None)]
    code, out, _ = promo(db, monkeypatch, capsys, "list", lang=None)
    assert "CUT-A100\t直降\t草稿\t2026-06-01 00:00 – 2026-06-20 00:00\t1\t1" in out
    code, out, _ = promo(db, monkeypatch, capsys, "list", "--status", "live")
    assert out.strip() == "No promotions"
    # a change, then show: terms and the history with what changed
    changed = write(tmp_path, promotions_file(CUT_A100={"price": "169.00"}), "v2.json")
    promo(db, monkeypatch, capsys, "import", changed, "--user", "writer", "--reason", "降价")
    code, out, _ = promo(db, monkeypatch, capsys, "show", "CUT-A100")
    assert "CUT-A100 · Price cut · Draft · v2" in out and "price: '169.00'" in out
    assert "user:writer  Changed (降价)" in out
    assert "spec.price: 179.00 → 169.00" in out and "version: 1 → 2" in out
    # export: a YAML file that imports back unchanged
    out_file = tmp_path / "export.yaml"
    code, out, _ = promo(db, monkeypatch, capsys, "export", "--out", str(out_file))
    assert code == 0 and "Exported 3 entries" in out
    code, out, _ = promo(db, monkeypatch, capsys, "import", str(out_file))
    assert "0 created, 0 changed, 3 unchanged" in out
    code, out, _ = promo(db, monkeypatch, capsys, "export", "--status", "scheduled")
    assert out == "promotions: []\ncoupons: []\n"


def test_bad_file_names_promotion_and_field(db: str, tmp_path: Path, monkeypatch: Any,
                                            capsys: Any) -> None:
    bad = write(tmp_path, promotions_file(MJ_199={"tiers": "lots"}))
    code, out, err = promo(db, monkeypatch, capsys, "import", bad)
    assert code == 2 and err.startswith("error: ")
    assert "MJ-199" in err and "tiers" in err and "promos.json" in err
    code, out, _ = promo(db, monkeypatch, capsys, "list", "--json")
    assert json.loads(out) == []  # nothing written, not even the good entries
    code, _, err = promo(db, monkeypatch, capsys, "schedule", "NOPE")
    assert code == 2 and err.strip() == "error: No promotion NOPE in this store"
    code, _, err = promo(db, monkeypatch, capsys, "list", "--status", "gone")
    assert code == 2 and "Unknown promotion status gone: choose one of draft" in err


def test_guard_and_approval_from_the_terminal(db: str, tmp_path: Path, monkeypatch: Any,
                                              capsys: Any) -> None:
    # CUT-A100 at 129.00 takes A100 below its floor of 150.00
    src = write(tmp_path, promotions_file(CUT_A100={"price": "129.00"}))
    promo(db, monkeypatch, capsys, "import", src, "--user", "chief")  # an owner writes it
    code, _, err = promo(db, monkeypatch, capsys, "schedule", "CUT-A100", "--user", "writer")
    assert code == 2 and "A100 (129.00 < 150.00)" in err and "approval" in err
    code, _, err = promo(db, monkeypatch, capsys, "approve", "CUT-A100", "--reason", "ok",
                         "--user", "chief")  # the author, though allowed to approve
    assert code == 2 and "user:chief wrote or last changed it" in err
    code, _, err = promo(db, monkeypatch, capsys, "approve", "CUT-A100", "--reason", "ok",
                         "--user", "writer")  # an operator: no promo.approve
    assert code == 2 and "may not approve" in err
    code, _, err = promo(db, monkeypatch, capsys, "approve", "CUT-A100", "--reason", "ok",
                         "--user", "reader")  # an analyst: no promo.approve
    assert code == 2 and "may not approve" in err
    code, _, err = promo(db, monkeypatch, capsys, "approve", "CUT-A100", "--reason", "ok",
                         "--user", "ghost")
    assert code == 2 and "No user ghost" in err
    code, _, err = promo(db, monkeypatch, capsys, "approve", "CUT-A100", "--reason", " ",
                         "--user", "boss")
    assert code == 2 and "a reason is required" in err
    code, out, err = promo(db, monkeypatch, capsys, "approve", "CUT-A100", "--reason",
                           "清仓", "--user", "boss", lang=None)
    assert code == 0, err
    assert out.strip() == "促销 CUT-A100 已由 user:boss 审批通过（版本 1）"
    code, out, _ = promo(db, monkeypatch, capsys, "schedule", "CUT-A100", "--user", "writer")
    assert code == 0 and out.strip() == "Promotion CUT-A100: Scheduled"
    code, out, _ = promo(db, monkeypatch, capsys, "start", "CUT-A100")
    assert out.strip() == "Promotion CUT-A100: Live"
    code, _, err = promo(db, monkeypatch, capsys, "schedule", "CUT-A100")
    assert code == 2 and "cannot go from live to scheduled" in err
    code, _, err = promo(db, monkeypatch, capsys, "cancel", "CUT-A100", "--reason", "",
                         lang=None)
    assert code == 2 and err.strip() == "error: 促销 CUT-A100：必须填写原因"
    code, out, _ = promo(db, monkeypatch, capsys, "end", "CUT-A100")
    assert out.strip() == "Promotion CUT-A100: Ended"


def test_check_exits_1_on_conflicts(db: str, tmp_path: Path, monkeypatch: Any,
                                    capsys: Any) -> None:
    code, out, _ = promo(db, monkeypatch, capsys, "check")
    assert code == 0 and out.strip() == "No conflicts"
    data = {"promotions": [{"id": "FS-1", "kind": "flash_sale", "skus": ["A200"],
                            "price": "79.00"}]}
    promo(db, monkeypatch, capsys, "import", write(tmp_path, data))
    # A200 lists at 99.00: 70% is 69.30, the flash price 79.00 is above it
    code, out, _ = promo(db, monkeypatch, capsys, "check")
    assert code == 1
    assert out.splitlines() == ["1 conflicts found", "  Flash sale FS-1: its price 79.00 is "
                                "above 70% of SKU A200's reference price 99.00 (at most 69.30)"]
    code, out, _ = promo(db, monkeypatch, capsys, "check", "--json")
    assert code == 1 and json.loads(out)[0]["skus"] == ["A200"]


def test_advance(db: str, tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    promo(db, monkeypatch, capsys, "import", write(tmp_path, FILE))
    promo(db, monkeypatch, capsys, "schedule", "MJ-199")
    code, out, _ = promo(db, monkeypatch, capsys, "advance", "--at", "2026-06-09T12:00")
    assert out.strip() == "No promotion is due to move"
    # 2026-06-19T00:00 Shanghai is MJ-199's end: it goes live and ends at once
    code, out, _ = promo(db, monkeypatch, capsys, "advance", "--at", "2026-06-19T00:00",
                         "--json")
    assert json.loads(out) == [{"code": "MJ-199", "from": "scheduled", "to": "live"},
                               {"code": "MJ-199", "from": "live", "to": "ended"}]
    code, _, err = promo(db, monkeypatch, capsys, "advance", "--at", "tomorrow")
    assert code == 2 and "--at: tomorrow is not an ISO time" in err


def test_price_settings_commission(db: str, monkeypatch: Any, capsys: Any) -> None:
    code, out, err = promo(db, monkeypatch, capsys, "price-set", "--sku", "A200", "--price",
                           "89.50", "--reason", "跟价", "--store", STORE)
    assert code == 0, err
    assert out.strip() == "SKU A200: price 99.00 → 89.50"
    with unit_of_work(db) as s:
        assert s.scalar(select(Product.list_price_cents)
                        .where(Product.platform_sku_id == "A200")) == 8950
        assert s.scalars(select(PriceChange)).one().reason == "跟价"
    for bad in ("0", "-1", "9.999", "abc"):
        code, _, err = promo(db, monkeypatch, capsys, "price-set", "--sku", "A200",
                             "--price", bad)
        assert code == 2 and "--price" in err, bad
    code, _, err = promo(db, monkeypatch, capsys, "price-set", "--sku", "ZZZ", "--price", "1")
    assert code == 2 and "No SKU ZZZ" in err
    code, out, _ = promo(db, monkeypatch, capsys, "settings", "--min-margin", "0.10",
                         "--protection-days", "15")
    assert out.strip() == f"Store {STORE}: minimum margin 0.10, price protection 15 days"
    code, _, err = promo(db, monkeypatch, capsys, "settings", "--protection-days", "30")
    assert code == 2 and "between 7 and 15" in err
    code, _, err = promo(db, monkeypatch, capsys, "settings", "--min-margin", "1.5")
    assert code == 2 and "--min-margin must be a fraction" in err
    code, out, _ = promo(db, monkeypatch, capsys, "commission", "--category", "数码",
                         "--rate", "0.05")
    assert out.strip() == f"Store {STORE}: commission of category 数码 is 0.05"
    promo(db, monkeypatch, capsys, "commission", "--category", "数码", "--rate", "0.04")
    with unit_of_work(db) as s:
        assert s.get(PricingSettings, 1).price_protection_days == 15
        assert [str(c.rate) for c in s.scalars(select(CategoryCommission))] == ["0.04"]
