"""A store's alert rules in the database (``alert_rules``): the defaults, listing, saving,
enabling, and the YAML rule file (import and export).

The rule file::

    rules:
      - code: uv_drop
        name: 访客数下降超过15%
        metric: uv
        scope: {kind: store}
        grain: daily
        condition: {kind: change, baseline: same_weekday_last_week, direction: down,
                    threshold: 0.15}
        severity: warning
        quiet_hours: {start: "22:00", end: "08:00"}
        cooldown_hours: 24
        enabled: true

(every field: ``docs/alerts.md``). An import is all or nothing: every rule is checked before
anything is written, and the first bad one is an error naming the file, the rule and the
field. Rules are matched by ``code``: a new code adds a rule, a known one is replaced when it
differs, a rule the file does not mention is kept. Importing the same file again changes
nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.alerts.defaults import DEFAULT_CODES, default_specs
from storeops.alerts.models import AlertRule
from storeops.alerts.rules import RuleSpec, RuleSpecError, parse_rule, rule_to_dict

MAX_FILE_BYTES = 1_000_000
MAX_RULES = 500


@dataclass(frozen=True)
class ImportResult:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"created": list(self.created), "updated": list(self.updated),
                "unchanged": list(self.unchanged)}


def spec_of(row: AlertRule) -> RuleSpec:
    """The rule of a stored row (``enabled`` from the row's column)."""
    data = json.loads(row.spec_json)
    data["enabled"] = bool(row.enabled)
    return parse_rule(data, where=f"alert_rules#{row.id}")


def _json(spec: RuleSpec) -> str:
    return json.dumps(rule_to_dict(spec), ensure_ascii=False, sort_keys=True)


def _fill(row: AlertRule, spec: RuleSpec) -> None:
    row.code = spec.code
    row.name = spec.name or spec.name_en
    row.metric = spec.metric
    row.grain = spec.grain
    row.enabled = spec.enabled
    row.spec_json = _json(spec)


def ensure_default_rules(session: Session, store_id: int) -> int:
    """Add the default rules a store does not have yet (by code; an edited default is left
    as it is). The number added."""
    have = set(session.scalars(select(AlertRule.code).where(AlertRule.store_id == store_id)))
    added = 0
    for spec in default_specs():
        if spec.code in have:
            continue
        row = AlertRule(store_id=store_id, builtin=True, version=1, updated_by="system")
        _fill(row, spec)
        session.add(row)
        added += 1
    if added:
        session.flush()
    return added


def list_rules(session: Session, store_id: int, *, grain: str | None = None,
               enabled: bool | None = None) -> list[AlertRule]:
    """The store's rules (the defaults first, in their order, then the others by code)."""
    ensure_default_rules(session, store_id)
    query = select(AlertRule).where(AlertRule.store_id == store_id)
    if grain is not None:
        query = query.where(AlertRule.grain == grain)
    if enabled is not None:
        query = query.where(AlertRule.enabled.is_(enabled))
    rows = list(session.scalars(query))
    order = {code: i for i, code in enumerate(DEFAULT_CODES)}
    rows.sort(key=lambda r: (order.get(r.code, len(order)), r.code))
    return rows


def get_rule(session: Session, store_id: int, code: str) -> AlertRule | None:
    return session.scalars(select(AlertRule).where(AlertRule.store_id == store_id,
                                                   AlertRule.code == code)).first()


def save_rule(session: Session, store_id: int, spec: RuleSpec, actor: str | None
              ) -> AlertRule:
    """Add or replace the rule ``spec.code`` of the store (its version goes up when it
    changes; an identical rule is left untouched)."""
    row = get_rule(session, store_id, spec.code)
    if row is None:
        row = AlertRule(store_id=store_id, builtin=spec.code in DEFAULT_CODES, version=1,
                        updated_by=actor)
        _fill(row, spec)
        session.add(row)
        session.flush()
        return row
    if row.spec_json == _json(spec) and bool(row.enabled) == spec.enabled:
        return row
    _fill(row, spec)
    row.version = (row.version or 1) + 1
    row.updated_by = actor
    session.flush()
    return row


def set_enabled(session: Session, store_id: int, code: str, enabled: bool,
                actor: str | None) -> AlertRule:
    """Turn the rule ``code`` on or off."""
    ensure_default_rules(session, store_id)
    row = get_rule(session, store_id, code)
    if row is None:
        raise RuleSpecError(code, "code", "no such rule in this store",
                            problem_key="no_such_rule")
    return save_rule(session, store_id, replace(spec_of(row), enabled=enabled), actor)


def read_rule_file(path_or_text: str | Path) -> tuple[str, str]:
    """(where, text) of a rule file given as a path, or YAML text as it is."""
    if isinstance(path_or_text, Path) or ("\n" not in path_or_text
                                         and Path(path_or_text).suffix.lower()
                                         in (".yaml", ".yml", ".json")):
        path = Path(path_or_text)
        where = path.name
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise RuleSpecError("-", "-", f"the file is larger than {MAX_FILE_BYTES} "
                                    "bytes", where=where, problem_key="too_large",
                                    limit=MAX_FILE_BYTES)
            raw = path.read_bytes()
        except OSError as exc:
            raise RuleSpecError("-", "-", exc.strerror or str(exc), where=where,
                                problem_key="unreadable", reason=exc.strerror or str(exc)
                                ) from None
        try:
            return where, raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RuleSpecError("-", "-", "the file is not UTF-8 text", where=where,
                                problem_key="not_utf8") from None
    return "rules", str(path_or_text)


def parse_rule_file(text: str, where: str = "rules") -> list[RuleSpec]:
    """Every rule of a rule file's text, checked; the first bad one raises
    :class:`RuleSpecError` naming ``where``, the rule and the field."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise RuleSpecError("-", "-", f"the file is larger than {MAX_FILE_BYTES} bytes",
                            where=where, problem_key="too_large", limit=MAX_FILE_BYTES)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        raise RuleSpecError("-", "-", f"not valid YAML (line {line})", where=where,
                            problem_key="bad_yaml", line=line) from None
    if isinstance(data, dict) and set(data) <= {"rules", "version"}:
        data = data.get("rules")
    if not isinstance(data, list):
        raise RuleSpecError("-", "rules", "the file must hold a list of rules under "
                            "\"rules:\"", where=where, problem_key="no_rules")
    if len(data) > MAX_RULES:
        raise RuleSpecError("-", "rules", f"at most {MAX_RULES} rules", where=where,
                            problem_key="too_many", limit=MAX_RULES)
    specs: list[RuleSpec] = []
    seen: set[str] = set()
    for no, entry in enumerate(data, 1):
        if not isinstance(entry, dict):
            raise RuleSpecError(f"#{no}", "-", "a rule must be a mapping of fields",
                                where=where, problem_key="not_mapping")
        if entry.get("code") is None:
            raise RuleSpecError(f"#{no}", "code", "is required", where=where,
                                problem_key="required")
        spec = parse_rule(entry, where=where)
        if spec.code in seen:
            raise RuleSpecError(spec.code, "code", "appears twice in the file", where=where,
                                problem_key="duplicate")
        seen.add(spec.code)
        specs.append(spec)
    return specs


def import_rules(session: Session, store_id: int, path_or_text: str | Path,
                 actor: str | None) -> ImportResult:
    """Import a rule file (a path, or YAML text): all or nothing, upsert by code, rules the
    file does not mention kept."""
    where, text = read_rule_file(path_or_text)
    specs = parse_rule_file(text, where)
    ensure_default_rules(session, store_id)
    created, updated, unchanged = [], [], []
    for spec in specs:
        row = get_rule(session, store_id, spec.code)
        before = (row.spec_json, bool(row.enabled)) if row is not None else None
        row = save_rule(session, store_id, spec, actor)
        if before is None:
            created.append(spec.code)
        elif before == (row.spec_json, bool(row.enabled)):
            unchanged.append(spec.code)
        else:
            updated.append(spec.code)
    return ImportResult(tuple(created), tuple(updated), tuple(unchanged))


def export_text(specs: list[RuleSpec]) -> str:
    return yaml.safe_dump({"rules": [rule_to_dict(s) for s in specs]}, allow_unicode=True,
                          sort_keys=False, width=100)


def export_rules(session: Session, store_id: int, path: str | Path | None = None) -> str:
    """The store's rules as a rule file (YAML text); written to ``path`` when given."""
    text = export_text([spec_of(row) for row in list_rules(session, store_id)])
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
