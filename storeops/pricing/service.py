"""Promotions of a store in the database: import and export in the promotions file format,
the lifecycle (schedule, go live, end, cancel), the launch guard and its approval, the
history.

The guard: before a promotion, coupon or points rule is scheduled or goes live, the 破价 audit
(:func:`storeops.pricing.audit_store.audit_store`) runs with it added to the store's live and
scheduled offers. When a stack that uses it takes a SKU below its floor
(``breaches_floor``), it may launch only once a second person with ``promo.approve`` — not
its author (``created_by``) nor its last editor — has approved it with a reason. A change of
its terms (a new version) drops the approval: the new terms need their own.

Import is all or nothing per file (the caller's unit of work rolls back on an error) and
upserts by store + code: an unchanged entry is left alone, a changed one gets version + 1 and
an ``updated`` history line with before/after; entries the file does not mention are never
touched. A changed entry of a scheduled promotion goes through the guard again: when its new
terms break a floor it goes back to draft (``unscheduled``); a changed live entry that breaks
a floor refuses the file (stop it first: cancel). Ended and cancelled entries cannot change.

Every change writes a ``pricing_changes`` line (:func:`storeops.pricing.store.record_change`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow
from storeops.pricing.lifecycle import (
    ACTIVE,
    FINAL,
    PromoStatus,
    StatusName,
    check_transition,
    due_path,
)
from storeops.pricing.model import Coupon, Offers, PointsRule, Promotion
from storeops.pricing.models import (
    CategoryCommission,
    PricingChange,
    PricingSettings,
    PromotionRecord,
)
from storeops.pricing.store import (
    COUPON,
    POINTS,
    POINTS_CODE,
    parse_record,
    record_change,
    spec_of,
)

REASON_CHARS = 500
BREACHES_NAMED = 5  # SKUs an error names
SYSTEM_ACTOR = "system:schedule"
EDITS = ("created", "updated")


class PromotionError(StoreopsError, ValueError):
    pass


class NeedsApproval(PromotionError):
    """The launch guard refused: a stack with this promotion takes SKUs below floor."""

    def __init__(self, message: str, breaches: Sequence[Any], *,
                 key: str = "promotions.needs_approval", **params: Any) -> None:
        super().__init__(message, key=key, **params)
        self.breaches = list(breaches)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unscheduled: list[str] = field(default_factory=list)  # changed, now breaking a floor

    def as_dict(self) -> dict[str, list[str]]:
        return {"created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "unscheduled": self.unscheduled}


@dataclass(frozen=True)
class Advanced:
    store_id: int
    code: str
    status_from: str
    status_to: str


# --- reading -------------------------------------------------------------------------------------

def find_promotion(session: Session, store_id: int, code: str, *,
                   lock: bool = False) -> PromotionRecord:
    q = select(PromotionRecord).where(PromotionRecord.store_id == store_id,
                                      PromotionRecord.code == code)
    if lock:
        q = q.with_for_update()
    record = session.scalar(q)
    if record is None:
        raise PromotionError(f"no promotion {code!r} in this store",
                             key="promotions.not_found", code=code)
    return record


def promotion_by_id(session: Session, store_id: int, promo_id: int) -> PromotionRecord | None:
    record = session.get(PromotionRecord, promo_id)
    return record if record is not None and record.store_id == store_id else None


def history(session: Session, record: PromotionRecord) -> list[PricingChange]:
    """The promotion's history, oldest first."""
    return list(session.scalars(select(PricingChange)
                                .where(PricingChange.promotion_id == record.id)
                                .order_by(PricingChange.at, PricingChange.id)))


def authors(session: Session, record: PromotionRecord) -> set[str]:
    """Who may not approve it: its creator and whoever last changed its terms."""
    found = {record.created_by} if record.created_by else set()
    last = session.scalar(select(PricingChange.actor)
                          .where(PricingChange.promotion_id == record.id,
                                 PricingChange.action.in_(EDITS))
                          .order_by(PricingChange.at.desc(), PricingChange.id.desc()).limit(1))
    if last:
        found.add(last)
    return found


def candidate_id(record: PromotionRecord) -> str:
    """The id the audit's stacks name this entry by."""
    return "points" if record.kind == POINTS else record.code


