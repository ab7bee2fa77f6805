"""``storeops promo eligibility``: does a SKU (or the store) meet the entry requirements of a
flash sale, a group buy or the 618 / 11.11 campaigns? Exit 0 when every requirement passes,
1 when one fails or cannot be checked (unknown is never a pass), 2 on a usage error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from storeops.common.cli_options import DbOption, JsonOption, StoreOption, cli_lang

MARKS = {"pass": "✓", "fail": "✗", "unknown": "?"}


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"promo_checks.{key}", **params)


def register(promo: typer.Typer) -> None:
    """Add this module's subcommands to ``storeops promo``."""
    promo.command("eligibility")(eligibility_command)


def eligibility_command(
    kind: Annotated[str, typer.Option(
        "--kind", help="flash_sale, group_buy, 618 or 1111.")],
    store: StoreOption = None,
    sku: Annotated[list[str] | None, typer.Option(
        "--sku", help="SKU to check (repeat for more; default: the promotion's SKUs).")
    ] = None,
    promotion: Annotated[str | None, typer.Option(
        "--promotion", help="The promotion's code (id): in the store, or in --promotions.")
    ] = None,
    promotions: Annotated[Path | None, typer.Option(
        "--promotions", help="Promotions file (YAML/JSON) holding the promotion.")] = None,
    facts: Annotated[Path | None, typer.Option(
        "--facts", help="Facts storeops does not hold (CSV or YAML): scores, reviews, "
                        "violations, sell-through; see docs in storeops.pricing.eligibility_data.")
    ] = None,
    today: Annotated[str | None, typer.Option(
        "--today", help="The day the campaign timeline is seen from (default: today).")
    ] = None,
    campaign_day: Annotated[str | None, typer.Option(
        "--campaign-day", help="The campaign's day T (default: the next 618 / 11.11).")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Check the entry requirements; every failure says the threshold and the actual value."""
    from storeops.catalog.stores import resolve_store
    from storeops.common.cli_options import database_url
    from storeops.common.errors import StoreopsError
    from storeops.common.timeutil import local_date, utcnow
    from storeops.db.engine import session_factory
    from storeops.metrics.periods import parse_day
    from storeops.pricing import eligibility as el
    from storeops.pricing import eligibility_data as data

    try:
        check_kind = el.CheckKind(kind.strip())
    except ValueError:
        raise StoreopsError(f"unknown --kind {kind!r}: choose flash_sale, group_buy, 618 or 1111",
                            key="promo_checks.bad_kind", kind=kind) from None
    lang = cli_lang()
    table = data.load_facts(facts) if facts is not None else data.FactsTable()
    with session_factory(database_url(db))() as session:
        st = resolve_store(session, store)
        tz = st.timezone
        promo = None
        if promotions is not None:
            promo = data.file_promotion(promotions, promotion, check_kind.value, tz)
        elif promotion:
            promo = data.db_promotion(session, st.id, promotion)
        results = data.evaluate(session, st.id, tz, check_kind, sku or (), promo, table)
        store_name = st.name
    overall = ("fail" if any(r.status is el.Status.FAIL for r in results) else
               "unknown" if any(r.status is el.Status.UNKNOWN for r in results) else "pass")
    timeline = None
    if check_kind in el.CAMPAIGNS:
        day_today = parse_day(today, "--today date") if today else local_date(utcnow(), tz)
        day = (parse_day(campaign_day, "--campaign-day date") if campaign_day
               else el.next_campaign_day(check_kind, day_today))
        timeline = (day, el.timeline(day, day_today))
    if as_json:
        out: dict[str, Any] = {"store": store_name, "kind": check_kind.value, "status": overall,
                               "results": el.eligibility_to_json(results, lang)}
        if timeline is not None:
            out["timeline"] = el.timeline_to_json(timeline[0], timeline[1], lang)
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for r in results:
            target = f"SKU {r.sku}" if r.sku else _t("cli.store_target")
            typer.echo(_t("cli.result", kind=_t(f"kind.{r.kind.value}"), target=target,
                          status=_t(f"status.{r.status.value}")))
            for c in r.checks:
                typer.echo(f"  {MARKS[c.status.value]} {c.text(lang)}")
        if timeline is not None:
            day, steps = timeline
            typer.echo(_t("cli.campaign_day", campaign=el.campaign_name(check_kind),
                          day=day.isoformat()))
            for s in steps:
                typer.echo(_t("cli.step", due=s.due.isoformat(), offset=s.offset,
                              text=s.text(lang), status=_t(f"timeline.{s.status}")))
    if overall != "pass":
        raise typer.Exit(1)
