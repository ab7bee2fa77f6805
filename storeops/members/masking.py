"""Masking customer contacts: the full phone number is never stored (PIPL, JD's rules)."""

from __future__ import annotations

import re

import polars as pl

_NON_DIGITS = re.compile(r"\D")


def mask_contact(text: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; text JD already masked stays as it is."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    digits = _NON_DIGITS.sub("", raw)
    if "*" in raw and len(digits) <= 7:
        return raw
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****"


def mask_contact_expr(col: str) -> pl.Expr:
    """The same rule as ``mask_contact``, column-wise."""
    raw = pl.col(col).str.strip_chars()
    digits = raw.str.replace_all(r"\D", "")
    n = digits.str.len_chars()
    return (
        pl.when(raw.is_null() | (raw == ""))
        .then(None)
        .when(raw.str.contains(r"\*", literal=False) & (n <= 7))
        .then(raw)
        .when(n >= 7)
        .then(pl.concat_str(digits.str.slice(0, 3), pl.lit("****"), digits.str.slice(-4)))
        .otherwise(pl.lit("****"))
    )
