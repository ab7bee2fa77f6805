"""Text options without pydantic: a command's start-up time.

Typer coerces every option's value through a pydantic ``TypeAdapter``, and building the first
one imports pydantic: ~45 ms of each command's start-up, although most of storeops' options are
text given as text, which that adapter hands back unchanged. :func:`install` lets such values
through as they are; every other value (numbers, paths, choices, an option with a parser) still
goes through Typer's own coercion, built when the first such value arrives, and an option left
out (None) needs none. Where Typer's internals differ from what this expects it changes nothing
(tests/test_startup.py then notices pydantic on the path of `storeops kpi`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


def install() -> bool:
    """Defer Typer's coercion until a value needs more than being text; True if installed."""
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
        from typer.core import _TyperParameter
    except ImportError:
        return False
    if getattr(_TyperParameter.get_runtime_param, "_storeops_text", False):
        return True
    if {f.name for f in fields(RuntimeParam)} != {"parameter_info", "annotation"}:
        return False

    @dataclass(frozen=True)
    class Deferred(RuntimeParam):
        """A parameter's coercion: text as it is, anything else by Typer's own."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if (type(value) is str and self.annotation is str
                    and self.parameter_info.parser is None):
                return value  # what Typer's str adapter returns for text
            real = build_runtime_param(param.type_descriptor)
            param._runtime_param = real
            return real._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            described = self.type_descriptor
            self._runtime_param = Deferred(parameter_info=described.parameter_info,
                                           annotation=described.annotation)
        return self._runtime_param

    get_runtime_param._storeops_text = True  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
    return True
