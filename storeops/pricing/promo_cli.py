"""``storeops promo …``: promotions in the database — import, export, list, show, schedule,
start, end, cancel, approve, the conflict check, advancing due promotions, price changes and
the store's pricing settings. Other modules add their subcommands to the same group through
their ``register(promo)`` (audit, eligibility, protection, results).

Each command is one unit of work (storeops.pricing.service does the work); an error is an
``error:`` line in the terminal's language naming the promotion and field, exit 2.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storeops.common.cli_options import (
    DbOption,
    JsonOption,
    StoreOption,
    cli_actor,
    cli_lang,
    command_unit_of_work,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.catalog.models import Store

promo = typer.Typer(help="Promotions and coupons: import, schedule, approve, audit.",
                    no_args_is_help=True)

CodeArg = Annotated[str, typer.Argument(help="The promotion's or coupon's id (its code).")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (kept in the history).")]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="The storeops user doing this (default: your login name)."),
]


_sub_registered: list[bool] = []


def register(app: typer.Typer) -> None:
    from storeops.pricing import audit_cli, eligibility_cli, protection_cli, results_cli

    if not _sub_registered:  # once: a second root (help, tests) must not add them twice
        for module in (audit_cli, eligibility_cli, protection_cli, results_cli):
            module.register(promo)
        _sub_registered.append(True)
    app.add_typer(promo, name="promo")


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"promotions.{key}", **params)


def _store(session: Session, name: str | None) -> Store:
    from storeops.catalog.stores import resolve_store

    return resolve_store(session, name)


def _actor(user: str | None) -> str:
    return f"user:{user.strip()}"[:120] if user and user.strip() else cli_actor()


def _status_word(status: str) -> str:
    return _t(f"status.{status}")


def _local(moment: datetime | None, tz: str) -> str:
    from storeops.common.timeutil import zone

    return moment.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@promo.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="Promotions file (YAML or JSON).")],
    store: StoreOption = None,
    reason: ReasonOption = None,
    user: UserOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Add or update the file's promotions, coupons and points (all or nothing): new entries
    are drafts, changed ones get a new version, entries the file leaves out stay."""
    from storeops.pricing import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        result = service.import_file(session, st.id, file, _actor(user), reason)
    if as_json:
        _echo_json(result.as_dict())
        return
    typer.echo(_t("cli.imported", source=str(file), created=len(result.created),
                  updated=len(result.updated), unchanged=len(result.unchanged),
                  unscheduled=len(result.unscheduled)))
    for code in result.unscheduled:
        typer.echo(_t("cli.moved", code=code, status=_status_word("draft")))


