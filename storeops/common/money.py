"""Money as integer minor units.

Amounts are stored as integer cents (1/100 of the currency unit) because SQLite has no exact
decimal type; unit prices keep four decimals (``PRICE_SCALE``) because real price lists carry
prices such as 0.165. ``Decimal`` is used at every edge (parsing, display, JSON).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from storeops.common.errors import StoreopsError

CENTS = Decimal("0.01")
PRICE_SCALE = 10_000  # unit prices are stored as integer units of 1/10000


class MoneyError(StoreopsError, ValueError):
    """A text that is not an amount of money."""


def parse_decimal(text: str | int | Decimal | None) -> Decimal | None:
    """Parse an amount as written in exports: ``1,234.50``, ``¥12``, `` 3 ``; empty → None."""
    if text is None:
        return None
    if isinstance(text, Decimal):
        return text
    if isinstance(text, int):
        return Decimal(text)
    cleaned = str(text).strip().replace(",", "").replace("¥", "").replace("￥", "")
    if cleaned == "":
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise MoneyError(f"not a number: {text!r}", key="money.not_number", text=text) from exc
    if not value.is_finite():
        raise MoneyError(f"not a finite number: {text!r}", key="money.not_number", text=text)
    return value


def to_cents(amount: Decimal | int) -> int:
    """Round half up to whole cents and return them as an integer."""
    return int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / 100).quantize(CENTS)


def to_price_units(price: Decimal | int) -> int:
    """A unit price in 1/10000 of the currency unit."""
    return int((Decimal(price) * PRICE_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_price_units(units: int | None) -> Decimal | None:
    if units is None:
        return None
    return (Decimal(units) / PRICE_SCALE).normalize() if units else Decimal("0")


def line_amount_cents(price_units: int, quantity: int) -> int:
    """Unit price × quantity, rounded half up to cents (integer arithmetic, no float)."""
    total = price_units * quantity  # in 1/10000
    sign = -1 if total < 0 else 1
    q, r = divmod(abs(total), 100)
    return sign * (q + (1 if r >= 50 else 0))


def allocate_cents(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` cents across ``weights`` pro rata; largest remainders get the odd cents.

    The parts always add up to ``total`` exactly, so a seller discount spread over the lines of
    an order never creates or loses a cent.
    """
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        parts = [0] * len(weights)
        parts[0] = total
        return parts
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    raw = [magnitude * w for w in weights]
    parts = [r // weight_sum for r in raw]
    remainders = sorted(range(len(weights)), key=lambda i: (-(raw[i] % weight_sum), i))
    for i in remainders[: magnitude - sum(parts)]:
        parts[i] += 1
    return [sign * p for p in parts]


def format_money(cents: int | None, currency: str = "CNY") -> str:
    if cents is None:
        return "—"
    symbol = {"CNY": "¥", "GBP": "£", "USD": "$", "EUR": "€"}.get(currency, currency + " ")
    return f"{symbol}{from_cents(cents):,.2f}"
