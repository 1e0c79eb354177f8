"""Invoiced discounts (money amounts) seen as talk's discount fractions, and back.

Invoiced keeps an invoice's and a line's ``discounts`` as a list of amounts;
talk's global ``discount`` is a fraction (0.1 = 10%). A converter sees one
value only, so the connector does the part that needs the whole record:

- on read, each discount entry is annotated with the base its amount is
  taken from (``talk_base``: the invoice's subtotal, or the line's
  quantity x unit cost) and with the rate talk last wrote there
  (``talk_rate``, kept in the record's ``metadata``), so the converter can
  answer amount / base, or the rate itself when the amount is still that
  rate applied to the base (no rounding drift, no write loops);
- on write, the converter answers ``[{"talk_rate": r}]``; the connector turns
  it into one discount of ``r x base`` rounded to cents, keeps ``r`` in the
  metadata and applies it again whenever talk changes the invoice's lines
  (the engine creates an invoice first and adds its lines one by one).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from talk_invoiced.schema import BASE_KEY, RATE, RATE_KEY

CENT = Decimal("0.01")
#: Fractions read from amounts are kept to this many places (0.013889 for 5 of 360).
PLACES = Decimal("0.000001")


def number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    try:
        found = Decimal(str(value if value is not None else 0).strip() or "0")
    except InvalidOperation:
        raise TypeError(f"{value!r} is not a number") from None
    if not found.is_finite():
        raise TypeError(f"{value!r} is not a finite number")
    return found


def json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def text(value: Decimal) -> str:
    out = f"{value.normalize():f}"
    return "0" if out in ("-0", "0.0") else out


def amount_of(rate: Decimal, base: Decimal) -> Decimal:
    return (rate * base).quantize(CENT, rounding=ROUND_HALF_UP)


def line_base(line: dict[str, Any]) -> Decimal:
    """What a line's discount is taken from: quantity x unit cost."""
    quantity = line.get("quantity")
    return number(1 if quantity is None else quantity) * number(line.get("unit_cost"))


def stored_rate(record: dict[str, Any]) -> str | None:
    metadata = record.get("metadata")
    rate = metadata.get(RATE) if isinstance(metadata, dict) else None
    return str(rate) if rate not in (None, "") else None


def annotate(record: dict[str, Any], base: Decimal) -> list[Any]:
    """The record's discount entries with their base and talk's rate (copies)."""
    entries = record.get("discounts")
    if not isinstance(entries, list):
        return entries  # type: ignore[return-value]  # the converter refuses it
    rate = stored_rate(record)
    out = []
    for entry in entries:
        if isinstance(entry, dict):
            entry = {**entry, BASE_KEY: text(base)}
            if rate is not None:
                entry[RATE_KEY] = rate
        out.append(entry)
    return out


def to_fraction(value: Any) -> str:
    """Discount entries (annotated on read) to one fraction of their base."""
    if not isinstance(value, list):
        raise TypeError("expected a list of discounts")
    total = Decimal(0)
    base: Decimal | None = None
    rate: Decimal | None = None
    for entry in value:
        if not isinstance(entry, dict):
            raise TypeError("expected discounts as objects with an amount")
        total += number(entry.get("amount"))
        if entry.get(BASE_KEY) is not None:
            base = number(entry[BASE_KEY])
        if entry.get(RATE_KEY) is not None:
            rate = number(entry[RATE_KEY])
    if not value:
        return "0"
    if base is None:
        raise TypeError("a discount without the subtotal it is taken from")
    if rate is not None and amount_of(rate, base) == total:
        return text(rate)
    if total == 0:
        return "0"
    if base == 0:
        raise ValueError(f"a discount of {text(total)} on nothing is not a fraction")
    return text((total / base).quantize(PLACES, rounding=ROUND_HALF_UP))


def to_rate(value: Any) -> list[dict[str, Any]]:
    """A fraction to what the connector turns into an amount (see ``apply``)."""
    rate = number(value)
    if rate < 0 or rate > 1:
        raise ValueError("a discount fraction is between 0 and 1")
    return [{RATE_KEY: text(rate)}]


def pending_rate(body: dict[str, Any]) -> Decimal | None:
    """The rate a converter put in ``body["discounts"]``, if any."""
    entries = body.get("discounts")
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and RATE_KEY in entry:
                return number(entry[RATE_KEY])
    return None


def apply(body: dict[str, Any], base: Decimal, metadata: dict[str, Any] | None = None) -> None:
    """Turn a pending rate in ``body`` into an amount of ``base``; keep the rate in metadata.

    ``metadata`` is what the record holds now (merged under the body's own).
    A ``discounts`` of None (nothing known) becomes no discount.
    """
    if "discounts" in body and body["discounts"] is None:
        body["discounts"] = []
    rate = pending_rate(body)
    if rate is None:
        return
    body["discounts"] = amounts(rate, base)
    body["metadata"] = {**(metadata or {}), **(body.get("metadata") or {}), RATE: text(rate)}


def amounts(rate: Decimal, base: Decimal) -> list[dict[str, Any]]:
    if rate == 0:
        return []
    return [{"amount": json_number(amount_of(rate, base))}]


def drifted(record: dict[str, Any], base: Decimal) -> list[dict[str, Any]] | None:
    """The discounts the record should have for talk's rate, when they differ from its own."""
    rate = stored_rate(record)
    if rate is None:
        return None
    wanted = amounts(number(rate), base)
    entries = record.get("discounts") or []
    have = sum((number(e.get("amount")) for e in entries if isinstance(e, dict)), Decimal(0))
    if have == sum((number(e["amount"]) for e in wanted), Decimal(0)):
        return None
    return wanted
