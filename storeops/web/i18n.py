"""Languages of the cockpit: zh-CN by default, English on request.

Each language has one message catalog (``i18n/<lang>.yaml``), loaded once, plus one file per
area that has words of its own (``i18n/<area>.<lang>.yaml``: orders, stock, jd …), so that an
area's words sit together. A key defined twice is an error. Metric names are not in the
catalogs: they come from :mod:`storeops.metrics.definitions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from storeops.metrics.definitions import label as metric_label_of

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"
CATALOG_DIR = Path(__file__).with_name("i18n")

Translator = Callable[..., str]


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def _read(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as fh:
        return _flatten(yaml.safe_load(fh) or {})


@cache
def catalog(lang: str) -> dict[str, str]:
    words = _read(CATALOG_DIR / f"{lang}.yaml")
    for path in sorted(CATALOG_DIR.glob(f"*.{lang}.yaml")):
        area = _read(path)
        twice = sorted(words.keys() & area.keys())
        if twice:
            raise ValueError(f"{path.name} defines keys defined before: {', '.join(twice[:5])}")
        words.update(area)
    return words


def normalize_lang(text: str | None) -> str | None:
    """``en``, ``en-US`` → en; ``zh``, ``zh-CN`` → zh-CN; anything else → None."""
    value = (text or "").strip().lower()
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return "zh-CN"
    return None


def translate(lang: str, key: str, **params: Any) -> str:
    """The message ``key`` in ``lang`` (else the default language, else the key itself)."""
    text = catalog(lang).get(key) or catalog(DEFAULT_LANG).get(key) or key
    return text.format(**params) if params else text


def translator(lang: str) -> Translator:
    def t(key: str, **params: Any) -> str:
        return translate(lang, key, **params)

    return t


def metric_label(key: str, lang: str) -> str:
    return metric_label_of(key, "en" if lang == "en" else "zh")


def label_or_raw(lang: str, prefix: str, value: str | None) -> str:
    """A translated label for a code such as a traffic source, or the code as it is."""
    if value is None:
        return translate(lang, f"{prefix}.unknown")
    key = f"{prefix}.{value}"
    return catalog(lang).get(key) or value


def reject_reason(lang: str, key: str) -> str:
    """The label of an importer's reason key ("negative unit price", "missing day", …); the
    key itself where the catalog has none (English keys are already readable)."""
    found = catalog(lang).get(f"import.reasons.{key}")
    if found:
        return found
    if key.startswith("missing "):
        field = key.removeprefix("missing ")  # a table's field ("day"): the user's word for it
        return translate(lang, "import.reasons.missing",
                         field=catalog(lang).get(f"errors.fields.{field}", field))
    return key


# The variable part of an importer's English reason text (``reason`` beside ``reason_key``),
# said again in another language: the row a duplicate repeats, the status not known, a length.
_REASON_DETAILS = (
    (re.compile(r"^duplicate of row (?P<row>\d+)$"), "errors.reject_details.duplicate_of"),
    (re.compile(r"^same .+ as row (?P<row>\d+)$"), "errors.reject_details.duplicate_of"),
    (re.compile(r"^unknown order status: (?P<value>.*)$"),
     "errors.reject_details.unknown_status"),
    (re.compile(r"^\S+ is (?P<length>\d+) characters long, at most (?P<limit>\d+) allowed$"),
     "errors.reject_details.too_long"),
)


def reject_detail(lang: str, key: str | None, reason: str | None) -> str:
    """What a rejected row's reason adds to its label, in ``lang`` ("" when nothing): English
    reads the importer's own text; other languages get its variable part in their words, never
    English (the label already says what is wrong)."""
    text = reason or ""
    if lang == "en":
        return "" if text == reject_reason(lang, key or "") else text
    for pattern, message in _REASON_DETAILS:
        found = pattern.match(text)
        if found:
            return translate(lang, message, **found.groupdict())
    return ""


def reject_text(lang: str, key: str | None, reason: str | None) -> str:
    """A rejected row's reason in one line of ``lang`` (the rejects file's reason column):
    English keeps the importer's own text; other languages say the label, then the detail."""
    if lang == "en":
        return reason or key or ""
    label = reject_reason(lang, key or "") if key else (reason or "")
    detail = reject_detail(lang, key, reason)
    return translate(lang, "import.reason_with_detail", label=label, detail=detail) \
        if detail else label
