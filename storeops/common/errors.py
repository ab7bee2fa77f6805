"""Errors that reach a user as a clear message rather than a traceback.

``str(exc)`` is the English message (the JSON API's ``detail``, logs, scripts). An error may
also carry a catalog key and its parameters: :func:`localise` then gives the message in the
reader's language (the pages' ``page_lang``, the terminal's ``STOREOPS_LANG``) from the
``errors:`` section of the i18n catalogs.
"""

from __future__ import annotations

from typing import Any


class Term(str):
    """A word inside an error message that the catalogs translate (``errors.terms.<word>``),
    such as which date was bad ("from date"); as a str it is the English text. ``word`` is
    the catalog's name for it when that differs from the English text."""

    section = "terms"

    def __new__(cls, text: str, word: str | None = None) -> Term:
        term = super().__new__(cls, text)
        term.word = word if word is not None else str(text)
        return term

    def localised(self, lang: str) -> str:
        from storeops.web.i18n import catalog

        return catalog(lang).get(f"errors.{self.section}.{self.word}", self.fallback())

    def fallback(self) -> str:
        return str(self)


class FieldName(Term):
    """A form field or query parameter by its name ("from", "gmv"): the words a user sees on
    the form (``errors.fields.<name>``), else the name itself, never "query parameter …"."""

    section = "fields"

    def fallback(self) -> str:
        return self.word


class MetricName(Term):
    """A metric's key ("gmv", "conversion_rate") named in a message: its label in the reader's
    language (GMV / 成交金额 …, from :mod:`storeops.metrics.definitions`)."""

    def localised(self, lang: str) -> str:
        from storeops.web.i18n import metric_label

        return metric_label(self.word, lang)


def os_reason(exc: OSError) -> Term:
    """Why the system refused a file ("No such file or directory"), as a word the catalogs
    translate (``errors.terms``)."""
    return Term(exc.strerror or str(exc))


class StoreopsError(Exception):
    """Base of every error the CLI, the API and the pages show to a user as it is.

    ``key`` names the message under ``errors.`` in the catalogs; ``params`` fill it (a
    :class:`Term` is translated too, an exception is localised in turn)."""

    key: str | None = None  # a subclass may give every instance the same words

    def __init__(self, message: str = "", *, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if key is not None:
            self.key = key
        self.params: dict[str, Any] = params

    @property
    def code(self) -> str | None:
        """A stable name of the error for scripts (the API's ``code``): its catalog key."""
        return self.key


def localise(exc: BaseException, lang: str) -> str:
    """The message of ``exc`` in ``lang`` ("zh-CN" or "en"): its catalog text when it carries a
    key the catalogs know (``key`` under ``errors.``, or a class's ``message_key``: a full
    catalog key without parameters), else ``str(exc)`` as it is."""
    from storeops.web.i18n import catalog, translate  # the catalogs live with the pages

    key = getattr(exc, "key", None)
    full = f"errors.{key}" if key else getattr(exc, "message_key", None)
    if not full or full not in catalog(lang):
        return str(exc)
    params = {name: _localised_param(value, lang)
              for name, value in getattr(exc, "params", {}).items()}
    try:
        return translate(lang, full, **params)
    except (KeyError, IndexError, ValueError):  # a catalog text naming a parameter not given
        return str(exc)


def _localised_param(value: Any, lang: str) -> Any:
    if isinstance(value, BaseException):
        return localise(value, lang)
    if isinstance(value, Term):
        return value.localised(lang)
    return value
