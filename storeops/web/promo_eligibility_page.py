"""The eligibility page: does a SKU (or the store) meet the entry requirements of a flash sale,
a group buy or the 618 / 11.11 campaigns — pass, fail or unknown per requirement with the
reason, and the campaign's preparation timeline.

The reference price and the stock come from the database; the promotion's terms from a stored
promotion (``promotion`` code) or typed in; the platform's facts (scores, reviews, violations,
sell-through) are typed in — left empty they are unknown, never a pass. A value that is not
one comes back beside its field (422), everything typed kept. ``PROMO_VIEW`` sees it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.common.errors import StoreopsError, localise
from storeops.common.timeutil import local_date, utcnow, zone
from storeops.db.engine import session_factory
from storeops.pricing import eligibility as el
from storeops.pricing import eligibility_data as data
from storeops.web.i18n import translate
from storeops.web.orders_pages import store_scope
from storeops.web.pages import page_lang, render

router = APIRouter(include_in_schema=False)

FIELDS = ("kind", "sku", "promotion", "price", "start", "end", "group_size",
          *data.FACT_COLUMNS)
FIELD_CHARS = 64
KINDS = tuple(k.value for k in el.CheckKind)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").replace("¥", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _time(text: str, tz: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))


def read_form(params: dict[str, str], tz: str, lang: str
              ) -> tuple[el.Proposal, data.FactsTable, dict[str, str]]:
    """The typed terms and facts, and the fields at fault with their messages."""
    errors: dict[str, str] = {}
    terms: dict[str, Any] = {}
    for name in ("price",):
        if params[name]:
            terms[name] = _decimal(params[name])
            if terms[name] is None:
                errors[name] = translate(lang, "promo_checks.eligibility.bad_number")
    for name in ("start", "end"):
        if params[name]:
            terms[name] = _time(params[name], tz)
            if terms[name] is None:
                errors[name] = translate(lang, "promo_checks.eligibility.bad_time")
    if params["group_size"]:
        if params["group_size"].isdigit() and int(params["group_size"]) <= 1000:
            terms["group_size"] = int(params["group_size"])
        else:
            errors["group_size"] = translate(lang, "promo_checks.eligibility.bad_number")
    facts: dict[str, Any] = {}
    for name in data.FACT_COLUMNS:
        try:
            facts[name] = data.parse_fact(name, params[name])
        except StoreopsError as exc:
            problem = exc.params.get("problem") if hasattr(exc, "params") else None
            errors[name] = problem.localised(lang) if problem is not None else localise(exc,
                                                                                     lang)
    proposal = el.Proposal(**{k: v for k, v in terms.items() if v is not None})
    table = data.FactsTable(
        store=el.Facts(store_score=facts.get("store_score"),
                       positive_review_rate=facts.get("positive_review_rate"),
                       violations_30d=facts.get("violations_30d"),
                       sell_through_top_percent=facts.get("sell_through_top_percent")),
        skus={} if not params["sku"] else {params["sku"]: el.Facts(
            product_score=facts.get("product_score"))})
    return proposal, table, errors


def _merge(base: el.Proposal, typed: el.Proposal) -> el.Proposal:
    """The stored promotion's terms, each typed value winning."""
    changes = {f.name: getattr(typed, f.name) for f in dataclasses.fields(typed)
               if getattr(typed, f.name) is not None}
    if "price" in changes:  # a typed price replaces the promotion's off / percent
        changes.update(off=None, percent=None)
    return dataclasses.replace(base, **changes)


ERROR_FIELDS = {"promo_checks.unknown_sku": "sku", "promo_checks.sku_needed": "sku",
                "promo_checks.too_many_skus": "sku",
                "promo_checks.unknown_promotion": "promotion"}


@router.get("/promotions/eligibility")
def eligibility_page(request: Request, user: CurrentUser = require(Permission.PROMO_VIEW)
                     ) -> Response:
    q = request.query_params
    sc = store_scope(request, q.get("store") or None)
    lang = page_lang(request)
    tz = sc.store.timezone
    params = {name: (q.get(name) or "").strip()[:FIELD_CHARS] for name in FIELDS}
    proposal, table, errors = read_form(params, tz, lang)
    kind = params["kind"]
    if kind and kind not in KINDS:
        errors["kind"] = translate(lang, "promo_checks.eligibility.bad_kind")
    results: list[dict[str, Any]] = []
    info: dict[str, data.SkuInfo] = {}
    if kind in KINDS and not errors:
        try:
            with session_factory(db_url_of(request))() as session:
                promo = (data.db_promotion(session, sc.store.id, params["promotion"])
                         if params["promotion"] else None)
                terms = _merge(data.proposal_of(promo), proposal) if promo else proposal
                skus = [params["sku"]] if params["sku"] else []
                found = data.evaluate(session, sc.store.id, tz, kind, skus, promo, table,
                                      proposal=terms)
                for r in found:
                    if r.sku:
                        info[r.sku] = data.sku_info(session, sc.store.id, r.sku)
        except StoreopsError as exc:
            errors[ERROR_FIELDS.get(getattr(exc, "key", "") or "", "kind")] = localise(exc, lang)
            found = []
        for r in found:
            sku_info = info.get(r.sku or "")
            results.append({
                "sku": r.sku, "status": r.status.value,
                "reference": sku_info.reference_price if sku_info else None,
                "stock": sku_info.stock if sku_info else None,
                "stock_source": sku_info.stock_source if sku_info else "",
                "checks": [{"requirement": c.requirement, "status": c.status.value,
                            "text": c.text(lang)} for c in r.checks],
            })
    timeline = None
    if kind in ("618", "1111"):
        today = local_date(utcnow(), tz)
        day = el.next_campaign_day(kind, today)
        timeline = {"day": day.isoformat(), "campaign": el.campaign_name(el.CheckKind(kind)),
                    "steps": [{"key": s.key, "due": s.due.isoformat(), "offset": s.offset,
                               "status": s.status, "text": s.text(lang)}
                              for s in el.timeline(day, today)]}
    context = {"form": params, "errors": errors, "results": results, "timeline": timeline,
               "kinds": KINDS, "fact_fields": data.FACT_COLUMNS}
    return render(request, "promo_eligibility.html", context,
                  status=422 if errors else 200, user=user, sc=sc)
