"""Cells written for Excel (CSV exports, rejects files) that Excel must not run as formulas."""

from __future__ import annotations

import re
from typing import Any

# Excel starts a formula at any of these; a tab or CR start is also used to smuggle one in.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number (e.g. -12.50, +3, 1e5) is left as it is: it is data, not a formula.
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: Any) -> Any:
    """Prefix a text cell that Excel would evaluate with an apostrophe; numbers unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _NUMBER.match(value):
        return value
    return "'" + value


def restore_cell(value: Any) -> Any:
    """The cell :func:`neutralise_cell` was given, for a file whose text cells are never run
    (XLSX string cells). A cell that truly began with an apostrophe before a formula sign
    comes back without it: the CSV cannot tell the two apart."""
    if (isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS)
            and not _NUMBER.match(value[1:])):
        return value[1:]
    return value