@promo.command("export")
def export_command(
    store: StoreOption = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write here (.json: JSON, else YAML); default: print YAML.")] = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", help="Only this status (repeat for more; default: all).")] = None,
    db: DbOption = None,
) -> None:
    """The store's promotions as a promotions file (importing it back changes nothing)."""
    from storeops.pricing import service
    from storeops.pricing.lifecycle import parse_status

    statuses = [parse_status(s).value for s in status] if status else None
    with command_unit_of_work(db) as session:
        st = _store(session, store)
        data = service.export_offers(session, st.id, statuses)
    fmt = "json" if out is not None and out.suffix.lower() == ".json" else "yaml"
    text = service.dump_offers(data, fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    count = len(data["promotions"]) + len(data["coupons"]) + (1 if "points" in data else 0)
    typer.echo(_t("cli.exported", count=count, path=str(out)))


@promo.command("list")
def list_command(
    store: StoreOption = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", help="Only this status (repeat for more).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The store's promotions: code, kind, status, window, SKUs, version, approval."""
    from storeops.pricing import service
    from storeops.pricing.lifecycle import parse_status

    statuses = [parse_status(s).value for s in status] if status else None
    with command_unit_of_work(db) as session:
        st = _store(session, store)
        records = service.list_promotions(session, st.id, statuses)
        views = [service.record_view(r) for r in records]
        tz = st.timezone
    if as_json:
        _echo_json([{k: v for k, v in view.items() if k != "spec"} for view in views])
        return
    if not records:
        typer.echo(_t("cli.none"))
        return
    header = [_t(f"col.{c}") for c in ("code", "kind", "status", "window", "skus", "version",
                                       "approval")]
    typer.echo("\t".join(header))
    for r, view in zip(records, views, strict=True):
        skus = _t("page.skus_all") if view["skus"] is None else str(view["skus"])
        approval = r.approved_by or ("!" if r.breaches_floor else "")
        typer.echo("\t".join([r.code, _t(f"kind.{r.kind}"), _status_word(r.status),
                              f"{_local(r.start_at, tz)} – {_local(r.end_at, tz)}", skus,
                              str(r.version), approval]))


@promo.command("show")
def show_command(
    code: CodeArg,
    store: StoreOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """One promotion: its terms, status, approval and history."""
    from storeops.pricing import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        record = service.find_promotion(session, st.id, code)
        view = service.record_view(record)
        rows = service.history(session, record)
        hist = [{"at": _local(h.at, st.timezone), "actor": h.actor, "action": h.action,
                 "reason": h.reason, "changes": service.change_lines(h)} for h in rows]
    if as_json:
        _echo_json({**view, "history": hist})
        return
    typer.echo(f"{record.code} · {_t('kind.' + record.kind)} · {_status_word(record.status)}"
               f" · v{record.version}" + (f" · {record.name}" if record.name else ""))
    typer.echo(service.dump_offers(view["spec"]).rstrip())
    if record.approved_by:
        typer.echo(_t("page.approved_by", user=record.approved_by,
                      at=_local(record.approved_at, st.timezone),
                      reason=record.approval_reason or ""))
    typer.echo(_t("cli.history") + ":")
    for h in hist:
        extra = f" ({h['reason']})" if h["reason"] else ""
        typer.echo(f"  {h['at']}  {h['actor'] or '—'}  {_t('action.' + h['action'])}{extra}")
        for line in h["changes"]:
            typer.echo(f"      {line}")


def _move(action: str, code: str, store: str | None, user: str | None, reason: str | None,
          db: str | None) -> None:
    from storeops.pricing import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        fn = getattr(service, action)
        record = fn(session, st.id, code, _actor(user), reason)
        status = record.status
    typer.echo(_t("cli.moved", code=code, status=_status_word(status)))


@promo.command("schedule")
def schedule_command(code: CodeArg, store: StoreOption = None, reason: ReasonOption = None,
                     user: UserOption = None, db: DbOption = None) -> None:
    """draft → scheduled (it goes live at its start). Refused when it takes a SKU below its
    floor and has no approval."""
    _move("schedule", code, store, user, reason, db)


@promo.command("start")
def start_command(code: CodeArg, store: StoreOption = None, reason: ReasonOption = None,
                  user: UserOption = None, db: DbOption = None) -> None:
    """scheduled → live now (through the same guard)."""
    _move("start", code, store, user, reason, db)


@promo.command("end")
def end_command(code: CodeArg, store: StoreOption = None, reason: ReasonOption = None,
                user: UserOption = None, db: DbOption = None) -> None:
    """live → ended now."""
    _move("end", code, store, user, reason, db)


@promo.command("cancel")
def cancel_command(
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is cancelled (required).")],
    store: StoreOption = None,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """draft, scheduled or live → cancelled."""
    _move("cancel", code, store, user, reason, db)


@promo.command("approve")
def approve_command(
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the launch is accepted.")],
    store: StoreOption = None,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Approve a promotion that takes SKUs below floor: by a user with promo.approve who did
    not write or last change it."""
    from storeops.accounts.permissions import Permission, has_permission
    from storeops.accounts.users import get_user
    from storeops.pricing import service
    from storeops.pricing.service import PromotionError

    actor = _actor(user)
    login = actor.removeprefix("user:")
    with command_unit_of_work(db) as session:
        st = _store(session, store)
        account = get_user(session, login)
        if account is None or not account.is_active:
            raise PromotionError(f"no user {login}: name the approver with --user",
                                 key="promotions.no_user", user=login)
        record = service.approve(session, st.id, code, actor, reason,
                                 may_approve=has_permission(account.role,
                                                            Permission.PROMO_APPROVE))
        version = record.version
    typer.echo(_t("cli.approved", code=code, user=actor, version=version))


@promo.command("check")
def check_command(store: StoreOption = None, as_json: JsonOption = False,
                  db: DbOption = None) -> None:
    """The conflict check of the store's draft, scheduled and live promotions; exit 1 when
    there is any conflict."""
    from storeops.pricing.conflicts import conflict_text, store_conflicts

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        found = store_conflicts(session, st.id)
    lang = cli_lang()
    if as_json:
        _echo_json([{"kind": c.kind, "codes": list(c.codes), "skus": list(c.skus),
                     "message": conflict_text(c, lang)} for c in found])
    elif not found:
        typer.echo(_t("cli.no_conflicts"))
    else:
        typer.echo(_t("cli.conflicts", count=len(found)))
        for c in found:
            typer.echo(f"  {conflict_text(c, lang)}")
    if found:
        raise typer.Exit(1)


@promo.command("advance")
def advance_command(
    store: StoreOption = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="As of this ISO time (default: now).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Scheduled promotions whose start has passed go live; live ones whose end has passed
    end (what the periodic job does)."""
    from storeops.pricing import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        moment = _parse_time(at, st.timezone, "--at") if at else None
        moved = service.advance_due(session, moment, store_id=st.id)
    if as_json:
        _echo_json([{"code": m.code, "from": m.status_from, "to": m.status_to}
                    for m in moved])
        return
    if not moved:
        typer.echo(_t("cli.nothing_due"))
    for m in moved:
        typer.echo(_t("cli.advanced", code=m.code, from_status=_status_word(m.status_from),
                      to_status=_status_word(m.status_to)))


def _parse_time(text: str, tz: str, option: str) -> datetime:
    from storeops.common.timeutil import localize
    from storeops.pricing.service import PromotionError

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PromotionError(f"{option}: {text!r} is not an ISO time (2026-06-18T20:00)",
                             key="promotions.bad_time", option=option, value=text) from None
    return moment if moment.tzinfo is not None else localize(moment, tz)


@promo.command("price-set")
def price_set_command(
    sku: Annotated[str, typer.Option("--sku", help="The SKU (JD SKU id).")],
    price: Annotated[str, typer.Option("--price", help="The new list price, e.g. 99.00.")],
    store: StoreOption = None,
    reason: ReasonOption = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="Effective from this ISO time (default: now).")] = None,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Change a SKU's list price (recorded for the history and 价保)."""
    from sqlalchemy import select

    from storeops.catalog.models import Product
    from storeops.common.errors import StoreopsError
    from storeops.common.money import parse_decimal, to_cents
    from storeops.pricing.service import PromotionError
    from storeops.pricing.store import record_price_change

    try:
        amount = parse_decimal(price)
    except StoreopsError:
        amount = None
    if amount is None or amount <= 0 or amount != amount.quantize(amount.__class__("0.01")):
        raise PromotionError(f"--price: {price!r} is not an amount above 0 (e.g. 99.00)",
                             key="promotions.bad_money", value=price)
    with command_unit_of_work(db) as session:
        st = _store(session, store)
        product = session.scalar(select(Product).where(Product.store_id == st.id,
                                                       Product.platform_sku_id == sku))
        if product is None:
            raise PromotionError(f"no SKU {sku} in store {st.name}",
                                 key="promotions.unknown_sku", sku=sku)
        old = product.list_price_cents
        when = _parse_time(at, st.timezone, "--at") if at else None
        record_price_change(session, st.id, product.id, to_cents(amount), _actor(user),
                            reason, when)
    typer.echo(_t("cli.price_set", sku=sku, old="—" if old is None else f"{old / 100:.2f}",
                  new=f"{amount:.2f}"))


def _fraction(text: str | None, option: str) -> Any:
    from decimal import Decimal, InvalidOperation

    from storeops.pricing.service import PromotionError

    if text is None:
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise PromotionError(f"{option} must be a fraction between 0 and 1 (e.g. 0.05)",
                             key="promotions.bad_rate", field=option) from None


@promo.command("settings")
def settings_command(
    store: StoreOption = None,
    min_margin: Annotated[str | None, typer.Option(
        "--min-margin", help="Minimum margin over cost, e.g. 0.10 for 10%.")] = None,
    protection_days: Annotated[int | None, typer.Option(
        "--protection-days", help="Price protection window, 7–15 days.")] = None,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Show or set the store's pricing guards."""
    from storeops.pricing import service

    margin = _fraction(min_margin, "--min-margin")
    with command_unit_of_work(db) as session:
        st = _store(session, store)
        row = service.set_settings(session, st.id, _actor(user), min_margin=margin,
                                   protection_days=protection_days)
        text = _t("cli.settings", store=st.name, min_margin=str(row.min_margin),
                  days=row.price_protection_days)
    typer.echo(text)


@promo.command("commission")
def commission_command(
    category: Annotated[str, typer.Option("--category", help="The category.")],
    rate: Annotated[str, typer.Option("--rate", help="JD's commission, e.g. 0.05 for 5%.")],
    store: StoreOption = None,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Set JD's commission rate of a category (the floor is cost × (1 + margin) after it)."""
    from storeops.pricing import service

    value = _fraction(rate, "--rate")
    with command_unit_of_work(db) as session:
        st = _store(session, store)
        row = service.set_commission(session, st.id, category, value, _actor(user))
        text = _t("cli.commission", store=st.name, category=row.category, rate=str(row.rate))
    typer.echo(text)