def offers_with(value: Promotion | Coupon | PointsRule) -> Offers:
    if isinstance(value, Coupon):
        return Offers(coupons=(value,))
    if isinstance(value, PointsRule):
        return Offers(points=value)
    return Offers(promotions=(value,))


# --- the guard -----------------------------------------------------------------------------------

def run_audit(session: Session, store_id: int, extra: Offers) -> Any:
    """The 破价 audit of the store's live and scheduled offers plus ``extra``
    (:func:`storeops.pricing.audit_store.audit_store`)."""
    from storeops.pricing.audit_store import audit_store

    return audit_store(session, store_id, extra=extra)


def floor_breaches(session: Session, record: PromotionRecord) -> list[Any]:
    """The audit's floor breaches whose stack uses this entry (``FloorBreach``: sku, floor,
    lowest_unit_price, stack, explanation), worst first as the audit lists them. A SKU whose
    lowest stack below floor does without this entry is not laid to its charge: it is below
    floor whether or not this entry launches."""
    report = run_audit(session, record.store_id, offers_with(parse_record(record)))
    cid = candidate_id(record)
    return [b for b in report.breaches if cid in tuple(b.stack)]


def breach_summary(breaches: Sequence[Any]) -> str:
    """The first SKUs below floor, ``A100 (129.00 < 150.00); …`` (messages add the count)."""
    return "; ".join(f"{b.sku} ({b.lowest_unit_price} < {b.floor})"
                     for b in breaches[:BREACHES_NAMED])


def guard(session: Session, record: PromotionRecord, action: str) -> list[Any]:
    """Run the audit for ``record``; refuse (:class:`NeedsApproval`) when it breaks a floor
    and has no approval of its current terms. Returns the breaches."""
    breaches = floor_breaches(session, record)
    record.breaches_floor = bool(breaches)
    if breaches and not record.approved_by:
        skus = breach_summary(breaches)
        raise NeedsApproval(
            f"promotion {record.code}: cannot be {action}: it takes {len(breaches)} SKU(s) "
            f"below their floor: {skus}; it needs the approval of a second person with "
            f"promo.approve",
            breaches, code=record.code, skus=skus, count=len(breaches))
    return breaches


# --- lifecycle -----------------------------------------------------------------------------------

def _snapshot(record: PromotionRecord) -> dict[str, Any]:
    return {"status": record.status, "version": record.version}


def _move(session: Session, record: PromotionRecord, target: PromoStatus, actor: str,
          reason: str | None = None, *, extra: Mapping[str, Any] | None = None) -> None:
    check_transition(record.code, record.status, target)
    before = _snapshot(record)
    record.status = target.value
    record.updated_at = utcnow()
    action = "unscheduled" if target is PromoStatus.DRAFT else target.value
    record_change(session, record.store_id, action, actor, promotion_id=record.id,
                  before=before, after={**_snapshot(record), **(extra or {})}, reason=reason)


