"""Which field of a cockpit form a refused value is about, and the words said beside it.

A form that refuses a value comes back (422) with everything as it was typed, each field at
fault marked (``aria-invalid``, class ``invalid``) and its reason right beside it
(``aria-describedby``): the templates do that with the macros of ``_field_error.html`` from a
``{field name: message}`` mapping built here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storeops.api.uploads import MappingMissing
from storeops.catalog.stores import StoreError
from storeops.common.errors import localise
from storeops.importers.mapping import MappingError
from storeops.importers.service import KINDS, ImportUsageError
from storeops.metrics.periods import PeriodError, parse_day

FieldErrors = dict[str, str]

PERIOD_FIELDS = ("from", "to")


@dataclass(frozen=True)
class PeriodForm:
    """The period form as a refused request typed it."""

    errors: FieldErrors  # the fields at fault, each with the message
    typed: dict[str, str]  # from/to as typed
    as_text: frozenset[str]  # typed values that are not dates: a date input would drop them

    @classmethod
    def refused(cls, exc: PeriodError, params: Mapping[str, str], lang: str) -> PeriodForm:
        """The dates the error names (``exc.field``), else (a period that starts after it
        ends, or is too long) both, with the error's message in ``lang``."""
        fields = (exc.field,) if exc.field in PERIOD_FIELDS else PERIOD_FIELDS
        message = localise(exc, lang)
        typed = {name: params.get(name) or "" for name in PERIOD_FIELDS}
        return cls({name: message for name in fields}, typed,
                   frozenset(name for name, text in typed.items() if not _is_date(text)))


def _is_date(text: str) -> bool:
    try:
        parse_day(text)
    except PeriodError:
        return False
    return True


# Errors whose catalog key (``StoreopsError.key``) says which import field is at fault.
IMPORT_FIELD_OF_KEY = {"import.missing_sheet": "sheet"}


def import_error_field(exc: Exception, *, kind: str, has_file: bool) -> str:
    """The import form's field an import error is about: the one its key names (a missing
    sheet), else the one its kind tells, else ``file`` (the file's contents are at fault)."""
    if not has_file:
        return "file"
    named = IMPORT_FIELD_OF_KEY.get(getattr(exc, "key", None) or "")
    if named:
        return named
    if isinstance(exc, MappingMissing | MappingError):
        return "mapping"
    if isinstance(exc, ImportUsageError):
        return "kind" if kind not in KINDS else "format"
    if isinstance(exc, StoreError):
        return "store"
    return "file"
