"""An alert rule as data, and its checks.

A rule watches one metric (a KPI of :mod:`storeops.metrics.definitions`, or one of the alert
figures: ``source_share``, ``gmv_pace``, ``stock_cover``, ``ship_deadline``,
``campaign_cpc``) over a scope (store, category, SKU, traffic source, campaign) and fires when
its condition holds:

* ``above`` / ``below``: the figure against a fixed ``threshold`` (rates as fractions, or
  ``"2.5%"``; money in yuan, ``"¥15"`` allowed); optional ``tiers`` raise the severity
  (``[{threshold: 25, severity: warning}, {threshold: 35, severity: critical}]``);
* ``change``: the figure against a ``baseline`` (``previous_period``,
  ``same_weekday_last_week`` or ``median_same_weekday_4w``), ``direction`` ``down``, ``up``
  or ``any``, by more than ``threshold`` (a fraction: 0.15 or ``"15%"``), optionally only
  when the baseline is at least ``min_baseline``;
* ``anomaly``: an unusual figure against the seasonal baseline
  (:func:`storeops.alerts.anomaly.detect`), ``direction``, ``sensitivity``.

Every condition may ask to hold for ``periods`` periods running (default 1). A rule also has a
severity, quiet hours (store-local; an alert raised then is held and sent when they end) and a
cooldown (hours during which a resolved problem is not raised again).

:func:`parse_rule` checks a rule from a file or a form and raises :class:`RuleSpecError`
naming the rule's code and the field at fault; :func:`rule_to_dict` is its inverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any

from storeops.alerts import anomaly
from storeops.common.errors import StoreopsError, Term

GRAINS = ("daily", "intraday")
SEVERITIES = ("info", "warning", "critical")
CONDITION_KINDS = ("above", "below", "change", "anomaly")
BASELINES = ("previous_period", "same_weekday_last_week", "median_same_weekday_4w")
DIRECTIONS = ("down", "up", "any")
SCOPE_KINDS = ("store", "category", "sku", "source", "campaign")
CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
MAX_PERIODS = 60
DEFAULT_COOLDOWN_HOURS = 24
# The anomaly check's own default: at 3.0 a sustained 40% drop of store GMV stays flagged (6
# of 7 days on the test store), at 3.5 only its first day (docs/alert_figures.md).
DEFAULT_SENSITIVITY = Decimal(str(anomaly.DEFAULT_SENSITIVITY)).normalize()  # as parsed

# The alert figures beyond the KPI definitions: their unit and the scopes they take.
EXTRA_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "source_share": ("rate", ("source",)),
    "gmv_pace": ("rate", ("store",)),
    "stock_cover": ("days", ("sku", "store")),
    "ship_deadline": ("count", ("store",)),
    "ship_overdue": ("count", ("store",)),
    "campaign_cpc": ("money", ("campaign", "store")),
}
_SCOPE_CUT = {"sku": "sku", "category": "category", "source": "source"}


class Problem(Term):
    """Why a rule's field is refused, in the reader's language
    (``errors.alert_rules.problem.<key>`` filled with the same parameters)."""

    section = "alert_rules.problem"

    def __new__(cls, text: str, word: str, **params: Any) -> Problem:
        term = super().__new__(cls, text, word)
        term.params = params
        return term

    def localised(self, lang: str) -> str:
        from storeops.web.i18n import catalog

        text = catalog(lang).get(f"errors.{self.section}.{self.word}")
        if not text:
            return str(self)
        try:
            return text.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return str(self)


class RuleSpecError(StoreopsError, ValueError):
    """A rule that cannot be used: ``code_name`` (the rule's code) and ``field`` say where,
    ``problem`` why; ``where`` names the file or form."""

    def __init__(self, code: str, field_name: str, problem: str, *, where: str = "",
                 problem_key: str = "invalid", **params: Any) -> None:
        prefix = f"{where}: " if where else ""
        if code == "-":  # the file as a whole (unreadable, not YAML, no list of rules)
            message, key = f"{prefix}{problem}", "alert_rules.spec_file"
        else:
            message = f"{prefix}rule {code}, field {field_name}: {problem}"
            key = "alert_rules.spec" if where else "alert_rules.spec_nowhere"
        super().__init__(message, key=key, where=where or "-", code=code, field=field_name,
                         problem=Problem(problem, problem_key, **params))
        self.code_name = code
        self.field = field_name
        self.problem = problem
        self.problem_key = problem_key


@dataclass(frozen=True)
class Tier:
    threshold: Decimal
    severity: str


@dataclass(frozen=True)
class Condition:
    kind: str  # above | below | change | anomaly
    threshold: Decimal | None = None
    baseline: str | None = None  # change
    direction: str = "any"  # change, anomaly
    periods: int = 1  # true for N periods running
    min_baseline: Decimal | None = None  # change: ignore a baseline below this
    sensitivity: Decimal | None = None  # anomaly
    tiers: tuple[Tier, ...] = ()  # above / below: stronger thresholds, louder severities


@dataclass(frozen=True)
class RuleSpec:
    code: str
    metric: str
    condition: Condition
    scope: tuple[tuple[str, Any], ...] = (("kind", "store"),)  # the scope dict as items
    grain: str = "daily"
    severity: str = "warning"
    name: str | None = None  # Chinese name (the default words)
    name_en: str | None = None
    action: str | None = None  # what to do, from the plans (Chinese)
    action_en: str | None = None
    quiet_hours: tuple[time, time] | None = None  # store-local [start, end)
    cooldown_hours: int = DEFAULT_COOLDOWN_HOURS
    enabled: bool = True

    @property
    def scope_dict(self) -> dict[str, Any]:
        return dict(self.scope)

    @property
    def unit(self) -> str:
        return metric_unit(self.metric)

    def display_name(self, lang: str = "zh-CN") -> str:
        if lang == "en":
            return self.name_en or self.name or self.code
        return self.name or self.name_en or self.code

    def periods_needed(self) -> int:
        """How many points of the series the condition reads (the checked one included)."""
        c = self.condition
        if c.kind == "anomaly":
            return 57 + c.periods - 1
        back = 0
        if c.kind == "change":
            back = {"previous_period": 1, "same_weekday_last_week": 7,
                    "median_same_weekday_4w": 28}[c.baseline or "previous_period"]
        # a few more, to tell since when the condition holds
        return min(c.periods + back + 7, MAX_PERIODS + 28 + 7)


def metric_unit(metric: str) -> str:
    if metric in EXTRA_METRICS:
        return EXTRA_METRICS[metric][0]
    from storeops.metrics.definitions import METRICS

    found = METRICS.get(metric)
    return found.unit if found else "count"


def known_metric(metric: str) -> bool:
    if metric in EXTRA_METRICS:
        return True
    from storeops.metrics.definitions import METRICS

    found = METRICS.get(metric)
    return found is not None and not found.base


def _decimal(value: Any, code: str, fname: str, where: str, *, percent_ok: bool = True
             ) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise RuleSpecError(code, fname, f"must be a number, not {value!r}", where=where,
                            problem_key="not_number", value=value)
    text = str(value).strip().replace(",", "")
    scale = Decimal(1)
    if text.startswith(("¥", "￥")):
        text = text[1:].strip()
    if percent_ok and text.endswith("%"):
        text, scale = text[:-1].strip(), Decimal("0.01")
    try:
        number = Decimal(text) * scale
    except InvalidOperation:
        raise RuleSpecError(code, fname, f"must be a number, not {value!r}", where=where,
                            problem_key="not_number", value=value) from None
    if not number.is_finite():
        raise RuleSpecError(code, fname, f"must be a number, not {value!r}", where=where,
                            problem_key="not_number", value=value)
    return number.normalize() if number == number.to_integral() else number


def _choice(value: Any, choices: tuple[str, ...], code: str, fname: str, where: str) -> str:
    text = str(value).strip() if value is not None else ""
    if text not in choices:
        raise RuleSpecError(code, fname, f"must be one of {', '.join(choices)}, not {value!r}",
                            where=where, problem_key="not_choice", choices=", ".join(choices),
                            value=value)
    return text


def _int(value: Any, code: str, fname: str, where: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip()) if value is not None else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise RuleSpecError(code, fname, f"must be a whole number from {low} to {high}, "
                            f"not {value!r}", where=where, problem_key="not_int", low=low,
                            high=high, value=value)
    return number


def _time(value: Any, code: str, fname: str, where: str) -> time:
    text = str(value).strip() if value is not None else ""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML reads 22:00 unquoted as a sexagesimal number of minutes (YAML 1.1)
        return time(value // 60, value % 60)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise RuleSpecError(code, fname, f"must be a time HH:MM, not {value!r}", where=where,
                            problem_key="not_time", value=value)
    return time(int(match[1]), int(match[2]))


def _text(value: Any, code: str, fname: str, where: str, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise RuleSpecError(code, fname, f"is longer than {limit} characters", where=where,
                            problem_key="too_long", limit=limit)
    return text or None


_RULE_KEYS = {"code", "name", "name_en", "metric", "scope", "grain", "condition", "severity",
              "action", "action_en", "quiet_hours", "cooldown_hours", "enabled"}
_CONDITION_KEYS = {"kind", "threshold", "baseline", "direction", "periods", "min_baseline",
                   "sensitivity", "tiers"}


def parse_rule(data: Any, where: str = "") -> RuleSpec:
    """A :class:`RuleSpec` from a mapping (a YAML file's entry, a form), checked; raises
    :class:`RuleSpecError` naming the rule's code and the field at fault."""
    if not isinstance(data, dict):
        raise RuleSpecError("?", "-", "a rule must be a mapping of fields", where=where,
                            problem_key="not_mapping")
    raw_code = data.get("code")
    code = str(raw_code).strip() if raw_code is not None else ""
    if not CODE_RE.match(code):
        raise RuleSpecError(code or "?", "code", "must be 1-64 letters, digits, '_', '-' or "
                            f"'.', not {raw_code!r}", where=where, problem_key="bad_code",
                            value=raw_code)
    unknown = sorted(set(map(str, data)) - _RULE_KEYS)
    if unknown:
        raise RuleSpecError(code, unknown[0], "is not a field of a rule (fields: "
                            + ", ".join(sorted(_RULE_KEYS)) + ")", where=where,
                            problem_key="unknown_field", fields=", ".join(sorted(_RULE_KEYS)))
    metric = str(data.get("metric") or "").strip()
    if not known_metric(metric):
        raise RuleSpecError(code, "metric", f"unknown metric {data.get('metric')!r}",
                            where=where, problem_key="unknown_metric", value=data.get("metric"))
    scope = _parse_scope(data.get("scope", {"kind": "store"}), metric, code, where)
    grain = _choice(data.get("grain", "daily"), GRAINS, code, "grain", where)
    severity = _choice(data.get("severity", "warning"), SEVERITIES, code, "severity", where)
    condition = _parse_condition(data.get("condition"), metric, code, where)
    quiet = data.get("quiet_hours")
    quiet_hours = None
    if quiet not in (None, "", False):
        if not isinstance(quiet, dict) or set(map(str, quiet)) - {"start", "end"}:
            raise RuleSpecError(code, "quiet_hours", "must be {start: HH:MM, end: HH:MM}",
                                where=where, problem_key="bad_quiet")
        start = _time(quiet.get("start"), code, "quiet_hours.start", where)
        end = _time(quiet.get("end"), code, "quiet_hours.end", where)
        if start == end:
            raise RuleSpecError(code, "quiet_hours", "start and end must differ",
                                where=where, problem_key="bad_quiet")
        quiet_hours = (start, end)
    cooldown = _int(data.get("cooldown_hours", DEFAULT_COOLDOWN_HOURS), code,
                    "cooldown_hours", where, 0, 24 * 90)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleSpecError(code, "enabled", f"must be true or false, not {enabled!r}",
                            where=where, problem_key="not_bool", value=enabled)
    return RuleSpec(
        code=code, metric=metric, condition=condition,
        scope=tuple(scope.items()), grain=grain, severity=severity,
        name=_text(data.get("name"), code, "name", where, 200),
        name_en=_text(data.get("name_en"), code, "name_en", where, 200),
        action=_text(data.get("action"), code, "action", where, 500),
        action_en=_text(data.get("action_en"), code, "action_en", where, 500),
        quiet_hours=quiet_hours, cooldown_hours=cooldown, enabled=enabled)


def _parse_scope(value: Any, metric: str, code: str, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        raise RuleSpecError(code, "scope", "must be a mapping such as {kind: store}",
                            where=where, problem_key="bad_scope")
    extra = sorted(set(map(str, value)) - {"kind", "value", "top"})
    if extra:
        raise RuleSpecError(code, f"scope.{extra[0]}", "is not a field of a scope (kind, "
                            "value, top)", where=where, problem_key="unknown_field",
                            fields="kind, value, top")
    kind = _choice(value.get("kind"), SCOPE_KINDS, code, "scope.kind", where)
    scope: dict[str, Any] = {"kind": kind}
    if metric in EXTRA_METRICS:
        allowed = EXTRA_METRICS[metric][1]
        if kind not in allowed:
            raise RuleSpecError(code, "scope.kind", f"{metric} is measured per "
                                f"{' / '.join(allowed)}, not per {kind}", where=where,
                                problem_key="bad_scope_for_metric", metric=metric, kind=kind)
    else:
        from storeops.metrics.definitions import supports

        cut = _SCOPE_CUT.get(kind)
        per_campaign = metric in ("ad_spend", "roas", "ad_gmv")
        if (kind == "campaign" and not per_campaign) or (cut and not supports(metric, cut)):
            raise RuleSpecError(code, "scope.kind", f"{metric} is not measured per {kind}",
                                where=where, problem_key="bad_scope_for_metric",
                                metric=metric, kind=kind)
    if kind == "store":
        if value.get("value") not in (None, "") or value.get("top") is not None:
            raise RuleSpecError(code, "scope", "a store scope takes no value or top",
                                where=where, problem_key="bad_scope")
        return scope
    if value.get("top") is not None:
        if value.get("value") not in (None, ""):
            raise RuleSpecError(code, "scope", "give value or top, not both", where=where,
                                problem_key="bad_scope")
        scope["top"] = _int(value.get("top"), code, "scope.top", where, 1, 500)
        return scope
    item = value.get("value")
    text = str(item).strip() if item is not None else ""
    if not text or len(text) > 150:
        raise RuleSpecError(code, "scope.value", "must name one (a SKU id, a category …) "
                            "or be \"all\"", where=where, problem_key="bad_scope")
    scope["value"] = text
    return scope


def _parse_condition(value: Any, metric: str, code: str, where: str) -> Condition:
    if not isinstance(value, dict):
        raise RuleSpecError(code, "condition", "is required: a mapping with kind (above, "
                            "below, change, anomaly)", where=where, problem_key="no_condition")
    unknown = sorted(set(map(str, value)) - _CONDITION_KEYS)
    if unknown:
        raise RuleSpecError(code, f"condition.{unknown[0]}", "is not a field of a condition "
                            "(" + ", ".join(sorted(_CONDITION_KEYS)) + ")", where=where,
                            problem_key="unknown_field",
                            fields=", ".join(sorted(_CONDITION_KEYS)))
    kind = _choice(value.get("kind"), CONDITION_KINDS, code, "condition.kind", where)
    periods = _int(value.get("periods", 1), code, "condition.periods", where, 1, MAX_PERIODS)
    pct_ok = metric_unit(metric) == "rate"
    if kind in ("above", "below"):
        threshold = _decimal(value.get("threshold"), code, "condition.threshold", where,
                             percent_ok=pct_ok)
        tiers = []
        raw_tiers = value.get("tiers") or []
        if not isinstance(raw_tiers, list):
            raise RuleSpecError(code, "condition.tiers", "must be a list of {threshold, "
                                "severity}", where=where, problem_key="bad_tiers")
        last = threshold
        for no, tier in enumerate(raw_tiers, 1):
            fname = f"condition.tiers[{no}]"
            if not isinstance(tier, dict) or set(map(str, tier)) != {"threshold", "severity"}:
                raise RuleSpecError(code, fname, "must be {threshold, severity}", where=where,
                                    problem_key="bad_tiers")
            t = _decimal(tier["threshold"], code, fname + ".threshold", where,
                         percent_ok=pct_ok)
            if (kind == "above" and t <= last) or (kind == "below" and t >= last):
                raise RuleSpecError(code, fname + ".threshold", "each tier must go further "
                                    "than the one before", where=where,
                                    problem_key="bad_tiers")
            last = t
            tiers.append(Tier(t, _choice(tier["severity"], SEVERITIES, code,
                                         fname + ".severity", where)))
        for extra in ("baseline", "min_baseline", "sensitivity"):
            if value.get(extra) is not None:
                raise RuleSpecError(code, f"condition.{extra}", f"does not apply to {kind}",
                                    where=where, problem_key="not_applicable", kind=kind)
        return Condition(kind=kind, threshold=threshold, periods=periods, tiers=tuple(tiers))
    if value.get("tiers"):
        raise RuleSpecError(code, "condition.tiers", f"does not apply to {kind}", where=where,
                            problem_key="not_applicable", kind=kind)
    direction = _choice(value.get("direction", "down" if kind == "change" else "any"),
                        DIRECTIONS, code, "condition.direction", where)
    if kind == "change":
        baseline = _choice(value.get("baseline", "previous_period"), BASELINES, code,
                           "condition.baseline", where)
        threshold = _decimal(value.get("threshold"), code, "condition.threshold", where)
        if threshold <= 0:
            raise RuleSpecError(code, "condition.threshold", "must be a change above 0 "
                                "(0.15 or 15% is a change of 15%)", where=where,
                                problem_key="not_positive")
        min_base = value.get("min_baseline")
        return Condition(kind=kind, threshold=threshold, baseline=baseline,
                         direction=direction, periods=periods,
                         min_baseline=None if min_base is None else _decimal(
                             min_base, code, "condition.min_baseline", where,
                             percent_ok=pct_ok))
    sens = value.get("sensitivity")
    sensitivity = DEFAULT_SENSITIVITY if sens is None else _decimal(
        sens, code, "condition.sensitivity", where, percent_ok=False)
    if not Decimal("0.5") <= sensitivity <= Decimal(20):
        raise RuleSpecError(code, "condition.sensitivity", "must be from 0.5 to 20 "
                            "(robust z-score; lower finds more)", where=where,
                            problem_key="bad_sensitivity")
    for extra in ("threshold", "baseline", "min_baseline"):
        if value.get(extra) is not None:
            raise RuleSpecError(code, f"condition.{extra}", "does not apply to anomaly",
                                where=where, problem_key="not_applicable", kind=kind)
    return Condition(kind=kind, direction=direction, periods=periods, sensitivity=sensitivity)


def _num(value: Decimal) -> str:
    return format(value, "f")


def condition_to_dict(c: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": c.kind}
    if c.kind in ("above", "below"):
        out["threshold"] = _num(c.threshold) if c.threshold is not None else None
        if c.tiers:
            out["tiers"] = [{"threshold": _num(t.threshold), "severity": t.severity}
                            for t in c.tiers]
    elif c.kind == "change":
        out.update(baseline=c.baseline, direction=c.direction,
                   threshold=_num(c.threshold) if c.threshold is not None else None)
        if c.min_baseline is not None:
            out["min_baseline"] = _num(c.min_baseline)
    else:
        out.update(direction=c.direction,
                   sensitivity=_num(c.sensitivity or DEFAULT_SENSITIVITY))
    if c.periods != 1:
        out["periods"] = c.periods
    return out


def rule_to_dict(spec: RuleSpec) -> dict[str, Any]:
    """The rule as plain data (the YAML file's entry); ``parse_rule(rule_to_dict(s)) == s``."""
    out: dict[str, Any] = {"code": spec.code}
    if spec.name:
        out["name"] = spec.name
    if spec.name_en:
        out["name_en"] = spec.name_en
    out.update(metric=spec.metric, scope=dict(spec.scope), grain=spec.grain,
               condition=condition_to_dict(spec.condition), severity=spec.severity)
    if spec.quiet_hours:
        out["quiet_hours"] = {"start": spec.quiet_hours[0].strftime("%H:%M"),
                              "end": spec.quiet_hours[1].strftime("%H:%M")}
    out["cooldown_hours"] = spec.cooldown_hours
    out["enabled"] = spec.enabled
    if spec.action:
        out["action"] = spec.action
    if spec.action_en:
        out["action_en"] = spec.action_en
    return out


def in_quiet_hours(spec: RuleSpec, local_time: time) -> bool:
    """Whether ``local_time`` (store-local) falls in the rule's quiet hours [start, end)."""
    if not spec.quiet_hours:
        return False
    start, end = spec.quiet_hours
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end
