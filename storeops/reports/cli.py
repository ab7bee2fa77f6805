"""``storeops report weekly|monthly``: the operations reports as XLSX and PDF.

    storeops report weekly  --store S --week 2026-W44 --xlsx week.xlsx [--pdf week.pdf]
    storeops report monthly --store S --month 2026-10 --xlsx month.xlsx [--pdf month.pdf]

Both take ``--lang zh-CN|en`` (default: the terminal's, ``STOREOPS_LANG``) and ``--json``
(the period and the KPI figures the report printed, as ``storeops kpi --json`` writes them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from storeops.common.cli_options import DbOption, JsonOption, StoreOption, cli_actor, cli_lang

report_app = typer.Typer(help="Weekly and monthly operations reports (XLSX and PDF).",
                         no_args_is_help=True)

XlsxOption = Annotated[Path, typer.Option("--xlsx", help="Write the workbook to this file.",
                                          show_default=False)]
PdfOption = Annotated[Path | None, typer.Option("--pdf", help="Also write the PDF to this file.",
                                                show_default=False)]
LangOption = Annotated[str | None, typer.Option(
    "--lang", help="zh-CN or en (default: the terminal's language, STOREOPS_LANG).",
    show_default=False)]


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"reports.{key}", **params)


def _run(kind: str, period: str, store: str | None, xlsx: Path, pdf: Path | None,
         lang: str | None, as_json: bool, db: str | None) -> None:
    from storeops.catalog.stores import find_store
    from storeops.common.cli_options import database_url
    from storeops.db.engine import get_engine
    from storeops.metrics.render import jsonable
    from storeops.reports.data import period_of
    from storeops.reports.service import build_report, check_lang, check_writable, report_figures

    p = period_of(kind, period)  # a bad week or month is refused before the database opens
    chosen = check_lang(lang or cli_lang())
    for out in (xlsx, pdf):
        if out is not None:
            check_writable(out)
    url = database_url(db)
    with get_engine(url).connect() as conn:
        st = find_store(conn, store)
    report = build_report(url, st.id, kind, p.label, chosen, xlsx, pdf, built_by=cli_actor())
    found = report_figures(report)
    if as_json:
        payload = {"store": st.name, "kind": kind, "period": p.label, "from": p.first,
                   "to": p.last, "lang": chosen, "currency": st.currency,
                   "previous_period": found["previous_period"],
                   "xlsx": str(xlsx), "pdf": None if pdf is None else str(pdf),
                   "kpis": found["kpis"]}
        typer.echo(json.dumps(jsonable(payload), ensure_ascii=False))
        return
    gmv = found["kpis"]["gmv"]
    change = gmv["change"]
    typer.echo(_t("cli.built", kind=_t(f"kind.{kind}"), period=p.label, store=st.name,
                  first=p.first.isoformat(), last=p.last.isoformat()))
    typer.echo(_t("cli.gmv", gmv=gmv["value"], change="—" if change is None
                  else f"{change:+.1%}"))
    for out in (xlsx, pdf):
        if out is not None:
            typer.echo(_t("cli.written", path=out))


@report_app.command("weekly")
def weekly(
    week: Annotated[str, typer.Option("--week", help="ISO week, YYYY-Www (e.g. 2026-W44): "
                                      "Monday to Sunday, store-local days.",
                                      show_default=False)],
    xlsx: XlsxOption,
    pdf: PdfOption = None,
    store: StoreOption = None,
    lang: LangOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The week's operations report (Monday to Sunday) as XLSX and PDF, against last week."""
    _run("weekly", week, store, xlsx, pdf, lang, as_json, db)


@report_app.command("monthly")
def monthly(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM (e.g. 2026-10).",
                                       show_default=False)],
    xlsx: XlsxOption,
    pdf: PdfOption = None,
    store: StoreOption = None,
    lang: LangOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The month's operations report as XLSX and PDF, against last month."""
    _run("monthly", month, store, xlsx, pdf, lang, as_json, db)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``storeops`` command."""
    app.add_typer(report_app, name="report")
