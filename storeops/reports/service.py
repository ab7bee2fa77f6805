"""Build a report: gather its figures, write its XLSX (and PDF), keep the files beside the
data and record the ``Report`` row.

Files are kept under ``<warehouse>/reports/<store id>/`` (:func:`storeops.config.warehouse_dir`:
beside a SQLite file, else ``STOREOPS_WAREHOUSE_DIR`` or the user's cache), named
``<kind>_<period>_<lang>.xlsx|.pdf``. A report is one row per store, kind, period and language:
building the same period again replaces its files and its row's figures. ``xlsx_path`` and
``pdf_path`` (the CLI's ``--xlsx``/``--pdf``) get a copy as well.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storeops.common.errors import os_reason
from storeops.reports.data import ReportData, ReportError, check_kind, gather, period_of
from storeops.reports.models import Report

LANGS = ("zh-CN", "en")


def check_lang(lang: str | None) -> str:
    from storeops.web.i18n import normalize_lang

    found = normalize_lang(lang) if lang else "zh-CN"
    if found is None:
        raise ReportError(f"unknown language {lang!r}: choose zh-CN or en",
                          key="reports.bad_lang", lang=lang)
    return found


def reports_dir(db_url: str, store_id: int) -> Path:
    from storeops.config import warehouse_dir

    return warehouse_dir(db_url) / "reports" / str(store_id)


def stored_paths(db_url: str, store_id: int, kind: str, period: str,
                 lang: str) -> tuple[Path, Path]:
    base = reports_dir(db_url, store_id) / f"{kind}_{period}_{lang}"
    return base.with_suffix(".xlsx"), base.with_suffix(".pdf")


def check_writable(path: Path) -> None:
    """Refuse an output file before any work: a folder, a missing folder, or no permission."""
    target = Path(path)
    reason = None
    if target.is_dir():
        reason = "Is a directory"
    elif not target.parent.is_dir():
        reason = "No such file or directory"
    elif not os.access(target.parent, os.W_OK) or (target.exists()
                                                     and not os.access(target, os.W_OK)):
        reason = "Permission denied"
    if reason:
        from storeops.common.errors import Term

        raise ReportError(f"cannot write {path}: {reason}", key="reports.cannot_write",
                          path=str(path), reason=Term(reason))


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` that replaces it when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _copy(source: Path, target: Path) -> None:
    try:
        with _replacing(Path(target).resolve()) as tmp:
            shutil.copyfile(source, tmp)
    except OSError as exc:
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}",
                          key="reports.cannot_write", path=str(target),
                          reason=os_reason(exc)) from exc


def figures(data: ReportData) -> dict[str, Any]:
    """What the row keeps of the report (JSON): its period and KPI figures."""
    from storeops.metrics.render import jsonable

    p = data.period
    return jsonable({
        "period": {"kind": p.kind, "label": p.label, "from": p.first, "to": p.last},
        "previous_period": {"label": p.prev_label, "from": p.prev_first, "to": p.prev_last},
        "kpis": {k["key"]: {"value": k["value"], "previous": k["previous"],
                            "change": k["change"], "target": k["target"],
                            "achievement": k["achievement"]} for k in data.kpis},
    })


def build_report(db_url: str, store_id: int, kind: str, period: str, lang: str = "zh-CN",
                 xlsx_path: str | Path | None = None, pdf_path: str | Path | None = None, *,
                 pdf: bool | None = None, built_by: str | None = None,
                 now: datetime | None = None) -> Report:
    """Build the report of ``kind`` (weekly|monthly) for ``period`` (YYYY-Www | YYYY-MM) in
    ``lang``; the PDF too when ``pdf`` (default: when ``pdf_path`` is given). Returns the saved
    ``Report`` row (detached)."""
    from storeops.common.timeutil import utcnow
    from storeops.db.engine import unit_of_work
    from storeops.reports.pdf import write_pdf
    from storeops.reports.xlsx import write_xlsx

    check_kind(kind)
    lang = check_lang(lang)
    p = period_of(kind, period)
    with_pdf = bool(pdf_path) if pdf is None else pdf
    for out in (xlsx_path, pdf_path):
        if out:
            check_writable(Path(out))
    moment = now or utcnow()
    data = gather(db_url, store_id, kind, p.label, now=moment)
    xlsx_stored, pdf_stored = stored_paths(db_url, store_id, kind, p.label, lang)
    with _replacing(xlsx_stored) as tmp:
        write_xlsx(data, tmp, lang)
    if with_pdf:
        from storeops.common.timeutil import zone

        stamp = moment.astimezone(zone(data.timezone)).strftime("%Y-%m-%d %H:%M")
        with _replacing(pdf_stored) as tmp:
            write_pdf(data, tmp, lang, stamp)
    elif pdf_stored.exists():
        pdf_stored.unlink()  # a rebuild without the PDF: no stale PDF of older figures
    if xlsx_path:
        _copy(xlsx_stored, Path(xlsx_path))
    if pdf_path:
        _copy(pdf_stored, Path(pdf_path))
    values = {"status": "built", "xlsx_path": str(xlsx_stored),
              "pdf_path": str(pdf_stored) if with_pdf else None,
              "figures_json": json.dumps(figures(data), ensure_ascii=False), "error": None,
              "built_by": (built_by or "")[:120] or None, "built_at": moment, "sent_at": None}
    for attempt in (1, 2):  # a concurrent build of the same report: update the row it made
        try:
            with unit_of_work(db_url) as session:
                row = find_report(session, store_id, kind, p.label, lang)
                if row is None:
                    row = Report(store_id=store_id, kind=kind, period=p.label, lang=lang)
                    session.add(row)
                for name, value in values.items():
                    setattr(row, name, value)
                session.flush()
            return row
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def find_report(session: Any, store_id: int, kind: str, period: str, lang: str
                ) -> Report | None:
    return session.scalars(select(Report).where(
        Report.store_id == store_id, Report.kind == kind, Report.period == period,
        Report.lang == lang)).first()


def report_figures(report: Report) -> dict[str, Any]:
    return json.loads(report.figures_json or "{}")