def _clean_reason(reason: str | None, code: str, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise PromotionError(f"promotion {code}: a reason is required",
                             key="promotions.reason_required", code=code)
    if len(text) > REASON_CHARS:
        raise PromotionError(f"promotion {code}: the reason is longer than {REASON_CHARS} "
                             f"characters", key="promotions.reason_too_long", code=code,
                             limit=REASON_CHARS)
    return text or None


def schedule(session: Session, store_id: int, code: str, actor: str,
             reason: str | None = None) -> PromotionRecord:
    """draft → scheduled, through the guard."""
    record = find_promotion(session, store_id, code, lock=True)
    check_transition(code, record.status, PromoStatus.SCHEDULED)
    guard(session, record, "scheduled")
    _move(session, record, PromoStatus.SCHEDULED, actor,
          _clean_reason(reason, code, required=False))
    return record


def start(session: Session, store_id: int, code: str, actor: str,
          reason: str | None = None) -> PromotionRecord:
    """scheduled → live now, through the guard."""
    record = find_promotion(session, store_id, code, lock=True)
    check_transition(code, record.status, PromoStatus.LIVE)
    guard(session, record, "started")
    _move(session, record, PromoStatus.LIVE, actor, _clean_reason(reason, code, required=False))
    return record


def end(session: Session, store_id: int, code: str, actor: str,
        reason: str | None = None) -> PromotionRecord:
    """live → ended."""
    record = find_promotion(session, store_id, code, lock=True)
    _move(session, record, PromoStatus.ENDED, actor, _clean_reason(reason, code, required=False))
    return record


def cancel(session: Session, store_id: int, code: str, actor: str,
           reason: str) -> PromotionRecord:
    """draft, scheduled or live → cancelled, with a reason."""
    record = find_promotion(session, store_id, code, lock=True)
    check_transition(code, record.status, PromoStatus.CANCELLED)
    _move(session, record, PromoStatus.CANCELLED, actor,
          _clean_reason(reason, code, required=True))
    return record


def approve(session: Session, store_id: int, code: str, approver: str, reason: str, *,
            may_approve: bool) -> PromotionRecord:
    """A second person's approval of the current terms: ``may_approve`` says whether the
    approver holds promo.approve; the author and the last editor may not approve."""
    record = find_promotion(session, store_id, code, lock=True)
    if not may_approve:
        raise PromotionError(f"promotion {code}: {approver} may not approve promotions "
                             f"(needs promo.approve)", key="promotions.approve_forbidden",
                             code=code, user=approver)
    if PromoStatus(record.status) in FINAL:
        check_transition(code, record.status, PromoStatus.SCHEDULED)  # raises: it is final
    if approver in authors(session, record):
        raise PromotionError(f"promotion {code}: {approver} wrote it and cannot approve it: "
                             f"a second person must", key="promotions.approve_own",
                             code=code, user=approver)
    text = _clean_reason(reason, code, required=True)
    before = {"approved_by": record.approved_by, "version": record.version}
    now = utcnow()
    record.approved_by, record.approved_at, record.approval_reason = approver[:120], now, text
    record.updated_at = now
    record_change(session, store_id, "approved", approver, promotion_id=record.id,
                  before=before, after={"approved_by": record.approved_by,
                                        "version": record.version}, reason=text)
    return record


def advance_due(session: Session, now: datetime | None = None,
                store_id: int | None = None) -> list[Advanced]:
    """Scheduled promotions whose start has passed go live, live ones whose end has passed
    end (a scheduled one past both does both). For the periodic job and ``promo advance``.
    The guard ran when they were scheduled; it does not run again here."""
    moment = now or utcnow()
    q = select(PromotionRecord).where(
        PromotionRecord.status.in_([s.value for s in ACTIVE])).order_by(PromotionRecord.id)
    if store_id is not None:
        q = q.where(PromotionRecord.store_id == store_id)
    done: list[Advanced] = []
    for record in session.scalars(q.with_for_update()).all():
        for target in due_path(record.status, record.start_at, record.end_at, moment):
            was = record.status
            _move(session, record, target, SYSTEM_ACTOR)
            done.append(Advanced(record.store_id, record.code, was, target.value))
    return done


# --- import and export ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    code: str
    kind: str
    name: str | None
    spec: dict[str, Any]
    start: datetime | None
    end: datetime | None


def canonical(spec: Mapping[str, Any]) -> str:
    """An entry as stored: the file format's own order of fields (id, kind, name …), which
    ``*_to_dict`` writes the same way every time."""
    return json.dumps(spec, ensure_ascii=False, default=str)


def entries_of(data: Any, source: str) -> list[Entry]:
    """The entries of a promotions file's content, validated by the file format
    (:mod:`storeops.pricing.spec`), each written back in its canonical form."""
    from storeops.pricing import spec

    offers = spec.parse_offers(data, source)
    entries = [Entry(p.id, p.kind.value, p.name, spec.promotion_to_dict(p), p.start, p.end)
               for p in offers.promotions]
    entries += [Entry(c.id, COUPON, c.name, spec.coupon_to_dict(c), c.start, c.end)
                for c in offers.coupons]
    if offers.points is not None:
        entries.append(Entry(POINTS_CODE, POINTS, None, spec.points_to_dict(offers.points),
                             None, None))
    if offers.points is not None and sum(e.code == POINTS_CODE for e in entries) > 1:
        raise PromotionError(f"{source}: the id {POINTS_CODE!r} names the points rule: give "
                             f"the promotion or coupon another id",
                             key="promotions.points_id", source=source, code=POINTS_CODE)
    return entries


def read_file(path: Path) -> Any:
    """A promotions file's content (YAML or JSON), as the file format reads it."""
    from storeops.pricing import spec

    return spec.read_data(path)


def parse_text(text: str, source: str) -> Any:
    from storeops.pricing import spec

    return spec.parse_text(text, source)


def _entry_after(e: Entry) -> dict[str, Any]:
    return {"kind": e.kind, "spec": e.spec}


def import_offers(session: Session, store_id: int, data: Any, source: str,
                  actor: str, reason: str | None = None) -> ImportResult:
    """Upsert a promotions file's entries into the store (see the module's docstring)."""
    result = ImportResult()
    entries = entries_of(data, source)
    existing = {r.code: r for r in session.scalars(
        select(PromotionRecord).where(PromotionRecord.store_id == store_id,
                                      PromotionRecord.code.in_([e.code for e in entries]))
        .with_for_update())} if entries else {}
    recheck: list[PromotionRecord] = []
    for e in entries:
        text = canonical(e.spec)
        record = existing.get(e.code)
        if record is None:
            record = PromotionRecord(store_id=store_id, code=e.code, kind=e.kind, name=e.name,
                                     status=PromoStatus.DRAFT.value, spec_json=text,
                                     start_at=e.start, end_at=e.end, created_by=actor[:120],
                                     version=1, breaches_floor=False)
            session.add(record)
            session.flush()
            record_change(session, store_id, "created", actor, promotion_id=record.id,
                          after={**_entry_after(e), "version": 1}, reason=reason)
            result.created.append(e.code)
            continue
        if record.spec_json == text and record.kind == e.kind:
            result.unchanged.append(e.code)
            continue
        if PromoStatus(record.status) in FINAL:
            raise PromotionError(
                f"{source}: promotion {e.code} is {record.status}: its terms cannot change "
                f"(give the new terms a new id)", key="promotions.final_changed",
                source=source, code=e.code, status=StatusName(record.status))
        before = {"kind": record.kind, "spec": spec_of(record), "version": record.version}
        record.kind, record.name, record.spec_json = e.kind, e.name, text
        record.start_at, record.end_at = e.start, e.end
        record.version += 1
        record.approved_by = record.approved_at = record.approval_reason = None
        record.updated_at = utcnow()
        record_change(session, store_id, "updated", actor, promotion_id=record.id,
                      before=before, after={**_entry_after(e), "version": record.version},
                      reason=reason)
        result.updated.append(e.code)
        if record.status in (PromoStatus.SCHEDULED, PromoStatus.LIVE):
            recheck.append(record)
    session.flush()
    for record in recheck:  # after every entry is in: the audit sees the file's offers
        breaches = floor_breaches(session, record)
        record.breaches_floor = bool(breaches)
        if not breaches:
            continue
        skus = breach_summary(breaches)
        if record.status == PromoStatus.LIVE:
            raise NeedsApproval(
                f"{source}: promotion {record.code} is live and its new terms take "
                f"{len(breaches)} SKU(s) below their floor: {skus}; cancel it or keep its terms",
                breaches,
                key="promotions.live_below_floor", source=source,
                code=record.code, skus=skus, count=len(breaches),
            ) from None
        _move(session, record, PromoStatus.DRAFT, actor,
              f"new terms take SKUs below floor: {skus}")
        result.unscheduled.append(record.code)
    return result


def import_file(session: Session, store_id: int, path: Path, actor: str,
                reason: str | None = None) -> ImportResult:
    return import_offers(session, store_id, read_file(path), str(path), actor, reason)


def export_offers(session: Session, store_id: int,
                  statuses: Iterable[str] | None = None) -> dict[str, Any]:
    """The store's entries (of ``statuses``, default all) as a promotions file's content:
    importing it back changes nothing."""
    q = select(PromotionRecord).where(PromotionRecord.store_id == store_id)
    if statuses is not None:
        q = q.where(PromotionRecord.status.in_(list(statuses)))
    data: dict[str, Any] = {"promotions": [], "coupons": []}
    for record in session.scalars(q.order_by(PromotionRecord.id)):
        if record.kind == POINTS:
            data["points"] = spec_of(record)
        elif record.kind == COUPON:
            data["coupons"].append(spec_of(record))
        else:
            data["promotions"].append(spec_of(record))
    return data


def dump_offers(data: Mapping[str, Any], fmt: str = "yaml") -> str:
    """A promotions file's text: YAML (default) or JSON."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    import yaml

    return yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False)


# --- for the CLI and the pages -------------------------------------------------------------------

def sku_count(spec: Mapping[str, Any]) -> int | None:
    """How many SKUs an entry lists (its ``skus``, or a bundle's items); None: all SKUs or by
    category."""
    skus = spec.get("skus")
    if isinstance(skus, list):
        return len(skus)
    items = spec.get("items")
    if isinstance(items, list) and skus is None:
        return len(items)
    return None


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def change_lines(row: PricingChange) -> list[str]:
    """What a history line changed, field by field: ``spec.price: 179.00 → 169.00``,
    ``status: draft → scheduled``; a creation lists nothing (its terms are the entry's)."""
    before = json.loads(row.before_json) if row.before_json else {}
    after = json.loads(row.after_json) if row.after_json else {}
    if not before:
        return []
    fb, fa = _flat(before), _flat(after)
    out = []
    for key in sorted(fb.keys() | fa.keys()):
        if fb.get(key) != fa.get(key):
            out.append(f"{key}: {_shown(fb.get(key))} → {_shown(fa.get(key))}")
    return out


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def record_view(record: PromotionRecord) -> dict[str, Any]:
    """One entry as the CLI's JSON and the pages show it."""
    spec = spec_of(record)
    return {"id": record.id, "code": record.code, "kind": record.kind, "name": record.name,
            "status": record.status,
            "start": record.start_at.isoformat() if record.start_at else None,
            "end": record.end_at.isoformat() if record.end_at else None,
            "skus": sku_count(spec), "version": record.version,
            "breaches_floor": record.breaches_floor, "approved_by": record.approved_by,
            "approval_reason": record.approval_reason, "created_by": record.created_by,
            "spec": spec}


def list_promotions(session: Session, store_id: int, statuses: Iterable[str] | None = None,
                    kind: str | None = None, limit: int = 1000) -> list[PromotionRecord]:
    q = select(PromotionRecord).where(PromotionRecord.store_id == store_id)
    if statuses:
        q = q.where(PromotionRecord.status.in_(list(statuses)))
    if kind:
        q = q.where(PromotionRecord.kind == kind)
    q = q.order_by(PromotionRecord.start_at.is_(None), PromotionRecord.start_at,
                   PromotionRecord.id)
    return list(session.scalars(q.limit(limit)))


def set_settings(session: Session, store_id: int, actor: str, *,
                 min_margin: Decimal | None = None,
                 protection_days: int | None = None) -> PricingSettings:
    """The store's pricing guards (minimum margin 0–1, 价保 days 7–15), recorded."""
    if min_margin is not None and not Decimal(0) <= min_margin < Decimal(1):
        raise PromotionError(f"--min-margin must be a fraction between 0 and 1, not "
                             f"{min_margin}", key="promotions.bad_rate",
                             field="--min-margin")
    if protection_days is not None and not 7 <= protection_days <= 15:
        raise PromotionError(f"price protection days must be between 7 and 15, not "
                             f"{protection_days}", key="promotions.bad_days")
    row = session.get(PricingSettings, store_id)
    if row is None:
        row = PricingSettings(store_id=store_id, min_margin=Decimal(0), price_protection_days=7)
        session.add(row)
        session.flush()
    before = {"min_margin": str(row.min_margin), "protection_days": row.price_protection_days}
    if min_margin is not None:
        row.min_margin = min_margin
    if protection_days is not None:
        row.price_protection_days = protection_days
    after = {"min_margin": str(row.min_margin), "protection_days": row.price_protection_days}
    if after != before:
        record_change(session, store_id, "settings", actor, before=before, after=after)
    return row


def set_commission(session: Session, store_id: int, category: str, rate: Decimal,
                   actor: str) -> CategoryCommission:
    """JD's commission rate (0–1) of a category of the store, recorded."""
    if not Decimal(0) <= rate < Decimal(1):
        raise PromotionError(f"--rate must be a fraction between 0 and 1, not {rate}",
                             key="promotions.bad_rate", field="--rate")
    name = category.strip()[:120]
    row = session.scalar(select(CategoryCommission).where(
        CategoryCommission.store_id == store_id, CategoryCommission.category == name))
    before = None if row is None else {"category": name, "rate": str(row.rate)}
    if row is None:
        row = CategoryCommission(store_id=store_id, category=name, rate=rate)
        session.add(row)
    row.rate = rate
    session.flush()
    if before is None or before["rate"] != str(rate):
        record_change(session, store_id, "commission", actor, before=before,
                      after={"category": name, "rate": str(rate)})
    return row
