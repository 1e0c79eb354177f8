"""Converters for Exact Online's own formats.

Exact answers dates as ``/Date(ms)/`` (sometimes with an offset), pads
``Code`` to 18 characters right-aligned, leaves a trailing blank in
``Country``, keeps order discounts as percentages but line discounts as
fractions, and numbers its documents with integers. Each of these is a
pair of functions here, so the mappings stay declarative and a value that
cannot be read becomes a ``ConversionError`` naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from talk_core.mapping import Converter

CODE_WIDTH = 18
_EXACT_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
ADDRESS_KINDS = {1: "visit", 2: "postal", 3: "invoice", 4: "delivery"}


def parse_exact_datetime(value: Any) -> datetime:
    """``/Date(ms)/`` or ``/Date(ms+hhmm)/`` (or ISO text) to an aware datetime in UTC.

    The milliseconds are UTC either way; the offset only says which zone the
    value was entered in, so it does not shift the instant.
    """
    if not isinstance(value, str):
        raise TypeError("expected an Exact date text")
    text = value.strip()
    match = _EXACT_DATE.match(text)
    if match:
        millis = int(match.group(1))
        instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
        offset = match.group(2)
        if offset:
            sign = -1 if offset[0] == "-" else 1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
            return instant.astimezone(zone).astimezone(UTC)
        return instant
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an Exact date (/Date(ms)/) nor ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def exact_date_to_iso(value: Any) -> str:
    """A date field to ``YYYY-MM-DD`` (Exact keeps dates as midnight instants)."""
    if isinstance(value, str) and not value.startswith("/Date("):
        try:
            return date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            raise ValueError("not an Exact date (/Date(ms)/) nor ISO 8601") from None
    return parse_exact_datetime(value).date().isoformat()


def iso_date_to_exact(value: Any) -> str:
    """Exact takes ISO 8601 on writes."""
    return date.fromisoformat(str(value)[:10]).isoformat() + "T00:00:00"


def exact_datetime_to_iso(value: Any) -> str:
    return parse_exact_datetime(value).isoformat().replace("+00:00", "Z")


def iso_datetime_to_exact(value: Any) -> str:
    return parse_exact_datetime(str(value)).strftime("%Y-%m-%dT%H:%M:%S")


EXACT_DATE = Converter(exact_date_to_iso, iso_date_to_exact, "Exact date")
EXACT_DATETIME = Converter(exact_datetime_to_iso, iso_datetime_to_exact, "Exact datetime")


def code_to_global(value: Any) -> str:
    return str(value).strip()


def code_to_exact(value: Any) -> str:
    """Right-aligned and blank-padded to 18, as Exact stores and filters it."""
    text = str(value).strip()
    if len(text) > CODE_WIDTH:
        raise ValueError(f"longer than {CODE_WIDTH} characters")
    return text.rjust(CODE_WIDTH)


CODE = Converter(code_to_global, code_to_exact, "Exact code")


def _upper_code(value: Any) -> str:
    """Country and currency codes: Exact may answer ``"NL "``; talk holds ``"NL"``."""
    if isinstance(value, (dict, list)):
        raise TypeError("expected a code")
    return str(value).strip().upper()


UPPER_CODE = Converter(_upper_code, _upper_code, "Exact code, trimmed upper case")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise TypeError("expected a number") from None
    if not number.is_finite():
        raise TypeError("expected a finite number")
    return number


def _text(number: Decimal) -> str:
    return f"{number.normalize():f}"


def percent_to_fraction(value: Any) -> str:
    """Exact answers the percentage as a number; text is read the same way."""
    return _text(_decimal(value) / 100)


def fraction_to_percent(value: Any) -> str:
    """The percentage as decimal text ("5.5"): exact, where a float may not be."""
    return _text(_decimal(value) * 100)


PERCENT = Converter(percent_to_fraction, fraction_to_percent, "percentage text as fraction")


def _document_number_to_global(value: Any) -> str:
    return _text(_decimal(value))


def _document_number_to_exact(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError("Exact numbers its documents with integers")
    return int(text)


DOCUMENT_NUMBER = Converter(_document_number_to_global, _document_number_to_exact,
                            "Exact document number")


def _kind_to_global(value: Any) -> str:
    if isinstance(value, bool) or int(value) not in ADDRESS_KINDS:
        raise ValueError("expected an address type 1 to 4")
    return ADDRESS_KINDS[int(value)]


def _kind_to_exact(value: Any) -> int:
    for code, kind in ADDRESS_KINDS.items():
        if kind == str(value).strip().lower():
            return code
    raise ValueError(f"expected one of {', '.join(ADDRESS_KINDS.values())}")


ADDRESS_TYPE = Converter(_kind_to_global, _kind_to_exact, "Exact address type")


def split_full_name(full: str) -> dict[str, str]:
    """Exact requires FirstName or LastName and derives FullName from them.

    The first word is the given name, the rest the family name, so that
    "Anna de Vries" keeps its "de" in the family name as Dutch usage has it.
    """
    parts = full.strip().split(" ", 1)
    if len(parts) == 1:
        return {"FirstName": "", "LastName": parts[0]}
    return {"FirstName": parts[0], "LastName": parts[1]}
